"""The global guardrails: names, types and built-in defaults (from the operator plan).

These defaults are in force even when rules/guardrails.yaml is absent: deleting a file
never switches safety off. The file may set any of them; operators may only tighten.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Guardrail:
    name: str
    type: Literal["number", "integer", "boolean"]
    default: float | int | bool
    description: str
    tighter: Literal["lower", "higher", "true"]  # which direction is stricter
    maximum: float | None = None


GUARDRAILS: dict[str, Guardrail] = {
    g.name: g
    for g in (
        Guardrail(
            "max_daily_budget_increase_pct",
            "number",
            20,
            "Largest daily budget increase in one run, in percent.",
            "lower",
            1000,
        ),
        Guardrail(
            "max_bid_change_pct",
            "number",
            20,
            "Largest bid change (up or down) in one run, in percent.",
            "lower",
            100,
        ),
        Guardrail(
            "min_mer_for_increase",
            "number",
            2.0,
            "Blended MER (Shopify revenue / total ad spend) required before any budget increase.",
            "higher",
        ),
        Guardrail("max_daily_spend_cap", "number", 5000, "Cap on the sum of daily budgets per account.", "lower"),
        Guardrail(
            "min_spend_before_pause",
            "number",
            500,
            "Spend an entity must reach before it is auto-paused (where its platform reports spend: email has none).",
            "higher",
        ),
        Guardrail(
            "brand_campaigns_no_auto_pause",
            "boolean",
            True,
            "Brand campaigns and their children are never auto-paused.",
            "true",
        ),
        Guardrail(
            "min_conversions_for_scale",
            "integer",
            5,
            "Conversions needed before scaling budgets or bids up.",
            "higher",
        ),
        Guardrail(
            "learning_phase_no_changes",
            "boolean",
            True,
            "Entities in the learning phase of a platform with the `learning_phase` trait (TikTok) are never modified.",
            "true",
        ),
        Guardrail(
            "block_stale_data",
            "boolean",
            True,
            "Never act on an entity whose source data is older than the catalog's freshness SLA.",
            "true",
        ),
        Guardrail("max_actions_per_hour", "integer", 10, "Rate limit on executed actions, across runs.", "lower"),
        Guardrail("emergency_stop_enabled", "boolean", True, "The kill switch (`rulerun stop`) is honoured.", "true"),
    )
}


def defaults() -> dict[str, float | int | bool]:
    return {g.name: g.default for g in GUARDRAILS.values()}


def loosens(name: str, base: float | bool, value: float | bool) -> bool:
    """Whether setting guardrail `name` from `base` to `value` makes it less strict.

    A limit that is not a finite number counts as loosening: NaN compares false with
    everything, so it would otherwise pass for tighter and then switch the check off.
    """
    direction = GUARDRAILS[name].tighter
    if direction == "true":
        return bool(base) and not bool(value)
    if not math.isfinite(value):
        return True
    if direction == "lower":
        return value > base
    return value < base
