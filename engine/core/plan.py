"""The plan: every proposed action with its status, evidence and reasons.

Its JSON form is the contract of DESIGN.md (schemas/plan.schema.json), stable across
versions: fields are only ever added.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.core.status import GOING_AHEAD, PLAN_STATUSES, ActionStatus

# How to_log_row shapes to_dict for the action log: these fields as columns, the change as its payload
LOG_FIELDS = (
    "action_id",
    "workflow",
    "rule_id",
    "platform",
    "account_id",
    "level",
    "entity_id",
    "entity_name",
    "evidence",
    "guardrails",
    "reasons",
)
LOG_PAYLOAD = ("params", "before", "after", "cooldown")


def action_key(workflow: str, rule_id: str, entity: tuple[str, str, str, str], action_type: str, as_of: date) -> str:
    """Stable id of one action: the same rule, entity, action and date give the same id."""
    raw = "\x1f".join((workflow, rule_id, *entity, action_type, as_of.isoformat()))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass
class PlannedAction:
    workflow: str
    rule_id: str
    platform: str
    account_id: str
    level: str
    entity_id: str
    entity_name: str | None
    type: str
    params: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]
    status: ActionStatus = ActionStatus.PLANNED
    reasons: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    guardrails: list[dict[str, Any]] = field(default_factory=list)
    priority: int = 0
    cooldown: str | None = None
    action_id: str = ""
    autonomy: str = "auto"
    spend: float | None = None  # the entity's spend in the rule's window (for summaries)
    entity: dict[str, Any] = field(default_factory=dict, repr=False)  # attributes, for escalation conditions
    rule_file: str | None = field(default=None, repr=False)  # where the rule is written (CI annotations)
    rule_line: int | None = field(default=None, repr=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PlannedAction:
        """The inverse of to_dict: an action from the plan contract (a saved plan, a log row)."""
        return cls(
            workflow=d["workflow"],
            rule_id=d["rule_id"],
            platform=d["platform"],
            account_id=d["account_id"],
            level=d["level"],
            entity_id=d["entity_id"],
            entity_name=d.get("entity_name"),
            type=d["type"],
            params=d.get("params") or {},
            before=d.get("before") or {},
            after=d.get("after") or {},
            status=ActionStatus(d.get("status", ActionStatus.PLANNED)),
            reasons=list(d.get("reasons") or []),
            evidence=d.get("evidence") or {},
            guardrails=list(d.get("guardrails") or []),
            priority=d.get("priority") or 0,
            cooldown=d.get("cooldown"),
            action_id=d.get("action_id", ""),
            autonomy=d.get("autonomy") or "auto",
        )

    @classmethod
    def from_log_row(cls, row: dict[str, Any]) -> PlannedAction:
        """The inverse of to_log_row: an action as the action log holds it (reasons are not kept)."""
        payload = row.get("payload") or {}
        return cls.from_dict({**row, "type": row["action_type"], "reasons": [], **payload})

    def to_log_row(self, run_id: str, status: ActionStatus | None = None) -> dict[str, Any]:
        """The action as an action log row: to_dict's fields, with the change in `payload`."""
        d = self.to_dict()
        return {
            **{k: d[k] for k in LOG_FIELDS},
            "run_id": run_id,
            "action_type": d["type"],
            "payload": {k: d[k] for k in LOG_PAYLOAD},
            "status": status or self.status,
        }

    def to_dict(self) -> dict[str, Any]:
        """The action in the plan contract (schemas/plan.schema.json): its one serialization."""
        return {
            "action_id": self.action_id,
            "workflow": self.workflow,
            "rule_id": self.rule_id,
            "platform": self.platform,
            "account_id": self.account_id,
            "level": self.level,
            "entity_id": self.entity_id,
            "entity_name": self.entity_name,
            "type": self.type,
            "params": self.params,
            "before": self.before,
            "after": self.after,
            "status": self.status,
            "reasons": self.reasons,
            "evidence": self.evidence,
            "guardrails": self.guardrails,
            "priority": self.priority,
            "cooldown": self.cooldown,
            "autonomy": self.autonomy,
        }


@dataclass
class Plan:
    run_id: str
    mode: str
    source: str
    as_of: date
    generated_at: str
    rules_digest: str
    workflows: list[str]
    actions: list[PlannedAction]
    entities_evaluated: int = 0
    rules_evaluated: int = 0
    data_quality: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    suppressed: int = 0  # actions not proposed because their autonomy is `off`

    @property
    def has_changes(self) -> bool:
        """Whether applying it would change something (or ask a human to): `--detailed-exitcode`."""
        return any(a.status in (*GOING_AHEAD, ActionStatus.NEEDS_APPROVAL) for a in self.actions)

    def summary(self) -> dict[str, Any]:
        by_type = Counter(a.type for a in self.actions)
        by_status = Counter(a.status for a in self.actions)
        by_workflow = Counter(a.workflow for a in self.actions)
        spend = sum(a.spend or 0.0 for a in self.actions if a.status in GOING_AHEAD)
        return {
            "actions": len(self.actions),
            "by_type": dict(sorted(by_type.items())),
            "by_status": {s: by_status[s] for s in PLAN_STATUSES if by_status[s]},
            "by_workflow": dict(sorted(by_workflow.items())),
            "entities_evaluated": self.entities_evaluated,
            "rules_evaluated": self.rules_evaluated,
            "spend_affected": round(spend, 2),
            "conflicts": self.conflicts,
            "suppressed_by_autonomy": self.suppressed,
            "text": self.summary_line(),
        }

    def summary_line(self) -> str:
        """`Plan: 5 planned, 2 clamped, 3 blocked, 1 needs approval, 2 skipped (7 pause, 6 change_bid)`."""
        if not self.actions:
            return f"Plan: no actions ({self.entities_evaluated} entities, {self.rules_evaluated} rules evaluated)"
        by_type = Counter(a.type for a in self.actions)
        by_status = Counter(a.status for a in self.actions)
        types = ", ".join(f"{n} {t}" for t, n in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0])))
        statuses = ", ".join(f"{by_status[s]} {s.replace('_', ' ')}" for s in PLAN_STATUSES if by_status[s])
        opposite = sum(1 for c in self.conflicts if c.get("kind") == "opposite")
        tail = f"; {opposite} conflict{'s' if opposite != 1 else ''}" if opposite else ""
        return f"Plan: {statuses} ({types}{tail})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": 1,
            "run_id": self.run_id,
            "mode": self.mode,
            "source": self.source,
            "as_of": self.as_of.isoformat(),
            "generated_at": self.generated_at,
            "rules_digest": self.rules_digest,
            "workflows": self.workflows,
            "actions": [a.to_dict() for a in self.actions],
            "summary": self.summary(),
            "data_quality": self.data_quality,
            "errors": self.errors,
        }
