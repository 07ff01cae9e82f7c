"""The action log on both backends: SQLite always, PostgreSQL when RULERUN_TEST_PG_URL is set.

    RULERUN_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test pytest tests/test_actionlog.py

Each PostgreSQL test runs in a fresh schema (dropped afterwards). The exactly-once claim
and the run lock are exercised with real subprocesses and a real SIGKILL.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.apply.actionlog import ActionLog, open_log, redact_url
from engine.apply.actionlog.approvals import approval_digest
from engine.core.errors import RulerunError, StateBusy, UsageError

PG_ENV = "RULERUN_TEST_PG_URL"
REPO = Path(__file__).resolve().parents[1]
NOW = datetime.now(UTC).replace(microsecond=0)
WAIT_LIMIT = 60.0  # a safety net against hangs, never an assertion about speed


@dataclass
class Target:
    url: str | None
    state_dir: Path

    def open(self) -> ActionLog:
        return open_log(self.url, self.state_dir)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    state_dir = tmp_path / "state"
    if request.param == "sqlite":
        yield Target(None, state_dir)
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set: e.g. {PG_ENV}=postgresql://postgres@127.0.0.1:5432/test runs these")
    import psycopg

    schema = f"rulerun_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as con:
        con.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    try:
        yield Target(f"{base}{sep}options=-csearch_path%3D{schema}", state_dir)
    finally:
        with psycopg.connect(base, autocommit=True) as con:
            con.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def log(target: Target) -> Iterator[ActionLog]:
    with target.open() as opened:
        yield opened


def action(action_id: str, **kw: Any) -> dict[str, Any]:
    return {
        "action_id": action_id,
        "run_id": "run-1",
        "workflow": "pinterest/daily_optimize",
        "rule_id": "pause_losers",
        "platform": "pinterest",
        "account_id": "acc-1",
        "level": "ad_group",
        "entity_id": "e1",
        "entity_name": "Ad group 1",
        "action_type": "pause",
        "payload": {"params": {}, "before": {"status": "active"}, "after": {"status": "paused"}},
        "evidence": {"spend": 612.5, "cpa": None},
        "guardrails": [{"rule": "min_spend_before_pause", "result": "pass"}],
        **kw,
    }


def executed(log: ActionLog, action_id: str, at: datetime, **kw: Any) -> None:
    assert log.record_intent(action(action_id, **kw))
    log.record_outcome(action_id, "executed", result={"ok": True}, executed_at=at)


# -- subprocesses ------------------------------------------------------------------------------

CHILD = r"""
import json, os, sys, time
from pathlib import Path
from engine.apply.actionlog import open_log

args = json.loads(sys.argv[1])
log = open_log(args["url"], Path(args["state_dir"]))
if args["job"] == "race":
    Path(args["ready"]).touch()
    gate = args["gate"]
    while not os.path.exists(gate):  # spin, so that both children start within microseconds
        pass
    row = {"platform": "meta", "action_type": "pause", "executed_by": args["me"]}
    won = [k for k in args["keys"] if log.record_intent({**row, "action_id": k})]
    print(json.dumps(won), flush=True)
elif args["job"] == "hold_lock":
    with log.run_lock(args["holder"]):
        print("locked", flush=True)
        time.sleep(600)
"""


def child(target: Target, job: str, **kw: Any) -> subprocess.Popen:
    args = {"url": target.url, "state_dir": str(target.state_dir), "job": job, **kw}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def wait_until(done: Callable[[], bool], what: str, procs: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + WAIT_LIMIT
    while not done():
        for p in procs:
            if p.poll() is not None:
                pytest.fail(f"child exited ({p.returncode}) before {what}: {p.stderr.read()}")
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.01)


def read_line(proc: subprocess.Popen) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], WAIT_LIMIT)
    line = proc.stdout.readline().strip() if ready else ""
    if not line:
        proc.kill()
        pytest.fail(f"child printed nothing: {proc.stderr.read()}")
    return line


# -- tests --------------------------------------------------------------------------------------


def test_migrations_are_idempotent_and_data_survives_reopening(target: Target) -> None:
    with target.open() as first:
        first.upsert_action(action("a1"))
    with target.open() as second:
        versions = [r[0] for r in second._execute("SELECT version FROM schema_migrations").fetchall()]
        assert versions == [1, 2]
        assert second.get("a1")["status"] == "planned"
    # Only SQLite lives in the state directory.
    assert target.state_dir.exists() == (target.url is None)


def test_record_intent_race_between_processes_has_one_winner(target: Target, log: ActionLog, tmp_path: Path) -> None:
    fresh = [f"new-{i}" for i in range(40)]
    approved = [f"approved-{i}" for i in range(5)]
    pending, done = ["pending-0", "pending-1"], ["done-0"]
    for key in approved + pending:
        log.queue_approval(action(key), NOW + timedelta(days=3))
    for key in approved:
        log.decide(key, True, "alice", None)
    executed(log, "done-0", NOW)
    keys = fresh + approved + pending + done
    gate = tmp_path / "gate"
    procs = [
        child(target, "race", keys=keys, me=f"p{i}", ready=str(tmp_path / f"ready{i}"), gate=str(gate))
        for i in range(2)
    ]
    try:
        wait_until(lambda: all((tmp_path / f"ready{i}").exists() for i in range(2)), "both children ready", procs)
        gate.touch()
        outputs = [p.communicate(timeout=WAIT_LIMIT) for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    won = [set(json.loads(out)) for out, _ in outputs]
    assert not won[0] & won[1]
    assert won[0] | won[1] == set(fresh + approved)
    for key in fresh + approved:
        row = log.get(key)
        assert (row["status"], row["attempts"]) == ("executing", 1)
        assert row["executed_by"] == ("p0" if key in won[0] else "p1")
    assert {log.get(k)["status"] for k in pending} == {"needs_approval"}
    assert log.get("done-0")["status"] == "executed"


def test_outcome_in_doubt_and_release(log: ActionLog) -> None:
    assert log.record_intent(action("a1", executed_by="bob"))
    assert not log.record_intent(action("a1"))
    assert [r["action_id"] for r in log.in_doubt()] == ["a1"]
    # A crashed run's claim that was not applied goes back to planned and can be claimed again.
    assert log.record_status("a1", "planned", "in doubt: not applied")
    assert log.in_doubt() == []
    assert log.record_intent(action("a1"))
    at = NOW - timedelta(minutes=5)
    plan = {"type": "enable", "params": {}, "before": {"status": "paused"}, "after": {"status": "active"}}
    log.record_outcome("a1", "executed", result={"id": "e1", "n": 1.5}, rollback_plan=plan, executed_at=at)
    row = log.get("a1")
    assert (row["status"], row["attempts"], row["executed_by"]) == ("executed", 2, "bob")
    assert row["result"] == {"id": "e1", "n": 1.5} and row["rollback_plan"] == plan
    assert row["executed_at"] == at and row["executed_at"].tzinfo is not None
    assert row["evidence"] == {"spend": 612.5, "cpa": None}
    assert log.in_doubt() == []
    assert not log.record_intent(action("a1"))
    with pytest.raises(RulerunError, match="it is 'executed'"):
        log.record_outcome("a1", "executed")
    # A failed verification turns executed into failed, keeping the execution time and plan.
    log.record_outcome("a1", "failed", error="verification failed")
    row = log.get("a1")
    assert (row["status"], row["error_message"], row["executed_at"]) == ("failed", "verification failed", at)
    assert row["rollback_plan"] == plan
    with pytest.raises(RulerunError, match="no action 'nope'"):
        log.record_outcome("nope", "executed")
    with pytest.raises(ValueError, match="naive"):
        log.executed_since(datetime(2026, 1, 1))


def test_pipeline_statuses_never_override_approvals_or_executions(log: ActionLog) -> None:
    assert log.upsert_action(action("s1", status="skipped", status_reason="cooldown"))
    assert log.record_status("s1", "blocked", "guardrail")
    assert (log.get("s1")["status"], log.get("s1")["status_reason"]) == ("blocked", "guardrail")
    assert log.record_intent(action("s1"))  # an earlier run's skip or block does not hold it back
    assert not log.upsert_action(action("s1", status="skipped"))
    assert not log.record_status("s1", "skipped", "too late")
    assert log.get("s1")["status"] == "executing"
    assert log.upsert_action(action("n1", action_type="notify", status="executed"))
    assert not log.record_intent(action("n1", action_type="notify"))
    log.queue_approval(action("q1"), NOW + timedelta(days=1))
    assert not log.upsert_action(action("q1", status="blocked"))
    assert not log.record_status("q1", "planned")
    assert not log.record_status("q1", "approved")  # nobody approved it
    with pytest.raises(RulerunError, match="no action 'ghost'"):
        log.record_status("ghost", "skipped")
    with pytest.raises(ValueError):
        log.record_status("s1", "executed")
    with pytest.raises(ValueError):
        log.upsert_action(action("x", status="approved"))


def test_approvals_lifecycle(log: ActionLog) -> None:
    first_expiry = NOW + timedelta(days=3)
    assert log.queue_approval(action("a1"), first_expiry) == "needs_approval"
    assert log.queue_approval(action("a1", evidence={"spend": 700.0}), NOW + timedelta(days=9)) == "needs_approval"
    row = log.get("a1")
    assert row["expires_at"] == first_expiry and row["evidence"] == {"spend": 700.0}
    assert [r["action_id"] for r in log.approvals()] == ["a1"]
    assert not log.record_intent(action("a1"))  # pending: a human decides first
    decided = log.decide("a1", True, "alice", "looks right")
    assert (decided["status"], decided["approval_by"], decided["approval_note"]) == ("approved", "alice", "looks right")
    assert log.queue_approval(action("a1"), NOW + timedelta(days=3)) == "approved"  # a decision is never reset
    assert [r["action_id"] for r in log.approvals("approved")] == ["a1"]
    with pytest.raises(RulerunError, match="not waiting for approval: it is approved, by alice"):
        log.decide("a1", False, "bob", None)
    changed = {"params": {}, "before": {"status": "active"}, "after": {"status": "archived"}}
    assert log.record_intent(action("a1", payload=changed))
    assert log.get("a1")["payload"]["after"] == {"status": "paused"}  # what the human approved
    assert log.approvals() == []
    assert [r["action_id"] for r in log.approvals(None)] == ["a1"]

    log.queue_approval(action("r1"), None)
    log.decide("r1", False, "bob", "no")
    assert log.queue_approval(action("r1"), NOW + timedelta(days=3)) == "rejected"
    assert not log.record_intent(action("r1"))

    log.queue_approval(action("late"), NOW - timedelta(hours=1))
    with pytest.raises(RulerunError, match="expired at"):
        log.decide("late", True, "alice", None)
    assert log.get("late")["status"] == "expired"
    log.queue_approval(action("old1"), NOW - timedelta(minutes=1))
    log.queue_approval(action("old2"), NOW - timedelta(minutes=2))
    log.queue_approval(action("fresh"), NOW + timedelta(hours=1))
    assert log.expire_overdue(NOW) == 2
    assert log.expire_overdue(NOW) == 0
    assert [r["action_id"] for r in log.approvals("expired")] == ["late", "old1", "old2"]
    assert log.queue_approval(action("old1"), NOW + timedelta(days=3)) == "expired"
    with pytest.raises(RulerunError, match="no action 'ghost'"):
        log.decide("ghost", True, "alice", None)


def test_emergency_stop(log: ActionLog) -> None:
    assert log.stop_state() is None
    assert not log.release_stop("bob")
    log.engage_stop("ROAS collapsed", "alice")
    state = log.stop_state()
    assert (state["reason"], state["by"]) == ("ROAS collapsed", "alice")
    assert state["at"].tzinfo is not None
    log.engage_stop("still bad", "carol")
    assert log.stop_state()["reason"] == "still bad"
    assert log.release_stop("bob")
    assert log.stop_state() is None


def test_rate_limit_counts_and_cooldown_lookup(log: ActionLog) -> None:
    executed(log, "a", NOW - timedelta(minutes=10))
    executed(log, "b", NOW - timedelta(hours=2))
    executed(log, "c", NOW - timedelta(minutes=20), entity_id="e2")
    executed(log, "rb-c", NOW - timedelta(minutes=5), entity_id="e2", action_type="enable", rollback_of="c")
    log.mark_rolled_back("c", NOW - timedelta(minutes=5), "rb-c")
    log.mark_rolled_back("c", NOW - timedelta(minutes=5), "rb-c")  # repeating is harmless
    with pytest.raises(RulerunError, match="cannot be marked rolled back: it is rolled_back"):
        log.mark_rolled_back("c", NOW, "rb-other")
    assert log.record_intent(action("f", entity_id="e3"))
    log.record_outcome("f", "failed", error="boom", executed_at=NOW - timedelta(minutes=15))
    assert log.record_intent(action("x", entity_id="e4"))  # in doubt: it may have changed something
    log.upsert_action(action("n", entity_id="e5", action_type="notify", status="executed"))  # no platform change

    assert log.executed_since(NOW - timedelta(hours=1)) == 4  # a, c (rolled back since), rb-c, x
    assert log.executed_since(NOW - timedelta(hours=3)) == 5
    assert log.get("c")["rolled_back_by"] == "rb-c"
    last = log.last_executed("pinterest/daily_optimize", "pause_losers", "pinterest", "acc-1", "e1")
    assert last == NOW - timedelta(minutes=10)
    assert log.last_executed("pinterest/daily_optimize", "pause_losers", "pinterest", "acc-1", "e9") is None
    assert log.last_executed("pinterest/daily_optimize", "other_rule", "pinterest", "acc-1", "e1") is None
    with pytest.raises(RulerunError, match="no action 'ghost'"):
        log.mark_rolled_back("ghost", NOW, "rb-ghost")


def test_failures_since(log: ActionLog) -> None:
    for key, entity, kind, minutes in (
        ("f1", "e1", "pause", 30),
        ("f2", "e1", "pause", 300),
        ("f3", "e1", "set_bid", 5),
    ):
        assert log.record_intent(action(key, entity_id=entity, action_type=kind))
        log.record_outcome(key, "failed", error="HTTP 400", executed_at=NOW - timedelta(minutes=minutes))
    executed(log, "ok", NOW - timedelta(minutes=1))
    assert log.failures_since("pinterest", "acc-1", "e1", "pause", NOW - timedelta(hours=1)) == 1
    assert log.failures_since("pinterest", "acc-1", "e1", "pause", NOW - timedelta(hours=24)) == 2
    assert log.failures_since("pinterest", "acc-1", "e1", "set_bid", NOW - timedelta(hours=1)) == 1
    assert log.failures_since("pinterest", "acc-1", "e2", "pause", NOW - timedelta(hours=24)) == 0
    assert log.failures_since("meta", "acc-1", "e1", "pause", NOW - timedelta(hours=24)) == 0


def test_query_filters_newest_first(log: ActionLog) -> None:
    log.upsert_action(action("p1", status="planned"))
    log.upsert_action(action("s1", status="skipped", platform="meta", run_id="run-2"))
    executed(log, "x1", NOW)
    log.upsert_action(action("b1", status="blocked", platform="meta"))
    assert [r["action_id"] for r in log.query()] == ["b1", "x1", "s1", "p1"]
    assert [r["action_id"] for r in log.query(limit=2)] == ["b1", "x1"]
    assert [r["action_id"] for r in log.query(platform="meta")] == ["b1", "s1"]
    assert [r["action_id"] for r in log.query(status="executed")] == ["x1"]
    assert [r["action_id"] for r in log.query(status=["skipped", "blocked"])] == ["b1", "s1"]
    assert [r["action_id"] for r in log.query(run_id="run-2")] == ["s1"]
    assert log.query(since=datetime.now(UTC) + timedelta(hours=1)) == []
    assert len(log.query(since=NOW - timedelta(hours=1))) == 4
    assert log.query(status="executed")[0]["payload"]["after"] == {"status": "paused"}
    with pytest.raises(UsageError, match="unknown action status 'exploded'"):
        log.query(status="exploded")


def test_impact_checkpoints(log: ActionLog) -> None:
    executed_at = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    day = executed_at.date()
    executed(log, "a1", executed_at)
    executed(log, "gone", executed_at - timedelta(days=40))
    assert log.due_checkpoints(day) == []
    due = log.due_checkpoints(day + timedelta(days=1))
    assert [(d["action_id"], d["day"], d["due_on"]) for d in due] == [("a1", 1, day + timedelta(days=1))]
    assert due[0]["entity_id"] == "e1"
    log.add_checkpoint("a1", 1, {"spend": 10.0}, executed_at + timedelta(days=1))
    assert log.due_checkpoints(day + timedelta(days=2)) == []
    assert [(d["day"]) for d in log.due_checkpoints(day + timedelta(days=7))] == [3, 7]
    log.add_checkpoint("a1", 7, {"spend": 70.0}, executed_at + timedelta(days=7))
    log.add_checkpoint("a1", 1, {"spend": 11.0}, executed_at + timedelta(days=2))  # replaces day 1
    points = log.get("a1")["measurement_checkpoints"]
    assert [(p["day"], p["metrics"]["spend"]) for p in points] == [(1, 11.0), (7, 70.0)]
    assert [d["day"] for d in log.due_checkpoints(day + timedelta(days=8))] == [3]
    assert log.due_checkpoints(day + timedelta(days=30)) == []  # too old to measure now
    with pytest.raises(ValueError):
        log.add_checkpoint("a1", 2, {}, executed_at)
    with pytest.raises(RulerunError, match="no action 'ghost'"):
        log.add_checkpoint("ghost", 1, {}, executed_at)


def test_runs(log: ActionLog) -> None:
    log.start_run({"run_id": "r1", "mode": "apply", "source": "demo", "as_of": "2026-03-02", "executed_by": "ci"})
    run = log.get_run("r1")
    assert (run["status"], run["as_of"].isoformat(), run["finished_at"]) == ("running", "2026-03-02", None)
    with pytest.raises(RulerunError, match="already in the action log"):
        log.start_run({"run_id": "r1", "mode": "apply"})
    log.finish_run("r1", "succeeded", {"executed": 3})
    run = log.get_run("r1")
    assert (run["status"], run["summary"]) == ("succeeded", {"executed": 3})
    assert run["finished_at"] >= run["started_at"]
    assert log.get_run("nope") is None
    with pytest.raises(RulerunError, match="no run"):
        log.finish_run("nope", "failed", {})


def test_run_lock_excludes_others_and_dies_with_its_process(target: Target, log: ActionLog) -> None:
    with log.run_lock("first"), pytest.raises(StateBusy, match="first"), log.run_lock("second"):
        pass
    with log.run_lock("again"):
        pass
    proc = child(target, "hold_lock", holder="holder-in-child")
    try:
        assert read_line(proc) == "locked"
        with pytest.raises(StateBusy, match="holder-in-child") as busy, log.run_lock("parent"):
            pass
        assert f"pid {proc.pid}" in busy.value.message
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # SQLite: the kernel dropped the flock with the process. PostgreSQL: the server ends the
    # session as soon as it sees the closed socket, which may take a moment after the kill.
    deadline = time.monotonic() + WAIT_LIMIT
    while True:
        try:
            with log.run_lock("after the crash"):
                break
        except StateBusy:
            if time.monotonic() > deadline:
                pytest.fail("the run lock was never released after its holder was killed")
            time.sleep(0.02)


def test_urls_are_redacted_in_errors(tmp_path: Path) -> None:
    secret = "s3cr%40t-pw"
    assert redact_url(f"postgresql://rr:{secret}@db.example:5432/ops") == "postgresql://rr:***@db.example:5432/ops"
    assert redact_url("postgresql://db/ops?sslmode=require&password=hunter2") == (
        "postgresql://db/ops?sslmode=require&password=***"
    )
    with pytest.raises(RulerunError) as refused:
        open_log(f"postgresql://rr:{secret}@127.0.0.1:1/ops?connect_timeout=2", tmp_path / "state")
    text = f"{refused.value.message} {refused.value.hint}"
    assert "s3cr" not in text and "rr:***@127.0.0.1:1/ops" in text
    assert not (tmp_path / "state").exists()
    with pytest.raises(RulerunError, match=r"unsupported action log URL mysql://u:\*\*\*@h/db") as bad:
        open_log("mysql://u:hunter2@h/db", tmp_path / "state")
    assert "hunter2" not in bad.value.message


# -- approvals bound to their change, finite numbers, saved plans ---------------------------------


def test_an_approval_stores_the_digest_of_the_change_it_approves(log: ActionLog) -> None:
    log.queue_approval(action("a1"), NOW + timedelta(days=3))
    log.queue_approval(action("a2"), NOW + timedelta(days=3))
    approved = log.decide("a1", True, "alice")
    assert approved["approval_digest"] == approval_digest(approved)
    edited = {**approved, "payload": {**approved["payload"], "after": {"status": "removed"}}}
    assert approval_digest(edited) != approved["approval_digest"]
    assert log.decide("a2", False, "bob")["approval_digest"] is None  # a rejection approves nothing


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_a_payload_with_a_non_finite_number_is_refused_not_nulled(log: ActionLog, bad: float) -> None:
    with pytest.raises(ValueError):
        log.upsert_action(action("a1", payload={"params": {}, "before": {"bid": 1.0}, "after": {"bid": bad}}))
    assert log.get("a1") is None
    log.upsert_action(action("a2", evidence={"spend": bad}))  # what only describes an action stores null
    assert log.get("a2")["evidence"] == {"spend": None}


def test_a_hand_edited_non_finite_payload_is_an_error_naming_the_column(target: Target, log: ActionLog) -> None:
    log.upsert_action(action("a1"))
    text = '{"params": {}, "before": {"bid": 1.0}, "after": {"bid": 1e999}}'
    if target.url:  # JSONB keeps the huge number; the driver would read it as infinity
        log._execute("UPDATE actions_log SET payload = ?::jsonb WHERE action_id = ?", (text, "a1"))
    else:
        log._execute("UPDATE actions_log SET payload = ? WHERE action_id = ?", (text.replace("1e999", "NaN"), "a1"))
    with pytest.raises(RulerunError, match="invalid JSON in a payload column"):
        log.get("a1")


def test_saved_plans_are_recorded_once(log: ActionLog) -> None:
    record = {
        "plan_id": "p1",
        "digest": "d",
        "saved_by": "ci",
        "source": "demo",
        "as_of": "2026-11-01",
        "rules_digest": "r",
        "git_commit": None,
        "workflows": ["meta/daily"],
        "field_digests": {"run_id": "x"},
        "action_digests": [["a1", "y"]],
    }
    log.save_plan(record)
    row = log.saved_plan("p1")
    assert row["saved_at"] >= NOW and row["workflows"] == ["meta/daily"] and row["action_digests"] == [["a1", "y"]]
    assert str(row["as_of"]) == "2026-11-01" and log.saved_plan("p2") is None
    with pytest.raises(RulerunError, match="already recorded"):
        log.save_plan(record)


def test_the_upgrade_binds_earlier_approvals_to_their_change(target: Target) -> None:
    """A log written before approvals carried a digest: the migration computes them."""
    from engine.apply.actionlog.migrate import migrate
    from engine.apply.actionlog.schema import MIGRATIONS

    with target.open() as first:  # a version-1 log: drop what version 2 added
        first.queue_approval(action("a1"), NOW + timedelta(days=3))
        first.decide("a1", True, "alice")
        db = first._db
        db.execute("UPDATE actions_log SET approval_digest = NULL")
        db.execute("DELETE FROM schema_migrations WHERE version = 2")
        db.execute("DROP TABLE saved_plans")
        for column, table in (("approval_digest", "actions_log"), ("plan_id", "runs")):
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        assert migrate(db) == [m.version for m in MIGRATIONS if m.version > 1]
        row = first.get("a1")
    assert row["approval_digest"] == approval_digest(row)


def test_last_change_names_the_run_that_did_it(log: ActionLog) -> None:
    t0 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    executed(log, "a1", t0, run_id="run-1")
    executed(log, "a2", t0 + timedelta(days=1), run_id="run-2")
    last = log.last_change("pinterest/daily_optimize", "pause_losers", "pinterest", "acc-1", "e1")
    assert last == {"at": t0 + timedelta(days=1), "run_id": "run-2"}
    assert log.last_change("pinterest/daily_optimize", "pause_losers", "pinterest", "acc-1", "e9") is None


def test_ids_resolve_from_a_unique_prefix_as_git_does(log: ActionLog) -> None:
    for action_id in ("abc123", "abd456", "ffff00"):
        log.upsert_action(action(action_id))
    assert log.resolve_id("abc123") == "abc123"
    assert log.resolve_id("abc") == "abc123"
    assert log.resolve_id("f") == "ffff00"
    with pytest.raises(UsageError, match="ambiguous: abc123, abd456"):
        log.resolve_id("ab")
    for hostile in ("%", "a_c", "zz", ""):  # LIKE wildcards match nothing; an unknown id is named
        with pytest.raises(RulerunError, match="no action"):
            log.resolve_id(hostile)
    log.start_run({"run_id": "20261101T060000Z-aaaaaa", "mode": "apply"})
    assert log.resolve_id("20261101T06", "run") == "20261101T060000Z-aaaaaa"
    with pytest.raises(RulerunError, match="no run 'nope'"):
        log.resolve_id("nope", "run")
