"""The lifecycle of a logged action: which status may replace which.

The log keeps one row per action id (the plan's idempotency key). Its status mixes three
kinds of state, and only some of them may be overwritten:

- pipeline outcomes of one run (planned, clamped, blocked, skipped): any later run may
  replace them, and may claim the action for execution;
- human gates (needs_approval, approved, rejected, expired): only a human decision or the
  approval's expiry changes them; an approved action may be claimed;
- execution (executing, executed, failed, rolled_back): only the process that claimed the
  action records its outcome, and a finished action is never claimed again.
"""

from __future__ import annotations

from engine.core.status import PLAN_STATUSES, ActionStatus, RunStatus

EXECUTING = ActionStatus.EXECUTING  # intent recorded, outcome unknown (in doubt after a crash)
ACTION_STATUSES = (*PLAN_STATUSES, EXECUTING)

PIPELINE = (ActionStatus.PLANNED, ActionStatus.CLAMPED, ActionStatus.BLOCKED, ActionStatus.SKIPPED)
PENDING = ActionStatus.NEEDS_APPROVAL
DECISIONS = (ActionStatus.APPROVED, ActionStatus.REJECTED, ActionStatus.EXPIRED)
FINISHED = (ActionStatus.EXECUTED, ActionStatus.FAILED, ActionStatus.ROLLED_BACK)

# record_intent may take over a row in these statuses (compare-and-set to `executing`).
CLAIMABLE = (*PIPELINE, ActionStatus.APPROVED)

# upsert_action writes these statuses; `executed` is for actions without a platform call (notify).
UPSERTABLE = (*PIPELINE, ActionStatus.EXECUTED)

# record_status: the statuses each target may replace. `executing` may go back to planned or
# approved when a crashed run's action turns out not to have been applied.
STATUS_TRANSITIONS: dict[str, tuple[str, ...]] = {
    ActionStatus.PLANNED: (*PIPELINE, EXECUTING),
    ActionStatus.CLAMPED: PIPELINE,
    ActionStatus.BLOCKED: PIPELINE,
    ActionStatus.SKIPPED: PIPELINE,
    ActionStatus.APPROVED: (EXECUTING,),  # only for a row a human approved before (approval_by set)
}

# record_outcome: the statuses each outcome may replace; executed -> failed is a failed verification.
OUTCOME_TRANSITIONS: dict[str, tuple[str, ...]] = {
    ActionStatus.EXECUTED: (EXECUTING,),
    ActionStatus.FAILED: (EXECUTING, ActionStatus.EXECUTED),
    ActionStatus.SKIPPED: (EXECUTING,),
}

# queue_approval re-opens or refreshes rows in these statuses and keeps every other one.
QUEUEABLE = (*PIPELINE, PENDING)

# executed_since and last_executed count these: a change was made (or may have been).
CHANGED = (ActionStatus.EXECUTED, ActionStatus.ROLLED_BACK)

RUN_MODES = ("apply", "rollback")
RUN_STATUSES = tuple(RunStatus)

CHECKPOINT_DAYS = (1, 3, 7)


def check(value: object, allowed: tuple[object, ...] | dict[str, tuple[str, ...]], what: str) -> None:
    """Reject a value the caller may not write here: a programming error, not a user one."""
    if value not in allowed:
        raise ValueError(f"{what}: {value!r} is not one of {', '.join(map(str, allowed))}")
