"""What the action log shows and what people decide in it: listings, approvals, the emergency stop."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.apply.actionlog import ActionLog, open_log
from engine.apply.actionlog.values import now
from engine.apply.executor import stop_from_env
from engine.apply.impact import ImpactReport, impact_report
from engine.core.errors import RulerunError
from engine.core.status import ActionStatus
from engine.rules.workspace import Workspace


def who(by: str | None) -> str:
    """Who is acting: --by, else $RULERUN_USER, else the login name."""
    return by or os.environ.get("RULERUN_USER") or getpass.getuser()


def open_action_log(ws: Workspace, url: str | None) -> ActionLog:
    """The workspace's action log: --log-url, RULERUN_LOG_URL, rulerun.yaml, else SQLite in the state directory."""
    return open_log(ws.log_url(url), ws.state_dir)


@dataclass
class ActionListing:
    """Rows of the action log (as stored), under a title."""

    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)


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


def list_approvals(ws: Workspace, log_url: str | None) -> ActionListing:
    with open_action_log(ws, log_url) as log:
        log.expire_overdue(now())
        return ActionListing("Waiting for approval", log.approvals(ActionStatus.NEEDS_APPROVAL))


def show_action(ws: Workspace, log_url: str | None, action_id: str) -> ActionRecord:
    with open_action_log(ws, log_url) as log:
        log.expire_overdue(now())
        row = log.get(action_id)
    if row is None:
        raise RulerunError(f"no action {action_id!r} in the action log", hint="see `rulerun approvals list`")
    return ActionRecord(row)


def decide(
    ws: Workspace, log_url: str | None, action_id: str, approve: bool, by: str | None, note: str | None
) -> Decision:
    """Approve or reject a queued action; the decision is final."""
    with open_action_log(ws, log_url) as log:
        log.expire_overdue(now())
        log.decide(action_id, approve, who(by), note)
    return Decision(action_id, approve, who(by))


def engage_stop(ws: Workspace, log_url: str | None, reason: str, by: str | None) -> StopChange:
    with open_action_log(ws, log_url) as log:
        log.engage_stop(reason, who(by))
    return StopChange(True, who(by), reason)


def release_stop(ws: Workspace, log_url: str | None, by: str | None) -> StopChange:
    with open_action_log(ws, log_url) as log:
        log.release_stop(who(by))
    return StopChange(False, who(by), env_still_set=bool(stop_from_env()))


def action_log(
    ws: Workspace,
    log_url: str | None,
    *,
    since: datetime | None = None,
    status: str | None = None,
    platform: str | None = None,
    limit: int = 1000,
) -> ActionListing:
    with open_action_log(ws, log_url) as log:
        return ActionListing("Action log", log.query(since=since, status=status, platform=platform, limit=limit))


def impact(
    ws: Workspace,
    log_url: str | None,
    *,
    since: datetime | None = None,
    status: str | None = None,
    platform: str | None = None,
    limit: int = 1000,
) -> ImpactReport:
    """Before/after metrics of the logged actions' checkpoints, per action and per rule."""
    listing = action_log(ws, log_url, since=since, status=status, platform=platform, limit=limit)
    return impact_report(listing.rows)
