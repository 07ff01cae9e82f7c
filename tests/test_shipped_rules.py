"""The shipped rule library on the embedded demo: each rule finds its work, the traps behave."""

from __future__ import annotations

import re

import pytest

from engine.core.catalog import load_catalog
from engine.data.sources import parse_source
from engine.data.sources.demo import TRAPS
from engine.data.store import Store
from engine.evaluation.evaluate import build_plan, default_as_of
from engine.rules.loader import load_project
from tests.helpers.cli import REPO


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    catalog = load_catalog()
    project = load_project(REPO / "rules", catalog)
    with Store(tmp_path_factory.mktemp("state")) as store:
        loaded = store.load(parse_source("demo"), catalog)
        yield build_plan(store.con, loaded, catalog, project, project.workflows, default_as_of(loaded))


def actions_on(plan, trap: str):
    return [a for a in plan.actions if a.entity_id == TRAPS[trap]]


def test_default_as_of_is_the_day_after_the_demo(plan):
    assert plan.as_of.isoformat() == "2026-11-01"


def test_every_shipped_rule_fires_on_the_demo(plan):
    project = load_project(REPO / "rules", load_catalog())
    all_rules = {(w.id, r.id) for w in project.workflows for r in w.rules}
    assert {(a.workflow, a.rule_id) for a in plan.actions} == all_rules


def test_brand_campaign_pause_is_blocked(plan):
    (action,) = actions_on(plan, "google_brand_zero_conversions")
    assert action.rule_id == "pause_zero_conversion_campaigns" and action.type == "pause"
    assert 550 <= action.evidence["spend"] <= 650 and action.evidence["conversions"] == 0
    assert action.status == "blocked"
    assert [g["name"] for g in action.guardrails] == ["brand_campaigns_no_auto_pause"]


def test_non_brand_zero_conversion_campaign_is_paused(plan):
    (action,) = actions_on(plan, "google_zero_conversion_campaign")
    assert action.type == "pause" and action.status == "planned" and action.autonomy == "auto"


def test_learning_phase_change_is_blocked(plan):
    (action,) = actions_on(plan, "tiktok_learning_ad_group")
    assert action.type == "change_bid" and action.status == "blocked"
    assert action.guardrails[0]["name"] == "learning_phase_no_changes"


def test_budget_increase_above_20_percent_is_clamped(plan):
    scaled = [a for a in plan.actions if a.rule_id == "scale_winning_campaigns"]
    assert scaled and all(a.status == "clamped" for a in scaled)
    for a in scaled:
        first = a.guardrails[0]
        assert first["name"] == "max_daily_budget_increase_pct"
        assert first["requested"] == round(a.before["daily_budget"] * 1.3, 2)
        assert a.after["daily_budget"] <= a.before["daily_budget"] * 1.2
    (capped,) = actions_on(plan, "meta_budget_clamp_campaign")
    assert capped.guardrails[-1]["name"] == "max_daily_spend_cap"


def test_large_budget_change_goes_to_approval(plan):
    (action,) = actions_on(plan, "google_large_budget_campaign")
    assert action.status == "needs_approval"
    assert action.before == {"daily_budget": 1500.0} and action.after == {"daily_budget": 900.0}
    assert action.guardrails[-1]["name"] == "escalation:budget_change_over_500"


def test_summary_counts_statuses(plan):
    line = plan.summary_line()
    assert line.startswith("Plan: ")
    found = re.findall(r"(\d+) (planned|clamped|blocked|needs approval|skipped)", line)
    counts = {status: int(n) for n, status in found}
    assert set(counts) == {"planned", "clamped", "blocked", "needs approval", "skipped"}  # the demo shows each
    assert sum(counts.values()) == len(plan.actions)


def test_pinterest_just_under_the_spend_threshold_is_not_paused(plan):
    near = actions_on(plan, "pinterest_just_under_threshold")
    assert all(a.rule_id != "pause_expensive_low_outbound" for a in near)
    assert any(a.rule_id == "lower_bid_low_outbound_ctr" for a in near)  # its low outbound CTR still counts
    (pause,) = [a for a in actions_on(plan, "pinterest_expensive_low_outbound") if a.type == "pause"]
    assert pause.evidence["spend"] > 600 and pause.evidence["outbound_ctr"] < 0.003


def test_wasted_search_term_becomes_an_exact_negative(plan):
    (action,) = actions_on(plan, "google_wasted_search_term")
    assert action.type == "add_negative_keyword"
    assert action.after["negative_keyword"]["match_type"] == "exact"
    assert action.after["negative_keyword"]["text"] == "free conference camera software"


def test_high_roas_keyword_gets_a_15_percent_higher_bid(plan):
    (action,) = actions_on(plan, "google_high_roas_keyword")
    assert action.type == "change_bid"
    assert action.after["bid"] == round(action.before["bid"] * 1.15, 2)


def test_fatigued_meta_ad_is_paused(plan):
    (action,) = actions_on(plan, "meta_high_cpa_ad")
    assert action.type == "pause" and action.evidence["conversions"] == 0


@pytest.mark.parametrize(
    "trap",
    [
        "google_zero_impressions_keyword",
        "google_no_rows_keyword",
        "pinterest_no_rows_ad_group",
        "meta_zero_impressions_ad_group",
    ],
)
def test_entities_without_delivery_get_no_actions(plan, trap):
    assert actions_on(plan, trap) == []


def test_plans_are_deterministic(plan, tmp_path):
    catalog = load_catalog()
    project = load_project(REPO / "rules", catalog)
    with Store(tmp_path) as store:
        loaded = store.load(parse_source("demo"), catalog)
        again = build_plan(store.con, loaded, catalog, project, project.workflows, default_as_of(loaded))
    assert [a.to_dict() for a in again.actions] == [a.to_dict() for a in plan.actions]
