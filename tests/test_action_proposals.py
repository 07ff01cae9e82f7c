"""What a budget or bid action proposes for an entity that has no such amount: skipped, with the reason."""

from __future__ import annotations

import pytest

from engine.core.actions import ACTIONS


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("lifetime", "its budget is a lifetime (total) budget, not a daily one"),
        ("unlimited", "its budget is unlimited"),
        ("parent", "its parent's budget serves it"),
    ],
)
@pytest.mark.parametrize(("action", "params"), [("set_budget", {"amount": 50}), ("change_budget", {"by_pct": -10})])
def test_a_budget_that_is_not_daily_is_skipped_with_its_mode(action, params, mode, reason):
    proposal = ACTIONS[action].propose({"daily_budget": None, "budget_mode": mode}, params)
    assert proposal.skip_reason == f"entity has no daily budget to change: {reason}"


@pytest.mark.parametrize(("action", "params"), [("set_bid", {"amount": 2}), ("change_bid", {"by_pct": -15})])
def test_an_automatic_bid_is_skipped_naming_the_strategy(action, params):
    proposal = ACTIONS[action].propose({"bid": None, "bidding_strategy": "lowest_cost"}, params)
    assert proposal.skip_reason == "entity has no manual bid to change: it bids by lowest_cost"


def test_without_a_mode_or_strategy_the_reason_stays_plain():
    assert ACTIONS["change_budget"].propose({"daily_budget": None}, {"by_pct": 5}).skip_reason == (
        "entity has no daily budget to change"
    )
    assert ACTIONS["change_budget"].propose(
        {"daily_budget": None, "budget_mode": "daily"}, {"by_pct": 5}
    ).skip_reason == ("entity has no daily budget to change")
    assert ACTIONS["set_bid"].propose({"bid": None}, {"amount": 1}).skip_reason == "entity has no manual bid to change"
