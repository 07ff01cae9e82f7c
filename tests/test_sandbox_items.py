"""The demo sandbox keeps the items of collection actions (automation enrollments) like a platform."""

from __future__ import annotations

import pytest

from engine.core.execution import ActionRequest, EntityKey, PermanentError
from platforms.sandbox import DemoSandbox

SEGMENT = EntityKey("activecampaign", "vibe", "segment", "21")
CAMPAIGN = EntityKey("activecampaign", "vibe", "email_campaign", "7003")
BASE = {
    SEGMENT: {"status": "active", "profile_count": 640},
    CAMPAIGN: {"status": "paused"},
}


@pytest.fixture
def sandbox(tmp_path):
    return DemoSandbox(tmp_path, BASE.get, faults="")


def enroll(action_id: str = "a1", automation: str = "11") -> ActionRequest:
    after = {"automation_enrollment": {"automation": automation, "contacts": 640}}
    return ActionRequest(action_id, SEGMENT, "add_to_automation", {"automation": automation}, {}, after)


def test_an_enrollment_shows_in_the_state_and_its_rollback_removes_it(sandbox, tmp_path):
    assert sandbox.read_state(SEGMENT).get("automations", []) == []
    done = sandbox.execute(enroll())
    assert sandbox.read_state(SEGMENT).get("automations", []) == [{"automation": "11", "contacts": 640}]
    assert done.rollback_plan["type"] == "remove_from_automation"
    # the same action id in a new instance: answered from the ledger, nothing twice
    again = DemoSandbox(tmp_path, BASE.get, faults="").execute(enroll())
    assert again.result == done.result and len(sandbox.changes()) == 1
    undone = sandbox.rollback(done.rollback_plan, SEGMENT)
    assert sandbox.read_state(SEGMENT).get("automations", []) == []
    sandbox.rollback(undone.rollback_plan, SEGMENT)  # rolling back the rollback enrolls again
    assert [i["automation"] for i in sandbox.read_state(SEGMENT).get("automations", [])] == ["11"]


def test_two_automations_are_two_items(sandbox):
    sandbox.execute(enroll("a1", "11"))
    sandbox.execute(enroll("a2", "12"))
    assert [i["automation"] for i in sandbox.read_state(SEGMENT).get("automations", [])] == ["11", "12"]


def test_an_item_action_without_its_item_is_refused(sandbox):
    with pytest.raises(PermanentError, match="without a new automation enrollment"):
        sandbox.execute(ActionRequest("x", SEGMENT, "add_to_automation", {}, {}, {}))
    assert sandbox.changes() == []
