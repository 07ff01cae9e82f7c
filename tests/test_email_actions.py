"""The email action types (engine/core/actions.py): their proposals and the seed's suppression escalation.

Properties over any audience: a subject-line test is proposed only when each variant gets at
least the minimum; a suppression of more than 1,000 profiles always waits for a human, one of
at most 1,000 never does on that account.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.actions import ACTIONS, MIN_RECIPIENTS_PER_VARIANT, OPERATIONS, RollbackPlan, undo_plan
from engine.core.catalog import load_catalog
from engine.core.plan import PlannedAction
from engine.rules.escalation import default_escalations
from engine.safety.pipeline import apply_escalation

CATALOG = load_catalog()
ESCALATIONS = default_escalations(CATALOG)


def planned(action_type: str, before: dict, after: dict, params: dict | None = None) -> PlannedAction:
    return PlannedAction("w", "r", "klaviyo", "XkP9Lm", "segment", "s1", "s", action_type, params or {}, before, after)


@given(st.integers(min_value=0, max_value=100_000), st.integers(min_value=MIN_RECIPIENTS_PER_VARIANT, max_value=5000))
def test_a_subject_line_test_is_proposed_only_with_enough_recipients_per_variant(audience, floor):
    p = ACTIONS["create_ab_test"].propose(
        {"status": "paused", "profile_count": float(audience)}, {"subject": "B", "min_per_variant": floor}
    )
    if audience / 2 >= floor:
        assert p.skip_reason is None and p.after == {"ab_test_subject": "B"}
    else:
        assert p.skip_reason is not None and f"under {floor}" in p.skip_reason


def test_a_subject_line_test_needs_a_draft_and_a_known_audience():
    propose = ACTIONS["create_ab_test"].propose
    assert "only a draft" in propose({"status": "active", "profile_count": 9000.0}, {"subject": "B"}).skip_reason
    assert "unknown" in propose({"status": "paused", "profile_count": None}, {"subject": "B"}).skip_reason


@settings(max_examples=60)
@given(st.integers(min_value=1, max_value=50_000))
def test_a_suppression_over_1000_profiles_always_waits_for_a_human(size):
    p = ACTIONS["suppress_profiles"].propose({"profile_count": float(size)}, {})
    a = planned("suppress_profiles", p.before, p.after)
    apply_escalation(a, ESCALATIONS)
    assert (a.status == "needs_approval") == (size > 1000)
    if size > 1000:
        assert a.guardrails[-1]["name"] == "escalation:suppression_over_1000"


def test_an_empty_or_unknown_segment_proposes_nothing():
    propose = ACTIONS["suppress_profiles"].propose
    assert propose({"profile_count": 0.0}, {}).noop
    assert propose({"profile_count": None}, {}).skip_reason == "the segment's size is unknown"


@given(st.sampled_from(["live", "manual", "draft"]), st.sampled_from(["live", "manual", "draft"]))
def test_a_flow_status_change_is_undone_to_the_status_it_had(current, target):
    p = ACTIONS["set_flow_status"].propose({"flow_status": current}, {"status": target})
    if current == target:
        assert p.noop
        return
    plan = undo_plan("set_flow_status", restore=current, now=target)
    parsed = RollbackPlan.from_dict(plan.to_dict())
    assert parsed.restore == current and parsed.expect == target and parsed.params == {"status": current}


def test_every_email_operation_has_an_undo_that_undoes_it_back():
    for name in ("set_flow_status", "suppress_profiles", "create_ab_test"):
        undo = OPERATIONS[OPERATIONS[name].undo]
        assert OPERATIONS[undo.undo].name == name and undo.key() == OPERATIONS[name].key()
