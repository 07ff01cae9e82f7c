"""Escalation: conditions on a proposed action that send it to a human (needs_approval).

The defaults come from the D2C Growth escalation rules and are in force for every
operator, even when no operator defines escalation; operators add their own in
operator.yaml. Conditions use the rule language over `action.*` and the entity's
attributes:

- `action.type`, `action.platform`, `action.level`, `action.rule_id` (text);
- `action.delta_per_day` (budget change in currency per day, + or -), `action.pct`
  (percent change of the changed amount), `action.affected_profiles` (profiles an
  email action touches) (numbers; null when they do not apply);
- entity attributes: `status`, `is_brand`, `daily_budget`, `bid`, `product`, ...
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass

from engine.core.catalog import Catalog
from engine.language.expr import Expr, ExprError, Ref, Type, compile_expr
from engine.language.expr.types import Compare, Const, Logical, Member, Name, Node
from engine.rules.scope import ATTR_TYPES

ACTION_FIELDS = {
    "type": Type.STR,
    "platform": Type.STR,
    "level": Type.STR,
    "rule_id": Type.STR,
    "delta_per_day": Type.NUM,
    "pct": Type.NUM,
    "affected_profiles": Type.NUM,
}


@dataclass(frozen=True)
class EscalationRule:
    id: str
    when: Expr
    reason: str
    source: str  # "default" or the operator.yaml it came from

    @functools.cached_property
    def types(self) -> frozenset[str] | None:
        """The action types this condition can match, when it says so (`action.type == 'x' and ...`)."""
        return _types_required(self.when.ir)


def _types_required(node: Node) -> frozenset[str] | None:
    if isinstance(node, Logical) and node.op == "and":
        for value in node.values:
            found = _types_required(value)
            if found is not None:
                return found
        return None
    is_type = lambda n: isinstance(n, Name) and n.ref.kind == "action" and n.ref.name == "type"  # noqa: E731
    if isinstance(node, Compare) and node.ops == ("==",):
        a, b = node.operands
        if is_type(a) and isinstance(b, Const) and isinstance(b.value, str):
            return frozenset([b.value])
    if isinstance(node, Member) and not node.negate and node.items is not None and is_type(node.needle):
        return frozenset(i.value for i in node.items)  # type: ignore[attr-defined]
    return None


DEFAULT_ESCALATIONS: tuple[tuple[str, str, str], ...] = (
    ("new_campaign", "action.type == 'create_campaign'", "new campaign creation needs human approval"),
    (
        "budget_change_over_500",
        "action.type in ['set_budget', 'change_budget'] and abs(action.delta_per_day) > 500",
        "budget change over $500/day needs human approval",
    ),
    (
        "shared_budget_change",
        "action.type in ['set_budget', 'change_budget'] and shared_budget",
        "the budget is shared by several campaigns: changing it changes every one of them",
    ),
    (
        "cross_platform_rebalance",
        "action.type == 'rebalance_budget'",
        "cross-platform budget rebalancing needs approval",
    ),
    ("page_change", "action.type == 'update_page'", "landing page and content changes need human approval"),
    ("discount", "action.type == 'create_discount'", "discount creation needs human approval"),
    ("ab_test_start", "action.type == 'create_ab_test'", "starting an A/B test needs human approval"),
    (
        "suppression_over_1000",
        "action.type == 'suppress_profiles' and action.affected_profiles > 1000",
        "suppressing more than 1,000 profiles needs human approval",
    ),
    (
        "automation_over_1000",
        "action.type == 'add_to_automation' and profile_count > 1000",
        "adding more than 1,000 contacts to an automation needs human approval",
    ),
)


class EscalationScope:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def resolve(self, parts: tuple[str, ...], offset: int) -> Ref:
        text = ".".join(parts)
        if len(parts) == 2 and parts[0] == "action":
            if parts[1] not in ACTION_FIELDS:
                close = difflib.get_close_matches(parts[1], ACTION_FIELDS, n=1)
                raise ExprError(
                    f"unknown action field {parts[1]!r}",
                    offset,
                    f"did you mean action.{close[0]}?" if close else "action fields: " + ", ".join(ACTION_FIELDS),
                )
            return Ref("action", parts[1], ACTION_FIELDS[parts[1]], text=text)
        if len(parts) == 1 and parts[0] in self.catalog.attributes:
            return Ref("attr", parts[0], ATTR_TYPES[self.catalog.attributes[parts[0]].type], text=text)
        raise ExprError(
            f"unknown name {text!r} in an escalation condition",
            offset,
            "escalation conditions use action.* (type, delta_per_day, pct, affected_profiles, ...) and entity "
            "attributes (status, is_brand, daily_budget, ...)",
        )


def compile_escalation(when: str, catalog: Catalog) -> Expr:
    return compile_expr(when, EscalationScope(catalog), want=Type.BOOL)


def default_escalations(catalog: Catalog) -> list[EscalationRule]:
    return [EscalationRule(i, compile_escalation(w, catalog), r, "default") for i, w, r in DEFAULT_ESCALATIONS]
