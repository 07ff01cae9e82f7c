"""`rulerun rollback`: restore the state before an action (or a whole run) from its logged rollback plan."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from engine.apply.actionlog import ActionLog
from engine.apply.actionlog.values import now
from engine.apply.adapters import Platforms
from engine.apply.executor import state_matches
from engine.apply.records import open_action_log, who
from engine.core.actions import OPERATIONS
from engine.core.catalog import Catalog
from engine.core.errors import RulerunError
from engine.core.execution import AdapterError, EntityKey
from engine.core.progress import QUIET, Progress
from engine.data.entities import store_baseline
from engine.evaluation.dataset import open_dataset
from engine.rules.workspace import Workspace

ROLLED_BACK, REFUSED, FAILED, WOULD_ROLL_BACK = "rolled_back", "refused", "failed", "would_roll_back"


@dataclass
class RollbackItem:
    """What happened to one action's rollback.

    `reason` says why a rollback was refused: `status` (the action is not executed; `detail`
    is its status), `irreversible`, `changed` (the entity changed since; `changes` lists
    key, live value, expected value) or `in_progress`; for a failure, `detail` is the error. A
    dry run's `would_roll_back` lists in `changes` each key, its value now and the one restored.
    """

    action_id: str
    action_type: str
    entity: str
    outcome: str  # rolled_back | refused | failed | would_roll_back (a dry run: `detail` is the change)
    reason: str = ""
    detail: str = ""
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)


@dataclass
class RollbackReport:
    items: list[RollbackItem] = field(default_factory=list)
    dry_run: bool = False

    @property
    def failures(self) -> int:
        return sum(1 for i in self.items if i.outcome in (REFUSED, FAILED))


def rollback(
    ws: Workspace,
    catalog: Catalog,
    *,
    action_id: str | None = None,
    run_id: str | None = None,
    force: bool = False,
    log_url: str | None = None,
    by: str | None = None,
    progress: Progress = QUIET,
    dry_run: bool = False,
) -> RollbackReport:
    """Roll back one action or every executed action of a run, newest first (the rules need not be valid).

    With `dry_run`, every check runs (status, reversibility, the live state) and the report says
    what would be restored; nothing is written to the platform or the log.
    """
    executed_by = who(by)
    report = RollbackReport(dry_run=dry_run)
    with open_action_log(ws, log_url) as log, nullcontext() if dry_run else log.run_lock(f"rollback by {executed_by}"):
        if action_id:
            row = log.get(log.resolve_id(action_id))
            if row is None:
                raise RulerunError(f"no action {action_id!r} in the action log", hint="see `rulerun log`")
            rows = [row]
        else:
            run_id = log.resolve_id(run_id or "", "run")
            rows = [
                r
                for r in log.query(limit=100000)
                if r.get("run_id") == run_id
                and r["status"] == "executed"
                and not r.get("rollback_of")
                and _changes_something(r["action_type"])
            ]
            if not rows:
                raise RulerunError(f"run {run_id!r} has no executed actions to roll back", hint="see `rulerun log`")
        run = log.get_run(rows[0]["run_id"]) or {}
        source = run.get("source") or "demo"
        with open_dataset(ws, catalog, source, progress) as data:
            platforms = Platforms(source, ws.state_dir, store_baseline(data.con, data.loaded), ws.accounts())
            # newest first: undo in the reverse order of execution
            for row in sorted(rows, key=lambda r: str(r.get("executed_at") or ""), reverse=True):
                report.items.append(_rollback_one(row, log, platforms, force, executed_by, dry_run))
    return report


def _changes_something(action_type: str) -> bool:
    """Notifications change nothing on a platform: a run's rollback has nothing to undo for them."""
    operation = OPERATIONS.get(action_type)
    return operation is None or operation.key() is not None


def _rollback_one(
    row: dict, log: ActionLog, platforms: Platforms, force: bool, executed_by: str, dry_run: bool = False
) -> RollbackItem:
    item = RollbackItem(row["action_id"], row["action_type"], row.get("entity_name") or row["entity_id"], REFUSED)
    if row["status"] != "executed":
        item.reason, item.detail = "status", row["status"]
        return item
    plan = row.get("rollback_plan")
    if not plan:
        item.reason = "irreversible"
        return item
    key = EntityKey(row["platform"], row["account_id"], row["level"], row["entity_id"])
    try:
        adapter = platforms(row["platform"], row["account_id"])
        live = adapter.read_state(key)
    except AdapterError as exc:
        item.outcome, item.detail = FAILED, str(exc)
        return item
    expected = plan.get("before") or {}
    if not state_matches(live, expected) and not force:
        item.reason = "changed"
        item.changes = [(k, live.get(k), v) for k, v in expected.items() if k in live]
        return item
    if dry_run:
        before, after = plan.get("before") or {}, plan.get("after") or {}
        item.outcome = WOULD_ROLL_BACK
        item.changes = [(k, before.get(k), v) for k, v in after.items()]
        return item
    rb_id = _rollback_id(log, row["action_id"])
    intent = {
        **{
            k: row[k]
            for k in ("run_id", "workflow", "rule_id", "platform", "account_id", "level", "entity_id", "entity_name")
        },
        "action_id": rb_id,
        "action_type": plan["type"],
        "rollback_of": row["action_id"],
        "payload": {"params": plan.get("params") or {}, "before": plan.get("before"), "after": plan.get("after")},
        "evidence": {},
        "guardrails": [],
        "status": "planned",
        "executed_by": executed_by,
    }
    if not log.record_intent(intent):
        item.reason = "in_progress"
        return item
    try:
        result = adapter.rollback(plan, key)
    except AdapterError as exc:
        log.record_outcome(rb_id, "failed", error=str(exc))
        item.outcome, item.detail = FAILED, str(exc)
        return item
    log.record_outcome(rb_id, "executed", result=result.result, rollback_plan=result.rollback_plan, executed_at=now())
    log.mark_rolled_back(row["action_id"], now(), rb_id)
    item.outcome = ROLLED_BACK
    return item


def _rollback_id(log: ActionLog, action_id: str) -> str:
    """`rb-<id>`, or `rb-<id>-2`, ... after failed attempts: a failed rollback can be tried again."""
    n = 1
    while True:
        candidate = f"rb-{action_id}" + (f"-{n}" if n > 1 else "")
        existing = log.get(candidate)
        if existing is None or existing["status"] != "failed":
            return candidate
        n += 1
