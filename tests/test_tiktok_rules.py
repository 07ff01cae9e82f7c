"""The shipped TikTok rules (rules/tiktok) on the embedded demo: each trap gets the treatment the seeds ask for."""

from __future__ import annotations

import pytest

from engine.core.catalog import load_catalog
from engine.data.sources import parse_source
from engine.data.sources.demo import TRAPS
from engine.data.store import Store
from engine.evaluation.evaluate import build_plan, default_as_of
from engine.rules.loader import load_project
from tests.helpers.cli import REPO


@pytest.fixture(scope="module")
def actions(tmp_path_factory):
    catalog = load_catalog()
    project = load_project(REPO / "rules", catalog)
    tiktok = [w for w in project.workflows if w.id.startswith("tiktok/")]
    with Store(tmp_path_factory.mktemp("state")) as store:
        loaded = store.load(parse_source("demo"), catalog)
        plan = build_plan(store.con, loaded, catalog, project, tiktok, default_as_of(loaded))
    return plan.actions


def on(actions, trap: str) -> list:
    return [a for a in actions if a.entity_id == TRAPS[trap]]


def test_the_learning_ad_group_is_left_alone_and_the_plan_says_the_phase_is_derived(actions):
    (action,) = on(actions, "tiktok_learning_ad_group")
    assert (action.type, action.status) == ("change_bid", "blocked")
    assert "learning phase" in action.reasons[-1] and "derived" in action.reasons[-1]


def test_the_fatigued_creative_is_flagged_with_its_ctr_against_the_week_before(actions):
    (action,) = on(actions, "tiktok_fatigued_ad_group")
    assert (action.rule_id, action.type, action.status) == ("flag_creative_fatigue", "notify", "planned")
    assert action.evidence["ctr"] <= 0.7 * action.evidence["prev.ctr"]


def test_an_expensive_automatic_bid_ad_group_gets_a_smaller_budget_not_a_bid_change(actions):
    (action,) = on(actions, "tiktok_expensive_auto_bid_ad_group")
    assert (action.rule_id, action.status) == ("trim_budget_high_cpa", "planned")
    assert action.after["daily_budget"] == round(action.before["daily_budget"] * 0.85, 2)
    assert action.evidence["spend"] / max(action.evidence["conversions"], 1) > 500
