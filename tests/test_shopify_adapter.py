"""ShopifyAdapter over HTTP against the local Shopify GraphQL fake (tests/fakes/shopify_fake.py)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from engine.core.execution import ActionRequest, AdapterError, AuthError, EntityKey, PermanentError, RateLimited
from platforms.adapter import Account
from platforms.shopify.adapter import ShopifyAdapter
from tests.fakes.shopify_fake import PAGE_BODY, PAGE_ID, PRODUCTS, SHOP, TOKEN, UNSOLD, ShopifyFake
from tests.fakes.shopify_fake import VirtualClock as Clock

BOT, DOT, BOARD = PRODUCTS


@pytest.fixture
def fake():
    server = ShopifyFake()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", TOKEN)


def make(fake, sleeps=None, *, shop=SHOP, currency="USD", version=None, clock=None) -> ShopifyAdapter:
    adapter = ShopifyAdapter(Account("shopify", shop, currency=currency, endpoint=fake.endpoint, api_version=version))
    adapter.sleep = clock.sleep if clock else (sleeps if sleeps is not None else []).append
    if clock:
        adapter.clock = clock
    return adapter


def rows(fetched, level):
    return {(r["date"], r["entity_id"]): r for r in fetched.metrics if r["level"] == level}


def days(fake):
    return fake.today - timedelta(days=2), fake.today - timedelta(days=1)


# ---------------------------------------------------------------- reads


def test_orders_per_shop_day_with_gross_net_new_and_returning(fake):
    d1, d2 = days(fake)
    got = make(fake).fetch(d1 - timedelta(days=1), d2)
    store = rows(got, "account")
    one, two = store[(d1.isoformat(), SHOP)], store[(d2.isoformat(), SHOP)]
    # day 1: #1001 bot 149 (first order), #1002 2 dots 118 - 11.80 off (returning), #1003 a guest's board 89,
    # #1005 a dot at 23:30 New York time (04:30 UTC the next day) refunded in full; #1004 is a test order
    assert one["orders"] == 4
    assert one["revenue"] == pytest.approx(149 + 118 + 89 + 59)
    assert one["net_revenue"] == pytest.approx(149 + 106.2 + 89 + 0)
    assert one["new_customers"] == 2 and one["returning_customers"] == 1  # the guest is neither
    assert two["orders"] == 3 and two["new_customers"] == 2 and two["returning_customers"] == 1
    assert two["revenue"] == pytest.approx(149 + 59 + 89 + 178 + 149)
    # a day without orders is a row of zeros, not a missing day
    assert store[((d1 - timedelta(days=1)).isoformat(), SHOP)]["orders"] == 0


def test_products_and_discounts_have_their_own_rows_and_entities(fake):
    d1, d2 = days(fake)
    got = make(fake).fetch(d1, d2)
    products = rows(got, "product")
    assert products[(d1.isoformat(), DOT)] == {**products[(d1.isoformat(), DOT)], "orders": 2, "units_sold": 3}
    assert products[(d1.isoformat(), DOT)]["revenue"] == pytest.approx(118 + 59)
    assert products[(d2.isoformat(), BOARD)]["orders"] == 2 and products[(d2.isoformat(), BOARD)]["units_sold"] == 3
    assert (d1.isoformat(), BOT) in products and products[(d1.isoformat(), BOT)]["units_sold"] == 1  # no test order
    # new buyers per product: a first order counts for each product in it; returning and guest buyers never
    new = {(d, pid): r["new_customers"] for (d, pid), r in products.items()}
    assert new == {
        (d1.isoformat(), BOT): 1,  # #1001 (the test order #1004 is left out)
        (d1.isoformat(), DOT): 1,  # #1005; #1002 is a returning customer's
        (d1.isoformat(), BOARD): 0,  # #1003 is a guest checkout
        (d2.isoformat(), BOT): 1,  # #1006; #1008 is customer 1's second order
        (d2.isoformat(), DOT): 1,  # #1006
        (d2.isoformat(), BOARD): 2,  # #1006 and #1007
    }
    codes = rows(got, "discount")
    assert codes == {(d1.isoformat(), "WELCOME10"): codes[(d1.isoformat(), "WELCOME10")]}
    assert codes[(d1.isoformat(), "WELCOME10")]["orders"] == 1
    assert codes[(d1.isoformat(), "WELCOME10")]["revenue"] == pytest.approx(106.2)
    entities = {(e["level"], e["entity_id"]): e for e in got.entities}
    assert entities[("product", BOT)]["product"] == "bot" and entities[("product", BOARD)]["name"] == "Board"
    assert entities[("discount", "WELCOME10")]["status"] == "active"
    assert entities[("page", PAGE_ID)]["body"] == PAGE_BODY
    assert entities[("account", SHOP)]["name"] == "Vibe Store"


def test_every_kind_of_code_discount_is_an_entity(fake):
    fake.add_discount("FREESHIP", kind="DiscountCodeFreeShipping")
    fake.add_discount("BUY2GET1", kind="DiscountCodeBxgy", status="EXPIRED")
    got = make(fake).fetch(*days(fake))
    codes = {e["entity_id"]: e["status"] for e in got.entities if e["level"] == "discount"}
    assert codes == {"WELCOME10": "active", "FREESHIP": "active", "BUY2GET1": "removed"}


def test_a_range_without_orders_still_has_every_product_of_the_shop(fake):
    """Sync replaces the account's entities with what a fetch returns: the products come from the
    shop's list, not only from the orders of the range (a product that sold nothing keeps its entity)."""
    quiet = fake.today - timedelta(days=30), fake.today - timedelta(days=20)
    got = make(fake).fetch(*quiet)
    assert not [r for r in got.metrics if r["level"] == "product"]  # nothing sold in the range
    products = {e["entity_id"]: e for e in got.entities if e["level"] == "product"}
    assert {pid: (e["product"], e["name"], e["status"]) for pid, e in products.items()} == {
        BOT: ("bot", "Bot", "active"),
        DOT: ("dot", "Dot", "active"),
        BOARD: ("board", "Board", "active"),
        UNSOLD: ("board-mini", "Board Mini", "paused"),  # a draft, never sold
    }
    assert all(e["parent_id"] == SHOP and e["currency"] == "USD" for e in products.values())


def test_the_product_list_is_paged_and_a_deleted_product_still_has_its_entity(fake, monkeypatch):
    monkeypatch.setattr(ShopifyAdapter, "PRODUCTS_PAGE", 2)
    archived = "gid://shopify/Product/805"
    fake.products[archived] = {"id": archived, "title": "Bot Classic", "handle": "Bot-Classic", "status": "ARCHIVED"}
    del fake.products[DOT]  # deleted since it sold: its orders still name it
    d1, d2 = days(fake)
    got = make(fake).fetch(d1, d2)
    pages = [v for op, v in fake.requests if op == "Products"]
    assert [v["first"] for v in pages] == [2, 2]  # 4 listed products, 2 a page
    assert pages[0]["after"] is None and pages[1]["after"] is not None  # the second page after the first
    products = {e["entity_id"]: (e["product"], e["status"]) for e in got.entities if e["level"] == "product"}
    assert products == {
        BOT: ("bot", "active"),
        BOARD: ("board", "active"),
        UNSOLD: ("board-mini", "paused"),
        archived: ("bot-classic", "removed"),  # the handle lowercase; ARCHIVED is removed
        DOT: ("dot", "active"),  # from its line items
    }
    assert len([e for e in got.entities if e["level"] == "product"]) == 5  # each product once
    assert rows(got, "product")[(d1.isoformat(), DOT)]["orders"] == 2


def test_a_failed_product_list_fails_the_read(fake):
    fake.fail_next("permanent", n=1, method="Products")
    with pytest.raises(PermanentError, match="GraphQL errors"):
        make(fake).fetch(*days(fake))


def test_cursor_paging_reads_every_order_once_and_completes_long_orders(fake, monkeypatch):
    monkeypatch.setattr(ShopifyAdapter, "ORDERS_PAGE", 2)
    monkeypatch.setattr(ShopifyAdapter, "LINE_ITEMS", 1)
    d1, d2 = days(fake)
    got = make(fake).fetch(d1, d2)
    ops = [op for op, _ in fake.requests]
    assert ops.count("Orders") == 4  # 7 orders (the test order is filtered by the query), 2 a page
    assert ops.count("OrderLineItems") == 1  # #1006 holds 3 products: the other 2 come by its own query
    assert rows(got, "product")[(d2.isoformat(), BOARD)]["orders"] == 2
    assert sum(r["orders"] for r in rows(got, "account").values()) == 7


def test_the_query_asks_for_the_shop_day_in_utc_and_leaves_test_orders_out(fake):
    d1, d2 = days(fake)
    make(fake).fetch(d1, d2)
    q = next(v["q"] for op, v in fake.requests if op == "Orders")
    assert "test:false" in q
    assert f"created_at:>={d1.isoformat()}T05:00:00Z" in q  # New York midnight in November is 05:00 UTC


def test_a_currency_mismatch_is_refused_naming_the_fix(fake):
    with pytest.raises(PermanentError, match="set `currency: USD`"):
        make(fake, currency="EUR").fetch(*days(fake))


def test_a_bad_token_and_an_unknown_shop_are_clear(fake, monkeypatch):
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", "shpat_wrong_but_long_enough")
    with pytest.raises(AuthError) as err:
        make(fake).check_connection()
    assert "SHOPIFY_ACCESS_TOKEN" in str(err.value) and SHOP in str(err.value)
    assert "shpat_wrong_but_long_enough" not in str(err.value)
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", TOKEN)
    with pytest.raises(PermanentError) as err:
        make(fake, shop="no-such-shop.myshopify.com").check_connection()
    assert "unknown shop no-such-shop.myshopify.com" in str(err.value) and "rulerun.yaml" in str(err.value)


def test_a_bad_api_version_is_refused_before_any_call(fake):
    with pytest.raises(PermanentError, match="not a Shopify API version"):
        make(fake, version="latest").check_connection()
    assert fake.requests == []


def test_a_query_error_fails_the_read_without_rows(fake):
    fake.fail_next("permanent", n=1, method="Orders")
    with pytest.raises(PermanentError, match="GraphQL errors"):
        make(fake).fetch(*days(fake))


# ---------------------------------------------------------------- throttling


@pytest.mark.parametrize("kind", ["rate_limit", "rate_limit_429"])
def test_a_throttled_answer_waits_what_the_bucket_needs_then_retries(fake, kind):
    clock = Clock()
    fake.clock = clock
    fake.available, fake._at = 500.0, clock.now  # 2 + 35 * 25 = 877 requested: 377 short at 100 a second
    d1, d2 = days(fake)
    adapter = make(fake, clock=clock)
    adapter.shop()
    fake.fail_next(kind, n=1, method="Orders")
    got = adapter.fetch(d1, d2)
    # the shop (1 point), the discount list (2 + 2 for one code), the product list (2 + 4 products), the pages
    # (2 + 1) and the count (1) left 485
    assert clock.sleeps == [pytest.approx((877 - 485) / 100.0)]
    assert sum(r["orders"] for r in rows(got, "account").values()) == 7
    assert fake.throttled == 1 and len(clock.sleeps) == 1


def test_an_empty_bucket_is_waited_for_before_the_query_not_after_a_refusal(fake, monkeypatch):
    clock = Clock()
    fake.clock, fake._at = clock, clock.now
    fake.generate(400, 3)
    monkeypatch.setattr(ShopifyAdapter, "ORDERS_PAGE", 50)  # 2 + 50 * 25 = 1252 requested a page
    adapter = make(fake, clock=clock)
    adapter.fetch(fake.today - timedelta(days=3), fake.today - timedelta(days=1))
    assert fake.throttled == 0  # paced: never refused
    assert clock.sleeps and all(s > 0 for s in clock.sleeps)
    assert adapter.points == pytest.approx(fake.points_used)
    # what was used never exceeds what the bucket held plus what it restored meanwhile
    assert fake.points_used <= 2000 + 100 * (clock.now - 1000.0) + 1e-6


def test_throttling_that_never_ends_fails_as_a_rate_limit(fake):
    fake.fail_next("rate_limit", n=10)
    with pytest.raises(RateLimited) as err:
        make(fake).fetch(*days(fake))
    assert "shopify account" in str(err.value) and SHOP in str(err.value)


# ---------------------------------------------------------------- writes


def account() -> EntityKey:
    return EntityKey("shopify", SHOP, "account", SHOP)


def page() -> EntityKey:
    return EntityKey("shopify", SHOP, "page", PAGE_ID)


def discount(action_id="d-1", **params):
    want = {"code": "WINBACK15", "title": "Come back", "percentage": 15, "usage_limit": 500, "days": 14, **params}
    return ActionRequest(action_id, account(), "create_discount", {}, {"discount": None}, {"discount": want})


def test_create_discount_sends_the_documented_input_and_rolls_back_by_deactivating(fake):
    done = make(fake).execute(discount())
    sent = next(v for op, v in fake.requests if op == "DiscountCreate")["basicCodeDiscount"]
    assert sent["code"] == "WINBACK15" and sent["usageLimit"] == 500
    assert sent["customerGets"]["value"] == {"percentage": 0.15}
    assert sent["endsAt"] > sent["startsAt"]
    assert fake.discounts["WINBACK15"]["status"] == "ACTIVE"
    assert done.rollback_plan["type"] == "deactivate_discount"
    make(fake).rollback(done.rollback_plan, account())
    assert fake.discounts["WINBACK15"]["status"] == "EXPIRED"
    assert [d["code"] for d in make(fake).read_state(account())["discounts"]] == ["WELCOME10"]


def test_a_fixed_amount_discount_and_dates(fake):
    make(fake).execute(discount(percentage=None, amount=10, days=None, starts_at="2026-12-01", ends_at="2026-12-15"))
    sent = next(v for op, v in fake.requests if op == "DiscountCreate")["basicCodeDiscount"]
    assert sent["customerGets"]["value"] == {"discountAmount": {"amount": "10", "appliesOnEachItem": False}}
    assert (sent["startsAt"], sent["endsAt"]) == ("2026-12-01T00:00:00Z", "2026-12-15T00:00:00Z")


def test_a_discount_rejected_with_user_errors_names_the_field(fake):
    fake.fail_next("user_error", n=1, method="DiscountCreate")
    with pytest.raises(PermanentError) as err:
        make(fake).execute(discount())
    text = str(err.value)
    assert "basicCodeDiscount.code: Code is invalid (INVALID)" in text and "WINBACK15" in text and SHOP in text
    assert "WINBACK15" not in fake.discounts


def test_the_same_discount_twice_creates_it_once(fake):
    make(fake).execute(discount())
    again = make(fake).execute(discount())
    assert again.result.get("already") is True
    assert [op for op, _ in fake.mutations] == ["discountCodeBasicCreate"]


def test_update_page_keeps_the_previous_body_in_the_rollback_plan(fake):
    new = "<h1>Meet Bot</h1><p>Now with free shipping.</p>"
    req = ActionRequest("p-1", page(), "update_page", {"body": new}, {"body": PAGE_BODY}, {"body": new})
    done = make(fake).execute(req)
    assert fake.pages[PAGE_ID]["body"] == new
    assert done.rollback_plan == {
        "type": "update_page",
        "params": {},
        "before": {"body": new},
        "after": {"body": PAGE_BODY},
    }
    make(fake).rollback(done.rollback_plan, page())
    assert fake.pages[PAGE_ID]["body"] == PAGE_BODY


def test_a_refused_page_update_changes_nothing(fake):
    fake.fail_in_batch(PAGE_ID)
    req = ActionRequest("p-2", page(), "update_page", {"body": "x"}, {"body": PAGE_BODY}, {"body": "<script>"})
    with pytest.raises(PermanentError, match=r"page.body: Body contains a forbidden script tag"):
        make(fake).execute(req)
    assert fake.pages[PAGE_ID]["body"] == PAGE_BODY


def test_an_unknown_page_is_a_clear_error(fake):
    key = EntityKey("shopify", SHOP, "page", "gid://shopify/Page/1")
    with pytest.raises(PermanentError, match="unknown page gid://shopify/Page/1"):
        make(fake).read_state(key)


def test_the_token_never_reaches_logs_or_errors(fake, caplog):
    caplog.set_level(logging.DEBUG)
    fake.fail_next("rate_limit", n=1)
    make(fake).fetch(*days(fake))
    fake.fail_next("auth", n=1)
    with pytest.raises(AuthError) as err:
        make(fake).fetch(*days(fake))
    assert TOKEN not in caplog.text and TOKEN not in str(err.value)


# ---------------------------------------------------------------- bulk reads


def test_many_orders_are_read_by_one_bulk_operation_with_the_same_result_as_pages(fake, monkeypatch):
    fake.generate(600, 20)
    span = (fake.today - timedelta(days=20), fake.today - timedelta(days=1))
    monkeypatch.setattr(ShopifyAdapter, "BULK_OVER", 100)
    clock = Clock()
    fake.clock, fake._at = clock, clock.now
    bulk = make(fake, clock=clock).fetch(*span)
    ops = [op for op, _ in fake.requests]
    assert "Orders" not in ops and ops.count("BulkOrders") == 1 and ops.count("BulkStatus") == 3
    assert clock.sleeps == [1.0, 1.5]  # two polls answered RUNNING, pauses growing
    # the pre-signed file was fetched without the access token
    assert fake.downloads and all("x-shopify-access-token" not in h for h in fake.downloads)

    monkeypatch.setattr(ShopifyAdapter, "BULK_OVER", 10**9)
    paged = make(fake, clock=clock).fetch(*span)
    # pages cost points and bucket waits; the bulk read did not
    assert fake.points_used > 5000 and len(clock.sleeps) > 2
    key = lambda r: (r["date"], r["level"], r["entity_id"])  # noqa: E731
    assert sorted(bulk.metrics, key=key) == sorted(paged.metrics, key=key)
    assert sum(r["orders"] for r in bulk.metrics if r["level"] == "account") == sum(
        1 for o in fake.orders_list if not o["test"] and o["createdAt"] >= f"{span[0].isoformat()}T05"
    )


def test_a_bulk_operation_already_running_falls_back_to_pages(fake, monkeypatch):
    fake.generate(300, 5)
    monkeypatch.setattr(ShopifyAdapter, "BULK_OVER", 100)
    fake.bulk_ops["1"] = {"id": "gid://shopify/BulkOperation/1", "status": "RUNNING", "polls": 0, "count": 0}
    clock = Clock()
    fake.clock, fake._at = clock, clock.now
    got = make(fake, clock=clock).fetch(fake.today - timedelta(days=5), fake.today - timedelta(days=1))
    assert [op for op, _ in fake.requests].count("Orders") >= 1
    assert sum(r["orders"] for r in got.metrics if r["level"] == "account") > 250


def test_a_failed_bulk_operation_fails_the_read(fake, monkeypatch):
    fake.generate(300, 5)
    monkeypatch.setattr(ShopifyAdapter, "BULK_OVER", 100)
    real = fake._op_BulkStatus

    def failing(text, variables, fail):
        data, cost = real(text, variables, fail)
        data["node"]["status"], data["node"]["errorCode"] = "FAILED", "INTERNAL_SERVER_ERROR"
        return data, cost

    monkeypatch.setattr(fake, "_op_BulkStatus", failing)
    with pytest.raises(AdapterError, match="bulk read of orders ended FAILED"):
        make(fake).fetch(fake.today - timedelta(days=5), fake.today - timedelta(days=1))
