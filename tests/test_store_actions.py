"""The store actions (engine/core/actions.py): update_page and create_discount, their proposals,
their execution and rollback in the demo sandbox, and how the executor compares their state."""

from __future__ import annotations

import pytest

from engine.apply.executor import state_matches
from engine.core.actions import ACTIONS, OPERATIONS, RollbackPlan
from engine.core.execution import ActionRequest, EntityKey
from platforms.sandbox import DemoSandbox

STORE = EntityKey("shopify", "vibe-store.myshopify.com", "account", "vibe-store.myshopify.com")
PAGE = EntityKey("shopify", "vibe-store.myshopify.com", "page", "gid://shopify/Page/101")
BODY = "<h1>Meet Bot</h1>"
BANNER = '<p class="banner">Free shipping</p>'
BASELINE = {
    STORE: {"status": "active", "daily_budget": None, "bid": None},
    PAGE: {"status": "active", "daily_budget": None, "bid": None, "body": BODY},
}
WINBACK = {"code": "WINBACK15", "title": "Winback", "percentage": 15, "usage_limit": 500, "days": 14}


@pytest.fixture
def sandbox(tmp_path):
    return DemoSandbox(tmp_path, BASELINE.get, platform="shopify")


@pytest.mark.parametrize(
    ("params", "after"),
    [
        ({"prepend": BANNER}, BANNER + BODY),
        ({"append": BANNER}, BODY + BANNER),
        ({"body": "<p>new</p>"}, "<p>new</p>"),
    ],
)
def test_update_page_proposes_the_whole_new_body(params, after):
    proposal = ACTIONS["update_page"].propose({"body": BODY}, params)
    assert proposal.before == {"body": BODY} and proposal.after == {"body": after}


def test_update_page_leaves_a_page_that_already_has_the_block_and_skips_an_unknown_body():
    assert ACTIONS["update_page"].propose({"body": BANNER + BODY}, {"prepend": BANNER}).noop
    assert ACTIONS["update_page"].propose({"body": BODY + BANNER}, {"append": BANNER}).noop
    assert "unknown" in (ACTIONS["update_page"].propose({"body": None}, {"prepend": BANNER}).skip_reason or "")


def test_create_discount_params_need_one_value_and_not_both_end_dates():
    check = ACTIONS["create_discount"].check_params
    assert check({"code": "A1B", "percentage": 10}) == []
    assert check({"code": "A1B"}) and check({"code": "A1B", "percentage": 10, "amount": 5})
    assert check({"code": "A1B", "percentage": 10, "days": 3, "ends_at": "2026-12-01"})
    proposal = ACTIONS["create_discount"].propose({}, {"code": "WINBACK15", "percentage": 15})
    assert proposal.before == {"discount": None}
    assert proposal.after == {"discount": {"title": "WINBACK15", "code": "WINBACK15", "percentage": 15}}


def test_both_undo_themselves_and_are_reversible():
    assert OPERATIONS["update_page"].undo == "update_page" and ACTIONS["update_page"].reversible
    assert ACTIONS["create_discount"].undo == "deactivate_discount" and ACTIONS["create_discount"].reversible
    assert OPERATIONS["deactivate_discount"].undo == "create_discount"
    assert "deactivate_discount" not in ACTIONS  # a rollback plan may ask for it, a rule may not


def test_the_sandbox_creates_and_deactivates_a_discount(sandbox):
    req = ActionRequest("d-1", STORE, "create_discount", {}, {"discount": None}, {"discount": WINBACK})
    assert sandbox.read_state(STORE)["discounts"] == []
    done = sandbox.execute(req)
    assert [d["code"] for d in sandbox.read_state(STORE)["discounts"]] == ["WINBACK15"]
    assert RollbackPlan.from_dict(done.rollback_plan).type == "deactivate_discount"
    assert sandbox.execute(req).result == done.result  # the same action id changes nothing twice
    undone = sandbox.rollback(done.rollback_plan, STORE)
    assert sandbox.read_state(STORE)["discounts"] == []
    sandbox.rollback(undone.rollback_plan, STORE)  # rolling back the rollback creates it again
    assert [d["code"] for d in sandbox.read_state(STORE)["discounts"]] == ["WINBACK15"]


def test_the_sandbox_updates_a_page_and_restores_the_previous_body(sandbox):
    req = ActionRequest("p-1", PAGE, "update_page", {"prepend": BANNER}, {"body": BODY}, {"body": BANNER + BODY})
    done = sandbox.execute(req)
    assert sandbox.read_state(PAGE)["body"] == BANNER + BODY
    assert done.rollback_plan["after"] == {"body": BODY}
    sandbox.rollback(done.rollback_plan, PAGE)
    assert sandbox.read_state(PAGE)["body"] == BODY


def test_state_matches_finds_a_discount_by_its_code():
    live = {"discounts": [{"code": "WINBACK15", "id": "gid://shopify/DiscountCodeNode/1"}]}
    assert state_matches({"discounts": []}, {"discount": None})
    # `None` (the state before a creation) names no code: any list of other codes matches it
    assert state_matches(live, {"discount": None})
    assert state_matches(live, {"discount": {"code": "WINBACK15"}})
    assert not state_matches({"discounts": []}, {"discount": {"code": "WINBACK15"}})
