"""When a workflow is due: its cron `schedule`, its last run, and the workspace's timezone.

A scheduled `rulerun apply` (cron, a systemd timer, a scheduled CI job) may run more often
than any one workflow: each apply runs the workflows whose schedule fired since they last
ran (in the action log), so a weekly report runs weekly however often apply is called. A
workflow that never ran, or has no schedule, is due. Schedules are read in the workspace
timezone (`timezone:` in rulerun.yaml, default UTC), so `0 6 * * *` means 06:00 there,
across daylight-saving changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from croniter import croniter

from engine.rules.model import Workflow


@dataclass(frozen=True)
class Due:
    """One workflow's place in the schedule at `now`."""

    workflow: str
    due: bool
    last_run: datetime | None  # when an apply last ran it; None: never
    next_due: datetime | None  # the next time its schedule fires after now (or after its last run, if not due)


def _next(schedule: str, after: datetime, tz: tzinfo) -> datetime:
    return croniter(schedule, after.astimezone(tz)).get_next(datetime)


def due_now(workflow: Workflow, last_run: datetime | None, now: datetime, tz: tzinfo) -> Due:
    """Whether `workflow` is due at `now`, given when it last ran."""
    if not workflow.schedule:
        return Due(workflow.id, True, last_run, None)
    if last_run is None:
        return Due(workflow.id, True, None, _next(workflow.schedule, now, tz))
    fired = _next(workflow.schedule, last_run, tz)  # the first firing after the last run
    if fired <= now:
        return Due(workflow.id, True, last_run, _next(workflow.schedule, now, tz))
    return Due(workflow.id, False, last_run, fired)


def select_due(
    workflows: list[Workflow], last_runs: dict[str, datetime], now: datetime, tz: tzinfo
) -> tuple[list[Workflow], list[Due]]:
    """The workflows due at `now`, and every workflow's place in the schedule."""
    places = [due_now(w, last_runs.get(w.id), now, tz) for w in workflows]
    return [w for w, p in zip(workflows, places, strict=True) if p.due], places
