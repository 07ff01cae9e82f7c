"""Action types: one registry, one class per type.

Each action type declares, once, everything the engine and the adapters know about it:
the JSON Schema of its parameters; the entity attribute it changes and the key its
`before`/`after` state uses (`status`, `daily_budget`, `bid`, `negative_keyword`); the
value it sets (pause: "paused") or that the request gives; its direction; the operation
that undoes it; and how to propose a change for one entity. Lint, diff, the safety
pipeline, backtests, the executor and every adapter read these declarations.

`ACTIONS` holds the types a rule may use. `OPERATIONS` adds the adapter-level operations
that only undo something (`remove_negative_keyword`): an adapter can be asked to carry
them out by a rollback plan, a rule never proposes them.

The class docstring is user documentation (`rulerun docs actions`); the workflow
schema's action definitions are generated from this registry.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any, ClassVar

from engine.core import money
from engine.core.status import EntityStatus

ACTIONS: dict[str, type[ActionType]] = {}
OPERATIONS: dict[str, type[ActionType]] = {}

# Entity attributes that hold money in the account currency.
MONEY_ATTRIBUTES = ("daily_budget", "bid")
# The adapter-level undo of add_negative_keyword (never proposed by a rule).
REMOVE_NEGATIVE_KEYWORD = "remove_negative_keyword"


class _FromRequest:
    def __repr__(self) -> str:
        return "FROM_REQUEST"


# `sets` of an operation whose new value comes from the request (an amount, a keyword).
FROM_REQUEST: Any = _FromRequest()


def register(cls: type[ActionType]) -> type[ActionType]:
    ACTIONS[cls.name] = cls
    OPERATIONS[cls.name] = cls
    return cls


def register_operation(cls: type[ActionType]) -> type[ActionType]:
    """An adapter-level operation: a rollback plan may ask for it, a rule may not (it proposes nothing)."""

    def propose(_cls: type[ActionType], entity: dict[str, Any], params: dict[str, Any]) -> Proposal:
        raise NotImplementedError(f"{_cls.name} is an adapter-level operation")

    cls.example = ""
    cls.propose = classmethod(propose)  # type: ignore[method-assign,assignment]
    OPERATIONS[cls.name] = cls
    return cls


@dataclass(frozen=True)
class Proposal:
    """The change an action would make to one entity, or why it cannot be made."""

    before: dict[str, Any]
    after: dict[str, Any]
    skip_reason: str | None = None  # set when the rule fired but no change is possible
    noop: bool = False  # the entity is already in the target state: nothing to do
    note: str | None = None  # what else the change touches (the campaigns on a shared budget)


NOOP = Proposal({}, {}, noop=True)


class ActionType:
    name: ClassVar[str]
    attribute: ClassVar[str | None] = None  # the entity attribute the action changes
    state_key: ClassVar[str | None] = None  # its key in before/after and rollback plans (default: attribute)
    sets: ClassVar[Any] = FROM_REQUEST  # the value it leaves (pause: "paused"), or FROM_REQUEST
    direction: ClassVar[int | None] = None  # +1 raises or enables, -1 lowers or pauses; None: depends
    undo: ClassVar[str | None] = None  # the operation that undoes it (None: nothing to undo)
    # Fields naming one object in a list-valued attribute (a discount by its code): the live
    # state holds the list under `attribute`, before/after the one object under `state_key`
    identity: ClassVar[tuple[str, ...]] = ()
    verb: ClassVar[str] = ""  # what it does to an entity, in a sentence ("pauses", "negates")
    # False for a change no rollback plan can undo: such actions always wait for a human
    reversible: ClassVar[bool] = True
    params_schema: ClassVar[dict] = {"type": "object", "properties": {}, "additionalProperties": False}
    example: ClassVar[str] = ""
    # the values a text attribute set from the request may take (empty: the attribute is an amount)
    choices: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def key(cls) -> str | None:
        """The key of the state this operation changes in before/after and rollback plans."""
        return cls.state_key or cls.attribute

    @classmethod
    def is_item(cls) -> bool:
        """Whether the operation adds or removes one item of a collection (a negative keyword, an enrollment)."""
        return bool(cls.identity)

    @classmethod
    def identify(cls, item: Any) -> tuple | None:
        """The identity of an item of the collection (None for anything that is not one)."""
        if not isinstance(item, dict):
            return None
        return tuple(str(item.get(f, "")).lower() for f in cls.identity)

    @classmethod
    def holds(cls, live: dict[str, Any], item: Any) -> bool:
        """Whether the live state's collection holds `item` (matched by identity)."""
        want = cls.identify(item)
        return want is not None and any(cls.identify(n) == want for n in live.get(cls.attribute or "") or [])

    @classmethod
    def is_money(cls) -> bool:
        return cls.attribute in MONEY_ATTRIBUTES

    @classmethod
    def can_leave(cls, value: Any) -> bool:
        """Whether this operation can leave its state at `value`."""
        if cls.sets is FROM_REQUEST:
            return value is not None
        return value == cls.sets

    @classmethod
    def rule_direction(cls, params: dict[str, Any]) -> int | None:
        """The direction a rule's action goes whatever the entity: +1, -1, or None when it depends."""
        return cls.direction

    @classmethod
    def change_direction(cls, before: dict[str, Any], after: dict[str, Any]) -> int:
        """+1 for an increase of a money attribute, -1 for a decrease, 0 otherwise."""
        if not cls.is_money():
            return 0
        old, new = before.get(cls.attribute), after.get(cls.attribute)  # type: ignore[arg-type]
        if old is None or new is None or old == new:
            return 0
        return 1 if new > old else -1

    @classmethod
    def plan_params(cls, restore: Any, now: Any) -> dict[str, Any]:
        """The params of a rollback plan made of this operation that restores `restore`."""
        return {}

    @classmethod
    def check_params(cls, params: dict) -> list[tuple[tuple, str, str | None]]:
        """Semantic checks beyond the schema: [(param path, message, hint)]."""
        return []

    @classmethod
    def propose(cls, entity: dict[str, Any], params: dict[str, Any]) -> Proposal:
        raise NotImplementedError


@dataclass(frozen=True)
class RollbackPlan:
    """How to undo one change; stored as the dict `to_dict` returns (platforms/base.py documents it).

    `before` is the state the change left (what the rollback expects to find), `after` the
    state the rollback restores; both hold the one key of the operation (`type`).
    """

    type: str
    params: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)

    @property
    def operation(self) -> builtins.type[ActionType]:  # `type` is the field here
        return OPERATIONS[self.type]

    @property
    def key(self) -> str:
        key = self.operation.key()
        if key is None:  # from_dict admits only operations that change a state
            raise ValueError(f"{self.type} changes no state a rollback plan could restore")
        return key

    @property
    def restore(self) -> Any:
        return self.after[self.key]

    @property
    def expect(self) -> Any:
        return self.before[self.key]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "params": dict(self.params), "before": dict(self.before), "after": dict(self.after)}

    @classmethod
    def from_dict(cls, d: Any) -> RollbackPlan:
        """The plan a dict describes; ValueError when it is not one (unknown type, state missing)."""
        kind = d.get("type") if isinstance(d, dict) else None
        op = OPERATIONS.get(kind) if isinstance(kind, str) else None
        if not isinstance(d, dict) or not isinstance(kind, str) or op is None:
            raise ValueError(f"not a rollback plan: {d!r}")
        key = op.key()
        before, after = d.get("before") or {}, d.get("after") or {}
        if key is None or op.undo is None or key not in before or key not in after:
            raise ValueError(f"not a rollback plan: {d!r}")
        return cls(kind, dict(d.get("params") or {}), dict(before), dict(after))


def item_operation(state_key: str) -> type[ActionType] | None:
    """The operation whose before/after `state_key` is one item of a collection in the live state, if any."""
    return next((op for op in OPERATIONS.values() if op.is_item() and op.key() == state_key), None)


def undo_plan(action_type: str, *, restore: Any, now: Any, params: dict[str, Any] | None = None) -> RollbackPlan | None:
    """The rollback plan taking `action_type`'s state from `now` back to `restore` (None: nothing to undo).

    The declared undo, unless it cannot leave the state at `restore` (a pause of an entity
    that was paused already is undone by pausing, a no-op). `params` adds platform details.
    """
    op = OPERATIONS[action_type]
    if op.undo is None:
        return None
    undo = OPERATIONS[op.undo]
    if not undo.can_leave(restore):
        undo = next(o for o in (op, *OPERATIONS.values()) if o.key() == op.key() and o.can_leave(restore))
    key = op.key()
    assert key is not None
    return RollbackPlan(undo.name, {**undo.plan_params(restore, now), **(params or {})}, {key: now}, {key: restore})


class _SetStatus(ActionType):
    attribute = "status"
    from_states: ClassVar[tuple[str, ...]]

    @classmethod
    def propose(cls, entity, params):
        status = entity.get("status")
        if status == cls.sets or status not in cls.from_states:
            return NOOP
        return Proposal({"status": status}, {"status": cls.sets})


@register
class Pause(_SetStatus):
    """Pause an active entity. A paused, removed or archived entity is left alone."""

    name = "pause"
    verb = "pauses"
    sets = EntityStatus.PAUSED
    direction = -1
    undo = "enable"
    from_states = (EntityStatus.ACTIVE,)
    example = "action: pause"


@register
class Enable(_SetStatus):
    """Re-enable a paused entity."""

    name = "enable"
    verb = "enables"
    sets = EntityStatus.ACTIVE
    direction = 1
    undo = "pause"
    from_states = (EntityStatus.PAUSED,)
    example = "action: enable"


def toggleable_statuses() -> tuple[str, ...]:
    """The statuses actions switch between (removed or archived entities never come back)."""
    return tuple(op.sets for op in OPERATIONS.values() if op.attribute == "status")


_MONEY = {"type": "number", "exclusiveMinimum": 0}
# budget_mode values (catalog/attributes.yaml) that are not a daily budget, and what they mean
_NOT_DAILY = {
    "lifetime": "its budget is a lifetime (total) budget, not a daily one",
    "unlimited": "its budget is unlimited",
    "parent": "its parent's budget serves it",
}
_PCT = {"type": "number", "minimum": -100, "maximum": 1000}


class _Amount(ActionType):
    label: ClassVar[str]

    @classmethod
    def plan_params(cls, restore, now):
        return {"amount": restore}

    @classmethod
    def missing_reason(cls, entity: dict[str, Any]) -> str:
        """Why an entity without the amount has none to change (its budget mode or bidding strategy, when known)."""
        why = ""
        if cls.attribute == "daily_budget" and entity.get("budget_mode") in _NOT_DAILY:
            why = f": {_NOT_DAILY[entity['budget_mode']]}"
        elif cls.attribute == "bid" and entity.get("bidding_strategy"):
            why = f": it bids by {entity['bidding_strategy']}"
        return f"entity has no {cls.label} to change{why}"

    @classmethod
    def shared_note(cls, entity: dict[str, Any]) -> str | None:
        """Names every campaign a change of a shared budget changes."""
        campaigns = entity.get("budget_campaigns")
        if cls.attribute != "daily_budget" or not entity.get("shared_budget") or not campaigns:
            return None
        return f"shared budget: also changes campaigns {', '.join(str(c) for c in campaigns)}"


class _SetAmount(_Amount):
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
            return Proposal({}, {}, skip_reason=cls.missing_reason(entity))
        target = money.round_amount(float(params["amount"]), entity.get("currency"))
        if target == current:
            return NOOP
        return Proposal({cls.attribute: current}, {cls.attribute: target}, note=cls.shared_note(entity))


class _ChangeAmount(_Amount):
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
    def rule_direction(cls, params):
        step = params.get("by_pct", params.get("by_amount"))
        if isinstance(step, int | float) and step:
            return 1 if step > 0 else -1
        return None

    @classmethod
    def propose(cls, entity, params):
        current = entity.get(cls.attribute)
        if current is None:
            return Proposal({}, {}, skip_reason=cls.missing_reason(entity))
        if "by_pct" in params:
            target = current * (1 + float(params["by_pct"]) / 100.0)
        else:
            target = current + float(params["by_amount"])
        target = money.round_amount(target, entity.get("currency"))
        if target <= 0:
            return Proposal({}, {}, skip_reason=f"the new {cls.label} would be {target:.2f}, not above zero")
        if target == current:
            return NOOP
        return Proposal({cls.attribute: current}, {cls.attribute: target}, note=cls.shared_note(entity))


@register
class SetBudget(_SetAmount):
    """Set the daily budget to `amount` (account currency)."""

    name = "set_budget"
    verb = "sets the budget of"
    attribute = "daily_budget"
    undo = "set_budget"
    label = "daily budget"
    example = "action: {type: set_budget, amount: 150}"


@register
class ChangeBudget(_ChangeAmount):
    """Change the daily budget by a percentage (`by_pct: 20`) or an amount (`by_amount: -50`)."""

    name = "change_budget"
    verb = "changes the budget of"
    attribute = "daily_budget"
    undo = "set_budget"
    label = "daily budget"
    example = "action: {type: change_budget, by_pct: 20}"


@register
class SetBid(_SetAmount):
    """Set the manual bid to `amount` (account currency)."""

    name = "set_bid"
    verb = "sets the bid of"
    attribute = "bid"
    undo = "set_bid"
    label = "manual bid"
    example = "action: {type: set_bid, amount: 1.25}"


@register
class ChangeBid(_ChangeAmount):
    """Change the manual bid by a percentage (`by_pct: -15`) or an amount (`by_amount: 0.10`)."""

    name = "change_bid"
    verb = "changes the bid of"
    attribute = "bid"
    undo = "set_bid"
    label = "manual bid"
    example = "action: {type: change_bid, by_pct: -15}"


@register
class AddNegativeKeyword(ActionType):
    """Add the search term (or `text`) as a negative keyword to its campaign or ad group.

    `match_type`: exact (default) or phrase; `scope`: campaign (default) or ad_group.
    """

    name = "add_negative_keyword"
    verb = "negates"
    attribute = "negative_keywords"
    state_key = "negative_keyword"  # before/after hold the one keyword: None when absent
    identity = ("text", "match_type")
    undo = REMOVE_NEGATIVE_KEYWORD
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

    @classmethod
    def plan_params(cls, restore, now):
        return dict(restore if restore is not None else now)


@register_operation
class RemoveNegativeKeyword(AddNegativeKeyword):
    """Remove a negative keyword (the undo of add_negative_keyword; never proposed by a rule)."""

    name = REMOVE_NEGATIVE_KEYWORD
    verb = "removes a negative keyword from"
    sets = None  # the keyword is absent afterwards
    undo = "add_negative_keyword"


@register
class Notify(ActionType):
    """Send a notification (`message`, optional) instead of changing anything."""

    name = "notify"
    verb = "notifies about"
    sets = None
    params_schema = {
        "type": "object",
        "properties": {"message": {"type": "string", "maxLength": 500}},
        "additionalProperties": False,
    }
    example = "action: {type: notify, message: CPA doubled week over week}"

    @classmethod
    def propose(cls, entity, params):
        return Proposal({}, {"message": params.get("message", "")})


# ---------------------------------------------------------------- email (Klaviyo)

FLOW_STATUSES = ("live", "manual", "draft")


@register
class SetFlowStatus(ActionType):
    """Set an email flow's status: `live` (sends), `manual` (messages wait for a manual send) or `draft`.

    Rollback restores the status the flow had.
    """

    name = "set_flow_status"
    verb = "sets the status of"
    attribute = "flow_status"
    undo = "set_flow_status"
    choices = FLOW_STATUSES
    params_schema = {
        "type": "object",
        "properties": {"status": {"enum": list(FLOW_STATUSES)}},
        "required": ["status"],
        "additionalProperties": False,
    }
    example = "action: {type: set_flow_status, status: manual}"

    @classmethod
    def rule_direction(cls, params):
        return 1 if params.get("status") == "live" else -1

    @classmethod
    def plan_params(cls, restore, now):
        return {"status": restore}

    @classmethod
    def propose(cls, entity, params):
        current = entity.get("flow_status")
        if current is None:
            return Proposal({}, {}, skip_reason="entity is not a flow (no flow status)")
        if current == params["status"]:
            return NOOP
        return Proposal({"flow_status": current}, {"flow_status": params["status"]})


@register
class SuppressProfiles(ActionType):
    """Suppress every profile of a segment from email (the platform's bulk suppression job).

    Needs approval above 1,000 profiles (escalation `suppression_over_1000`). Rollback
    unsuppresses the same profiles, which the platform allows for suppressions made this way.
    """

    name = "suppress_profiles"
    verb = "suppresses the profiles of"
    attribute = "suppressed_profiles"  # profiles of the segment that are suppressed
    direction = -1
    undo = "unsuppress_profiles"
    example = "action: suppress_profiles"

    @classmethod
    def propose(cls, entity, params):
        size = entity.get("profile_count")
        if size is None:
            return Proposal({}, {}, skip_reason="the segment's size is unknown")
        if size <= 0:
            return NOOP
        return Proposal({"suppressed_profiles": 0}, {"suppressed_profiles": int(size)})


@register_operation
class UnsuppressProfiles(SuppressProfiles):
    """Unsuppress profiles suppressed by suppress_profiles (its undo; never proposed by a rule)."""

    name = "unsuppress_profiles"
    verb = "unsuppresses the profiles of"
    direction = 1
    undo = "suppress_profiles"


# The seed's minimum audience of each variant of an A/B test.
MIN_RECIPIENTS_PER_VARIANT = 1000


@register
class CreateAbTest(ActionType):
    """Test a second subject line (`subject`) on a draft email campaign: variant B is prepared as a draft.

    Proposed only when the campaign's audience gives each of the two variants at least
    `min_per_variant` recipients (the seed's 1,000 by default). Always needs approval.
    Rollback deletes variant B.
    """

    name = "create_ab_test"
    verb = "prepares a subject-line test of"
    attribute = "ab_test_subject"  # variant B's subject, None when there is no test
    undo = "remove_ab_test"
    params_schema = {
        "type": "object",
        "properties": {
            "subject": {"type": "string", "minLength": 1, "maxLength": 150},
            "min_per_variant": {"type": "integer", "minimum": MIN_RECIPIENTS_PER_VARIANT},
        },
        "required": ["subject"],
        "additionalProperties": False,
    }
    example = "action: {type: create_ab_test, subject: 'Last chance: 20% off ends tonight'}"

    @classmethod
    def plan_params(cls, restore, now):
        return {"subject": restore if restore is not None else now}

    @classmethod
    def propose(cls, entity, params):
        if entity.get("status") != "paused":
            return Proposal({}, {}, skip_reason="only a draft campaign can get a subject-line test")
        audience = entity.get("profile_count")
        floor = int(params.get("min_per_variant", MIN_RECIPIENTS_PER_VARIANT))
        if audience is None:
            return Proposal({}, {}, skip_reason="the campaign's audience size is unknown")
        if audience / 2 < floor:
            return Proposal(
                {},
                {},
                skip_reason=f"{int(audience)} recipients give each variant {int(audience // 2)}, under {floor}",
            )
        return Proposal({"ab_test_subject": None}, {"ab_test_subject": params["subject"]})


@register_operation
class RemoveAbTest(CreateAbTest):
    """Delete the variant of a subject-line test (the undo of create_ab_test; never proposed by a rule)."""

    name = "remove_ab_test"
    verb = "removes the subject-line test of"
    sets = None
    undo = "create_ab_test"


@register
class UpdatePage(ActionType):
    """Change a store page's body (HTML): `body` replaces it, `prepend` or `append` adds a block
    (a banner) unless the page already starts or ends with it. Always needs approval (page
    changes), and the approval shows the body before and after; rollback restores the previous
    body, which the rollback plan keeps."""

    name = "update_page"
    verb = "rewrites the body of"
    attribute = "body"
    undo = "update_page"
    _TEXT: ClassVar[dict] = {"type": "string", "minLength": 1, "maxLength": 100_000}
    params_schema = {
        "type": "object",
        "properties": {"body": _TEXT, "prepend": _TEXT, "append": _TEXT},
        "oneOf": [{"required": ["body"]}, {"required": ["prepend"]}, {"required": ["append"]}],
        "additionalProperties": False,
    }
    example = "action: {type: update_page, prepend: '<p>Free shipping over $75</p>'}"

    @classmethod
    def check_params(cls, params):
        given = [k for k in ("body", "prepend", "append") if k in params]
        if len(given) != 1:
            return [((), "update_page needs exactly one of body, prepend or append", "e.g. prepend: '<p>...</p>'")]
        return []

    @classmethod
    def propose(cls, entity, params):
        current = entity.get("body")
        if current is None:
            return Proposal({}, {}, skip_reason="the page's current body is unknown (sync the store first)")
        if "prepend" in params:
            if current.startswith(params["prepend"]):
                return NOOP
            new = params["prepend"] + current
        elif "append" in params:
            if current.endswith(params["append"]):
                return NOOP
            new = current + params["append"]
        else:
            new = params["body"]
        if new == current:
            return NOOP
        return Proposal({"body": current}, {"body": new})


_CODE = {"type": "string", "pattern": "^[A-Za-z0-9_-]{3,40}$"}


@register
class CreateDiscount(ActionType):
    """Create a discount code on the store: `code`, `percentage` (1-100) or `amount` (account
    currency) off the order, optional `title`, `usage_limit` (total uses), `once_per_customer`
    and `days` it runs from when it is created (or `starts_at` / `ends_at` dates). Always needs
    approval (discounts); rollback deactivates the code.
    """

    name = "create_discount"
    verb = "creates a discount code on"
    attribute = "discounts"
    state_key = "discount"  # before/after hold the one discount: None when no active code has it
    identity = ("code",)
    undo = "deactivate_discount"
    params_schema = {
        "type": "object",
        "properties": {
            "code": _CODE,
            "title": {"type": "string", "minLength": 1, "maxLength": 255},
            "percentage": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
            "amount": _MONEY,
            "usage_limit": {"type": "integer", "minimum": 1},
            "once_per_customer": {"type": "boolean"},
            "days": {"type": "integer", "minimum": 1, "maximum": 365},
            "starts_at": {"type": "string", "format": "date"},
            "ends_at": {"type": "string", "format": "date"},
        },
        "required": ["code"],
        "oneOf": [{"required": ["percentage"]}, {"required": ["amount"]}],
        "additionalProperties": False,
    }
    example = "action: {type: create_discount, code: WINBACK15, percentage: 15, usage_limit: 500, days: 14}"

    @classmethod
    def check_params(cls, params):
        if ("percentage" in params) == ("amount" in params):
            return [((), "create_discount needs exactly one of percentage or amount", "e.g. percentage: 15")]
        if "days" in params and "ends_at" in params:
            return [(("days",), "give days or ends_at, not both", None)]
        return []

    @classmethod
    def propose(cls, entity, params):
        discount = {"title": params.get("title") or params["code"], **params}
        return Proposal({"discount": None}, {"discount": discount})

    @classmethod
    def plan_params(cls, restore, now):
        return {"code": (restore or now or {}).get("code")}


@register_operation
class DeactivateDiscount(CreateDiscount):
    """Deactivate a discount code (the undo of create_discount; never proposed by a rule)."""

    name = "deactivate_discount"
    verb = "deactivates a discount code on"
    sets = None  # no active code afterwards
    undo = "create_discount"


@register
class AddToAutomation(ActionType):
    """Add the contacts of a list or segment to an email automation (`automation`: its id).

    The lifecycle trigger of email platforms: a win-back or trial-activation automation
    for the segment the rule fires on. Contacts already in the automation are left
    alone. More than 1,000 contacts (the segment's `profile_count`) need approval; a
    segment of unknown size is skipped. Rollback removes the contacts it added.
    """

    name = "add_to_automation"
    verb = "adds to an automation the contacts of"
    attribute = "automations"  # the automations holding the segment's contacts, in the live state
    state_key = "automation_enrollment"  # before/after: {"automation", "contacts"}, None when absent
    identity = ("automation",)
    undo = "remove_from_automation"
    params_schema = {
        "type": "object",
        "properties": {"automation": {"type": "string", "minLength": 1, "maxLength": 40}},
        "required": ["automation"],
        "additionalProperties": False,
    }
    example = "action: {type: add_to_automation, automation: '12'}"

    @classmethod
    def propose(cls, entity, params):
        size = entity.get("profile_count")
        if size is None:
            return Proposal({}, {}, skip_reason="the segment's size is unknown: its contacts cannot be counted")
        if size <= 0:
            return Proposal({}, {}, skip_reason="the segment has no contacts")
        enrollment = {"automation": str(params["automation"]), "contacts": int(size)}
        # no `before`: contacts of the segment may already be in the automation; the adapter adds the others
        return Proposal({}, {cls.state_key: enrollment})

    @classmethod
    def plan_params(cls, restore, now):
        return {"automation": (restore if restore is not None else now)["automation"]}


@register_operation
class RemoveFromAutomation(AddToAutomation):
    """Remove from an automation the contacts an add_to_automation added (its undo; never proposed by a rule)."""

    name = "remove_from_automation"
    verb = "removes from an automation the contacts of"
    sets = None
    undo = "add_to_automation"
