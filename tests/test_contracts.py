"""Typed contracts: statuses, guardrail settings, rollback plans and the serialization of an action."""

from __future__ import annotations

import dataclasses
import json
import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.apply.actionlog.approvals import approval_digest
from engine.apply.actionlog.rows import action_columns
from engine.core.actions import OPERATIONS, RollbackPlan, undo_plan
from engine.core.plan import PlannedAction
from engine.core.status import PLAN_STATUSES, ActionStatus, EntityStatus, RunStatus
from engine.rules.guardrails import GUARDRAILS, GuardrailSettings, defaults
from engine.rules.schemagen import plan_schema
from tests.helpers.safety import act

# -- statuses ----------------------------------------------------------------------------------


@pytest.mark.parametrize("vocabulary", [ActionStatus, EntityStatus, RunStatus])
def test_a_status_is_the_text_it_stands_for(vocabulary):
    for status in vocabulary:
        assert status == status.value and hash(status) == hash(status.value)
        assert f"{status}" == str(status) == repr(status)[1:-1] == status.value
        assert json.dumps({status: status}) == json.dumps({status.value: status.value})
        assert vocabulary(status.value) is status


def test_the_plan_schema_lists_the_plan_statuses_and_not_the_log_only_one():
    schema = plan_schema()
    found = []

    def visit(node):
        if isinstance(node, dict):
            if "status" in node.get("properties", {}):
                found.append(node["properties"]["status"].get("enum"))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    assert list(PLAN_STATUSES) in found
    assert ActionStatus.EXECUTING not in PLAN_STATUSES and len(PLAN_STATUSES) == len(ActionStatus) - 1


def test_an_unknown_status_in_a_stored_action_is_refused():
    d = act().to_dict() | {"status": "done"}
    with pytest.raises(ValueError, match="'done' is not a valid ActionStatus"):
        PlannedAction.from_dict(d)


# -- guardrail settings ------------------------------------------------------------------------


def test_every_guardrail_is_a_typed_field_of_the_settings():
    types = typing.get_type_hints(GuardrailSettings)
    declared = {"number": float, "integer": int, "boolean": bool}
    assert [f.name for f in dataclasses.fields(GuardrailSettings)] == list(GUARDRAILS)
    assert {name: types[name] for name in GUARDRAILS} == {name: declared[g.type] for name, g in GUARDRAILS.items()}


def test_settings_convert_values_to_their_guardrails_types_and_refuse_unknown_names():
    g = GuardrailSettings.from_dict({"max_bid_change_pct": 10, "min_conversions_for_scale": 3.0})
    assert g.max_bid_change_pct == 10.0 and type(g.max_bid_change_pct) is float
    assert g.min_conversions_for_scale == 3 and type(g.min_conversions_for_scale) is int
    assert g.max_daily_spend_cap == GUARDRAILS["max_daily_spend_cap"].default  # the rest keep their defaults
    assert g["max_bid_change_pct"] == 10.0  # rules read `guardrails.<name>`
    tighter = g.with_values({"block_stale_data": 1})
    assert tighter.block_stale_data is True and g.block_stale_data == defaults().block_stale_data
    with pytest.raises(KeyError, match="max_bid_change"):
        GuardrailSettings.from_dict({"max_bid_change": 5})
    with pytest.raises(KeyError):
        g.with_values({"rate_limit": 5})
    with pytest.raises(KeyError):
        g["to_dict"]  # only guardrails are looked up by name, never other attributes
    assert GuardrailSettings.from_dict(g.to_dict()) == g


# -- rollback plans ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "d",
    [
        None,
        {"type": "launch", "before": {"status": "paused"}, "after": {"status": "active"}},
        {"type": "notify", "before": {}, "after": {}},  # changes nothing, so nothing to restore
        {"type": "pause", "before": {"status": "active"}},  # the state to restore is missing
        {"type": "set_budget", "before": {"status": "paused"}, "after": {"status": "active"}},
    ],
)
def test_what_is_not_a_rollback_plan_is_refused(d):
    with pytest.raises(ValueError, match="not a rollback plan"):
        RollbackPlan.from_dict(d)


@pytest.mark.parametrize("action_type", sorted(t for t, op in OPERATIONS.items() if op.undo and op.key() != "status"))
def test_a_rollback_plan_survives_its_serialization(action_type):
    key = OPERATIONS[action_type].key()
    plan = undo_plan(action_type, restore=_state(key, 1), now=_state(key, 2))
    assert plan is not None
    stored = json.loads(json.dumps(plan.to_dict()))  # as the action log keeps it
    assert RollbackPlan.from_dict(stored) == plan
    assert plan.restore == _state(key, 1) and plan.expect == _state(key, 2)


def _state(key: str | None, n: int) -> object:
    if key == "negative_keyword":
        return {"text": f"word {n}", "match_type": "exact", "scope": "campaign"}
    if key == "discount":
        return {"code": f"WINBACK{n}", "percentage": 10 * n}
    if key == "automation_enrollment":
        return {"automation": f"{n}", "contacts": 100 * n}
    if key in ("body", "flow_status"):
        return f"text {n}"
    return 10.0 * n


# -- one serialization of a planned action -----------------------------------------------------

texts = st.text(min_size=1, max_size=12)
amounts = st.floats(0.01, 1e6)


@st.composite
def actions(draw) -> PlannedAction:
    kind = draw(st.sampled_from(["pause", "change_budget", "change_bid", "notify"]))
    if kind == "pause":
        before, after = {"status": "active"}, {"status": "paused"}
    elif kind == "notify":
        before, after = {}, {}
    else:
        attr = "daily_budget" if kind == "change_budget" else "bid"
        before, after = {attr: draw(amounts)}, {attr: draw(amounts)}
    a = act(kind, before, after, workflow=draw(texts) + "/" + draw(texts), rule=draw(texts))
    return dataclasses.replace(
        a,
        entity_name=draw(st.none() | texts),
        status=draw(st.sampled_from(list(ActionStatus))),
        reasons=draw(st.lists(texts, max_size=2)),
        evidence=draw(st.dictionaries(texts, amounts, max_size=2)),
        guardrails=[{"name": n, "effect": "block", "message": n} for n in draw(st.lists(texts, max_size=2))],
        cooldown=draw(st.none() | st.sampled_from(["12h", "3d"])),
        params=draw(st.dictionaries(texts, texts, max_size=2)),
    )


@given(actions())
def test_the_plan_form_and_the_log_form_of_an_action_round_trip(a):
    assert PlannedAction.from_dict(json.loads(json.dumps(a.to_dict()))) == dataclasses.replace(a, entity={})
    row = json.loads(json.dumps(a.to_log_row("run-1")))  # as the action log stores it
    back = PlannedAction.from_log_row(row)
    assert back == dataclasses.replace(a, entity={}, reasons=[])  # the log keeps reasons per run, not per action
    assert row["status"] == a.status and row["run_id"] == "run-1"
    # what the log writes, and what an approval binds, is the change the plan shows
    assert action_columns(row)["payload"] == {k: a.to_dict()[k] for k in ("params", "before", "after", "cooldown")}
    assert approval_digest(back.to_log_row("run-2")) == approval_digest(row)
