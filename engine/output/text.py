"""Shared wording for human formats: how to show a change and its evidence."""

from __future__ import annotations

from typing import Any

from engine.core.plan import PlannedAction


def fmt_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}" if abs(value) >= 10000 else str(int(value))
        if abs(value) < 0.1:
            return f"{value:.4g}"
        return f"{value:,.2f}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={fmt_value(v)}" for k, v in value.items() if v is not None)
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
    parts = []
    for key in action.after:
        before, after = action.before.get(key), action.after.get(key)
        text = f"{key}: {fmt_value(before)} -> {fmt_value(after)}"
        if isinstance(before, float) and isinstance(after, float) and before:
            text += f" ({(after - before) / before * 100:+.0f}%)"
        parts.append(text)
    return "; ".join(parts)


def evidence(action: PlannedAction, sep: str = ", ") -> str:
    return sep.join(f"{k}={fmt_value(v)}" for k, v in action.evidence.items())


def entity_label(action: PlannedAction) -> str:
    name = action.entity_name or ""
    return f"{name} ({action.entity_id})" if name else action.entity_id
