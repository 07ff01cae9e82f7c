"""The global guardrails: names, types and built-in defaults (from the operator plan).

These defaults are in force even when rules/guardrails.yaml is absent: deleting a file
never switches safety off. The file may set any of them; operators may only tighten.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Value = float | int | bool


@dataclass(frozen=True)
class Guardrail:
    name: str
    type: Literal["number", "integer", "boolean"]
    default: float | int | bool
    description: str
    tighter: Literal["lower", "higher", "true"]  # which direction is stricter
    maximum: float | None = None

    def convert(self, value: Any) -> Value:
        """A checked value (the schema admits numbers and booleans) in this guardrail's type."""
        return bool(value) if self.type == "boolean" else float(value) if self.type == "number" else int(value)


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


@dataclass(frozen=True)
class GuardrailSettings:
    """The guardrail values in force: the global ones, or an operator's after its overrides.

    One field per guardrail of GUARDRAILS (which holds their defaults, meaning and direction);
    rules read them by name (`guardrails.max_bid_change_pct`), hence the lookup by name.
    """

    max_daily_budget_increase_pct: float
    max_bid_change_pct: float
    min_mer_for_increase: float
    max_daily_spend_cap: float
    min_spend_before_pause: float
    brand_campaigns_no_auto_pause: bool
    min_conversions_for_scale: int
    learning_phase_no_changes: bool
    block_stale_data: bool
    max_actions_per_hour: int
    emergency_stop_enabled: bool

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> GuardrailSettings:
        """The defaults with `values` (guardrail name -> value) in their place; KeyError for an unknown name."""
        # built by name: a test ties each field's type to its guardrail's declared one
        given: dict[str, Any] = {name: g.default for name, g in GUARDRAILS.items()} | _converted(values)
        return cls(**given)

    def to_dict(self) -> dict[str, Value]:
        return dataclasses.asdict(self)

    def with_values(self, values: Mapping[str, Any]) -> GuardrailSettings:
        """These settings with `values` (guardrail name -> value) in their place; KeyError for an unknown name."""
        return dataclasses.replace(self, **_converted(values))

    def __getitem__(self, name: str) -> Value:
        if name not in GUARDRAILS:
            raise KeyError(name)
        value: Value = getattr(self, name)
        return value


def _converted(values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - set(GUARDRAILS))
    if unknown:
        raise KeyError(f"no guardrail {unknown[0]!r}")
    return {name: GUARDRAILS[name].convert(value) for name, value in values.items()}


def defaults() -> GuardrailSettings:
    return GuardrailSettings.from_dict({})


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
