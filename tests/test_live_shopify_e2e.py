"""Shopify end to end through the command line: connections, sync, truth on live data, the
approval flow of the store offers, rollback, and the faults of issue 14.

The CLI runs in-process (Click's runner) against the local Shopify GraphQL fake and, for the
ad spend the MER guardrail weighs revenue against, the local Pinterest fake. Credentials come
from the environment and each account's `endpoint` from rulerun.yaml.
"""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
import pytest
from click.testing import CliRunner

from engine.cli.main import main
from platforms.pinterest.adapter import PinterestAdapter
from platforms.shopify.adapter import ShopifyAdapter
from tests.fakes import pinterest_fake
from tests.fakes.pinterest_fake import PinterestFake
from tests.fakes.shopify_fake import PAGE_BODY, PAGE_ID, PRODUCTS, SHOP, TOKEN, ShopifyFake, VirtualClock
from tests.helpers.rules import write_rules

CRO_OPERATOR = """\
operator: cro
platform: shopify
thresholds:
  min_orders_for_repeat_rate: 100
  max_aov_for_banner: 1000
"""
CRO_WORKFLOW = """\
workflow: store_offers
operator: cro
schedule: "0 7 * * MON"
level: account
window: last_30d
rules:
  - id: winback_discount_low_repeat_rate
    when: orders >= thresholds.min_orders_for_repeat_rate and repeat_rate < benchmarks.min_repeat_rate
    action: {type: create_discount, code: WINBACK15, percentage: 15, usage_limit: 500, days: 14}
  - id: banner
    level: page
    when: contains(name, 'landing') and truth.aov < thresholds.max_aov_for_banner
    action: {type: update_page, prepend: '<p class="banner">Free shipping and 30-day returns</p>'}
"""
# every active Pinterest campaign with spend asks for 10% more budget: the MER guardrail decides
SCALE_OPERATOR = """\
operator: pinterest
platform: pinterest
thresholds: {target_cpa: 300}
"""
SCALE_WORKFLOW = """\
workflow: scale
operator: pinterest
schedule: "0 6 * * *"
level: campaign
window: last_7d
rules:
  - id: scale_spending_campaigns
    when: spend > 0 and status == 'active' and coalesce(truth.net_new_cac, 0) >= 0
    action: {type: change_budget, by_pct: 10}
"""


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def shop(clock):
    server = ShopifyFake(clock=clock)
    # 900 orders over the last 40 days, from a large pool of customers: few come back
    server.generate(900, 40, customers=5000)
    yield server
    server.close()


@pytest.fixture
def pins():
    server = PinterestFake()
    yield server
    server.close()


@pytest.fixture
def sleeps(monkeypatch, clock) -> list[float]:
    """The Shopify adapter's waits: recorded, and passed on the bucket's clock (no real time)."""
    monkeypatch.setattr(ShopifyAdapter, "sleep", staticmethod(clock.sleep))
    monkeypatch.setattr(ShopifyAdapter, "clock", staticmethod(clock))
    monkeypatch.setattr(PinterestAdapter, "sleep", staticmethod(lambda s: None))
    return clock.sleeps


@pytest.fixture
def ws(tmp_path, shop, pins, monkeypatch, sleeps):
    rules = write_rules(
        tmp_path,
        {
            "cro/operator.yaml": CRO_OPERATOR,
            "cro/store_offers.yaml": CRO_WORKFLOW,
            "pinterest/operator.yaml": SCALE_OPERATOR,
            "pinterest/scale.yaml": SCALE_WORKFLOW,
        },
    )
    configure(tmp_path, shop, pins)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RULERUN_STATE_DIR", raising=False)
    monkeypatch.delenv("PINTEREST_REFRESH_TOKEN", raising=False)
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", TOKEN)
    for name, value in pinterest_fake.env().items():
        monkeypatch.setenv(name, value)
    return tmp_path, rules


def configure(root, shop, pins, *, shopify: bool = True) -> None:
    text = "platforms:\n"
    if shopify:
        text += (
            "  shopify:\n    api_version: '2026-10'\n    accounts:\n"
            f"      - {{id: '{SHOP}', timezone: America/New_York, endpoint: '{shop.endpoint}'}}\n"
        )
    text += f"  pinterest:\n    accounts:\n      - {{id: '{pinterest_fake.ACCOUNT}', endpoint: '{pins.url}'}}\n"
    (root / "rulerun.yaml").write_text(text)


def cli(ws, *args):
    _, rules = ws
    return CliRunner().invoke(main, [*args, "--rules", str(rules)], env={"COLUMNS": "220", "NO_COLOR": "1"})


def store(root, sql: str):
    with duckdb.connect(str(root / ".rulerun" / "metrics.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def shop_rows(root) -> int:
    return store(root, "SELECT count(*) FROM live.metrics_daily WHERE platform = 'shopify'")[0][0]


def plan(ws) -> dict:
    res = cli(ws, "evaluate", "--source", "live", "--dry-run", "--format", "json")
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def scaled(found: dict) -> list[dict]:
    """The budget increases that reached the guardrails (a campaign with a lifetime cap has no daily budget)."""
    return [a for a in found["actions"] if a["rule_id"] == "scale_spending_campaigns" and a["status"] != "skipped"]


def test_connections_names_the_variable_and_the_shop(ws):
    res = cli(ws, "connections")
    assert res.exit_code == 0, res.output
    assert "SHOPIFY_ACCESS_TOKEN set" in res.output and "Vibe Store" in res.output
    assert TOKEN not in res.output


def test_sync_stores_the_store_days_with_guests_and_test_orders_handled(ws, shop):
    res = cli(ws, "sync", "--platform", "shopify")
    assert res.exit_code == 0, res.output
    ((orders, new, returning),) = store(
        ws[0],
        "SELECT sum(orders), sum(new_customers), sum(returning_customers) FROM live.metrics_daily "
        "WHERE platform = 'shopify' AND level = 'account'",
    )
    synced = [o for o in shop.orders_list if not o["test"]]
    # the first sync reads 90 days: every generated order but the test ones
    assert orders == len(synced)
    assert new == sum(1 for o in synced if o["customer"] and o["customerJourneySummary"]["customerOrderIndex"] == 1)
    guests = sum(1 for o in synced if o["customer"] is None)
    assert guests > 0 and orders == new + returning + guests  # guests are orders, never new customers
    levels = {r[0] for r in store(ws[0], "SELECT DISTINCT level FROM live.entities WHERE platform = 'shopify'")}
    assert levels == {"account", "product", "discount", "page"}


def test_mer_is_unknown_without_shopify_and_known_once_it_is_synced(ws, shop, pins):
    configure(ws[0], shop, pins, shopify=False)
    # no Shopify account yet: every budget increase is blocked, MER unknown
    blocked = scaled(plan(ws))
    assert blocked and all(a["status"] == "blocked" for a in blocked)
    assert all("blended MER is unknown" in json.dumps(a["guardrails"]) for a in blocked)

    configure(ws[0], shop, pins)
    found = plan(ws)
    after = scaled(found)
    assert {a["action_id"] for a in after} == {a["action_id"] for a in blocked}
    # Net New CAC: the window's spend of every ad platform over the store's first-time buyers; a
    # campaign named Bot-... promotes the store's product bot (its handle): it reads Bot's, the
    # spend tagged bot over Bot's first-time buyers
    assert all(a["evidence"]["truth.net_new_cac"] is None for a in blocked)
    window = f"m.date >= DATE '{found['as_of']}' - 7 AND m.date < DATE '{found['as_of']}'"

    def cac(product: str | None) -> float:
        tagged = "JOIN live.entities e USING (platform, account_id, level, entity_id) WHERE"
        tagged = f"{tagged} e.product = '{product}' AND" if product else "WHERE"
        ((spend, new),) = store(
            ws[0],
            f"SELECT (SELECT sum(spend) FROM live.metrics_daily m {tagged} platform = 'pinterest' "
            f"AND level = 'campaign' AND {window}), (SELECT sum(new_customers) FROM live.metrics_daily m {tagged} "
            f"platform = 'shopify' AND level = '{'product' if product else 'account'}' AND {window})",
        )
        assert spend > 0 and new > 0
        return spend / new

    products = dict(store(ws[0], "SELECT entity_id, product FROM live.entities WHERE platform = 'pinterest'"))
    assert {products[a["entity_id"]] for a in after} == {"bot", "dot"}  # named Bot-... and Dot-...
    for a in after:
        assert a["evidence"]["truth.net_new_cac"] == pytest.approx(cac(products[a["entity_id"]])), a["entity_id"]
    assert cac("bot") != pytest.approx(cac(None))
    assert not any("min_mer_for_increase" in json.dumps(a["guardrails"]) for a in after)
    assert any(a["status"] in ("planned", "clamped") for a in after)


def test_a_low_live_mer_blocks_the_increase_naming_its_value(ws, shop):
    shop.generate(40, 40, customers=5000)  # a store selling little against the Pinterest spend
    assert cli(ws, "sync").exit_code == 0
    low = scaled(plan(ws))
    assert low and all(a["status"] == "blocked" for a in low)
    text = json.dumps([g for a in low for g in a["guardrails"]])
    assert "blended MER" in text and "unknown" not in text


def test_discount_and_page_go_through_approval_then_execute_and_roll_back(ws, shop):
    assert cli(ws, "sync").exit_code == 0
    applied = cli(ws, "apply", "--source", "live")
    assert applied.exit_code == 0, applied.output
    assert "WINBACK15" not in shop.discounts and shop.pages[PAGE_ID]["body"] == PAGE_BODY  # nothing ran yet

    queued = json.loads(cli(ws, "approvals", "list", "--format", "json").output)
    by_type = {q["action_type"]: q for q in queued}
    assert set(by_type) >= {"create_discount", "update_page"}
    shown = cli(ws, "approvals", "show", by_type["update_page"]["action_id"])
    assert shown.exit_code == 0, shown.output
    assert PAGE_BODY in shown.output and "Free shipping and 30-day returns" in shown.output  # before and after

    for kind in ("create_discount", "update_page"):
        ok = cli(ws, "approvals", "approve", by_type[kind]["action_id"], "--by", "maria")
        assert ok.exit_code == 0, ok.output
    again = cli(ws, "apply", "--source", "live")
    assert again.exit_code == 0, again.output
    assert shop.discounts["WINBACK15"]["status"] == "ACTIVE" and shop.discounts["WINBACK15"]["usageLimit"] == 500
    assert shop.pages[PAGE_ID]["body"].startswith('<p class="banner">') and shop.pages[PAGE_ID]["body"].endswith(
        PAGE_BODY
    )

    log = json.loads(cli(ws, "log", "--format", "json", "--status", "executed").output)
    run = next(r["run_id"] for r in log if r["action_type"] in ("create_discount", "update_page"))
    rolled = cli(ws, "rollback", "--run", run)
    assert rolled.exit_code == 0, rolled.output
    assert shop.discounts["WINBACK15"]["status"] == "EXPIRED"
    assert shop.pages[PAGE_ID]["body"] == PAGE_BODY


def test_a_discount_rejected_with_user_errors_fails_clearly_and_logs_nothing_executed(ws, shop):
    assert cli(ws, "sync").exit_code == 0
    assert cli(ws, "apply", "--source", "live").exit_code == 0
    queued = json.loads(cli(ws, "approvals", "list", "--format", "json").output)
    (discount,) = [q for q in queued if q["action_type"] == "create_discount"]
    assert cli(ws, "approvals", "approve", discount["action_id"], "--by", "maria").exit_code == 0
    shop.fail_in_batch("WINBACK15")
    res = cli(ws, "apply", "--source", "live")
    assert res.exit_code == 3, res.output
    assert "Traceback" not in res.output
    failed = json.loads(cli(ws, "log", "--format", "json", "--status", "failed").output)
    (row,) = [r for r in failed if r["action_type"] == "create_discount"]
    assert "basicCodeDiscount.code: Code is invalid" in json.dumps(row) and SHOP in json.dumps(row)
    executed = json.loads(cli(ws, "log", "--format", "json", "--status", "executed").output)
    assert not [r for r in executed if r["action_type"] == "create_discount"]
    assert "WINBACK15" not in shop.discounts


def test_a_throttled_sync_waits_for_the_bucket_and_lands(ws, shop, sleeps):
    shop.fail_next("rate_limit", n=1, method="Orders")
    shop.fail_next("rate_limit_429", n=1, method="Orders")
    res = cli(ws, "sync", "--platform", "shopify")
    assert res.exit_code == 0, res.output
    assert shop.throttled >= 2 and sleeps  # each refusal waited what the bucket reported, then the page went again
    assert shop_rows(ws[0]) > 0


def test_a_bad_token_fails_naming_the_shop_and_stores_nothing(ws, monkeypatch):
    assert cli(ws, "sync", "--platform", "shopify").exit_code == 0
    before = shop_rows(ws[0])
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", "shpat_not_the_right_token_000")
    bad = cli(ws, "sync", "--platform", "shopify", "--since", "2026-01-01")
    assert bad.exit_code == 1
    assert f"shopify account {SHOP}" in bad.output and "SHOPIFY_ACCESS_TOKEN" in bad.output
    assert "Traceback" not in bad.output and "shpat_not_the_right_token_000" not in bad.output
    assert shop_rows(ws[0]) == before
    checked = cli(ws, "connections")
    assert checked.exit_code == 1 and "shpat_not_the_right_token_000" not in checked.output


def test_a_shop_that_does_not_exist_is_named(ws, shop):
    (ws[0] / "rulerun.yaml").write_text(
        "platforms:\n  shopify:\n    accounts:\n"
        f"      - {{id: 'no-such-shop.myshopify.com', endpoint: '{shop.endpoint}'}}\n"
    )
    res = cli(ws, "sync", "--platform", "shopify")
    assert res.exit_code == 1
    assert "unknown shop no-such-shop.myshopify.com" in res.output and "Traceback" not in res.output


def test_truth_checks_count_each_store_order_once(ws, shop):
    assert cli(ws, "sync").exit_code == 0
    res = cli(ws, "truth", "--source", "live", "--format", "json")
    assert res.exit_code == 0, res.output
    weeks = json.loads(res.output)["weeks"]
    weekly = {r["week_start"]: r["shopify_orders"] for r in weeks if r["shopify_orders"] is not None}
    assert weekly
    stored = dict(
        store(
            ws[0],
            "SELECT CAST(date_trunc('week', date) AS DATE)::VARCHAR, sum(orders) FROM live.metrics_daily "
            "WHERE platform = 'shopify' AND level = 'account' GROUP BY ALL",
        )
    )
    # the product and discount rows split the same orders again: only the store's rows count
    assert all(orders == pytest.approx(stored[week]) for week, orders in weekly.items())


def test_per_product_rows_meet_per_product_thresholds(ws, shop):
    """Each product's own orders, revenue and units, against a threshold set per product (bot, dot, board)."""
    _, rules = ws
    (rules / "cro" / "operator.yaml").write_text(
        CRO_OPERATOR + "  min_units_30d: {default: 0, bot: 100000}   # only Bot's target is out of reach\n"
    )
    (rules / "cro" / "products.yaml").write_text(
        "workflow: products\noperator: cro\nschedule: '0 7 * * *'\nlevel: product\nwindow: last_30d\nrules:\n"
        "  - id: product_under_target\n    when: units_sold < thresholds.min_units_30d and orders > 0\n"
        "    action: {type: notify, message: product sales under target}\n"
    )
    found = plan(ws)
    fired = [a for a in found["actions"] if a["rule_id"] == "product_under_target"]
    products = dict(store(ws[0], "SELECT entity_id, product FROM live.entities WHERE level = 'product'"))
    assert [products[a["entity_id"]] for a in fired] == ["bot"]
    ((units,),) = store(
        ws[0],
        "SELECT sum(units_sold) FROM live.metrics_daily WHERE level = 'product' "
        f"AND entity_id = '{fired[0]['entity_id']}' AND date >= DATE '{found['as_of']}' - 30 "
        f"AND date < DATE '{found['as_of']}'",
    )
    assert fired[0]["evidence"]["units_sold"] == units > 0


def test_a_product_that_sells_nothing_in_the_next_sync_keeps_its_entity(ws, shop):
    """Sync replaces the shop's entities: they come from the product list, not from the range's orders."""
    assert cli(ws, "sync", "--platform", "shopify").exit_code == 0
    dot = next(pid for pid, (_, handle, _) in PRODUCTS.items() if handle == "dot")
    # from now on no order of the last week holds Dot: the next sync (its restatement days) sells none
    week = f"{shop.today - timedelta(days=7)}T05"
    shop.orders_list = [
        o for o in shop.orders_list if o["createdAt"] < week or all(i["product"]["id"] != dot for i in o["_lines"])
    ]
    res = cli(ws, "sync", "--platform", "shopify")
    assert res.exit_code == 0, res.output
    ((first, last),) = store(ws[0], "SELECT min(date), max(date) FROM live.metrics_daily WHERE platform = 'shopify'")
    assert (first, last) == (shop.today - timedelta(days=90), shop.today - timedelta(days=1))
    recent = store(
        ws[0],
        "SELECT DISTINCT entity_id FROM live.metrics_daily WHERE platform = 'shopify' AND level = 'product' "
        f"AND date >= DATE '{shop.today - timedelta(days=3)}'",
    )
    assert recent and (dot,) not in recent  # the second sync read products, none of them Dot
    products = dict(
        store(ws[0], "SELECT product, status FROM live.entities WHERE platform = 'shopify' AND level = 'product'")
    )
    assert products == {"bot": "active", "dot": "active", "board": "active", "board-mini": "paused"}
    # Dot's earlier days still join to its entity: its own truth is read, not the store's
    ((units,),) = store(
        ws[0],
        "SELECT sum(m.units_sold) FROM live.metrics_daily m JOIN live.entities e USING (platform, account_id, "
        f"level, entity_id) WHERE e.product = 'dot' AND m.date < DATE '{shop.today - timedelta(days=7)}'",
    )
    assert units > 0
