"""`rulerun backtest`: the shipped rules replayed day by day on the demo's history."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from datetime import date, timedelta
from itertools import pairwise

import pytest

from engine.apply.executor import parse_duration
from engine.authoring.backtest import (
    OUTCOMES,
    Backtest,
    Simulation,
    backtest_command,
    render_chart,
    render_markdown,
    render_table,
    run_backtest,
)
from engine.core.catalog import load_catalog
from engine.core.errors import RulerunError, UsageError
from engine.core.plan import PlannedAction
from engine.data.sources import parse_source
from engine.data.store import Store
from engine.rules.loader import load_project
from tests.helpers.cli import REPO

FIRST, LAST = date(2026, 8, 3), date(2026, 10, 31)


@pytest.fixture(scope="module")
def project():
    catalog = load_catalog()
    return catalog, load_project(REPO / "rules", catalog)


@pytest.fixture(scope="module")
def demo_90_days(tmp_path_factory, project):
    """The shipped library replayed over 90 days of the demo (run once for the module)."""
    catalog, proj = project
    with Store(tmp_path_factory.mktemp("state")) as store:
        loaded = store.load(parse_source("demo"), catalog)
        return run_backtest(store.con, loaded, catalog, proj, proj.select(None), FIRST, LAST)


def test_replays_every_day_and_counts_add_up(demo_90_days):
    bt = demo_90_days
    assert len(bt.days) == 90 and bt.days[0] == FIRST and bt.days[-1] == LAST
    total = bt.total()
    assert total["fired"] > 0 and total["executed"] > 0
    for key, tally in bt.tallies.items():
        assert tally["fired"] == sum(tally[o] for o in OUTCOMES), key
    for column in ("fired", *OUTCOMES):
        assert sum(bt.day_total(d)[column] for d in bt.days) == total[column]
        assert sum(bt.rule_total(w, r)[column] for w, r in bt.rules) == total[column]
    assert sum(bt.day_total(d)["spend"] for d in bt.days) == pytest.approx(total["spend"])
    assert len(bt.executions) == total["executed"]
    assert sum(e.spend for e in bt.executions) == pytest.approx(total["spend"])


def test_json_report_is_consistent_with_its_totals(demo_90_days):
    doc = demo_90_days.to_dict()
    assert doc["from"] == FIRST.isoformat() and doc["to"] == LAST.isoformat() and len(doc["days"]) == 90
    for column in ("fired", *OUTCOMES):
        assert sum(d[column] for d in doc["days"]) == doc["totals"][column]
        assert sum(r[column] for r in doc["rules"]) == doc["totals"][column]
        for d in doc["days"]:
            assert sum(r[column] for r in d["rules"]) == d[column]
    assert len(doc["executions"]) == doc["totals"]["executed"]


def test_cooldowns_are_honoured_per_rule_and_entity(demo_90_days, project):
    _, proj = project
    cooldowns = {(w.id, r.id): r.cooldown for w in proj.workflows for r in w.rules if r.cooldown}
    assert ("pinterest/daily_optimize", "lower_bid_low_outbound_ctr") in cooldowns
    runs: dict[tuple, list[date]] = defaultdict(list)
    for e in demo_90_days.executions:
        runs[(e.workflow, e.rule_id, e.platform, e.account_id, e.entity_id)].append(e.day)
    repeated = 0
    for key, days in runs.items():
        cooldown = cooldowns.get(key[:2])
        if cooldown is None:
            continue
        for earlier, later in pairwise(days):
            assert later - earlier >= parse_duration(cooldown), (key, earlier, later)
            repeated += 1
    assert repeated, "some cooled-down rule should act on an entity more than once in 90 days"
    assert demo_90_days.total()["cooldown"] > 0


def test_a_rule_acts_again_on_the_first_day_its_cooldown_allows(demo_90_days):
    gaps = {
        later - earlier
        for e_days in _days_by_entity(demo_90_days, "pinterest/daily_optimize", "lower_bid_low_outbound_ctr").values()
        for earlier, later in pairwise(e_days)
    }
    assert timedelta(days=3) in gaps  # the rule still fires, so it acts every third day


def _days_by_entity(bt: Backtest, workflow: str, rule_id: str) -> dict[str, list[date]]:
    out: dict[str, list[date]] = defaultdict(list)
    for e in bt.executions:
        if (e.workflow, e.rule_id) == (workflow, rule_id):
            out[e.entity_id].append(e.day)
    return out


def test_simulated_state_carries_over_to_the_next_days(demo_90_days):
    last_after: dict[tuple, dict] = {}
    chained = 0
    for e in demo_90_days.executions:
        key = (e.platform, e.account_id, e.level, e.entity_id)
        attrs = set(e.after) & {"status", "daily_budget", "bid"}
        previous = last_after.get(key, {})
        for attr in attrs:
            if attr in previous:
                assert e.before[attr] == pytest.approx(previous[attr]), (key, e.day)
                chained += 1
        last_after.setdefault(key, {}).update({a: e.after[a] for a in attrs})
    assert chained, "repeated bid changes should start from the simulated bid"


def test_an_entity_is_paused_at_most_once(demo_90_days):
    paused = [
        (e.platform, e.account_id, e.entity_id) for e in demo_90_days.executions if e.after.get("status") == "paused"
    ]
    assert paused and len(paused) == len(set(paused))


def test_table_and_markdown_reports(demo_90_days):
    out = io.BytesIO()
    render_table(demo_90_days, out)
    table = out.getvalue().decode()
    assert "Per day" in table and "Per rule" in table and "lower_bid_low_outbound_ctr" in table
    assert "Backtest 2026-08-03 to 2026-10-31 (90 days, 6 workflows)" in table
    out = io.BytesIO()
    render_markdown(demo_90_days, out)
    markdown = out.getvalue().decode()
    assert markdown.startswith("### rulerun backtest") and "| Workflow | Rule | Fired |" in markdown


def test_chart_is_html_with_inline_svg(demo_90_days):
    html = render_chart(demo_90_days)
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 2
    assert "<polyline" in html and 'class="executed"' in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")


# -- the command -------------------------------------------------------------------------------


def run_command(tmp_path, capsysbinary, **kwargs):
    args = {
        "rules": str(REPO / "rules"),
        "workflows": None,
        "source": "demo",
        "date_from": date(2026, 10, 20),
        "date_to": date(2026, 10, 26),
        "state_dir": str(tmp_path / "state"),
        "fmt": "json",
        "chart": None,
    } | kwargs
    code = backtest_command(**args)
    out = capsysbinary.readouterr().out.decode()
    return code, (json.loads(out) if args["fmt"] == "json" else out)


def test_command_writes_the_report_and_the_chart_atomically(tmp_path, capsysbinary):
    chart = tmp_path / "report.html"
    code, doc = run_command(tmp_path, capsysbinary, chart=str(chart), workflows=("pinterest",))
    assert code == 0
    assert doc["days"][0]["date"] == "2026-10-20" and len(doc["days"]) == 7
    assert doc["workflows"] == ["pinterest/daily_optimize"]
    assert {r["rule_id"] for r in doc["rules"]} == {"pause_expensive_low_outbound", "lower_bid_low_outbound_ctr"}
    text = chart.read_text()
    assert "<svg" in text and "pinterest/daily_optimize" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "state"]  # no temporary file left


def test_command_table_format(tmp_path, capsysbinary):
    code, out = run_command(tmp_path, capsysbinary, fmt="table")
    assert code == 0 and "Backtest 2026-10-20 to 2026-10-26 (7 days, 6 workflows)" in out.replace("\n", "")


def test_a_range_without_data_names_the_data_range(tmp_path, capsysbinary):
    with pytest.raises(RulerunError) as exc:
        run_command(tmp_path, capsysbinary, date_from=date(2025, 8, 1), date_to=date(2025, 8, 31))
    assert exc.value.exit_code == 1
    assert "2025-08-01" in exc.value.message and "2025-08-31" in exc.value.message
    assert "2026-08-01 to 2026-10-31" in exc.value.message


def test_a_reversed_range_and_a_chart_that_is_not_html_are_usage_errors(tmp_path, capsysbinary):
    with pytest.raises(UsageError):
        run_command(tmp_path, capsysbinary, date_from=date(2026, 10, 26), date_to=date(2026, 10, 20))
    with pytest.raises(UsageError):
        run_command(tmp_path, capsysbinary, chart=str(tmp_path / "chart.png"))
    assert not (tmp_path / "chart.png").exists()


# -- the simulation's rules, one action at a time ----------------------------------------------


def planned(day_status: str = "planned", **kw) -> PlannedAction:
    base = {
        "workflow": "p/w",
        "rule_id": "r",
        "platform": "pinterest",
        "account_id": "a",
        "level": "ad_group",
        "entity_id": "e1",
        "entity_name": None,
        "type": "change_bid",
        "params": {"by_pct": -10},
        "before": {"bid": 1.0},
        "after": {"bid": 0.9},
        "status": day_status,
        "cooldown": "3d",
    }
    return PlannedAction(**(base | kw))


def test_simulation_cooldown_boundary_and_state():
    sim, d0 = Simulation(), date(2026, 9, 1)
    assert sim.settle(planned(), d0) == "executed"
    assert sim.overrides() == [
        {"platform": "pinterest", "account_id": "a", "level": "ad_group", "entity_id": "e1", "bid": 0.9}
    ]
    assert sim.settle(planned(), d0 + timedelta(days=2)) == "cooldown"
    assert sim.settle(planned(entity_id="e2"), d0 + timedelta(days=2)) == "executed"  # per entity
    assert sim.settle(planned(rule_id="other"), d0 + timedelta(days=2)) == "executed"  # per rule
    assert sim.settle(planned(), d0 + timedelta(days=3)) == "executed"


def test_simulation_executes_only_what_apply_would():
    sim, d0 = Simulation(), date(2026, 9, 1)
    assert sim.settle(planned("blocked"), d0) == "blocked"
    assert sim.settle(planned("needs_approval"), d0) == "queued"
    assert sim.settle(planned("skipped"), d0) == "other"
    assert sim.settle(planned(autonomy="dry_run"), d0) == "other"
    assert sim.settle(planned(type="notify", before={}, after={"message": "hi"}), d0) == "other"
    assert sim.settle(planned("clamped"), d0) == "executed"


def test_simulation_adds_a_negative_keyword_once():
    sim, d0 = Simulation(), date(2026, 9, 1)
    negative = planned(
        type="add_negative_keyword",
        cooldown=None,
        before={"negative_keyword": None},
        after={"negative_keyword": {"text": "cheap cam", "match_type": "exact"}},
    )
    assert sim.settle(negative, d0) == "executed"
    assert sim.settle(negative, d0 + timedelta(days=1)) == "other"
    assert sim.overrides() == []  # negatives are not entity attributes
