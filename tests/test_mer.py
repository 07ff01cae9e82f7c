"""Blended MER: ad spend from the top level each account reports, and a reason whenever it is unknown."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.catalog import load_catalog
from engine.data.metrics import MetricsService
from engine.data.sources import SourceInfo, parse_source
from engine.data.store import LoadedSource, Store
from engine.evaluation.evaluate import build_plan
from engine.rules.escalation import default_escalations
from engine.rules.loader import load_project
from engine.safety.pipeline import run_pipeline
from tests.helpers.data import METRIC_COLUMNS, day, entity, october, write_source
from tests.helpers.rules import write_rules
from tests.helpers.safety import budget, fresh, operator

CATALOG = load_catalog()
AS_OF = date(2026, 11, 1)
LAST_7D = october(25, 31)
COLUMNS = [*METRIC_COLUMNS, "revenue"]


def _row(d: str, entity_id: str, level: str, platform: str, account: str, **metrics) -> dict:
    return day(d, entity_id, level=level, platform=platform, **metrics) | {"account_id": account}


def _entity(entity_id: str, level: str, platform: str, account: str) -> dict:
    return entity(entity_id, level=level, platform=platform) | {"account_id": account}


# Each account spends the same money every day; some report it at several levels.
ACCOUNTS = {
    # (platform, account): {level: daily spend of each of its rows at that level}
    ("meta", "m1"): {"campaign": [100.0], "ad_group": [60.0, 40.0], "ad": [25.0, 25.0, 50.0]},
    ("pinterest", "p1"): {"ad_group": [30.0, 20.0], "ad": [50.0]},  # no campaign rows
    ("google", "g1"): {"account": [30.0]},  # only account totals
}
# Spend counted once per account: campaign if present, else ad_group, else ad, else account.
EXPECTED_DAILY_SPEND = 100.0 + 50.0 + 30.0


def _write(directory: Path, revenue_per_day: float | None, accounts=ACCOUNTS) -> Path:
    entities, rows = [], []
    for (platform, account), levels in accounts.items():
        for level, spends in levels.items():
            for i, spend in enumerate(spends):
                eid = f"{account}-{level}-{i}"
                entities.append(_entity(eid, level, platform, account))
                rows += [
                    _row(d, eid, level, platform, account, spend=spend, impressions=100, conversions=2)
                    for d in october(1, 31)
                ]
    if revenue_per_day is not None:
        entities.append(_entity("shop", "account", "shopify", "store"))
        rows += [_row(d, "shop", "account", "shopify", "store", revenue=revenue_per_day) for d in october(1, 31)]
    return write_source(directory, entities, rows, COLUMNS)


@pytest.fixture
def service(tmp_path):
    def make(revenue_per_day: float | None, accounts=ACCOUNTS) -> MetricsService:
        data = _write(tmp_path / f"data-{revenue_per_day}-{len(accounts)}", revenue_per_day, accounts)
        store = Store(tmp_path / f"state-{revenue_per_day}-{len(accounts)}")
        store.__enter__()
        stores.append(store)
        loaded = store.load(parse_source(f"file:{data}"), CATALOG)
        return MetricsService(store.con, loaded, CATALOG, AS_OF)

    stores: list[Store] = []
    yield make
    for store in stores:
        store.__exit__(None, None, None)


def test_ad_spend_counts_each_account_once_at_its_top_level(service):
    truth = service(900.0).truth("last_7d")
    assert truth["ad_spend"] == pytest.approx(len(LAST_7D) * EXPECTED_DAILY_SPEND)
    assert truth["mer"] == pytest.approx(900.0 / EXPECTED_DAILY_SPEND)


def test_an_account_reporting_only_ad_groups_has_a_known_mer(service):
    metrics = service(500.0, {("pinterest", "p1"): {"ad_group": [30.0, 20.0]}})
    assert metrics.truth("last_7d")["mer"] == pytest.approx(10.0)
    assert metrics.mer_unknown_reason("last_7d") is None


def test_without_shopify_revenue_mer_is_unknown_and_says_why(service):
    metrics = service(None)
    assert metrics.truth("last_7d")["mer"] is None
    assert metrics.mer_unknown_reason("last_7d") == "no Shopify revenue in the window"


def test_without_ad_spend_mer_is_unknown_and_says_why(service):
    metrics = service(400.0, {("meta", "m1"): {"campaign": [0.0]}})
    assert metrics.truth("last_7d")["mer"] is None
    assert metrics.mer_unknown_reason("last_7d") == "no ad spend in the window"


def test_the_guardrail_words_the_unknown_case():
    action = budget(100.0, 110.0)
    facts = {action.action_id: fresh(mer=None, mer_unknown="no Shopify revenue in the window")}
    (a,) = run_pipeline([action], facts, {}, {"ops": operator()}, default_escalations(CATALOG)).actions
    assert a.status == "blocked"
    assert a.guardrails[0]["message"] == (
        "blended MER is unknown (no Shopify revenue in the window): budget increases wait"
    )
    known = budget(100.0, 110.0)
    facts = {known.action_id: fresh(mer=1.5)}
    (b,) = run_pipeline([known], facts, {}, {"ops": operator()}, default_escalations(CATALOG)).actions
    assert b.guardrails[0]["message"] == "blended MER 1.50 is under 2.0 needed to raise budgets"


RAISE_BUDGETS = """\
    workflow: w
    operator: meta
    level: campaign
    window: last_7d
    rules:
      - id: raise
        when: spend > 0
        action: {type: change_budget, by_pct: 10}
"""


def test_the_plan_says_when_mer_cannot_be_computed(tmp_path, service):
    metrics = service(None)
    rules = write_rules(
        tmp_path, {"meta/operator.yaml": "operator: meta\nplatform: meta\n", "meta/w.yaml": RAISE_BUDGETS}
    )
    project = load_project(rules, CATALOG)
    plan = build_plan(metrics.con, metrics.loaded, CATALOG, project, project.workflows, AS_OF)
    assert plan.actions and all(a.status == "blocked" for a in plan.actions)
    notes = [n for n in plan.data_quality if "MER" in n["message"]]
    assert notes == [
        {
            "severity": "warning",
            "message": "blended MER over last_7d cannot be computed: no Shopify revenue in the window; "
            "budget increases are blocked",
        }
    ]
    healthy = service(2000.0)
    plan = build_plan(healthy.con, healthy.loaded, CATALOG, project, project.workflows, AS_OF)
    assert not [n for n in plan.data_quality if "MER" in n["message"]]


# -- property: whatever levels accounts report, each account's spend is counted exactly once --------

AD_PLATFORMS = ["meta", "google", "pinterest", "tiktok", "amazon", "linkedin"]
LEVELS = ["campaign", "ad_group", "ad", "account", "keyword"]


@st.composite
def accounts(draw):
    """Accounts, each spending whole dollars a day and reporting that spend at some levels, split into rows."""
    out = []
    for i in range(draw(st.integers(1, 5))):
        platform = draw(st.sampled_from([*AD_PLATFORMS, "klaviyo"]))
        daily = draw(st.integers(0, 500))
        levels = draw(st.lists(st.sampled_from(LEVELS), min_size=1, max_size=4, unique=True))
        splits = {level: draw(st.lists(st.integers(0, 100), min_size=1, max_size=3)) for level in levels}
        out.append((platform, f"a{i}", daily, splits))
    return out


def _store_of(rows_by_account) -> MetricsService:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA s")
    con.execute(
        "CREATE TABLE s.metrics_daily (date DATE, platform VARCHAR, account_id VARCHAR, level VARCHAR, "
        "entity_id VARCHAR, spend DOUBLE, revenue DOUBLE)"
    )
    con.execute(
        "CREATE TABLE s.entities (platform VARCHAR, account_id VARCHAR, level VARCHAR, entity_id VARCHAR, "
        "product VARCHAR)"
    )
    rows = []
    for platform, account, daily, splits in rows_by_account:
        for level, weights in splits.items():
            total = sum(weights) or 1
            shares = [daily * w / total for w in weights] if sum(weights) else [daily / len(weights)] * len(weights)
            for d in LAST_7D:
                rows += [(d, platform, account, level, f"{level}-{j}", share, None) for j, share in enumerate(shares)]
    rows += [(d, "shopify", "store", "account", "shop", None, 1000.0) for d in LAST_7D]
    con.executemany("INSERT INTO s.metrics_daily VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    info = SourceInfo(frozenset({"spend", "revenue"}), date(2026, 10, 25), date(2026, 10, 31), 0, len(rows))
    return MetricsService(con, LoadedSource("s", "memory", info, False), CATALOG, AS_OF)


@settings(max_examples=150)  # each example builds a DuckDB database
@given(accounts())
def test_ad_spend_counts_each_ad_account_once_whatever_levels_it_reports(rows_by_account):
    truth = _store_of(rows_by_account).truth("last_7d")
    counted = [
        daily
        for platform, _, daily, splits in rows_by_account
        if platform in AD_PLATFORMS and set(splits) & {"campaign", "ad_group", "ad", "account"}
    ]
    expected = 7 * sum(counted)
    if counted:
        assert truth["ad_spend"] == pytest.approx(expected, abs=1e-6)
    if expected:
        assert truth["mer"] == pytest.approx(7000.0 / expected)
    else:
        assert truth["mer"] is None
