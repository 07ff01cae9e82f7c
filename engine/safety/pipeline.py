"""The safety pipeline: unusable amounts -> conflicts -> guardrails -> escalation -> autonomy.

Pure functions over proposed actions and the facts gathered about their entities
(engine/facts.py), so property tests can drive them directly. Every action leaves with
one status and the list of guardrails and escalations that touched it; nothing that
passed here as `planned` or `clamped` violates a guardrail.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from engine.core import money
from engine.core.actions import ACTIONS, MONEY_ATTRIBUTES
from engine.core.catalog import load_catalog
from engine.core.numbers import MONEY as MONEY_UNIT
from engine.core.numbers import fmt_number
from engine.core.plan import PlannedAction
from engine.language.expr.reference import Reference
from engine.rules.escalation import EscalationRule
from engine.rules.model import Operator

LIVE = ("planned", "clamped")  # statuses still on their way to execution
MONEY = MONEY_ATTRIBUTES
# Above this a money amount (account currency) is a data error: no real budget or bid comes near it.
MAX_AMOUNT = 1e12


@dataclass
class Facts:
    """What the pipeline knows about one action's entity and data."""

    lifetime_spend: float | None = None
    window_conversions: float | None = None
    brand_lineage: bool = False  # the entity or one of its ancestors is a brand campaign
    learning_phase: bool = False
    data_age_hours: float | None = None  # None: no data at all for the entity's account
    sla_hours: float | None = None
    source: str = ""
    mer: float | None = None  # truth.mer over the rule's window
    mer_unknown: str | None = None  # why `mer` is None (no Shopify revenue, no ad spend)
    window: str = "last_7d"  # the rule's window (for MER)


@dataclass
class Conflict:
    entity: str
    attribute: str
    rules: list[str]
    kind: str  # "opposite" (pause vs enable, up vs down) or "competing"

    def to_dict(self) -> dict[str, Any]:
        return {"entity": self.entity, "attribute": self.attribute, "rules": self.rules, "kind": self.kind}


@dataclass
class SafetyResult:
    actions: list[PlannedAction]
    conflicts: list[Conflict] = field(default_factory=list)
    suppressed: int = 0  # actions dropped because their autonomy is `off`


def floor_money(x: float, currency: str | None = None) -> float:
    """`x` rounded down to the currency's smallest unit (cents when the currency is unknown)."""
    return money.round_amount(round(x, 6), currency, "down")


def ceil_money(x: float, currency: str | None = None) -> float:
    return money.round_amount(round(x, 6), currency, "up")


def _rule_name(a: PlannedAction) -> str:
    return f"{a.workflow}/{a.rule_id}"


def _touch(a: PlannedAction, name: str, effect: str, message: str, **numbers: Any) -> None:
    a.guardrails.append({"name": name, "effect": effect, "message": message, **numbers})
    a.reasons.append(message)


def _block(a: PlannedAction, name: str, message: str, **numbers: Any) -> None:
    a.status = "blocked"
    _touch(a, name, "block", message, **numbers)


def _attribute(a: PlannedAction) -> str | None:
    return ACTIONS[a.type].attribute


def _direction(a: PlannedAction) -> int:
    """+1 for an increase of budget or bid, -1 for a decrease, 0 otherwise."""
    return ACTIONS[a.type].change_direction(a.before, a.after)


# -- 0. amounts the arithmetic can trust ---------------------------------------------------------


def skip_unusable_amounts(actions: list[PlannedAction]) -> None:
    """Skip a budget or bid change whose current or new amount is not finite or is absurd.

    Such an amount comes from bad data (a bid of 1e308): no guardrail can reason about it,
    so the action is never executed and the reason says which value was refused.
    """
    for a in actions:
        attr = _attribute(a)
        if a.status not in LIVE or attr not in MONEY:
            continue
        for side, value in (("current", a.before.get(attr)), ("new", a.after.get(attr))):
            if value is not None and not (isinstance(value, int | float) and abs(value) <= MAX_AMOUNT):
                a.status = "skipped"
                _touch(
                    a,
                    "amount_out_of_range",
                    "skip",
                    f"the {side} {attr} {value} is not a usable amount (finite, at most {MAX_AMOUNT:,.0f}): "
                    "check the entity's data",
                )
                break


# -- 1. conflicts ----------------------------------------------------------------------------


def resolve_conflicts(actions: list[PlannedAction]) -> list[Conflict]:
    """One change per entity and attribute: explicit priority first, else the safer change."""
    conflicts: list[Conflict] = []
    by_entity: dict[tuple, list[PlannedAction]] = defaultdict(list)
    for a in actions:
        if a.status == "planned" and a.type != "notify":
            by_entity[(a.platform, a.account_id, a.level, a.entity_id)].append(a)
    for key, group in by_entity.items():
        entity = "/".join(key)
        by_attr: dict[str, list[PlannedAction]] = defaultdict(list)
        for a in group:
            attr = _attribute(a) or a.type
            if attr == "negative_keywords":
                neg = a.after.get("negative_keyword") or {}
                attr = f"negative:{neg.get('text')}:{neg.get('match_type')}"
            by_attr[attr].append(a)
        winners: dict[str, PlannedAction] = {}
        for attr, candidates in sorted(by_attr.items()):
            ordered = sorted(candidates, key=_safety_order)
            winner = ordered[0]
            winners[attr] = winner
            for loser in ordered[1:]:
                loser.status = "skipped"
                _touch(
                    loser,
                    "conflict",
                    "skip",
                    f"conflict: {_rule_name(winner)} wins on {attr} "
                    f"({'higher priority' if winner.priority > loser.priority else 'the safer change'})",
                )
            if len(candidates) > 1:
                kinds = {a.type for a in candidates} if attr == "status" else {_direction(a) for a in candidates}
                opposite = kinds >= {"pause", "enable"} or kinds >= {1, -1}
                conflicts.append(
                    Conflict(
                        entity, attr, sorted(_rule_name(a) for a in candidates), "opposite" if opposite else "competing"
                    )
                )
        pause = winners.get("status")
        if pause is not None and pause.type == "pause":
            for attr in MONEY:
                other = winners.get(attr)
                if other is not None:
                    other.status = "skipped"
                    _touch(other, "conflict", "skip", f"conflict: {_rule_name(pause)} pauses this entity")
                    conflicts.append(
                        Conflict(entity, f"status+{attr}", sorted([_rule_name(pause), _rule_name(other)]), "opposite")
                    )
    return conflicts


def _safety_order(a: PlannedAction) -> tuple:
    # Higher priority first; then pause before enable; then the lowest resulting amount (decrease over increase).
    attr = _attribute(a)
    safer = 0 if a.type == "pause" else 1
    amount = a.after.get(attr) if attr in MONEY else 0.0
    return (-a.priority, safer, amount if amount is not None else 0.0, a.workflow, a.rule_id)


# -- 2. guardrails -----------------------------------------------------------------------------


def apply_guardrails(a: PlannedAction, f: Facts, g: dict[str, Any]) -> None:
    """Block or clamp one action by the entity-level guardrails (the spend cap is per account)."""
    if a.status not in LIVE or a.type == "notify":
        return
    if g["block_stale_data"]:
        if f.data_age_hours is None:
            _block(a, "block_stale_data", f"no {f.source} data for this account: never act without data")
            return
        if f.sla_hours is not None and f.data_age_hours > f.sla_hours:
            _block(
                a,
                "block_stale_data",
                f"{f.source} data is {f.data_age_hours:.0f}h old, over its {f.sla_hours:.0f}h freshness SLA",
                lag_hours=f.data_age_hours,
                limit=f.sla_hours,
            )
            return
    if g["learning_phase_no_changes"] and f.learning_phase and load_catalog().has_trait(a.platform, "learning_phase"):
        note = load_catalog().trait_note(a.platform, "learning_phase")
        _block(
            a,
            "learning_phase_no_changes",
            f"{a.platform} {a.level} is in its learning phase: never modified" + (f" ({note})" if note else ""),
        )
        return
    if a.type in ("pause", "add_negative_keyword") and g["brand_campaigns_no_auto_pause"] and f.brand_lineage:
        _block(
            a,
            "brand_campaigns_no_auto_pause",
            "brand campaigns and their children are never auto-paused"
            + (" or negated" if a.type == "add_negative_keyword" else ""),
        )
        return
    if a.type == "pause" and (f.lifetime_spend or 0.0) < g["min_spend_before_pause"]:
        _block(
            a,
            "min_spend_before_pause",
            f"lifetime spend {fmt_number(f.lifetime_spend or 0, MONEY_UNIT)} is under the "
            f"{fmt_number(g['min_spend_before_pause'])} needed before an auto-pause",
            spend=f.lifetime_spend,
            limit=g["min_spend_before_pause"],
        )
        return
    direction = _direction(a)
    attr = _attribute(a)
    if direction > 0:
        conv = f.window_conversions or 0.0
        if conv < g["min_conversions_for_scale"]:
            _block(
                a,
                "min_conversions_for_scale",
                f"{conv:.0f} conversions, {g['min_conversions_for_scale']} needed before scaling up",
                conversions=conv,
                limit=g["min_conversions_for_scale"],
            )
            return
        if attr == "daily_budget" and (f.mer is None or f.mer < g["min_mer_for_increase"]):
            _block(
                a,
                "min_mer_for_increase",
                f"blended MER is unknown ({f.mer_unknown or 'no data'}): budget increases wait"
                if f.mer is None
                else f"blended MER {f.mer:.2f} is under {g['min_mer_for_increase']} needed to raise budgets",
                mer=f.mer,
                limit=g["min_mer_for_increase"],
            )
            return
    if attr == "daily_budget" and direction > 0:
        _clamp(a, attr, "max_daily_budget_increase_pct", g["max_daily_budget_increase_pct"], both_ways=False)
    elif attr == "bid" and direction != 0:
        _clamp(a, attr, "max_bid_change_pct", g["max_bid_change_pct"], both_ways=True)


def _clamp(a: PlannedAction, attr: str, name: str, pct: float, both_ways: bool) -> None:
    before, after = a.before[attr], a.after[attr]
    currency = a.entity.get("currency")
    high = floor_money(before * (1 + pct / 100), currency)
    low = ceil_money(before * (1 - pct / 100), currency) if both_ways else -math.inf
    allowed = min(max(after, low), high)
    if allowed == after:
        return
    if allowed == before:
        _block(a, name, f"a {pct:g}% limit leaves no room to change {attr} {fmt_number(before, MONEY_UNIT)}", limit=pct)
        return
    a.after = {**a.after, attr: allowed}
    a.status = "clamped"
    _touch(
        a,
        name,
        "clamp",
        f"{attr} change clamped to {pct:g}%: requested {fmt_number(after, MONEY_UNIT)}, "
        f"allowed {fmt_number(allowed, MONEY_UNIT)}",
        requested=after,
        allowed=allowed,
        limit=pct,
    )


def apply_spend_cap(
    actions: list[PlannedAction], budgets: dict[tuple[str, str], float], guardrails_of: dict[str, dict[str, Any]]
) -> None:
    """Per account, the sum of daily budgets after this plan stays under max_daily_spend_cap.

    Increases, in priority order, take the headroom between today's total and the cap:
    one that no longer fits is clamped to what is left, or blocked when nothing is.
    Planned decreases earn no headroom: a human may reject them, or they may fail.
    """
    by_account: dict[tuple[str, str], list[PlannedAction]] = defaultdict(list)
    for a in actions:
        if a.status in LIVE and _attribute(a) == "daily_budget" and _direction(a) != 0:
            by_account[(a.platform, a.account_id)].append(a)
    for account, group in by_account.items():
        total = budgets.get(account, 0.0)
        for a in sorted((a for a in group if _direction(a) > 0), key=lambda a: (-a.priority, a.action_id)):
            cap = guardrails_of[a.workflow]["max_daily_spend_cap"]
            before, after = a.before["daily_budget"], a.after["daily_budget"]
            currency = a.entity.get("currency")
            headroom = floor_money(cap - total, currency)
            if not headroom > 0:  # also when the total is not a usable number
                _block(
                    a,
                    "max_daily_spend_cap",
                    f"account budgets already total {fmt_number(total, MONEY_UNIT)}/day, "
                    f"at the {fmt_number(cap)}/day cap",
                    account_total=round(total, 2),
                    limit=cap,
                )
                continue
            if after - before > headroom:
                allowed = floor_money(before + headroom, currency)
                a.after = {**a.after, "daily_budget": allowed}
                a.status = "clamped"
                _touch(
                    a,
                    "max_daily_spend_cap",
                    "clamp",
                    f"daily budget clamped to keep the account at {fmt_number(cap)}/day: "
                    f"requested {fmt_number(after, MONEY_UNIT)}, allowed {fmt_number(allowed, MONEY_UNIT)}",
                    requested=after,
                    allowed=allowed,
                    limit=cap,
                )
            total += a.after["daily_budget"] - before


# -- 3. escalation and 4. autonomy ---------------------------------------------------------------


def action_fields(a: PlannedAction) -> dict[str, Any]:
    attr = _attribute(a)
    delta = pct = None
    if attr in MONEY and a.before.get(attr) is not None and a.after.get(attr) is not None:
        delta = float(a.after[attr] - a.before[attr])
        pct = delta / a.before[attr] * 100 if a.before[attr] else None
    return {
        "type": a.type,
        "platform": a.platform,
        "level": a.level,
        "rule_id": a.rule_id,
        "delta_per_day": delta if attr == "daily_budget" else None,
        "pct": pct,
        "affected_profiles": a.params.get("affected_profiles"),
    }


def apply_escalation(a: PlannedAction, rules: list[EscalationRule], reference: Reference | None = None) -> None:
    if a.status not in LIVE:
        return
    reference = reference or Reference({})
    fields = action_fields(a)
    for rule in rules:
        if rule.types is not None and a.type not in rule.types:
            continue  # the condition requires another action type
        values = {}
        for ref in rule.when.refs:
            values[ref.key] = fields.get(ref.name) if ref.kind == "action" else a.entity.get(ref.name)
        if reference(rule.when, values):
            a.status = "needs_approval"
            _touch(a, f"escalation:{rule.id}", "needs_approval", rule.reason)
            return


def apply_autonomy(a: PlannedAction, level: str) -> None:
    a.autonomy = level
    if level == "dry_run":
        a.reasons.append("autonomy dry_run: shown, never executed")
    elif level == "approve" and a.status in LIVE:
        a.status = "needs_approval"
        _touch(a, "autonomy", "needs_approval", f"autonomy for {a.type} is `approve`")


def run_pipeline(
    actions: list[PlannedAction],
    facts: dict[str, Facts],
    budgets: dict[tuple[str, str], float],
    operators: dict[str, Operator],
    default_escalations: list[EscalationRule],
) -> SafetyResult:
    """Unusable amounts, conflicts, guardrails, spend cap, escalation and autonomy, in that order."""
    op_of = {a.workflow: operators[a.workflow.split("/", 1)[0]] for a in actions}
    kept = []
    suppressed = 0
    for a in actions:
        if op_of[a.workflow].autonomy_for(a.type) == "off":
            suppressed += 1  # `off`: never proposed
        else:
            kept.append(a)
    skip_unusable_amounts(kept)
    conflicts = resolve_conflicts(kept)
    for a in kept:
        apply_guardrails(a, facts.get(a.action_id, Facts()), op_of[a.workflow].guardrails)
    apply_spend_cap(kept, budgets, {w: op.guardrails for w, op in op_of.items()})
    reference = Reference({})
    for a in kept:
        op = op_of[a.workflow]
        apply_escalation(a, [*default_escalations, *op.escalation], reference)
        apply_autonomy(a, op.autonomy_for(a.type))
    return SafetyResult(kept, conflicts, suppressed)
