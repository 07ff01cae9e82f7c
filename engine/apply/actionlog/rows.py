"""Turn what callers pass (a log row, or a plan action's dict) into actions_log columns."""

from __future__ import annotations

from typing import Any

# Columns a caller's row may set; bookkeeping columns (status, attempts, times) are the log's own.
ROW_COLUMNS = (
    "action_id",
    "run_id",
    "workflow",
    "rule_id",
    "platform",
    "account_id",
    "level",
    "entity_id",
    "entity_name",
    "action_type",
    "payload",
    "evidence",
    "guardrails",
    "reasons",
    "executed_by",
    "rollback_of",
)


def action_columns(row: dict[str, Any]) -> dict[str, Any]:
    """The row's actions_log columns. Accepts `type` for `action_type`, and `params`/`before`/`after`
    in place of `payload` (so `PlannedAction.to_dict() | {"run_id": ...}` works as is)."""
    values = {c: row.get(c) for c in ROW_COLUMNS}
    values["action_type"] = row.get("action_type") or row.get("type")
    if values["payload"] is None:
        values["payload"] = {k: row.get(k) or {} for k in ("params", "before", "after")}
    for required in ("action_id", "platform", "action_type"):
        if not values[required]:
            raise ValueError(f"an action log row needs {required!r}")
    values["action_id"] = str(values["action_id"])
    return values
