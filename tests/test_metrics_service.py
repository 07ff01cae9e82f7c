"""The metrics service: additive sums over any window, derived metrics from the catalog's formulas only."""

from __future__ import annotations

from datetime import date

import pytest

from engine.core.catalog import load_catalog
from engine.data.metrics import MetricsService
from engine.data.sources import parse_source
from engine.data.store import Store
from engine.evaluation.evaluate import build_plan
from engine.language.windows import Range
from engine.rules.loader import load_project
from tests.helpers.data import day, entity, october, write_source
from tests.helpers.rules import PINTEREST_OPERATOR, write_rules

CATALOG = load_catalog()
AS_OF = date(2026, 11, 1)
G1 = ("pinterest", "acct", "ad_group", "g1")
G2 = ("pinterest", "acct", "ad_group", "g2")
IDLE = ("pinterest", "acct", "ad_group", "idle")
SUMMED = ("spend", "impressions", "clicks", "conversions", "conversion_value")


def _rows() -> list[dict]:
    rows = []
    for i, d in enumerate(october(18, 31)):
        rows.append(
            day(
                d,
                "g1",
                spend=10.0 + i,
                impressions=1000 + 10 * i,
                clicks=20 + i,
                outbound_clicks=3,
                conversions=i % 3,
                conversion_value=25.0 * (i % 3),
            )
        )
        rows.append(
            day(d, "g2", spend=5.0, impressions=0, clicks=0, outbound_clicks=0, conversions=0, conversion_value=0)
        )
    return rows


@pytest.fixture(scope="module")
def metrics(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("metrics")
    data = write_source(tmp / "data", [entity("g1"), entity("g2"), entity("idle")], _rows())
    with Store(tmp / "state") as store:
        loaded = store.load(parse_source(f"file:{data}"), CATALOG)
        yield MetricsService(store.con, loaded, CATALOG, AS_OF)


def _sums(entity_id: str, first: str, last: str) -> dict[str, float]:
    """Sums over the inclusive ISO dates, computed here from the rows written to the source."""
    picked = [r for r in _rows() if r["entity_id"] == entity_id and first <= r["date"] <= last]
    return {m: float(sum(r[m] for r in picked)) for m in SUMMED}


def test_additive_and_derived_metrics_over_a_named_window(metrics):
    got = metrics.values([G1], {m: (m, "last_7d") for m in ("spend", "clicks", "cpa", "roas", "ctr", "cpm")})[G1]
    s = _sums("g1", "2026-10-25", "2026-10-31")
    assert got["spend"] == pytest.approx(s["spend"]) and got["clicks"] == pytest.approx(s["clicks"])
    assert got["cpa"] == pytest.approx(s["spend"] / s["conversions"])
    assert got["roas"] == pytest.approx(s["conversion_value"] / s["spend"])
    assert got["ctr"] == pytest.approx(s["clicks"] / s["impressions"])
    assert got["cpm"] == pytest.approx(s["spend"] / s["impressions"] * 1000)


def test_previous_windows_and_explicit_ranges_are_the_same_days(metrics):
    by_name = metrics.values([G1], {"spend": ("spend", "prev:last_7d"), "cpa": ("cpa", "prev:last_7d")})[G1]
    by_range = metrics.values(
        [G1],
        {
            "spend": ("spend", Range(date(2026, 10, 18), date(2026, 10, 25))),
            "cpa": ("cpa", Range(date(2026, 10, 18), date(2026, 10, 25))),
        },
    )[G1]
    s = _sums("g1", "2026-10-18", "2026-10-24")
    assert by_name == by_range
    assert by_name["spend"] == pytest.approx(s["spend"]) and by_name["cpa"] == pytest.approx(
        s["spend"] / s["conversions"]
    )


def test_credibility_adjusted_metrics_use_the_platforms_ratio(metrics):
    got = metrics.values([G1], {"adjusted_cpa": ("adjusted_cpa", "last_7d")})[G1]
    s = _sums("g1", "2026-10-25", "2026-10-31")
    ratio = CATALOG.credibility_ratio("pinterest")
    assert got["adjusted_cpa"] == pytest.approx(s["spend"] / (s["conversions"] / ratio))


def test_zero_denominators_unreported_metrics_and_entities_without_rows(metrics):
    wanted = {m: (m, "last_7d") for m in ("spend", "ctr", "cpa", "leads", "cost_per_lead")}
    got = metrics.values([G2, IDLE], wanted)
    assert got[G2]["spend"] == pytest.approx(35.0) and got[G2]["ctr"] is None and got[G2]["cpa"] is None
    assert got[IDLE]["spend"] == 0.0 and got[IDLE]["cpa"] is None  # no rows: sums are 0, ratios unknown
    # the source has no `leads` column: unknown, never 0, and so is everything derived from it
    assert got[G2]["leads"] is None and got[G2]["cost_per_lead"] is None


def test_the_batch_evaluator_sees_the_same_values(tmp_path, metrics):
    """Evidence comes from the one-scan batch SQL; values() from the lookup path: both are the service's."""
    rules = write_rules(
        tmp_path,
        {
            "pinterest/operator.yaml": PINTEREST_OPERATOR,
            "pinterest/w.yaml": """\
                workflow: w
                operator: pinterest
                level: ad_group
                window: last_7d
                rules:
                  - id: r
                    when: spend > 0 and roas >= 0 and ctr >= 0 and prev.cpc >= 0
                    action: notify
            """,
        },
    )
    project = load_project(rules, CATALOG)
    plan = build_plan(metrics.con, metrics.loaded, CATALOG, project, project.workflows, AS_OF)
    (action,) = plan.actions
    assert action.entity_id == "g1"
    looked_up = metrics.values(
        [G1],
        {
            "spend": ("spend", "last_7d"),
            "roas": ("roas", "last_7d"),
            "ctr": ("ctr", "last_7d"),
            "prev.cpc": ("cpc", "prev:last_7d"),
        },
    )[G1]
    assert action.evidence == {k: pytest.approx(v, abs=1e-6) for k, v in looked_up.items()}  # evidence: 6 decimals


def test_one_scan_sums_every_pair_with_filters_over_the_widest_range(metrics):
    sql = metrics.sums_query({"a": ("spend", "last_7d"), "b": ("clicks", "prev:last_7d")}, ["platform = 'pinterest'"])
    assert sql.count("FROM") == 1 and sql.count("FILTER") == 2
    assert "date >= DATE '2026-10-18'" in sql and "date < DATE '2026-11-01'" in sql
    assert metrics.sums_query({"x": ("leads", "last_7d")}) is None  # nothing the source reports
