"""What a human approved: a digest that binds an approval to the exact change.

`rulerun approvals approve` stores the digest of the action's identity (rule, entity,
action type) and payload (params, before, after, cooldown) beside the approval; apply
executes an approved action only while the change it is about to make has that digest.
An edit of the row after the approval (by hand, by a script, by a restored backup) makes
the approval void instead of silently widening it. Whoever can write the log database can
also rewrite the digest: the log is trusted, this catches accidents, not an adversary.
"""

from __future__ import annotations

from typing import Any

from engine.core.jsonstrict import digest

IDENTITY = ("workflow", "rule_id", "platform", "account_id", "level", "entity_id", "action_type")


def approval_digest(row: dict[str, Any]) -> str:
    """The digest of what an action log row (or `PlannedAction.to_log_row`) would change."""
    return digest({**{k: row.get(k) for k in IDENTITY}, "payload": row.get("payload")})
