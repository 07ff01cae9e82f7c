"""Window semantics of DESIGN.md, end to end: file source -> metrics store -> batch engine."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from engine.core.catalog import load_catalog
from engine.data.sources import parse_source
from engine.data.store import Store
from engine.evaluation.evaluate import build_plan, default_as_of
from engine.language.windows import Range, date_range, is_window, window_error
from engine.rules.loader import load_project
from tests.helpers.data import day, entity, write_source
from tests.helpers.rules import PINTEREST_OPERATOR, write_rules

AS_OF = date(2026, 11, 1)


@pytest.mark.parametrize(
    "window, start, end",
    [
        ("today", date(2026, 11, 1), date(2026, 11, 2)),
        ("yesterday", date(2026, 10, 31), date(2026, 11, 1)),
        ("last_7d", date(2026, 10, 25), date(2026, 11, 1)),
        ("prev:last_7d", date(2026, 10, 18), date(2026, 10, 25)),
        ("last_1d", date(2026, 10, 31), date(2026, 11, 1)),
        ("mtd", date(2026, 11, 1), date(2026, 11, 1)),
        ("lifetime", None, date(2026, 11, 1)),
        ("prev:today", date(2026, 10, 31), date(2026, 11, 1)),
        ("last_7d_ending_3d_ago", date(2026, 10, 22), date(2026, 10, 29)),
        ("prev:last_7d_ending_3d_ago", date(2026, 10, 15), date(2026, 10, 22)),
        ("last_1d_ending_1d_ago", date(2026, 10, 30), date(2026, 10, 31)),
    ],
)
def test_date_ranges(window, start, end):
    assert date_range(window, AS_OF) == Range(start, end)


def test_mtd_mid_month_and_prev():
    assert date_range("mtd", date(2026, 10, 15)) == Range(date(2026, 10, 1), date(2026, 10, 15))
    assert date_range("prev:mtd", date(2026, 10, 15)) == Range(date(2026, 9, 17), date(2026, 10, 1))


WINDOWS_WORKFLOW = """\
workflow: windows
operator: pinterest
level: ad_group
window: last_7d
rules:
  - id: show
    when: >-
      spend >= 0 and prev.spend >= 0 and today.spend >= 0 and yesterday.spend >= 0
      and mtd.spend >= 0 and lifetime.spend >= 0 and last_3d.spend >= 0
      and (is_null(outbound_ctr) or outbound_ctr >= 0) and (is_null(cpa) or cpa >= 0)
    action: {type: notify, message: windows}
"""


def plan_for(tmp_path, entities, metrics, as_of=None, workflow=WINDOWS_WORKFLOW, metric_columns=None):
    rules = write_rules(tmp_path, {"pinterest/operator.yaml": PINTEREST_OPERATOR, "pinterest/windows.yaml": workflow})
    catalog = load_catalog()
    project = load_project(rules, catalog)
    source = write_source(tmp_path / "data", entities, metrics, metric_columns)
    with Store(tmp_path / "state") as store:
        loaded = store.load(parse_source(f"file:{source}"), catalog)
        as_of = as_of or default_as_of(loaded)
        plan = build_plan(store.con, loaded, catalog, project, project.workflows, as_of)
    return plan


def october(entity_id="g1", outbound=lambda d: d):
    # spend on day d of October is d dollars; impressions 1000 + 100*d; outbound clicks vary by day
    return [
        day(
            f"2026-10-{d:02d}",
            entity_id,
            spend=d,
            impressions=1000 + 100 * d,
            clicks=10,
            outbound_clicks=outbound(d),
            conversions=1 if d % 2 else 0,
            conversion_value=10,
        )
        for d in range(1, 32)
    ]


def test_window_sums_and_default_as_of(tmp_path):
    plan = plan_for(tmp_path, [entity("g1")], october())
    assert plan.as_of == AS_OF  # the day after the newest data
    (action,) = plan.actions
    ev = action.evidence
    assert ev["spend"] == sum(range(25, 32))  # Oct 25..31
    assert ev["prev.spend"] == sum(range(18, 25))  # Oct 18..24
    assert ev["today.spend"] == 0  # no rows on the as-of date: additive metrics are 0
    assert ev["yesterday.spend"] == 31
    assert ev["mtd.spend"] == 0  # November 1st: the month has no complete day yet
    assert ev["lifetime.spend"] == sum(range(1, 32))
    assert ev["last_3d.spend"] == 29 + 30 + 31


def test_derived_metrics_are_ratios_of_sums(tmp_path):
    plan = plan_for(tmp_path, [entity("g1")], october(outbound=lambda d: 50 if d == 31 else 1))
    (action,) = plan.actions
    outbound = 6 * 1 + 50
    impressions = sum(1000 + 100 * d for d in range(25, 32))
    assert action.evidence["outbound_ctr"] == pytest.approx(outbound / impressions, abs=1e-6)
    mean_of_daily = sum((50 if d == 31 else 1) / (1000 + 100 * d) for d in range(25, 32)) / 7
    assert abs(action.evidence["outbound_ctr"] - mean_of_daily) > 1e-4  # not an average of daily ratios
    conversions = sum(1 for d in range(25, 32) if d % 2)
    assert action.evidence["cpa"] == pytest.approx(sum(range(25, 32)) / conversions, abs=1e-6)


def test_entity_without_rows_has_zero_sums_and_null_ratios(tmp_path):
    plan = plan_for(tmp_path, [entity("g1"), entity("g2")], october("g1"))
    g2 = next(a for a in plan.actions if a.entity_id == "g2")
    assert g2.evidence["spend"] == 0 and g2.evidence["lifetime.spend"] == 0
    assert g2.evidence["outbound_ctr"] is None  # 0 / 0 is unknown, not zero
    assert g2.evidence["cpa"] is None


def test_explicit_as_of_includes_today_and_ignores_later_days(tmp_path):
    as_of = date(2026, 10, 31)
    plan = plan_for(tmp_path, [entity("g1")], october(), as_of=as_of)
    (action,) = plan.actions
    assert action.evidence["today.spend"] == 31
    assert action.evidence["spend"] == sum(range(24, 31))  # Oct 24..30: complete days before the as-of date
    assert action.evidence["lifetime.spend"] == sum(range(1, 31))
    assert any("ignored" in n["message"] for n in plan.data_quality)


def test_missing_optional_metric_column_is_null_not_zero(tmp_path):
    workflow = WINDOWS_WORKFLOW.replace(
        "      spend >= 0 and prev.spend", "      outbound_ctr < 0.003 and spend >= 0 and prev.spend"
    )
    columns = ["date", "platform", "account_id", "level", "entity_id", "spend", "impressions"]
    plan = plan_for(tmp_path, [entity("g1")], october(), workflow=workflow, metric_columns=columns)
    assert plan.actions == []  # outbound_clicks absent: outbound_ctr is null, the comparison is false
    assert any("outbound_clicks" in n["message"] for n in plan.data_quality)


def test_stale_data_is_reported(tmp_path):
    plan = plan_for(tmp_path, [entity("g1")], october(), as_of=AS_OF + timedelta(days=5))
    assert any("newest data is from 2026-10-31" in n["message"] for n in plan.data_quality)


@pytest.mark.parametrize(
    "name, problem",
    [
        ("last_7d_ending_0d_ago", "unknown window"),
        ("last_7d_ending_3d", "unknown window"),
        ("last_7d_ending_3651d_ago", "ends more than 3650 days back"),
        ("last_3651d_ending_3d_ago", "longer than 3650 days"),
    ],
)
def test_bad_offset_windows_are_explained(name, problem):
    assert not is_window(name) and problem in window_error(name)


def test_a_window_ending_days_ago_leaves_out_the_newest_days(tmp_path):
    workflow = WINDOWS_WORKFLOW.replace("window: last_7d", "window: last_7d_ending_3d_ago").replace(
        "spend >= 0 and prev.spend >= 0", "spend >= 0 and prev.spend >= 0 and last_2d_ending_1d_ago.spend >= 0"
    )
    plan = plan_for(tmp_path, [entity("g1")], october(), workflow=workflow)
    (action,) = plan.actions
    assert action.evidence["spend"] == sum(range(22, 29))  # Oct 22..28: Oct 29..31 left out
    assert action.evidence["prev.spend"] == sum(range(15, 22))
    assert action.evidence["last_2d_ending_1d_ago.spend"] == 29 + 30
