"""`rulerun apply` end to end on the demo and its sandbox, through the real command line.

Crash tests kill the apply process with a real SIGKILL at each step of the per-action
protocol and check that a re-run executes nothing twice and loses nothing.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import REPO, run


@pytest.fixture
def ws(tmp_path):
    """A copy of the shipped rule library with its own state directory.

    The demo plan has more safe actions than the default 10 per hour: the copy allows 100,
    so the flows below see every action (the rate limit has its own test).
    """
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    # the store offers always wait for a human: their approval flow is tested on its own (test_live_shopify_e2e)
    shutil.rmtree(tmp_path / "rules" / "cro")
    guardrails = tmp_path / "rules" / "guardrails.yaml"
    guardrails.write_text(guardrails.read_text().replace("max_actions_per_hour: 10", "max_actions_per_hour: 100"))
    return tmp_path


def rr(ws: Path, *args: str, env: dict | None = None):
    if args[:1] == ("apply",) and (len(args) == 1 or args[1].startswith("-")):  # no saved PLAN
        # these flows are about executing, not schedules: every apply runs every workflow
        # (tests/test_apply_flow.py covers which workflows are due)
        args = (*args, "--all")
    return run(*args, "--rules", str(ws / "rules"), cwd=ws, env={"RULERUN_USER": "tester", **(env or {})})


def plan(ws: Path) -> dict:
    res = rr(ws, "evaluate", "--format", "json")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def log_rows(ws: Path, *extra: str) -> list[dict]:
    res = rr(ws, "log", "--format", "json", *extra)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def auto_actions(p: dict) -> set[str]:
    return {
        a["action_id"]
        for a in p["actions"]
        if a["status"] in ("planned", "clamped") and a["autonomy"] == "auto" and a["type"] != "notify"
    }


def auto_notices(p: dict) -> set[str]:
    """The notify actions an apply delivers: logged executed, though they change nothing."""
    return {
        a["action_id"]
        for a in p["actions"]
        if a["status"] == "planned" and a["autonomy"] == "auto" and a["type"] == "notify"
    }


def sandbox_calls(ws: Path) -> list[str]:
    """Every action the sandbox platform applied, in order (its ledger), failing on any repeated call."""
    path = ws / ".rulerun" / "sandbox.sqlite"
    if not path.exists():
        return []
    with sqlite3.connect(path) as con:
        replays = [r[0] for r in con.execute("SELECT action_id FROM replays")]
        assert replays == [], f"execute() was called again for already executed actions: {replays}"
        return [
            r[0]
            for r in con.execute(
                "SELECT action_id FROM changes WHERE kind != 'rollback' AND action_id IS NOT NULL ORDER BY seq"
            )
        ]


# The demo's email actions that always wait for a human (setting flows live or manual, suppressing
# more than 1,000 profiles); the budget cut below is the one these tests approve or reject.
EMAIL_APPROVALS = [
    "run_sunset_flow",
    "stop_flow_hurting_deliverability",
    "suppress_unengaged_after_sunset",
    "activate_trials",  # ActiveCampaign: over 1,000 contacts into an automation
    "test_subject_of_next_newsletter",  # ActiveCampaign: a subject-line test
]


def budget_approval(ws: Path) -> dict:
    """The queued budget cut of the shipped rules on the demo."""
    queued = json.loads(rr(ws, "approvals", "list", "--format", "json").stdout)
    (found,) = [q for q in queued if q["rule_id"] == "trim_expensive_large_budgets"]
    return found


def test_apply_executes_safe_actions_queues_the_rest_and_is_idempotent(ws):
    before = plan(ws)
    expected = auto_actions(before)
    assert expected, "the demo plan should have safe actions"
    first = rr(ws, "apply")
    assert first.returncode == 0, first.stderr
    assert f"{len(expected)} executed" in first.stdout and f"{len(EMAIL_APPROVALS) + 1} queued" in first.stdout
    # notify actions (the weekly reports) are logged as executed too, but change nothing on a platform
    rows = log_rows(ws, "--status", "executed")
    executed = {r["action_id"] for r in rows if r["action_type"] != "notify"}
    assert executed == expected
    # notifications are logged as delivered, and never reach the platform
    notified = {r["action_id"] for r in rows if r["action_type"] == "notify"}
    assert notified == {a["action_id"] for a in before["actions"] if a["type"] == "notify"}
    assert sorted(sandbox_calls(ws)) == sorted(expected)
    queued = json.loads(rr(ws, "approvals", "list", "--format", "json").stdout)
    assert sorted(q["rule_id"] for q in queued) == sorted(["trim_expensive_large_budgets", *EMAIL_APPROVALS])

    # the sandbox really holds the new state: a new evaluation sees it
    after = plan(ws)
    paused = {a["entity_id"] for a in before["actions"] if a["type"] == "pause" and a["action_id"] in expected}
    assert not any(a["type"] == "pause" and a["entity_id"] in paused for a in after["actions"])

    second = rr(ws, "apply")
    assert second.returncode == 0, second.stderr
    assert not re.search(r"^Apply[^:]*: \d+ executed", second.stdout, re.M)  # executed is counted first
    assert "already executed" in second.stdout  # and what did not run is counted by why
    assert sorted(sandbox_calls(ws)) == sorted(expected)  # nothing twice


def test_approve_then_apply_executes_the_approved_action(ws):
    assert rr(ws, "apply").returncode == 0
    queued = budget_approval(ws)
    approve = rr(ws, "approvals", "approve", queued["action_id"], "--by", "maria", "--note", "ok for Q4")
    assert approve.returncode == 0 and "approved by maria" in approve.stdout
    res = rr(ws, "apply")
    assert res.returncode == 0, res.stderr
    assert "1 executed" in res.stdout
    row = next(r for r in log_rows(ws) if r["action_id"] == queued["action_id"])
    assert row["status"] == "executed" and row["approval_by"] == "maria"
    assert sandbox_calls(ws).count(queued["action_id"]) == 1


def test_rejected_action_never_runs(ws):
    assert rr(ws, "apply").returncode == 0
    queued = budget_approval(ws)
    rejected = rr(ws, "approvals", "reject", queued["action_id"], "--note", "no", "--by", "maria", "--format", "json")
    assert rejected.returncode == 0, rejected.stderr
    assert json.loads(rejected.stdout) == {"action_id": queued["action_id"], "decision": "rejected", "by": "maria"}
    rr(ws, "apply")
    assert queued["action_id"] not in sandbox_calls(ws)
    bad = rr(ws, "approvals", "approve", queued["action_id"])
    assert bad.returncode == 1 and "Traceback" not in bad.stderr


def test_rollback_run_restores_everything(ws):
    original = plan(ws)
    first = rr(ws, "apply")
    run_id = log_rows(ws, "--status", "executed")[0]["run_id"]
    assert first.returncode == 0
    res = rr(ws, "rollback", "--run", run_id)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("rolled back") == len(auto_actions(original))
    with sqlite3.connect(ws / ".rulerun" / "sandbox.sqlite") as con:
        assert con.execute("SELECT count(*) FROM overrides").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM negative_keywords").fetchone()[0] == 0
    restored = plan(ws)
    strip = lambda p: sorted((a["rule_id"], a["entity_id"], json.dumps(a["after"])) for a in p["actions"])  # noqa: E731
    assert strip(restored) == strip(original)  # the state is back: the same changes are proposed
    # and the plan says apply will not redo them for this date: rolled back (or delivered) in that run
    done = {a["action_id"]: a for a in restored["actions"]}
    for action_id in auto_actions(original):
        assert done[action_id]["status"] == "skipped"
        assert done[action_id]["reasons"][-1] == f"rolled back earlier (run {run_id})"
    statuses = {r["action_id"]: r["status"] for r in log_rows(ws)}
    assert all(statuses[a] == "rolled_back" for a in auto_actions(original))
    notified = [a["action_id"] for a in original["actions"] if a["type"] == "notify"]
    assert notified and all(statuses[a] == "executed" for a in notified)  # a notification is left be
    assert sum(1 for k in statuses if k.startswith("rb-")) == len(auto_actions(original))


def test_rollback_refuses_when_the_entity_changed(ws):
    assert rr(ws, "apply").returncode == 0
    rows = log_rows(ws, "--status", "executed")
    pause = next(r for r in rows if r["action_type"] == "pause")
    assert rr(ws, "rollback", pause["action_id"]).returncode == 0
    again = rr(ws, "rollback", pause["action_id"])
    assert again.returncode == 1 and "rolled_back, not executed" in again.stderr


def test_emergency_stop_executes_nothing_and_exits_4(ws):
    assert rr(ws, "stop", "--reason", "CPA spike under investigation").returncode == 0
    res = rr(ws, "apply")
    assert res.returncode == 4 and "CPA spike" in res.stderr
    assert sandbox_calls(ws) == []
    assert rr(ws, "resume").returncode == 0
    env_stop = rr(ws, "apply", env={"RULERUN_EMERGENCY_STOP": "1"})
    assert env_stop.returncode == 4
    assert rr(ws, "apply").returncode == 0


def test_rate_limit_caps_actions_per_hour_across_runs(ws):
    (ws / "rules" / "guardrails.yaml").write_text("max_actions_per_hour: 3\n")
    rr(ws, "apply")
    assert len(sandbox_calls(ws)) == 3
    rr(ws, "apply")
    assert len(sandbox_calls(ws)) == 3  # the hour's budget is spent across runs
    skipped = [r for r in log_rows(ws, "--status", "skipped")]
    assert any("rate limit" in json.dumps(r) for r in skipped)


@pytest.mark.parametrize("point", ["before_call", "after_call", "after_log"])
def test_crash_at_each_step_never_repeats_or_loses_an_action(ws, point):
    before = plan(ws)
    expected = auto_actions(before)
    crashed = rr(ws, "apply", env={"RULERUN_CRASH_AT": point})
    assert crashed.returncode == -signal.SIGKILL
    calls_after_crash = sandbox_calls(ws)
    assert len(calls_after_crash) == (0 if point == "before_call" else 1)
    res = rr(ws, "apply")
    assert res.returncode == 0, res.stderr
    calls = sandbox_calls(ws)
    assert sorted(calls) == sorted(expected)  # every action exactly once: none twice, none lost
    changed = {r["action_id"] for r in log_rows(ws, "--status", "executed") if r["action_type"] != "notify"}
    assert changed == expected


BATCH = {"RULERUN_SANDBOX_BATCH": "10"}  # the sandbox takes batches, as a platform with a batch endpoint


def first_batch(p: dict, size: int = 10) -> set[str]:
    """The actions apply sends in its first batch: the first account's, in plan order, one per entity."""
    auto = [a for a in p["actions"] if a["action_id"] in auto_actions(p)]
    account = (auto[0]["platform"], auto[0]["account_id"])
    batch: list[dict] = []
    for a in (a for a in auto if (a["platform"], a["account_id"]) == account):
        if len(batch) == size or any((b["level"], b["entity_id"]) == (a["level"], a["entity_id"]) for b in batch):
            break
        batch.append(a)
    return {a["action_id"] for a in batch}


@pytest.mark.parametrize("point", ["before_call", "after_call"])
def test_a_crash_around_a_batch_call_never_repeats_or_loses_an_action(ws, point):
    p = plan(ws)
    expected, first = auto_actions(p), first_batch(p)
    assert len(first) > 1
    crashed = rr(ws, "apply", env={**BATCH, "RULERUN_CRASH_AT": point})
    assert crashed.returncode == -signal.SIGKILL
    # killed after the batch call, before any outcome was logged: the whole batch is in doubt
    assert set(sandbox_calls(ws)) == (set() if point == "before_call" else first)
    res = rr(ws, "apply", env=BATCH)
    assert res.returncode == 0, res.stderr
    assert sorted(sandbox_calls(ws)) == sorted(expected)  # every action exactly once, none replayed
    assert {r["action_id"] for r in log_rows(ws, "--status", "executed") if r["action_type"] != "notify"} == expected
    if point == "after_call":  # each action of the batch settled from the live state
        assert f"{len(first)} reconciled" in res.stdout


def test_lost_responses_and_faults_in_batches_change_nothing_twice(ws):
    expected = auto_actions(plan(ws))
    res = rr(ws, "apply", env={**BATCH, "RULERUN_SANDBOX_FAULTS": "lostx1,503x1,lostx1"})
    assert res.returncode == 0, res.stderr
    assert sorted(sandbox_calls(ws)) == sorted(expected)


def test_two_applies_at_once_execute_nothing_twice(ws):
    cmd = [sys.executable, "-m", "engine.cli.main", "apply", "--rules", str(ws / "rules")]
    procs = [subprocess.Popen(cmd, cwd=ws, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    codes = sorted(p.wait(timeout=120) for p in procs)
    assert codes[0] == 0 and codes[1] in (0, 5)
    calls = sandbox_calls(ws)
    assert len(calls) == len(set(calls))


def test_transient_faults_are_retried_and_permanent_ones_fail(ws):
    expected = auto_actions(plan(ws))
    res = rr(ws, "apply", env={"RULERUN_SANDBOX_FAULTS": "429x2,500x1"})
    assert res.returncode == 0, res.stderr
    assert sorted(sandbox_calls(ws)) == sorted(expected)


def test_permanent_fault_fails_the_action_and_exits_3(ws):
    target = sorted(auto_actions(plan(ws)))[0]
    res = rr(ws, "apply", env={"RULERUN_SANDBOX_FAULTS": f"fail:{target}"})
    assert res.returncode == 3, res.stderr
    row = next(r for r in log_rows(ws) if r["action_id"] == target)
    assert row["status"] == "failed" and row["error_message"]
    assert target not in sandbox_calls(ws)


def test_saved_plan_applies_exactly_and_refuses_when_stale(ws):
    saved = ws / "plan.json"
    assert rr(ws, "evaluate", "--dry-run", "--out", str(saved), "--format", "markdown").returncode == 0
    old = rr(ws, "apply", str(saved), "--max-plan-age", "0m")
    assert old.returncode == 1 and "older than" in old.stderr
    res = rr(ws, "apply", str(saved))
    assert res.returncode == 0, res.stderr
    assert sorted(sandbox_calls(ws)) == sorted(auto_actions(json.loads(saved.read_text())))
    stale = rr(ws, "apply", str(saved))
    assert stale.returncode == 1 and "entity state changed" in stale.stderr


def test_failed_rollback_can_be_retried(ws):
    assert rr(ws, "apply").returncode == 0
    pause = next(r for r in log_rows(ws, "--status", "executed") if r["action_type"] == "pause")
    broken = rr(ws, "rollback", pause["action_id"], env={"RULERUN_SANDBOX_FAULTS": "500x9"})
    assert broken.returncode == 1 and "failed" in broken.stderr
    fixed = rr(ws, "rollback", pause["action_id"])
    assert fixed.returncode == 0, fixed.stderr
    statuses = {r["action_id"]: r["status"] for r in log_rows(ws)}
    assert statuses[pause["action_id"]] == "rolled_back"
    assert statuses[f"rb-{pause['action_id']}"] == "failed" and statuses[f"rb-{pause['action_id']}-2"] == "executed"


def test_approved_action_is_rechecked_on_fresh_numbers(ws):
    assert rr(ws, "apply").returncode == 0
    queued = budget_approval(ws)
    assert rr(ws, "approvals", "approve", queued["action_id"]).returncode == 0
    # four days later with no new data: the approved change would act on stale numbers, so it must not run
    res = rr(ws, "apply", "--as-of", "2026-11-05")
    assert res.returncode == 0, res.stderr
    assert queued["action_id"] not in sandbox_calls(ws)
    row = next(r for r in log_rows(ws) if r["action_id"] == queued["action_id"])
    assert row["status"] == "approved" and "freshness SLA" in row["status_reason"]  # logged, and the approval stands
    on_time = rr(ws, "apply")  # back on fresh data, the approval still stands and it runs
    assert on_time.returncode == 0 and queued["action_id"] in sandbox_calls(ws)


@pytest.mark.postgres
def test_a_shared_postgresql_log_runs_one_apply_at_a_time_across_machines(tmp_path):
    import os

    url = os.environ.get("RULERUN_TEST_PG_URL")
    if not url:
        pytest.skip("RULERUN_TEST_PG_URL not set: PostgreSQL action-log tests need a server")
    import psycopg

    schema = f"rr_apply_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        con.execute(f'CREATE SCHEMA "{schema}"')
    shared = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    machines = []
    for name in ("a", "b"):
        shutil.copytree(REPO / "rules", tmp_path / name / "rules")
        machines.append(tmp_path / name)
    try:
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "engine.cli.main", "apply", "--rules", str(m / "rules")],
                cwd=m,
                env={**os.environ, "RULERUN_LOG_URL": shared},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for m in machines
        ]
        results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
        codes = sorted(code for code, _ in results)
        assert codes[0] == 0 and codes[1] in (0, 5), results
        with psycopg.connect(shared, autocommit=True) as con:
            executed = con.execute(
                "SELECT action_id, count(*) FROM actions_log WHERE status = 'executed' "
                "GROUP BY action_id HAVING count(*) > 1"
            ).fetchall()
        assert executed == []
    finally:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_file_sources_execute_only_on_accounts_rulerun_yaml_lists(tmp_path):
    from tests.helpers.data import design_example_days, entity, october, write_source
    from tests.helpers.rules import pinterest_rules

    rules = pinterest_rules(tmp_path)
    rows = design_example_days("g1", october(1, 31))
    data = write_source(tmp_path / "data", [entity("g1", bid=1.2)], rows)
    res = run("apply", "--rules", str(rules), "--source", f"file:{data}", cwd=tmp_path)
    # the pause cannot execute (account acct is not in rulerun.yaml): exit 3, saying how to fix it
    assert res.returncode == 3 and "Traceback" not in res.stderr
    assert "1 cannot execute" in res.stdout
    assert "not in rulerun.yaml" in res.stderr
    logged = json.loads(run("log", "--format", "json", "--rules", str(rules), cwd=tmp_path).stdout)
    assert any((r.get("status_reason") or "").startswith("cannot execute: ") for r in logged)


def test_impact_checkpoints_at_1_3_and_7_days(ws):
    import duckdb

    res = rr(ws, "apply", "--as-of", "2026-10-20")  # the demo has 11 more days of data after this date
    assert res.returncode == 0, res.stderr
    report = json.loads(rr(ws, "log", "--impact", "--format", "json").stdout)
    executed = log_rows(ws, "--status", "executed")
    assert executed and len(report["actions"]) == 3 * len(executed)
    checkpoint = next(a for a in report["actions"] if a["day"] == 7)
    row = next(r for r in executed if r["action_id"] == checkpoint["action_id"])
    con = duckdb.connect(str(ws / ".rulerun" / "metrics.duckdb"), read_only=True)
    schema = con.execute("SELECT schema_name FROM _rulerun_sources").fetchone()[0]
    key = [row["platform"], row["account_id"], row["level"], row["entity_id"]]
    spend = lambda start, end: con.execute(  # noqa: E731
        f'SELECT coalesce(sum(spend), 0) FROM "{schema}".metrics_daily WHERE platform = ? AND account_id = ? '
        "AND level = ? AND entity_id = ? AND date >= ? AND date < ?",
        [*key, start, end],
    ).fetchone()[0]
    assert checkpoint["before"]["spend"] == pytest.approx(spend("2026-10-13", "2026-10-20"))
    assert checkpoint["after"]["spend"] == pytest.approx(spend("2026-10-20", "2026-10-27"))
    assert f"rule {row['workflow']}/{row['rule_id']} +7d" in report["text"]


def test_cooldown_holds_across_days(ws):
    assert rr(ws, "apply").returncode == 0
    bids = {r["entity_id"] for r in log_rows(ws, "--status", "executed") if r["action_type"] == "change_bid"}
    assert bids
    # the next day the low-CTR rules fire again on the same ad groups (new action ids): their 3d cooldown holds
    res = rr(ws, "apply", "--as-of", "2026-11-02")
    assert res.returncode == 0, res.stderr
    again = [
        r
        for r in log_rows(ws)
        if r["entity_id"] in bids and r["action_type"] == "change_bid" and r["status"] != "executed"
    ]
    assert again and all("cooldown 3d" in (r.get("status_reason") or "") for r in again)


def test_a_failed_action_blocks_similar_ones_for_24_hours(ws):
    target = sorted(auto_actions(plan(ws)))[0]
    assert rr(ws, "apply", env={"RULERUN_SANDBOX_FAULTS": f"fail:{target}"}).returncode == 3
    failed = next(r for r in log_rows(ws) if r["action_id"] == target)
    res = rr(ws, "apply", "--as-of", "2026-11-02")  # the same rule fires again on the same entity
    assert res.returncode == 0, res.stderr
    similar = [
        r
        for r in log_rows(ws)
        if r["entity_id"] == failed["entity_id"]
        and r["action_type"] == failed["action_type"]
        and r["action_id"] != target
    ]
    assert similar and all(
        "failed on this entity in the last 24 hours" in (r.get("status_reason") or "") for r in similar
    )


def test_slack_webhook_hears_about_approvals_and_failures(ws):
    from tests.helpers.webhook import webhook

    target = sorted(auto_actions(plan(ws)))[0]
    with webhook() as (url, received):
        res = rr(ws, "apply", env={"RULERUN_SLACK_WEBHOOK": url, "RULERUN_SANDBOX_FAULTS": f"fail:{target}"})
    assert res.returncode == 3
    texts = [m["text"] for m in received]
    assert any("wait for approval" in t for t in texts) and any("failed" in t for t in texts)
    assert "SECRET-TOKEN" not in res.stdout + res.stderr


def test_rollback_refuses_a_changed_entity_unless_forced(ws):
    from engine.core.execution import ActionRequest, EntityKey
    from platforms.sandbox import DemoSandbox

    assert rr(ws, "apply").returncode == 0
    bid = next(r for r in log_rows(ws, "--status", "executed") if r["action_type"] == "change_bid")
    key = EntityKey(bid["platform"], bid["account_id"], bid["level"], bid["entity_id"])
    now_bid = bid["payload"]["after"]["bid"]
    # someone changes the bid in the platform's own UI after rulerun did
    from engine.core.catalog import load_catalog
    from engine.data.entities import store_baseline
    from engine.data.sources import parse_source
    from engine.data.store import Store

    with Store(ws / ".rulerun") as store:
        loaded = store.load(parse_source("demo"), load_catalog())
        DemoSandbox(ws / ".rulerun", baseline=store_baseline(store.con, loaded)).execute(
            ActionRequest("manual-edit", key, "set_bid", {"amount": 9.99}, {"bid": now_bid}, {"bid": 9.99})
        )
    refused = rr(ws, "rollback", bid["action_id"])
    assert refused.returncode == 1 and "changed since" in refused.stderr
    forced = rr(ws, "rollback", bid["action_id"], "--force")
    assert forced.returncode == 0, forced.stderr
    # restored to the source's own bid: the sandbox keeps no override for it any more
    state = DemoSandbox(ws / ".rulerun", baseline=lambda k: None).overrides()
    assert all(o["bid"] is None for o in state if o["entity_id"] == bid["entity_id"])


def test_emergency_stop_is_checked_before_every_single_action(tmp_path):
    """Engaging the stop while an apply runs halts it before its next action (in-process, real log and sandbox)."""
    from engine.apply.actionlog import open_log
    from engine.apply.adapters import Platforms
    from engine.apply.executor import Executor, apply_plan
    from engine.core.catalog import load_catalog
    from engine.data.entities import store_baseline
    from engine.data.sources import parse_source
    from engine.data.store import Store
    from engine.evaluation.evaluate import build_plan, default_as_of
    from engine.rules.loader import load_project

    catalog = load_catalog()
    project = load_project(REPO / "rules", catalog)
    state = tmp_path / ".rulerun"
    with Store(state) as store, open_log(None, state) as log:
        loaded = store.load(parse_source("demo"), catalog)
        the_plan = build_plan(store.con, loaded, catalog, project, project.workflows, default_as_of(loaded))
        platforms = Platforms("demo", state, store_baseline(store.con, loaded))
        executor = Executor(
            log,
            platforms,
            lambda a: project.guardrails.with_values({"max_actions_per_hour": 100}),
            lambda a: None,
            the_plan.run_id,
            "tester",
        )

        def engage_after_first(done: int, total: int) -> None:
            if done == 1:
                log.engage_stop("spend anomaly", "oncall")

        outcome = apply_plan(the_plan, executor, log, lambda a: "auto", [], progress=engage_after_first)
    assert outcome.counts["executed"] == 1 and outcome.counts["not_executed"] >= 1
    assert outcome.stopped == "spend anomaly" and outcome.exit_code == 4


def test_notify_actions_go_to_the_slack_webhook(tmp_path):
    from tests.helpers.rules import PINTEREST_OPERATOR, write_rules
    from tests.helpers.webhook import webhook

    rules = write_rules(
        tmp_path,
        {
            "pinterest/operator.yaml": PINTEREST_OPERATOR,
            "pinterest/watch.yaml": (
                "workflow: watch\noperator: pinterest\nlevel: ad_group\nwindow: last_7d\nrules:\n"
                "  - id: low_outbound\n    when: outbound_ctr < 0.003 and spend > 500\n"
                "    action: {type: notify, message: outbound CTR under 0.3%}\n"
            ),
        },
    )
    with webhook() as (url, received):
        res = run("apply", "--rules", str(rules), cwd=tmp_path, env={"RULERUN_SLACK_WEBHOOK": url})
    assert res.returncode == 0, res.stderr
    assert any("outbound CTR under 0.3%" in m["text"] and "low_outbound" in m["text"] for m in received)
    logged = json.loads(run("log", "--format", "json", "--rules", str(rules), cwd=tmp_path).stdout)
    assert any("delivered to slack" in (r.get("status_reason") or "") for r in logged)


def test_an_approval_does_not_cover_a_change_edited_after_it(ws):
    assert rr(ws, "apply").returncode == 0
    queued = budget_approval(ws)
    assert rr(ws, "approvals", "approve", queued["action_id"]).returncode == 0
    key = (queued["action_id"],)
    with sqlite3.connect(ws / ".rulerun" / "actions.sqlite") as con:  # edited by hand after the approval
        payload = json.loads(con.execute("SELECT payload FROM actions_log WHERE action_id = ?", key).fetchone()[0])
        payload["after"] = {k: v * 2 for k, v in payload["after"].items()}
        con.execute("UPDATE actions_log SET payload = ? WHERE action_id = ?", (json.dumps(payload), *key))
    res = rr(ws, "apply")
    assert res.returncode == 0, res.stderr
    assert queued["action_id"] not in sandbox_calls(ws)
    row = next(r for r in log_rows(ws) if r["action_id"] == queued["action_id"])
    assert row["status"] == "approved" and "not the change that was approved" in row["status_reason"]
