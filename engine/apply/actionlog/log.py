"""The ActionLog: every action's lifecycle, runs, approvals, the emergency stop, impact checkpoints.

All writes that decide who does what are single conditional statements (an upsert with a
WHERE, or an UPDATE ... WHERE status IN ...), so they are atomic on both backends without
explicit locking: two processes racing on one action id cannot both win.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from engine.apply.actionlog.approvals import approval_digest
from engine.apply.actionlog.backends import Backend
from engine.apply.actionlog.rows import action_columns
from engine.apply.actionlog.states import (
    ACTION_STATUSES,
    CHANGED,
    CHECKPOINT_DAYS,
    CLAIMABLE,
    DECISIONS,
    EXECUTING,
    OUTCOME_TRANSITIONS,
    PENDING,
    PIPELINE,
    QUEUEABLE,
    RUN_MODES,
    RUN_STATUSES,
    STATUS_TRANSITIONS,
    UPSERTABLE,
    check,
)
from engine.apply.actionlog.values import as_date, utc, utc_text
from engine.apply.actionlog.values import now as utcnow
from engine.core.errors import RulerunError, UsageError
from engine.core.status import ActionStatus, RunStatus

STOP_KEY = "emergency_stop"
RUN_COLUMNS = (
    "run_id",
    "started_at",
    "finished_at",
    "mode",
    "source",
    "as_of",
    "rules_digest",
    "git_commit",
    "executed_by",
    "status",
    "summary",
    "plan_id",
)
SAVED_PLAN_COLUMNS = (
    "plan_id",
    "digest",
    "saved_at",
    "saved_by",
    "source",
    "as_of",
    "rules_digest",
    "git_commit",
    "workflows",
    "field_digests",
    "action_digests",
)
# Columns a later caller may fill in when an earlier row left them empty (COALESCE keeps the old value).
REFRESHED = ("run_id", "executed_by", "entity_name", "evidence", "guardrails", "reasons")


_ID_CHARS = re.compile(r"[A-Za-z0-9-]{1,64}")  # what action and run ids are made of


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _refresh(columns: Sequence[str]) -> str:
    return ", ".join(f"{c} = COALESCE(excluded.{c}, actions_log.{c})" for c in columns)


class ActionLog:
    """One action log (SQLite file or PostgreSQL schema). Open it with `open_log`; close it when done."""

    def __init__(self, db: Backend):
        self._db = db

    @property
    def backend(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._db.name

    @property
    def location(self) -> str:
        """Where the log lives, safe to print (a PostgreSQL URL is redacted)."""
        return self._db.location

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ActionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------------
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._db.execute(sql, params)

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self._db.rows(self._execute(sql, params))

    def _one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self._all(sql, params)
        return rows[0] if rows else None

    def _insert(self, table: str, values: dict[str, Any]) -> tuple[str, list[Any]]:
        cols = list(values)
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({_marks(cols)})"
        return sql, [self._db.encode(c, values[c]) for c in cols]

    def _ts(self, value: datetime | str) -> Any:
        return self._db.encode("updated_at", value)

    def _exists(self, action_id: str) -> bool:
        return self._execute("SELECT 1 FROM actions_log WHERE action_id = ?", (action_id,)).fetchone() is not None

    def _unknown(self, action_id: str) -> RulerunError:
        return RulerunError(f"no action {action_id!r} in the action log {self.location}", hint="see `rulerun log`")

    # -- ids as people type them ----------------------------------------------------------------
    def resolve_id(self, given: str, kind: str = "action") -> str:
        """The full action (or run) id `given` names, as git resolves a commit: the id itself or a
        unique prefix of one. Unknown: RulerunError; ambiguous: UsageError listing the candidates."""
        table, column = ("runs", "run_id") if kind == "run" else ("actions_log", "action_id")
        if self._one(f"SELECT {column} FROM {table} WHERE {column} = ?", (given,)):
            return given
        found: list[str] = []
        if given and _ID_CHARS.fullmatch(given):  # no LIKE wildcards can be in it
            rows = self._all(
                f"SELECT {column} FROM {table} WHERE {column} LIKE ? ORDER BY {column} LIMIT 11", (given + "%",)
            )
            found = [r[column] for r in rows]
        if len(found) == 1:
            return found[0]
        if not found:
            raise RulerunError(
                f"no {kind} {given!r} in the action log {self.location}",
                hint="see `rulerun log` for action and run ids"
                + (", `rulerun approvals list` for pending ones" if kind == "action" else ""),
            )
        shown = ", ".join(found[:10]) + (", ..." if len(found) > 10 else "")
        raise UsageError(f"{kind} id prefix {given!r} is ambiguous: {shown}", hint="type more of the id")

    # -- runs -----------------------------------------------------------------------------------
    def start_run(self, run: dict[str, Any]) -> None:
        """Record a run: `run_id` and `mode` ('apply' or 'rollback') are required; `started_at`
        defaults to now and `status` to 'running'."""
        values = {c: run.get(c) for c in RUN_COLUMNS}
        if not values["run_id"]:
            raise ValueError("start_run needs a 'run_id'")
        check(values["mode"], RUN_MODES, "start_run mode")
        values["started_at"] = values["started_at"] or utcnow()
        values["status"] = values["status"] or RunStatus.RUNNING
        check(values["status"], RUN_STATUSES, "start_run")
        sql, params = self._insert("runs", values)
        try:
            self._execute(sql, params)
        except self._db.integrity_error:
            raise RulerunError(
                f"run {values['run_id']!r} is already in the action log",
                hint="each apply needs a new run id: evaluate again for a new plan",
            ) from None

    def finish_run(self, run_id: str, status: RunStatus, summary: dict[str, Any]) -> None:
        """Close a run with its final status ('succeeded', 'failed' or 'stopped') and summary."""
        check(status, RUN_STATUSES, "finish_run")
        cur = self._execute(
            "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE run_id = ?",
            (self._ts(utcnow()), status, self._db.encode("summary", summary), run_id),
        )
        if cur.rowcount == 0:
            raise RulerunError(f"no run {run_id!r} in the action log {self.location}")

    def last_runs(self, workflows: Sequence[str], scan: int = 10000) -> dict[str, datetime]:
        """When an apply last started each of `workflows` (as its run's summary lists them)."""
        wanted, found = set(workflows), {}
        rows = self._all(
            "SELECT started_at, summary FROM runs WHERE mode = ? AND summary IS NOT NULL"
            " ORDER BY started_at DESC LIMIT ?",
            ("apply", int(scan)),
        )
        for row in rows:
            for wf in (row["summary"] or {}).get("workflows") or []:
                if wf in wanted and wf not in found:
                    found[wf] = row["started_at"]
            if len(found) == len(wanted):
                break
        return found

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM runs WHERE run_id = ?", (run_id,))

    # -- the execution protocol -----------------------------------------------------------------
    def record_intent(self, row: dict[str, Any]) -> bool:
        """Claim an action for execution: the exactly-once primitive.

        Atomically inserts the row as 'executing', or moves an existing row to 'executing' if
        it is claimable (planned, clamped, blocked, skipped or approved). Returns True if this
        caller now owns the execution; False if the action is executing, finished, pending
        approval, rejected or expired. Of any number of racing processes exactly one gets True.
        An approved row keeps the payload the human approved.
        """
        at = utcnow()
        values = action_columns(row) | {"status": EXECUTING, "attempts": 1, "created_at": at, "updated_at": at}
        sql, params = self._insert("actions_log", values)
        sql += (
            " ON CONFLICT (action_id) DO UPDATE SET status = excluded.status, status_reason = NULL,"
            " attempts = actions_log.attempts + 1,"
            " payload = CASE WHEN actions_log.status = ? THEN actions_log.payload ELSE excluded.payload END, "
            + _refresh(REFRESHED)
            + f", updated_at = excluded.updated_at WHERE actions_log.status IN ({_marks(CLAIMABLE)})"
        )
        return self._execute(sql, [*params, ActionStatus.APPROVED, *CLAIMABLE]).rowcount == 1

    def record_outcome(
        self,
        action_id: str,
        status: ActionStatus,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        rollback_plan: dict[str, Any] | None = None,
        executed_at: datetime | None = None,
    ) -> None:
        """Record what happened to a claimed action: 'executed', 'failed' or 'skipped' (decided
        not to call after all; `error` is then the reason). 'failed' may also follow 'executed'
        (verification failed). `executed_at` defaults to now for 'executed'. Raises RulerunError
        if the action is unknown or not in a state this outcome may follow."""
        check(status, OUTCOME_TRANSITIONS, "record_outcome")
        at = utcnow()
        when = executed_at if executed_at is not None else (at if status == ActionStatus.EXECUTED else None)
        skipped = status == ActionStatus.SKIPPED
        cur = self._execute(
            "UPDATE actions_log SET status = ?, result = COALESCE(?, result), error_message = ?,"
            " rollback_plan = COALESCE(?, rollback_plan), executed_at = COALESCE(?, executed_at),"
            " status_reason = ?, updated_at = ?"
            f" WHERE action_id = ? AND status IN ({_marks(OUTCOME_TRANSITIONS[status])})",
            (
                status,
                self._db.encode("result", result),
                None if skipped else error,
                self._db.encode("rollback_plan", rollback_plan),
                None if when is None else self._ts(when),
                error if skipped else None,
                self._ts(at),
                action_id,
                *OUTCOME_TRANSITIONS[status],
            ),
        )
        if cur.rowcount == 1:
            return
        row = self.get(action_id)
        if row is None:
            raise self._unknown(action_id)
        raise RulerunError(
            f"cannot record {status!r} for action {action_id}: it is {row['status']!r}",
            hint="only the run that claimed an action (record_intent) records its outcome, once",
        )

    def record_status(self, action_id: str, status: ActionStatus, reason: str | None = None) -> bool:
        """Set a pre-execution status (planned, clamped, blocked, skipped) with its reason.

        Only pipeline statuses are replaced: human decisions, pending approvals and executions are
        kept (returns False). Two more moves release an in-doubt claim: 'executing' -> 'planned',
        and 'executing' -> 'approved' for a row a human approved. Raises RulerunError for an
        unknown action: create it with `upsert_action` first.
        """
        check(status, STATUS_TRANSITIONS, "record_status")
        allowed = STATUS_TRANSITIONS[status]
        human = " AND approval_by IS NOT NULL" if status == ActionStatus.APPROVED else ""
        cur = self._execute(
            "UPDATE actions_log SET status = ?, status_reason = ?, updated_at = ?"
            f" WHERE action_id = ? AND status IN ({_marks(allowed)}){human}",
            (status, reason, self._ts(utcnow()), action_id, *allowed),
        )
        if cur.rowcount == 1:
            return True
        if not self._exists(action_id):
            raise self._unknown(action_id)
        return False

    def note(self, action_id: str, reason: str) -> None:
        """Record why an action did not run this time, keeping its status (an approval stands)."""
        self._execute(
            "UPDATE actions_log SET status_reason = ?, updated_at = ? WHERE action_id = ?",
            (reason, self._ts(utcnow()), action_id),
        )

    def upsert_action(self, row: dict[str, Any]) -> bool:
        """Insert or refresh an action that is not executing: `row['status']` one of planned,
        clamped, blocked, skipped (default planned) or executed (an action without a platform
        call, such as notify). An existing row is replaced only while in a pipeline status;
        returns False when it was kept (approval, decision or execution recorded)."""
        status = row.get("status") or ActionStatus.PLANNED
        check(status, UPSERTABLE, "upsert_action")
        at = utcnow()
        values = action_columns(row) | {
            "status": status,
            "status_reason": row.get("status_reason"),
            "executed_at": row.get("executed_at"),
            "created_at": at,
            "updated_at": at,
        }
        sql, params = self._insert("actions_log", values)
        sql += (
            " ON CONFLICT (action_id) DO UPDATE SET status = excluded.status,"
            " status_reason = excluded.status_reason, payload = excluded.payload,"
            " executed_at = excluded.executed_at, "
            + _refresh(REFRESHED)
            + f", updated_at = excluded.updated_at WHERE actions_log.status IN ({_marks(PIPELINE)})"
        )
        return self._execute(sql, [*params, *PIPELINE]).rowcount == 1

    def get(self, action_id: str) -> dict[str, Any] | None:
        """The action's row, JSON decoded, timestamps as UTC datetimes; None if unknown."""
        return self._one("SELECT * FROM actions_log WHERE action_id = ?", (action_id,))

    def in_doubt(self) -> list[dict[str, Any]]:
        """Actions claimed but without an outcome: a run died between intent and outcome."""
        return self._all("SELECT * FROM actions_log WHERE status = ? ORDER BY updated_at, action_id", (EXECUTING,))

    # -- rate limit, cooldown, recent failures --------------------------------------------------
    def executed_since(self, ts: datetime) -> int:
        """Changes made since `ts`, for the rate limit: executed actions (rollbacks included, and
        actions rolled back since) by executed_at, plus in-doubt ones by their claim time."""
        row = self._execute(
            f"SELECT COUNT(*) FROM actions_log WHERE (status IN ({_marks(CHANGED)}) AND executed_at >= ?)"
            " OR (status = ? AND updated_at >= ?)",
            (*CHANGED, self._ts(ts), EXECUTING, self._ts(ts)),
        ).fetchone()
        return int(row[0])

    def last_executed(
        self, workflow: str, rule_id: str, platform: str, account_id: str, entity_id: str
    ) -> datetime | None:
        """When this rule last changed this entity (executed, rolled back since, or in doubt), for cooldowns."""
        change = self.last_change(workflow, rule_id, platform, account_id, entity_id)
        return change["at"] if change else None

    def last_change(
        self, workflow: str, rule_id: str, platform: str, account_id: str, entity_id: str
    ) -> dict[str, Any] | None:
        """`{at, run_id}` of the last time this rule changed this entity (executed, rolled back since, or
        in doubt), or None."""
        statuses = (*CHANGED, EXECUTING)
        row = self._one(
            "SELECT run_id, COALESCE(executed_at, updated_at) AS executed_at FROM actions_log"
            " WHERE workflow = ? AND rule_id = ? AND platform = ? AND account_id = ? AND entity_id = ?"
            f" AND status IN ({_marks(statuses)}) ORDER BY COALESCE(executed_at, updated_at) DESC LIMIT 1",
            (workflow, rule_id, platform, account_id, entity_id, *statuses),
        )
        if row is None:
            return None
        return {"at": row["executed_at"], "run_id": row["run_id"]}

    def failures_since(self, platform: str, account_id: str, entity_id: str, action_type: str, ts: datetime) -> int:
        """Failed actions of this type on this entity since `ts` (by attempt time)."""
        row = self._execute(
            "SELECT COUNT(*) FROM actions_log WHERE platform = ? AND account_id = ? AND entity_id = ?"
            " AND action_type = ? AND status = ? AND COALESCE(executed_at, updated_at) >= ?",
            (platform, account_id, entity_id, action_type, ActionStatus.FAILED, self._ts(ts)),
        ).fetchone()
        return int(row[0])

    # -- approvals ------------------------------------------------------------------------------
    def queue_approval(self, row: dict[str, Any], expires_at: datetime | None) -> str:
        """Ask a human: the action becomes 'needs_approval' until `expires_at` (None: never).

        Re-queueing keeps what is already settled: a decision (approved, rejected, expired) or an
        execution stays as it is, and a pending request keeps its original expiry (so it cannot
        slide forever) while its payload and evidence are refreshed. Returns the resulting status.
        """
        at = utcnow()
        values = action_columns(row) | {"status": PENDING, "expires_at": expires_at, "created_at": at, "updated_at": at}
        sql, params = self._insert("actions_log", values)
        sql += (
            " ON CONFLICT (action_id) DO UPDATE SET status = excluded.status, status_reason = NULL,"
            " expires_at = CASE WHEN actions_log.status = ? THEN actions_log.expires_at ELSE excluded.expires_at END,"
            " payload = excluded.payload, "
            + _refresh(REFRESHED)
            + f", updated_at = excluded.updated_at WHERE actions_log.status IN ({_marks(QUEUEABLE)})"
        )
        self._execute(sql, [*params, PENDING, *QUEUEABLE])
        row_now = self._execute("SELECT status FROM actions_log WHERE action_id = ?", (values["action_id"],))
        return row_now.fetchone()[0]

    def approvals(self, status: ActionStatus | None = PENDING) -> list[dict[str, Any]]:
        """Actions in one approval status (needs_approval, approved, rejected, expired), oldest
        first; None lists every action that went through approval."""
        if status is None:
            statuses = (PENDING, *DECISIONS)
            where = f"status IN ({_marks(statuses)}) OR approval_by IS NOT NULL"
            params: tuple[Any, ...] = statuses
        else:
            check(status, (PENDING, *DECISIONS), "approvals")
            where, params = "status = ?", (status,)
        return self._all(f"SELECT * FROM actions_log WHERE {where} ORDER BY created_at, action_id", params)

    def decide(
        self, action_id: str, approve: bool, by: str, note: str | None = None, *, at: datetime | None = None
    ) -> dict[str, Any]:
        """Approve or reject a pending action; returns the updated row. Raises RulerunError if the
        action is unknown, not pending (already decided, executed...) or past its expiry. An
        approval stores the digest of the change it approves (engine/apply/actionlog/approvals.py)."""
        at = at or utcnow()
        status = ActionStatus.APPROVED if approve else ActionStatus.REJECTED
        with self._db.transaction():  # the digest is of the payload as it is when decided
            current = self._one("SELECT * FROM actions_log WHERE action_id = ?" + self._db.for_update, (action_id,))
            cur = self._execute(
                "UPDATE actions_log SET status = ?, approval_by = ?, approval_at = ?, approval_note = ?,"
                " approval_digest = ?, updated_at = ?"
                " WHERE action_id = ? AND status = ? AND (expires_at IS NULL OR expires_at > ?)",
                (
                    status,
                    by,
                    self._ts(at),
                    note,
                    approval_digest(current) if current and approve else None,
                    self._ts(at),
                    action_id,
                    PENDING,
                    self._ts(at),
                ),
            )
        row = self.get(action_id)
        if cur.rowcount == 1 and row is not None:
            return row
        if row is None:
            raise RulerunError(f"no action {action_id!r} in the action log", hint="see `rulerun approvals list`")
        if row["status"] == PENDING:
            self.expire_overdue(at)
            raise RulerunError(
                f"action {action_id} expired at {utc_text(row['expires_at'])}: it can no longer be {status}",
                hint="the next `rulerun apply` proposes it again if its rule still fires",
            )
        decided = f", by {row['approval_by']} at {utc_text(row['approval_at'])}" if row.get("approval_by") else ""
        raise RulerunError(
            f"action {action_id} is not waiting for approval: it is {row['status']}{decided}",
            hint="see `rulerun approvals list` for the pending ones",
        )

    def expire_overdue(self, now: datetime) -> int:
        """Mark pending approvals whose expiry has passed as 'expired'; returns how many."""
        cur = self._execute(
            "UPDATE actions_log SET status = ?, updated_at = ?"
            " WHERE status = ? AND expires_at IS NOT NULL AND expires_at <= ?",
            (ActionStatus.EXPIRED, self._ts(utcnow()), PENDING, self._ts(now)),
        )
        return cur.rowcount

    # -- emergency stop -------------------------------------------------------------------------
    def engage_stop(self, reason: str, by: str) -> None:
        """Stop every apply sharing this log before its next action, until `release_stop`."""
        at = utcnow()
        value = {"reason": reason, "by": by, "at": utc_text(at)}
        self._execute(
            "INSERT INTO control (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?) ON CONFLICT (key)"
            " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            (STOP_KEY, self._db.encode("value", value), self._ts(at), by),
        )

    def release_stop(self, by: str) -> bool:
        """Lift the emergency stop; returns False if none was engaged. Who released it is kept."""
        cur = self._execute(
            "UPDATE control SET value = NULL, updated_at = ?, updated_by = ? WHERE key = ? AND value IS NOT NULL",
            (self._ts(utcnow()), by, STOP_KEY),
        )
        return cur.rowcount == 1

    def stop_state(self) -> dict[str, Any] | None:
        """{reason, by, at} of the engaged emergency stop, or None."""
        row = self._one("SELECT value FROM control WHERE key = ?", (STOP_KEY,))
        if not row or not row["value"]:
            return None
        value = dict(row["value"])
        value["at"] = utc(value["at"]) if value.get("at") else None
        return value

    # -- saved plans ----------------------------------------------------------------------------
    def save_plan(self, record: dict[str, Any]) -> None:
        """Record a plan saved by `evaluate --out` (columns of SAVED_PLAN_COLUMNS; `saved_at`
        defaults to now). A plan id is recorded once."""
        values = {c: record.get(c) for c in SAVED_PLAN_COLUMNS}
        values["saved_at"] = values["saved_at"] or utcnow()
        sql, params = self._insert("saved_plans", values)
        try:
            self._execute(sql, params)
        except self._db.integrity_error:
            raise RulerunError(
                f"plan {values['plan_id']!r} is already recorded in the action log",
                hint="evaluate again: each saved plan gets a new id",
            ) from None

    def saved_plan(self, plan_id: str) -> dict[str, Any] | None:
        """The record of a saved plan, or None when this log never saw it saved."""
        return self._one("SELECT * FROM saved_plans WHERE plan_id = ?", (plan_id,))

    # -- rollback -------------------------------------------------------------------------------
    def mark_rolled_back(self, action_id: str, at: datetime, by_action_id: str) -> None:
        """Mark an executed action as undone by the (executed) rollback action `by_action_id`.
        Repeating the same call is a no-op; anything else not 'executed' raises RulerunError."""
        cur = self._execute(
            "UPDATE actions_log SET status = ?, rolled_back_at = ?, rolled_back_by = ?, updated_at = ?"
            " WHERE action_id = ? AND status = ?",
            (
                ActionStatus.ROLLED_BACK,
                self._ts(at),
                by_action_id,
                self._ts(utcnow()),
                action_id,
                ActionStatus.EXECUTED,
            ),
        )
        if cur.rowcount == 1:
            return
        row = self.get(action_id)
        if row is None:
            raise self._unknown(action_id)
        if row["status"] == ActionStatus.ROLLED_BACK and row.get("rolled_back_by") == by_action_id:
            return
        raise RulerunError(f"action {action_id} cannot be marked rolled back: it is {row['status']}")

    # -- the log command ------------------------------------------------------------------------
    def query(
        self,
        since: datetime | None = None,
        status: str | Sequence[str] | None = None,
        platform: str | None = None,
        limit: int = 1000,
        *,
        run_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Actions last changed at or after `since`, newest first, filtered by status(es), platform, run.
        An unknown status raises engine.core.errors.UsageError."""
        where: list[str] = []
        params: list[Any] = []
        if since is not None:
            where.append("updated_at >= ?")
            params.append(self._ts(since))
        if status is not None:
            statuses = (status,) if isinstance(status, str) else tuple(status)
            unknown = [s for s in statuses if s not in ACTION_STATUSES]
            if unknown:  # comes straight from `rulerun log --status`
                raise UsageError(f"unknown action status {unknown[0]!r}", hint=f"one of: {', '.join(ACTION_STATUSES)}")
            where.append(f"status IN ({_marks(statuses)})")
            params.extend(statuses)
        if platform is not None:
            where.append("platform = ?")
            params.append(platform)
        if run_id is not None:
            where.append("run_id = ?")
            params.append(run_id)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return self._all(
            f"SELECT * FROM actions_log{clause} ORDER BY updated_at DESC, action_id DESC LIMIT ?",
            (*params, int(limit)),
        )

    # -- impact ---------------------------------------------------------------------------------
    def add_checkpoint(self, action_id: str, day: int, metrics: dict[str, Any], at: datetime) -> None:
        """Record the +`day` (1, 3 or 7) measurement of an action; recording a day again replaces it.
        Does not touch updated_at: measuring an action is not a change to it."""
        check(day, CHECKPOINT_DAYS, "add_checkpoint day")
        with self._db.transaction():
            row = self._one(
                "SELECT measurement_checkpoints FROM actions_log WHERE action_id = ?" + self._db.for_update,
                (action_id,),
            )
            if row is None:
                raise self._unknown(action_id)
            kept = [c for c in row["measurement_checkpoints"] or [] if c.get("day") != day]
            points = sorted([*kept, {"day": day, "at": utc_text(at), "metrics": metrics}], key=lambda c: c["day"])
            self._execute(
                "UPDATE actions_log SET measurement_checkpoints = ? WHERE action_id = ?",
                (self._db.encode("measurement_checkpoints", points), action_id),
            )

    def due_checkpoints(self, today: date, *, max_age_days: int = 14) -> list[dict[str, Any]]:
        """Measurements now due: one entry per executed action and day in (1, 3, 7) not yet recorded
        whose (UTC) execution date + day <= `today`. Each entry is the action's row plus `day` and
        `due_on`. Actions executed more than `max_age_days` before `today` are no longer measured."""
        today = as_date(today)
        oldest = datetime.combine(today - timedelta(days=max_age_days), datetime.min.time(), tzinfo=UTC)
        rows = self._all(
            "SELECT * FROM actions_log WHERE status = ? AND executed_at >= ? ORDER BY executed_at, action_id",
            (ActionStatus.EXECUTED, self._ts(oldest)),
        )
        due = []
        for row in rows:
            done = {c.get("day") for c in row["measurement_checkpoints"] or []}
            executed_on = row["executed_at"].date()
            for day in CHECKPOINT_DAYS:
                due_on = executed_on + timedelta(days=day)
                if day not in done and due_on <= today:
                    due.append({**row, "day": day, "due_on": due_on})
        due.sort(key=lambda d: (d["due_on"], d["action_id"], d["day"]))
        return due

    # -- the run lock ---------------------------------------------------------------------------
    def run_lock(self, holder: str) -> AbstractContextManager[None]:
        """Hold the log's run lock for a `with` block: one apply or rollback at a time per log.
        Raises engine.core.errors.StateBusy naming the holder when another process holds it. The
        lock dies with its process (also on SIGKILL)."""
        return self._db.run_lock(holder)
