"""Action types: one registry, one class per type.

Each action type declares the JSON Schema of its parameters, the entity attribute it
changes, and how to propose a change: the `before` and `after` values for one entity.
The class docstring is user documentation (`rulerun docs actions`); the workflow
schema's action definitions are generated from this registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

ACTIONS: dict[str, type[ActionType]] = {}


def register(cls: type[ActionType]) -> type[ActionType]:
    ACTIONS[cls.name] = cls
    return cls


@dataclass(frozen=True)
class Proposal:
    """The change an action would make to one entity, or why it cannot be made."""

    before: dict[str, Any]
    after: dict[str, Any]
    skip_reason: str | None = None  # set when the rule fired but no change is possible
    noop: bool = False  # the entity is already in the target state: nothing to do


NOOP = Proposal({}, {}, noop=True)


class ActionType:
    name: ClassVar[str]
    attribute: ClassVar[str | None] = None  # the entity attribute the action changes
    # False for a change no rollback plan can undo: such actions always wait for a human
    reversible: ClassVar[bool] = True
    params_schema: ClassVar[dict] = {"type": "object", "properties": {}, "additionalProperties": False}
    example: ClassVar[str] = ""

    @classmethod
    def check_params(cls, params: dict) -> list[tuple[tuple, str, str | None]]:
        """Semantic checks beyond the schema: [(param path, message, hint)]."""
        return []

    @classmethod
    def propose(cls, entity: dict[str, Any], params: dict[str, Any]) -> Proposal:
        raise NotImplementedError


class _SetStatus(ActionType):
    attribute = "status"
    target: ClassVar[str]
    from_states: ClassVar[tuple[str, ...]]

    @classmethod
    def propose(cls, entity, params):
        status = entity.get("status")
        if status == cls.target or status not in cls.from_states:
            return NOOP
        return Proposal({"status": status}, {"status": cls.target})


@register
class Pause(_SetStatus):
    """Pause an active entity. A paused, removed or archived entity is left alone."""

    name = "pause"
    target = "paused"
    from_states = ("active",)
    example = "action: pause"


@register
class Enable(_SetStatus):
    """Re-enable a paused entity."""

    name = "enable"
    target = "active"
    from_states = ("paused",)
    example = "action: enable"


_MONEY = {"type": "number", "exclusiveMinimum": 0}
_PCT = {"type": "number", "minimum": -100, "maximum": 1000}


def _round_money(x: float) -> float:
    return round(x + 0.0, 2)


class _SetAmount(ActionType):
    label: ClassVar[str]
    params_schema = {
        "type": "object",
        "properties": {"amount": _MONEY},
        "required": ["amount"],
        "additionalProperties": False,
    }

    @classmethod
    def propose(cls, entity, params):
        current = entity.get(cls.attribute)
        if current is None:
            return Proposal({}, {}, skip_reason=f"entity has no {cls.label} to change")
        target = _round_money(float(params["amount"]))
        if target == current:
            return NOOP
        return Proposal({cls.attribute: current}, {cls.attribute: target})


class _ChangeAmount(ActionType):
    label: ClassVar[str]
    params_schema = {
        "type": "object",
        "properties": {"by_pct": _PCT, "by_amount": {"type": "number"}},
        "oneOf": [{"required": ["by_pct"]}, {"required": ["by_amount"]}],
        "additionalProperties": False,
    }

    @classmethod
    def check_params(cls, params):
        given = [k for k in ("by_pct", "by_amount") if k in params]
        if len(given) != 1:
            return [
                (
                    (),
                    f"{cls.name} needs exactly one of by_pct or by_amount",
                    f"e.g. {{type: {cls.name}, by_pct: -15}}",
                )
            ]
        if params[given[0]] == 0:
            return [((given[0],), f"{given[0]} of 0 changes nothing", "use a non-zero change")]
        return []

    @classmethod
    def propose(cls, entity, params):
        current = entity.get(cls.attribute)
        if current is None:
            return Proposal({}, {}, skip_reason=f"entity has no {cls.label} to change")
        if "by_pct" in params:
            target = current * (1 + float(params["by_pct"]) / 100.0)
        else:
            target = current + float(params["by_amount"])
        target = _round_money(target)
        if target <= 0:
            return Proposal({}, {}, skip_reason=f"the new {cls.label} would be {target:.2f}, not above zero")
        if target == current:
            return NOOP
        return Proposal({cls.attribute: current}, {cls.attribute: target})


@register
class SetBudget(_SetAmount):
    """Set the daily budget to `amount` (account currency)."""

    name = "set_budget"
    attribute = "daily_budget"
    label = "daily budget"
    example = "action: {type: set_budget, amount: 150}"


@register
class ChangeBudget(_ChangeAmount):
    """Change the daily budget by a percentage (`by_pct: 20`) or an amount (`by_amount: -50`)."""

    name = "change_budget"
    attribute = "daily_budget"
    label = "daily budget"
    example = "action: {type: change_budget, by_pct: 20}"


@register
class SetBid(_SetAmount):
    """Set the manual bid to `amount` (account currency)."""

    name = "set_bid"
    attribute = "bid"
    label = "manual bid"
    example = "action: {type: set_bid, amount: 1.25}"


@register
class ChangeBid(_ChangeAmount):
    """Change the manual bid by a percentage (`by_pct: -15`) or an amount (`by_amount: 0.10`)."""

    name = "change_bid"
    attribute = "bid"
    label = "manual bid"
    example = "action: {type: change_bid, by_pct: -15}"


@register
class AddNegativeKeyword(ActionType):
    """Add the search term (or `text`) as a negative keyword to its campaign or ad group.

    `match_type`: exact (default) or phrase; `scope`: campaign (default) or ad_group.
    """

    name = "add_negative_keyword"
    attribute = "negative_keywords"
    params_schema = {
        "type": "object",
        "properties": {
            "match_type": {"enum": ["exact", "phrase"]},
            "scope": {"enum": ["campaign", "ad_group"]},
            "text": {"type": "string", "minLength": 1, "maxLength": 80},
        },
        "additionalProperties": False,
    }
    example = "action: {type: add_negative_keyword, match_type: exact}"

    @classmethod
    def propose(cls, entity, params):
        text = params.get("text") or entity.get("name")
        if not text:
            return Proposal({}, {}, skip_reason="no search term text to add as a negative")
        negative = {
            "text": text,
            "match_type": params.get("match_type", "exact"),
            "scope": params.get("scope", "campaign"),
            "parent_id": entity.get("parent_id"),
        }
        return Proposal({"negative_keyword": None}, {"negative_keyword": negative})


@register
class Notify(ActionType):
    """Send a notification (`message`, optional) instead of changing anything."""

    name = "notify"
    params_schema = {
        "type": "object",
        "properties": {"message": {"type": "string", "maxLength": 500}},
        "additionalProperties": False,
    }
    example = "action: {type: notify, message: CPA doubled week over week}"

    @classmethod
    def propose(cls, entity, params):
        return Proposal({}, {"message": params.get("message", "")})
