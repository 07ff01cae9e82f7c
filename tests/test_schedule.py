"""Which workflows a scheduled apply runs: cron schedules against the last run, in the workspace timezone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.rules.model import Operator, Workflow
from engine.rules.schedule import due_now, select_due

BERLIN = ZoneInfo("Europe/Berlin")


def workflow(name: str, schedule: str | None) -> Workflow:
    op = Operator(name="op", platform="meta", description="", thresholds={}, folder=Path("op"), file="op/operator.yaml")
    return Workflow(name, op, "", schedule, "ad_group", "last_7d", [], f"op/{name}.yaml")


def test_a_daily_workflow_is_due_once_its_time_passed_since_the_last_run():
    wf = workflow("daily", "0 6 * * *")
    last = datetime(2026, 11, 26, 6, 5, tzinfo=BERLIN)
    before = due_now(wf, last, datetime(2026, 11, 27, 5, 59, tzinfo=BERLIN), BERLIN)
    assert not before.due and before.next_due == datetime(2026, 11, 27, 6, 0, tzinfo=BERLIN)
    assert due_now(wf, last, datetime(2026, 11, 27, 6, 0, tzinfo=BERLIN), BERLIN).due
    # the same instants read in UTC: 06:00 Berlin is 05:00 UTC in winter
    assert not due_now(wf, last, datetime(2026, 11, 27, 4, 59, tzinfo=UTC), BERLIN).due
    assert due_now(wf, last, datetime(2026, 11, 27, 5, 0, tzinfo=UTC), BERLIN).due


def test_schedules_follow_daylight_saving_in_the_workspace_timezone():
    wf = workflow("daily", "0 6 * * *")
    last = datetime(2026, 3, 28, 5, 0, tzinfo=UTC)  # 06:00 CET
    # on 29 March Berlin moves to CEST: 06:00 is 04:00 UTC
    assert not due_now(wf, last, datetime(2026, 3, 29, 3, 59, tzinfo=UTC), BERLIN).due
    assert due_now(wf, last, datetime(2026, 3, 29, 4, 0, tzinfo=UTC), BERLIN).due


def test_weekly_never_run_and_unscheduled_workflows():
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday
    weekly = workflow("weekly", "0 8 * * MON")
    monday = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    place = due_now(weekly, monday, now, UTC)
    assert not place.due and place.next_due == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert due_now(weekly, None, now, UTC).due  # never ran: due
    assert due_now(workflow("free", None), now, now, UTC).due  # no schedule: every apply
    chosen, places = select_due(
        [weekly, workflow("daily", "@daily")], {"op/weekly": monday, "op/daily": monday}, now, UTC
    )
    assert [w.id for w in chosen] == ["op/daily"] and [p.due for p in places] == [False, True]


SCHEDULES = ["0 6 * * *", "*/30 * * * *", "0 8 * * MON", "15 2 1 * *", "@hourly", "0 0 * * 1-5"]


@settings(max_examples=60, deadline=None)
@given(
    schedule=st.sampled_from(SCHEDULES),
    last=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31)),
    minutes=st.integers(min_value=0, max_value=3 * 24 * 60),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
)
def test_due_exactly_when_the_schedule_fired_since_the_last_run(schedule, last, minutes, zone):
    """Against a minute-by-minute walk: due iff some minute in (last run, now] matches the schedule."""
    tz = ZoneInfo(zone)
    last = last.replace(second=0, microsecond=0, tzinfo=UTC)
    now = last + timedelta(minutes=minutes)
    fired = any(croniter.match(schedule, (last + timedelta(minutes=m)).astimezone(tz)) for m in range(1, minutes + 1))
    assert due_now(workflow("w", schedule), last, now, tz).due == fired
