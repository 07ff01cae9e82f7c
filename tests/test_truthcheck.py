"""Truth checks: platform conversions against Shopify orders per ISO week, the live
`credibility_ratio`, drift warnings, and `rulerun truth`.

The data: two ad platforms with campaign-level rows and a Shopify store, six complete ISO
weeks (2026-W37 to 2026-W42, Monday 2026-09-07 to Sunday 2026-10-18), evaluated on Monday
2026-10-19. Meta spends 300 a day and Pinterest 100, so Shopify's 20 orders a day (140 a
week) are attributed 105 to Meta and 35 to Pinterest each week.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, timedelta

import duckdb
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from engine.core.catalog import load_catalog
from engine.data import truthcheck
from engine.data.store import DB_NAME, Store
from engine.data.sync import LIVE_SCHEMA, sync
from platforms.adapter import Account, Fetched
from platforms.template import LiveAdapter
from tests.helpers.cli import run
from tests.helpers.data import METRIC_COLUMNS, entity, write_source
from tests.helpers.rules import PINTEREST_OPERATOR, write_rules

CATALOG = load_catalog()
FIRST = date(2026, 9, 7)  # a Monday: 2026-W37
WEEKS = 6
AS_OF = "2026-10-19"  # the Monday after 2026-W42
LAST_WEEK = "2026-W42"

WORKFLOW = """\
workflow: credible
operator: pinterest
level: campaign
window: last_7d
rules:
  - id: report_adjusted_cpa
    when: spend > 0 and credibility_ratio > 0 and adjusted_cpa > 0
    action: {type: notify, message: weekly CPA on Shopify-adjusted conversions}
"""


def _days():
    return [FIRST + timedelta(days=i) for i in range(7 * WEEKS)]


def write_data(
    tmp_path, *, shopify: bool = True, pinterest_last_week: float = 7.0, missing_shopify_day=None, shopify_since=None
):
    """Meta: 21 conversions a day (ratio 147 / 105 = 1.4); Pinterest: 7 a day (49 / 35 = 1.4),
    `pinterest_last_week` a day in the last week."""
    entities = [
        entity("m1", level="campaign", platform="meta"),
        entity("p1", level="campaign", platform="pinterest"),
    ]
    if shopify:
        entities.append(entity("store", level="account", platform="shopify"))
    metrics = []
    last_week_start = FIRST + timedelta(weeks=WEEKS - 1)
    for d in _days():
        iso = d.isoformat()
        pin_conv = pinterest_last_week if d >= last_week_start else 7.0
        metrics.append(_row(iso, "meta", "m1", spend=300, impressions=30000, clicks=300, conversions=21))
        metrics.append(_row(iso, "pinterest", "p1", spend=100, impressions=10000, clicks=100, conversions=pin_conv))
        if shopify and d != missing_shopify_day and (shopify_since is None or d >= shopify_since):
            metrics.append({"date": iso, "platform": "shopify", "account_id": "acct", "level": "account",
                            "entity_id": "store", "orders": 20, "revenue": 2000})  # fmt: skip
    return write_source(tmp_path / "data", entities, metrics, [*METRIC_COLUMNS, "orders", "revenue"])


def _row(iso, platform, eid, **values):
    return {"date": iso, "platform": platform, "account_id": "acct", "level": "campaign", "entity_id": eid, **values}


@pytest.fixture
def rules(tmp_path):
    return write_rules(tmp_path, {"pinterest/operator.yaml": PINTEREST_OPERATOR, "pinterest/credible.yaml": WORKFLOW})


def invoke(*args):
    return run(*args)


def evaluate(rules, data, as_of=AS_OF):
    res = invoke("evaluate", "--rules", str(rules), "--source", f"file:{data}", "--as-of", as_of, "--format", "json")
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(res.stdout)


def truth(rules, data, *extra):
    return invoke("truth", "--rules", str(rules), "--source", f"file:{data}", "--as-of", AS_OF, *extra)


def notes(plan, kind):
    return [n for n in plan["data_quality"] if n.get("kind") == kind]


# -- the attribution ---------------------------------------------------------------------------


def test_steady_weeks_give_the_ratio_of_conversions_to_spend_share_of_orders(rules, tmp_path):
    data = write_data(tmp_path)
    doc = json.loads(truth(rules, data, "--weeks", "2", "--format", "json").stdout)
    assert doc["attribution"] == "spend_share"
    assert [(w["week"], w["platform"]) for w in doc["weeks"]] == [
        ("2026-W41", "meta"),
        ("2026-W41", "pinterest"),
        ("2026-W42", "meta"),
        ("2026-W42", "pinterest"),
    ]
    meta = doc["weeks"][2]
    assert meta["platform_conversions"] == 147 and meta["shopify_orders"] == 140
    assert meta["shopify_orders_attributed"] == pytest.approx(105)  # 140 x 300 / 400
    assert meta["ratio"] == pytest.approx(1.4)
    assert meta["seed"] == CATALOG.credibility_ratio("meta")
    assert meta["trend"]["change"] == pytest.approx(0) and meta["trend"]["drift"] is False
    assert doc["warnings"] == []


def test_partial_weeks_and_weeks_with_a_missing_shopify_day_have_no_ratio(rules, tmp_path):
    missing = FIRST + timedelta(weeks=WEEKS - 2, days=3)  # a Thursday of 2026-W41
    data = write_data(tmp_path, missing_shopify_day=missing)
    doc = json.loads(truth(rules, data, "--weeks", "3", "--format", "json").stdout)
    by_week = {(w["week"], w["platform"]): w for w in doc["weeks"]}
    assert by_week[("2026-W41", "meta")]["shopify_orders"] is None
    assert by_week[("2026-W41", "meta")]["ratio"] is None
    assert by_week[("2026-W42", "meta")]["ratio"] == pytest.approx(1.4)
    # W42's trend needs each of the 4 weeks before it: W41 has no ratio
    assert by_week[("2026-W42", "meta")]["trend"] is None
    # the data ends on a Sunday; evaluated mid-week, the week in progress is not a week yet
    mid = json.loads(
        invoke(
            "truth", "--rules", str(rules), "--source", f"file:{data}", "--as-of", "2026-10-15", "--format", "json"
        ).stdout
    )
    assert {w["week"] for w in mid["weeks"]} == {"2026-W38", "2026-W39", "2026-W40", "2026-W41"}


# -- credibility_ratio in rules ----------------------------------------------------------------


def test_rules_read_the_live_ratio_and_the_plan_says_so(rules, tmp_path):
    plan = evaluate(rules, write_data(tmp_path))
    (action,) = plan["actions"]
    assert action["evidence"]["credibility_ratio"] == pytest.approx(1.4)
    # adjusted_cpa = spend / (conversions / ratio) over last_7d: 700 / (49 / 1.4)
    assert action["evidence"]["adjusted_cpa"] == pytest.approx(700 / (49 / 1.4))
    (note,) = notes(plan, "credibility_ratio")
    assert note["source"] == "live" and note["platform"] == "pinterest" and note["week"] == LAST_WEEK
    assert f"live 1.40 (week {LAST_WEEK})" in note["message"]
    assert notes(plan, "credibility_drift") == []


def test_without_shopify_rules_read_the_catalog_seed_and_the_plan_says_so(rules, tmp_path):
    plan = evaluate(rules, write_data(tmp_path, shopify=False))
    seed = CATALOG.credibility_ratio("pinterest")
    (action,) = plan["actions"]
    assert action["evidence"]["credibility_ratio"] == seed
    (note,) = notes(plan, "credibility_ratio")
    assert note["source"] == "catalog_seed" and note["value"] == seed
    assert f"catalog seed {seed:g}; no live ratio: no Shopify orders in the data before {AS_OF}" in note["message"]
    assert notes(plan, "credibility_drift") == []
    out = truth(rules, write_data(tmp_path, shopify=False))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"credibility_ratio of pinterest: catalog seed {seed:g}; no live ratio: no Shopify orders" in out.stdout


def test_a_store_connected_mid_week_gives_no_live_ratio_yet(rules, tmp_path):
    plan = evaluate(rules, write_data(tmp_path, shopify_since=date(2026, 10, 15)))  # Thursday to Sunday only
    (note,) = notes(plan, "credibility_ratio")
    assert note["source"] == "catalog_seed"
    assert f"no week with Shopify orders on all 7 days before {AS_OF}" in note["message"]


def test_a_live_ratio_older_than_two_weeks_is_not_used(rules, tmp_path):
    plan = evaluate(rules, write_data(tmp_path), as_of="2026-11-05")
    (note,) = notes(plan, "credibility_ratio")
    assert note["source"] == "catalog_seed"
    assert "no complete week of Shopify orders in the 14 days before 2026-11-05" in note["message"]


def test_a_drifting_ratio_is_a_data_quality_warning(rules, tmp_path):
    # Pinterest claims twice its conversions in the last week: 98 / 35 = 2.8 against 1.4 before
    plan = evaluate(rules, write_data(tmp_path, pinterest_last_week=14.0))
    (drift,) = notes(plan, "credibility_drift")
    assert drift["severity"] == "warning" and drift["platform"] == "pinterest" and drift["week"] == LAST_WEEK
    assert drift["value"] == pytest.approx(2.8) and drift["mean"] == pytest.approx(1.4)
    assert "moved +100% in week 2026-W42" in drift["message"]
    (action,) = plan["actions"]
    assert action["evidence"]["credibility_ratio"] == pytest.approx(2.8)  # still the live ratio, with the warning
    text = truth(rules, write_data(tmp_path, pinterest_last_week=14.0))
    assert "+100% vs 1.40 (drift)" in text.stdout
    assert "warning: pinterest conversions against Shopify orders moved +100%" in text.stdout


def test_a_move_within_a_quarter_is_not_drift(rules, tmp_path):
    plan = evaluate(rules, write_data(tmp_path, pinterest_last_week=8.6))  # 60.2 / 35 = 1.72: +23%
    assert notes(plan, "credibility_drift") == []


def test_explain_reads_the_same_live_ratio(rules, tmp_path):
    data = write_data(tmp_path)
    res = invoke(
        "explain", "--rules", str(rules), "--workflow", "pinterest/credible", "--entity", "p1",
        "--source", f"file:{data}", "--as-of", AS_OF,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert re.search(r"^ +credibility_ratio +1\.40$", res.stdout, re.M), res.stdout
    assert re.search(r"^ +adjusted_cpa +20\.00$", res.stdout, re.M)  # 700 / (49 / 1.4), money: two decimals
    assert f"credibility_ratio of pinterest: live 1.40 (week {LAST_WEEK})" in res.stdout


# -- the stored record -------------------------------------------------------------------------


def test_loading_a_source_stores_the_weekly_ratios(rules, tmp_path):
    data = write_data(tmp_path)
    evaluate(rules, data)
    con = duckdb.connect(str(tmp_path / ".rulerun" / DB_NAME), read_only=True)
    try:
        (schema,) = con.execute("SELECT schema_name FROM _rulerun_sources").fetchone()
        rows = truthcheck.stored(con, schema)
    finally:
        con.close()
    assert rows is not None and len(rows) == 2 * WEEKS
    assert {r.week for r in rows} == {f"2026-W{w}" for w in range(37, 43)}
    # the record is what the daily rows give: `rulerun truth` finds nothing to rewrite
    doc = json.loads(truth(rules, data, "--format", "json").stdout)
    assert doc["stored"] is None


def test_truth_writes_the_record_when_the_store_lacks_it(rules, tmp_path):
    data = write_data(tmp_path)
    evaluate(rules, data)
    db = tmp_path / ".rulerun" / DB_NAME
    con = duckdb.connect(str(db))
    (schema,) = con.execute("SELECT schema_name FROM _rulerun_sources").fetchone()
    con.execute(f'DROP TABLE "{schema}".{truthcheck.TABLE}')
    con.close()
    # without the record, evaluation computes the same ratios from the daily rows
    assert notes(evaluate(rules, data), "credibility_ratio")[0]["value"] == pytest.approx(1.4)
    out = truth(rules, data)
    assert out.returncode == 0 and f"Stored {2 * WEEKS} weekly row(s)" in out.stdout


def test_truth_rewrites_a_record_that_no_longer_matches_the_data(rules, tmp_path):
    data = write_data(tmp_path)
    evaluate(rules, data)
    con = duckdb.connect(str(tmp_path / ".rulerun" / DB_NAME))
    (schema,) = con.execute("SELECT schema_name FROM _rulerun_sources").fetchone()
    con.execute(f'UPDATE "{schema}".{truthcheck.TABLE} SET ratio = 9.0 WHERE week = ?', [LAST_WEEK])
    con.close()
    assert notes(evaluate(rules, data), "credibility_ratio")[0]["value"] == 9.0  # rules read the record
    out = json.loads(truth(rules, data, "--format", "json").stdout)
    assert out["stored"] == 2 * WEEKS
    assert notes(evaluate(rules, data), "credibility_ratio")[0]["value"] == pytest.approx(1.4)


def test_weeks_out_of_range_is_a_usage_error(rules, tmp_path):
    res = truth(rules, write_data(tmp_path), "--weeks", "0")
    assert res.returncode == 2 and "--weeks" in res.stdout + res.stderr


class ScriptedStore(LiveAdapter):
    """A stand-in for a live Shopify store and a Meta account: a day's rows for any range."""

    def read(self, date_from, date_to):
        key = {"platform": self.platform, "account_id": self.account.account_id}
        level, eid = ("account", "store") if self.platform == "shopify" else ("campaign", "c1")
        rows, d = [], date_from
        while d <= date_to:
            values = {"orders": 10.0} if self.platform == "shopify" else {"spend": 50.0, "conversions": 13.0}
            rows.append({**key, "level": level, "entity_id": eid, "date": d, **values})
            d += timedelta(days=1)
        return Fetched([{**key, "level": level, "entity_id": eid, "name": eid, "status": "active"}], rows, 1)

    def probe(self):
        return "scripted"

    def state(self, key):  # pragma: no cover - writes are not part of sync
        raise NotImplementedError

    def write(self, change):  # pragma: no cover
        raise NotImplementedError


def test_a_sync_stores_the_weekly_ratios_of_the_synced_data(tmp_path):
    accounts = [Account("shopify", "shop-1"), Account("meta", "act_1")]
    with Store(tmp_path) as store:
        report = sync(store, CATALOG, accounts, lambda a: ScriptedStore(a, CATALOG), today=date(2026, 11, 21))
        assert not report.failed
        rows = truthcheck.stored(store.connect(), LIVE_SCHEMA)
    assert rows and {r.platform for r in rows} == {"meta"}
    assert all(r.ratio == pytest.approx(1.3) for r in rows)  # 91 conversions vs all 70 orders each week


# -- demo --------------------------------------------------------------------------------------


def test_demo_truth_table_adds_up(tmp_path):
    res = invoke("truth", "--state-dir", str(tmp_path / "state"), "--format", "json")
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    assert doc["as_of"] == "2026-11-01"
    weeks = {w["week"] for w in doc["weeks"]}
    assert weeks == {"2026-W40", "2026-W41", "2026-W42", "2026-W43"}  # the week of Oct 26 is not complete
    for week in weeks:
        rows = [w for w in doc["weeks"] if w["week"] == week]
        assert {w["platform"] for w in rows} == {"amazon", "google", "linkedin", "meta", "pinterest", "tiktok"}
        assert sum(w["shopify_orders_attributed"] for w in rows) == pytest.approx(rows[0]["shopify_orders"])
        for w in rows:
            assert w["ratio"] == pytest.approx(w["platform_conversions"] / w["shopify_orders_attributed"])
    live = {c["platform"]: c for c in doc["credibility_ratio"]}
    assert all(c["source"] == "live" and c["week"] == "2026-W43" for c in live.values())
    text = invoke("truth", "--state-dir", str(tmp_path / "state"), "--weeks", "1")
    assert "Shopify orders attributed" in text.stdout and "2026-W43" in text.stdout and "2026-W42" not in text.stdout


def test_demo_plan_uses_the_live_ratio_in_adjusted_cpa(tmp_path):
    res = invoke(
        "evaluate", "--state-dir", str(tmp_path / "state"), "--workflow", "pinterest/weekly_report", "--format", "json"
    )
    assert res.returncode == 0, res.stdout + res.stderr
    plan = json.loads(res.stdout)
    (note,) = notes(plan, "credibility_ratio")
    assert note["source"] == "live" and note["week"] == "2026-W43"
    action = next(a for a in plan["actions"] if a["rule_id"] == "weekly_cpa_by_campaign" and a["evidence"]["cpa"])
    assert action["evidence"]["adjusted_cpa"] == pytest.approx(action["evidence"]["cpa"] * note["value"], rel=1e-4)


# -- the arithmetic ----------------------------------------------------------------------------

# counts and money: zero, or at least a cent (a subnormal share of an order is no measurement)
amounts = st.one_of(st.just(0.0), st.floats(min_value=0.01, max_value=1e7))
platforms = st.dictionaries(st.sampled_from(["meta", "google", "tiktok", "pinterest"]), amounts, min_size=1)
anything = st.dictionaries(st.sampled_from(["meta", "google"]), st.floats(min_value=0, max_value=1e308), min_size=1)


@given(orders=amounts, spend=platforms, conversions=platforms, k=st.floats(min_value=0.01, max_value=100))
def test_attribution_hands_out_every_order_and_ratios_scale_with_conversions(orders, spend, conversions, k):
    split = truthcheck.attribute(orders, spend, conversions)
    if sum(spend.values()) > 0:
        assert sum(a for a, _ in split.values() if a is not None) == pytest.approx(orders, rel=1e-9, abs=1e-6)
    for platform, (attributed, ratio) in split.items():
        if ratio is not None:
            assert attributed is not None and attributed > 0 and ratio > 0
            assert ratio * attributed == pytest.approx(conversions[platform], rel=1e-9)
    # spend in another currency unit (all scaled alike) changes nothing; k times the conversions, k times the ratio
    scaled = truthcheck.attribute(orders, {p: s * k for p, s in spend.items()}, conversions)
    more = truthcheck.attribute(orders, spend, {p: c * k for p, c in conversions.items()})
    for platform, (_, ratio) in split.items():
        if ratio is not None:
            assert scaled[platform][1] == pytest.approx(ratio, rel=1e-9)
            if more[platform][1] is not None:
                assert more[platform][1] == pytest.approx(ratio * k, rel=1e-9)


@given(orders=st.floats(min_value=0, max_value=1e308), spend=anything, conversions=anything)
def test_a_ratio_is_finite_and_positive_or_null_whatever_the_numbers(orders, spend, conversions):
    for attributed, ratio in truthcheck.attribute(orders, spend, conversions).values():
        assert ratio is None or (math.isfinite(ratio) and ratio > 0)
        assert attributed is None or attributed >= 0


# -- rule unit tests ---------------------------------------------------------------------------

UNDER_REPORTING = """\
workflow: honest
operator: pinterest
level: campaign
window: last_7d
rules:
  - id: claims_fewer_than_shopify
    when: spend > 0 and credibility_ratio < 1
    action: {type: notify, message: Pinterest reports fewer conversions than its share of Shopify orders}
"""

UNDER_REPORTING_TESTS = """\
workflow: honest
as_of: 2026-11-02                 # a Monday: the 7 days before are ISO week 2026-W44
tests:
  - name: the live ratio of the week is read (49 conversions vs 70 orders, all attributed to Pinterest)
    entities:
      - {id: c1}
    metrics:
      c1: {spend: 100 x 7, impressions: 10000 x 7, conversions: 7 x 7}
    truth:
      orders: 10 x 7
    expect:
      - {rule: claims_fewer_than_shopify, entity: c1, status: planned}
  - name: without Shopify orders the catalog seed (1.55) is read
    entities:
      - {id: c1}
    metrics:
      c1: {spend: 100 x 7, impressions: 10000 x 7, conversions: 7 x 7}
    expect_no:
      - {rule: claims_fewer_than_shopify}
"""


def test_rule_unit_tests_read_the_live_ratio_from_their_truth_series(tmp_path):
    rules = write_rules(
        tmp_path,
        {
            "pinterest/operator.yaml": PINTEREST_OPERATOR,
            "pinterest/honest.yaml": UNDER_REPORTING,
            "pinterest/honest.test.yaml": UNDER_REPORTING_TESTS,
        },
    )
    res = invoke("test", "--rules", str(rules), str(rules / "pinterest"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 passed, 0 failed" in res.stdout


ratios = st.floats(min_value=0.05, max_value=20)


@given(history=st.lists(ratios, min_size=5, max_size=5), k=st.floats(min_value=0.1, max_value=10))
def test_drift_is_a_move_of_over_a_quarter_and_ignores_a_steady_scale(history, k):
    def weeks(values):
        return [
            truthcheck.WeekRatio(FIRST + timedelta(weeks=i), "meta", r, 1.0, 1.0, 1.0, 7, 1.0, r)
            for i, r in enumerate(values)
        ]

    rows = weeks(history)
    t = truthcheck.trend(rows, rows[-1])
    mean = sum(history[:4]) / 4
    assert t is not None and t.mean == pytest.approx(mean)
    move = abs(history[-1] / mean - 1)
    assume(abs(move - truthcheck.DRIFT) > 1e-9)  # the mean is summed in another order: not at the boundary
    assert t.drift == (move > truthcheck.DRIFT)
    # a platform that always over-reports k times more has the same trend
    scaled = weeks([r * k for r in history])
    assert truthcheck.trend(scaled, scaled[-1]).change == pytest.approx(t.change, abs=1e-9)
    # a missing week among the 4 before: no trend, so no drift
    gap = [w for w in rows if w.week_start != FIRST + timedelta(weeks=2)]
    assert truthcheck.trend(gap, gap[-1]) is None
