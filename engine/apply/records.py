"""What the action log shows and what people decide in it: listings, approvals, the emergency stop."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.apply.actionlog import LOG_FILE, ActionLog, open_log
from engine.apply.actionlog.values import now
from engine.apply.executor import STOP_ENV, stop_from_env
from engine.apply.impact import ImpactReport, impact_report
from engine.core.errors import RulerunError
from engine.rules.workspace import Workspace


def who(by: str | None) -> str:
    """Who is acting: --by, else $RULERUN_USER, else the login name."""
    return by or os.environ.get("RULERUN_USER") or getpass.getuser()


def open_action_log(ws: Workspace, url: str | None) -> ActionLog:
    """The workspace's action log: --log-url, RULERUN_LOG_URL, rulerun.yaml, else SQLite in the state directory."""
    return open_log(ws.log_url(url), ws.state_dir)


@contextmanager
def existing_log(ws: Workspace, log_url: str | None) -> Iterator[ActionLog | None]:
    """The workspace's action log when there is one; None (and nothing created) otherwise."""
    if not ws.log_url(log_url) and not (ws.state_dir / LOG_FILE).exists():
        yield None
        return
    with open_action_log(ws, log_url) as log:
        yield log


@dataclass
class ActionListing:
    """Rows of the action log (as stored), under a title."""

    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    # the time columns people see: (heading, column of the row)
    times: tuple[tuple[str, str], ...] = (("updated at (UTC)", "updated_at"),)


@dataclass
class ActionRecord:
    """One action's full row in the log."""

    row: dict[str, Any]


@dataclass
class Decision:
    action_id: str
    approved: bool
    by: str


@dataclass
class StopChange:
    """The emergency stop engaged or released."""

    engaged: bool
    by: str
    reason: str | None = None
    env_still_set: bool = False  # released in the log, but RULERUN_EMERGENCY_STOP still stops this environment
    unchanged: bool = False  # it already was so: engaged (by `by`, for `reason`, `at`) or not engaged
    at: datetime | None = None


def list_approvals(ws: Workspace, log_url: str | None) -> ActionListing:
    with open_action_log(ws, log_url) as log:
        log.expire_overdue(now())
        return ActionListing(
            "Waiting for approval",
            log.approvals("needs_approval"),
            times=(("queued at (UTC)", "created_at"), ("expires at (UTC)", "expires_at")),
        )


def show_action(ws: Workspace, log_url: str | None, action_id: str) -> ActionRecord:
    with open_action_log(ws, log_url) as log:
        log.expire_overdue(now())
        row = log.get(log.resolve_id(action_id))
    if row is None:
        raise RulerunError(f"no action {action_id!r} in the action log", hint="see `rulerun approvals list`")
    return ActionRecord(row)


def decide(
    ws: Workspace, log_url: str | None, action_id: str, approve: bool, by: str | None, note: str | None
) -> Decision:
    """Approve or reject a queued action; the decision is final."""
    with open_action_log(ws, log_url) as log:
        log.expire_overdue(now())
        action_id = log.resolve_id(action_id)
        log.decide(action_id, approve, who(by), note)
    return Decision(action_id, approve, who(by))


def engage_stop(ws: Workspace, log_url: str | None, reason: str, by: str | None) -> StopChange:
    with open_action_log(ws, log_url) as log:
        current = log.stop_state()
        if current:  # the first reason stands: a second `stop` must not rewrite why everything halted
            return StopChange(
                True, current.get("by") or "", current.get("reason"), unchanged=True, at=current.get("at")
            )
        log.engage_stop(reason, who(by))
    return StopChange(True, who(by), reason)


def release_stop(ws: Workspace, log_url: str | None, by: str | None) -> StopChange:
    with open_action_log(ws, log_url) as log:
        released = log.release_stop(who(by))
    return StopChange(False, who(by), env_still_set=bool(stop_from_env()), unchanged=not released)


def stop_engaged(ws: Workspace, log_url: str | None) -> str | None:
    """Why applies are stopped now (the action log's stop or the environment's), or None.

    Reads an existing log only: a command that changes nothing never creates one."""
    env = stop_from_env()
    if env:
        return f"{STOP_ENV}={env}"
    with existing_log(ws, log_url) as log:
        state = log.stop_state() if log is not None else None
    if not state:
        return None
    return f"{state.get('reason')} (by {state.get('by')})"


def action_log(
    ws: Workspace,
    log_url: str | None,
    *,
    since: datetime | None = None,
    status: str | None = None,
    platform: str | None = None,
    limit: int = 1000,
    run_id: str | None = None,
) -> ActionListing:
    with open_action_log(ws, log_url) as log:
        run = log.resolve_id(run_id, "run") if run_id else None
        return ActionListing(
            f"Action log of run {run}" if run else "Action log",
            log.query(since=since, status=status, platform=platform, limit=limit, run_id=run),
        )


def impact(
    ws: Workspace,
    log_url: str | None,
    *,
    since: datetime | None = None,
    status: str | None = None,
    platform: str | None = None,
    limit: int = 1000,
    run_id: str | None = None,
) -> ImpactReport:
    """Before/after metrics of the logged actions' checkpoints, per action and per rule."""
    listing = action_log(ws, log_url, since=since, status=status, platform=platform, limit=limit, run_id=run_id)
    return impact_report(listing.rows)
