"""Shared wording for human formats: how to show a change and its evidence.

Numbers go through engine.core.numbers, so that a value reads the same in every format; the
unit of a named value (money, count, ratio) comes from the catalog.
"""

from __future__ import annotations

from typing import Any

from engine.core.actions import MONEY_ATTRIBUTES
from engine.core.catalog import load_catalog
from engine.core.numbers import MONEY, fmt_number, fmt_pct
from engine.core.plan import PlannedAction

_NO_UNIT = ("thresholds", "guardrails", "benchmarks")  # named numbers of any unit


def unit_of(name: str) -> str | None:
    """The unit of a name as rules write it: `spend`, `prev.cpa`, `account.ctr`, `truth.mer`, `bid`."""
    head, _, rest = name.rpartition(".")
    if head.split(".")[0] in _NO_UNIT:
        return None
    catalog = load_catalog()
    if head == "truth":
        truth = catalog.truth.get(rest)
        return truth.unit if truth else None
    if rest in MONEY_ATTRIBUTES:
        return MONEY
    metric = catalog.metrics.get(rest)
    return metric.unit if metric else None


def fmt_value(value: Any, unit: str | None = None) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return fmt_number(value, unit)
    if isinstance(value, dict):
        return ", ".join(f"{k}={fmt_value(v, unit_of(k))}" for k, v in value.items() if v is not None)
    return str(value)


def change(action: PlannedAction) -> str:
    """`status: active -> paused`, `bid: 1.20 -> 1.02 (-15%)`, `+ negative "cheap x" (exact)`."""
    if action.type == "add_negative_keyword":
        neg = action.after.get("negative_keyword") or {}
        return f'+ negative "{neg.get("text", "")}" ({neg.get("match_type", "exact")})'
    if action.type == "notify":
        return f"notify: {action.after.get('message') or action.rule_id}"
    if not action.before and not action.after:
        return action.type
    return "; ".join(fmt_change(key, action.before.get(key), action.after.get(key)) for key in action.after)


def fmt_change(key: str, before: Any, after: Any) -> str:
    """`bid: 1.20 -> 1.02 (-15%)`, `status: active -> paused`."""
    unit = unit_of(key)
    text = f"{key}: {fmt_value(before, unit)} -> {fmt_value(after, unit)}"
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (before, after))
    if numbers and before:
        text += f" ({fmt_pct((after - before) / before * 100)})"
    return text


def evidence(action: PlannedAction, sep: str = ", ") -> str:
    return sep.join(f"{k}={fmt_value(v, unit_of(k))}" for k, v in action.evidence.items())


def entity_label(action: PlannedAction) -> str:
    name = action.entity_name or ""
    return f"{name} ({action.entity_id})" if name else action.entity_id
