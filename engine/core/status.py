"""The statuses of actions, entities and apply runs: one vocabulary each, named once.

They are `StrEnum`s: a member is the string it stands for (equal to it, hashed, formatted,
stored and serialized as it), so plans, the action log, data files and logs read and write
the same text as before, and code compares a stored "paused" with `EntityStatus.PAUSED`.
"""

from __future__ import annotations

from enum import StrEnum


class _Status(StrEnum):
    def __repr__(self) -> str:
        return repr(self.value)  # messages quote a status as the text users see: 'paused'


class ActionStatus(_Status):
    """What happened, or will happen, to a proposed action: the plan's and the action log's `status`.

    The lifecycle (which status may replace which) is engine/apply/actionlog/states.py.
    """

    PLANNED = "planned"  # goes ahead on apply
    CLAMPED = "clamped"  # goes ahead, its change cut to a guardrail's limit
    BLOCKED = "blocked"  # a guardrail refused it
    NEEDS_APPROVAL = "needs_approval"  # waits for a human
    SKIPPED = "skipped"  # not done: a conflict, a gate at apply time, or a differing saved plan
    EXECUTED = "executed"
    FAILED = "failed"
    APPROVED = "approved"  # a human said yes; the next apply executes it
    REJECTED = "rejected"  # a human said no
    EXPIRED = "expired"  # nobody decided before the approval expired
    ROLLED_BACK = "rolled_back"
    EXECUTING = "executing"  # the action log only: intent recorded, outcome unknown (in doubt after a crash)


# The statuses a plan's actions may have (the plan contract, schemas/plan.schema.json)
PLAN_STATUSES: tuple[ActionStatus, ...] = tuple(s for s in ActionStatus if s is not ActionStatus.EXECUTING)
# Statuses of actions still on their way to execution, and of those that may change spend
GOING_AHEAD: tuple[ActionStatus, ...] = (ActionStatus.PLANNED, ActionStatus.CLAMPED)


class EntityStatus(_Status):
    """The canonical status of a campaign, ad group, ad ...: every platform's own values map to one."""

    ACTIVE = "active"
    PAUSED = "paused"
    REMOVED = "removed"
    ARCHIVED = "archived"


class RunStatus(_Status):
    """The status of one apply or rollback run in the action log."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"
