"""Truth per product: an entity promoting Bot reads Bot's Shopify sales against the spend on Bot.

The store's product rows (level `product`, `product` = the Shopify handle) hold each product's
orders, revenue and new customers; ad spend per product is the spend of the entities tagged
with it, each account's at the first level where it tags one. An entity of another product, or
of none, reads the store's truth. The three evaluation paths (the batch SQL, the reference
interpreter of `explain`, the days of a backtest) must agree on it.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli.authoring_commands import test_command
from engine.core.catalog import load_catalog
from engine.data.metrics import MetricsService
from engine.data.sources import parse_source
from engine.data.store import Store
from engine.evaluation.days import DayBatch
from engine.evaluation.evaluate import build_plan
from engine.evaluation.explain import explain
from engine.rules.loader import load_project
from tests.helpers.cli import run
from tests.helpers.data import METRIC_COLUMNS, day, entity, write_source
from tests.helpers.rules import write_rules

CATALOG = load_catalog()
AS_OF = date(2026, 11, 1)
DAYS = [(date(2026, 10, 1) + timedelta(days=i)).isoformat() for i in range(31)]
COLUMNS = [*METRIC_COLUMNS, "revenue", "orders", "new_customers"]
STORE = ("shopify", "vibe.myshopify.com")

OPERATOR = """\
operator: meta
platform: meta
thresholds:
  max_net_new_cac: 45
"""
WORKFLOW = """\
workflow: product_cac
operator: meta
level: campaign
window: last_7d
rules:
  - id: over_target_cac
    when: truth.net_new_cac > thresholds.max_net_new_cac
    action: pause
  - id: low_mer
    when: truth.mer < 4.5
    action: {type: change_budget, by_pct: -10}
"""


def _source(directory, spend_rows, products, store_day=(1000.0, 10, 4), shop_days=DAYS):
    """Meta/Pinterest entities `spend_rows` [(platform, account, level, id, parent, product, daily spend)],
    Shopify products {handle: (daily revenue, orders, new customers) or None for no sales}."""
    entities, rows = [], []
    for platform, account, level, eid, parent, product, spend in spend_rows:
        entities.append(
            entity(eid, level=level, platform=platform, parent_id=parent, product=product) | {"account_id": account}
        )
        rows += [day(d, eid, level=level, platform=platform, spend=spend) | {"account_id": account} for d in DAYS]
    shop = entity(STORE[1], level="account", platform="shopify", product=None, daily_budget=None, bid=None)
    entities.append(shop | {"account_id": STORE[1]})
    revenue, orders, new = store_day
    rows += [
        day(d, STORE[1], level="account", platform="shopify", revenue=revenue, orders=orders, new_customers=new)
        | {"account_id": STORE[1]}
        for d in shop_days
    ]
    for handle, sales in products.items():
        pid = f"gid://shopify/Product/{handle}"
        product = entity(pid, level="product", platform="shopify", product=handle, daily_budget=None, bid=None)
        entities.append(product | {"account_id": STORE[1]})
        if sales is not None:
            r, o, n = sales
            rows += [
                day(d, pid, level="product", platform="shopify", revenue=r, orders=o, new_customers=n)
                | {"account_id": STORE[1]}
                for d in shop_days
            ]
    return write_source(directory, entities, rows, COLUMNS)


# campaign c-bot (bot) with its ad groups (the same money again), c-dot, c-brand (no product);
# a Pinterest account that tags only ad groups
SPEND = [
    ("meta", "m1", "campaign", "c-bot", None, "bot", 100.0),
    ("meta", "m1", "ad_group", "ag-bot-1", "c-bot", "bot", 60.0),
    ("meta", "m1", "ad_group", "ag-bot-2", "c-bot", "bot", 40.0),
    ("meta", "m1", "campaign", "c-dot", None, "dot", 50.0),
    ("meta", "m1", "campaign", "c-brand", None, None, 80.0),
    ("meta", "m1", "campaign", "c-widget", None, "widget", 5.0),  # a product the store does not sell
    ("meta", "m1", "campaign", "c-board", None, "board", 0.0),  # a product with neither sales nor spend
    ("pinterest", "p1", "ad_group", "pag-bot", "pc-1", "bot", 20.0),
]
PRODUCTS = {"bot": (600.0, 6, 3), "dot": (400.0, 4, 1), "board": None}


@pytest.fixture
def source(tmp_path):
    stores: list[Store] = []

    def make(spend=SPEND, products=PRODUCTS):
        data = _source(tmp_path / f"data{len(stores)}", spend, products)
        store = Store(tmp_path / f"state{len(stores)}")
        store.__enter__()
        stores.append(store)
        loaded = store.load(parse_source(f"file:{data}"), CATALOG)
        return store.con, loaded

    yield make
    for store in stores:
        store.__exit__(None, None, None)


def test_each_product_reads_its_own_sales_against_the_spend_promoting_it(source):
    con, loaded = source()
    metrics = MetricsService(con, loaded, CATALOG, AS_OF)
    assert metrics.products() == ["board", "bot", "dot"]
    bot, dot, board = (metrics.truth("last_7d", p) for p in ("bot", "dot", "board"))
    # bot: Meta's campaign (its ad groups are the same money) and Pinterest's ad group
    assert bot["ad_spend"] == pytest.approx(7 * (100 + 20))
    assert bot["revenue"] == pytest.approx(7 * 600) and bot["new_customers"] == 7 * 3
    assert bot["net_new_cac"] == pytest.approx(840 / 21) and bot["mer"] == pytest.approx(4200 / 840)
    assert dot["net_new_cac"] == pytest.approx(350 / 7) and dot["mer"] == pytest.approx(2800 / 350)
    # a product without sales or spend in the window: zero of both, so its ratios are unknown, not the store's
    assert board["revenue"] == 0 and board["ad_spend"] == 0 and board["mer"] is None and board["net_new_cac"] is None
    # sessions and net revenue are the store's for every product
    store = metrics.truth("last_7d")
    assert store["ad_spend"] == pytest.approx(7 * (100 + 50 + 80 + 5 + 20))
    assert store["net_new_cac"] == pytest.approx(7 * 255 / 28) and store["mer"] == pytest.approx(7000 / (7 * 255))
    # no product, a product the store does not sell: the store's
    assert metrics.truth("last_7d", None) is store and metrics.truth("last_7d", "widget") is store


def test_without_product_rows_every_entity_reads_the_store(source):
    con, loaded = source(products={})
    metrics = MetricsService(con, loaded, CATALOG, AS_OF)
    assert metrics.products() == []
    assert metrics.truth("last_7d", "bot") == metrics.truth("last_7d")


def test_without_shopify_rows_in_the_window_every_product_truth_is_unknown(tmp_path):
    # the store's sync stopped on Oct 20: the last 7 days have ad spend but no orders at all
    data = _source(tmp_path / "data", SPEND, PRODUCTS, shop_days=DAYS[:20])
    with Store(tmp_path / "state") as store:
        loaded = store.load(parse_source(f"file:{data}"), CATALOG)
        metrics = MetricsService(store.con, loaded, CATALOG, AS_OF)
        assert metrics.truth("last_7d")["mer"] is None
        for product in ("bot", "dot", "board"):
            truth = metrics.truth("last_7d", product)
            assert truth["revenue"] is None and truth["mer"] is None and truth["net_new_cac"] is None, product
            assert truth["ad_spend"] is not None  # the spend is known; the sales are not
        rules = write_rules(tmp_path, {"meta/operator.yaml": OPERATOR, "meta/product_cac.yaml": WORKFLOW})
        project = load_project(rules, CATALOG)
        assert _plan_fired(store.con, loaded, project) == {}  # nothing fires on unknown truth
        # Shopify reports no sessions or net revenue per product: unknown, never the store's
        whole = MetricsService(store.con, loaded, CATALOG, date(2026, 10, 21))
        assert whole.truth("last_7d", "bot")["revenue"] == 7 * 600 and whole.truth("last_7d", "bot")["sessions"] is None


@pytest.mark.parametrize("names", [("bot", "Bot"), ("bo't", 'd"ot'), ("bot", "bot-mini")])
def test_product_names_are_data_in_the_backtest_too(tmp_path, names):
    """Names that differ only in case, or hold quotes, are products like any other on every path."""
    first, second = names
    spend = [
        ("meta", "m1", "campaign", "c1", None, first, 100.0),
        ("meta", "m1", "campaign", "c2", None, second, 100.0),
    ]
    data = _source(tmp_path / "data", spend, {first: (600.0, 6, 3), second: (400.0, 4, 1)})
    rules = write_rules(tmp_path, {"meta/operator.yaml": OPERATOR, "meta/product_cac.yaml": WORKFLOW})
    project = load_project(rules, CATALOG)
    with Store(tmp_path / "state") as store:
        loaded = store.load(parse_source(f"file:{data}"), CATALOG)
        alone = _plan_fired(store.con, loaded, project)
        # the first: CAC 700 / 21 = 33, MER 6; the second: CAC 700 / 7 = 100, MER 4
        assert set(alone) == {("over_target_cac", "c2"), ("low_mer", "c2")}
        days = [AS_OF - timedelta(days=1), AS_OF]
        with DayBatch(store.con, loaded, CATALOG, project, project.workflows, days) as batch:
            assert _plan_fired(store.con, loaded, project, AS_OF, batch) == alone


def _plan_fired(con, loaded, project, as_of=AS_OF, batch=None):
    plan = build_plan(con, loaded, CATALOG, project, project.workflows, as_of, batch=batch)
    return {(a.rule_id, a.entity_id): a.evidence for a in plan.actions}  # whole numbers: sums in any order agree


def test_rules_read_their_entitys_product_truth_in_plan_explain_and_backtest(source, tmp_path):
    con, loaded = source()
    rules = write_rules(tmp_path, {"meta/operator.yaml": OPERATOR, "meta/product_cac.yaml": WORKFLOW})
    project = load_project(rules, CATALOG)
    fired = _plan_fired(con, loaded, project)
    # net new CAC: bot 40, dot 50, store 63.75 (c-brand, c-widget); MER: bot 5, dot 8, store 3.92
    assert set(fired) == {
        ("over_target_cac", "c-dot"),
        ("over_target_cac", "c-brand"),
        ("over_target_cac", "c-widget"),
        ("low_mer", "c-brand"),
        ("low_mer", "c-widget"),
    }
    assert fired[("over_target_cac", "c-dot")] == {"truth.net_new_cac": 50.0, "thresholds.max_net_new_cac": 45.0}
    assert fired[("over_target_cac", "c-brand")] == {"truth.net_new_cac": 63.75, "thresholds.max_net_new_cac": 45.0}
    metrics = MetricsService(con, loaded, CATALOG, AS_OF)
    (wf,) = project.workflows
    for eid in ("c-bot", "c-dot", "c-brand", "c-widget"):
        for item in explain(metrics, project, wf, eid).rules:
            assert item.fires == item.batch_fires == ((item.rule_id, eid) in fired), (eid, item.rule_id)
    # explain says whose truth the entity read
    notes = {eid: explain(metrics, project, wf, eid).notes for eid in ("c-bot", "c-brand", "c-widget")}
    assert notes["c-bot"] == [
        "truth.* is product bot's: its Shopify orders, revenue and new customers against the spend of the "
        "entities tagged bot (rulerun truth shows every product's)"
    ]
    assert notes["c-brand"] == ["truth.* is the store's: it has no product"]
    assert notes["c-widget"] == ["truth.* is the store's: 'widget' is not a store product that other entities promote"]
    days = [AS_OF - timedelta(days=2), AS_OF]
    with DayBatch(con, loaded, CATALOG, project, project.workflows, days) as batch:
        for d in days:
            assert _plan_fired(con, loaded, project, d, batch) == _plan_fired(con, loaded, project, d)


# -- property: the three paths and an independent sum agree on any tagging -----------------------------

TAGS = st.sampled_from(["bot", "dot", "board", "widget", None])
LEVELS = ["campaign", "ad_group", "ad"]


@st.composite
def sources(draw):
    spend_rows = []
    for a in range(draw(st.integers(1, 3))):
        platform = draw(st.sampled_from(["meta", "pinterest", "google"]))
        for level in draw(st.lists(st.sampled_from(LEVELS), min_size=1, max_size=3, unique=True)):
            for i in range(draw(st.integers(1, 3))):
                tag, spend = draw(TAGS), float(draw(st.integers(0, 200)))
                spend_rows.append((platform, f"a{a}", level, f"a{a}-{level}-{i}", None, tag, spend))
    products = {
        p: draw(st.none() | st.tuples(st.integers(0, 900).map(float), st.integers(0, 9), st.integers(0, 5)))
        for p in draw(st.lists(st.sampled_from(["bot", "dot", "board"]), unique=True))
    }
    return spend_rows, products


def _expected_spend(spend_rows, product):
    """7 days of each account's spend on `product` at the first level (campaign, ad group, ad) tagging it."""
    total = 0.0
    for account in {(p, a) for p, a, *_ in spend_rows}:
        mine = [r for r in spend_rows if (r[0], r[1]) == account and r[5] == product]
        for level in LEVELS:
            at = [r[6] for r in mine if r[2] == level]
            if at:
                total += 7 * sum(at)
                break
    return total


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=sources())
def test_any_tagging_gives_the_same_product_truth_on_every_path(tmp_path_factory, drawn):
    spend_rows, products = drawn
    tmp = tmp_path_factory.mktemp("p")
    data = _source(tmp / "data", spend_rows, products)
    with Store(tmp / "state") as store:
        loaded = store.load(parse_source(f"file:{data}"), CATALOG)
        con = store.con
        metrics = MetricsService(con, loaded, CATALOG, AS_OF)
        # the store's products some entity promotes
        assert metrics.products() == sorted(set(products) & {r[5] for r in spend_rows})
        for p, sales in products.items():
            if p not in metrics.products():
                assert metrics.truth("last_7d", p) is metrics.truth("last_7d")
                continue
            truth = metrics.truth("last_7d", p)
            assert truth["ad_spend"] == pytest.approx(_expected_spend(spend_rows, p))
            assert truth["new_customers"] == 7 * (sales[2] if sales else 0)
        platform = spend_rows[0][0]
        operator, workflow = OPERATOR.replace("meta", platform), WORKFLOW.replace("meta", platform)
        rules = write_rules(tmp, {f"{platform}/operator.yaml": operator, f"{platform}/product_cac.yaml": workflow})
        project = load_project(rules, CATALOG)
        fired = _plan_fired(con, loaded, project)
        with DayBatch(con, loaded, CATALOG, project, project.workflows, [AS_OF]) as batch:
            assert _plan_fired(con, loaded, project, AS_OF, batch) == fired
        (wf,) = project.workflows
        for platform, _account, level, eid, _parent, tag, _spend in spend_rows:
            if level != "campaign" or platform != wf.platform:
                continue
            want = metrics.truth("last_7d", tag)
            for item in explain(metrics, project, wf, eid).rules:
                assert item.fires == item.batch_fires == ((item.rule_id, eid) in fired), (eid, item.rule_id)
                if item.rule_id == "over_target_cac":
                    cac = want["net_new_cac"]
                    assert item.fires == (cac is not None and cac > 45)


# -- rule tests: the store's products are entities of the test ----------------------------------------

RULE_TEST = """\
workflow: product_cac
as_of: 2026-11-01
tests:
  - name: each campaign reads the net new CAC of its product
    entities:
      - {id: c-bot, product: bot, daily_budget: 100}
      - {id: c-dot, product: dot, daily_budget: 100}
      - {id: c-brand, daily_budget: 100}
      - {id: bot, platform: shopify, level: product, product: bot, account: vibe.myshopify.com}
      - {id: dot, platform: shopify, level: product, product: dot, account: vibe.myshopify.com}
    metrics:
      c-bot: {spend: 120 x 7}
      c-dot: {spend: 50 x 7}
      c-brand: {spend: 80 x 7}
      bot: {revenue: 600 x 7, orders: 6 x 7, new_customers: 3 x 7}
      dot: {revenue: 400 x 7, orders: 4 x 7, new_customers: 1 x 7}
    truth: {revenue: 1000 x 7, orders: 10 x 7, new_customers: 4 x 7}
    expect:
      - {rule: over_target_cac, entity: c-dot, type: pause}
      - {rule: over_target_cac, entity: c-brand, type: pause}
    expect_no:
      - {rule: over_target_cac, entity: c-bot}
"""


def test_rule_tests_give_products_their_own_truth(tmp_path, capsys):
    rules = write_rules(
        tmp_path,
        {
            "meta/operator.yaml": OPERATOR,
            "meta/product_cac.yaml": WORKFLOW,
            "meta/product_cac.test.yaml": RULE_TEST,
        },
    )
    assert test_command([str(rules)], str(rules), None, None, "text") == 0, capsys.readouterr().out
    # without the products, every campaign reads the store's CAC (250 x 7 / 28 = 62.5): c-bot pauses too
    without = [line for line in RULE_TEST.splitlines() if "shopify" not in line and "revenue: 600" not in line]
    without = [line for line in without if "revenue: 400" not in line]
    (rules / "meta/product_cac.test.yaml").write_text("\n".join(without) + "\n", encoding="utf-8")
    assert test_command([str(rules)], str(rules), None, None, "text") == 1
    out = capsys.readouterr().out
    assert "expected no action like (line 18): {rule: over_target_cac, entity: c-bot}" in out, out


# -- `rulerun truth` shows what each product's entities read --------------------------------------------


def test_the_truth_command_shows_the_store_and_each_product(tmp_path):
    data = _source(tmp_path / "data", SPEND, PRODUCTS)
    rules = write_rules(tmp_path, {"meta/operator.yaml": OPERATOR, "meta/product_cac.yaml": WORKFLOW})
    base = ("truth", "--rules", str(rules), "--source", f"file:{data}", "--as-of", AS_OF.isoformat())
    res = run(*base, "--window", "last_7d", "--format", "json")
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads(res.stdout)["truth"]
    assert doc["window"] == "last_7d" and sorted(doc["products"]) == ["board", "bot", "dot"]
    assert doc["products"]["bot"]["net_new_cac"] == pytest.approx(40.0)
    assert doc["products"]["dot"]["mer"] == pytest.approx(8.0)
    assert doc["store"]["net_new_cac"] == pytest.approx(63.75)
    text = run(*base, "--window", "last_7d", env={"COLUMNS": "200"}).stdout
    assert "Truth over last_7d" in text
    table = text[text.index("Truth over") :].splitlines()
    rows = {line.split("│")[1].strip(): line for line in table if line.count("│") == 8}
    assert set(rows) == {"store (all)", "board", "bot", "dot"}
    assert "40.00" in rows["bot"] and "n/a" in rows["board"]
    bad = run(*base, "--window", "last_week")
    assert bad.returncode == 2 and "unknown window 'last_week'" in bad.stderr
