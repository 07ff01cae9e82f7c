"""The apply flow as a scheduled job and CI see it: exit codes, sources, schedules, and a plan
that agrees with what apply does. Commands run in-process through Click's runner."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import main
from tests.helpers.cli import REPO
from tests.helpers.data import constant_days, design_example_days, entity, october, write_source
from tests.helpers.rules import pinterest_rules


def cli(*args: str, env: dict | None = None):
    runner = CliRunner()
    return runner.invoke(
        main, list(args), env={"RULERUN_USER": "tester", "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    )


@pytest.fixture
def ws(tmp_path):
    """A copy of the shipped rules with its own state directory (100 actions an hour allowed)."""
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    guardrails = tmp_path / "rules" / "guardrails.yaml"
    guardrails.write_text(guardrails.read_text().replace("max_actions_per_hour: 10", "max_actions_per_hour: 100"))
    return tmp_path


def budget_approval(ws: Path) -> dict:
    """The one pending budget change the shipped rules queue on the demo (other types queue too)."""
    pending = json.loads(rr(ws, "approvals", "list", "--format", "json").stdout)
    (queued,) = [p for p in pending if p["action_type"] == "change_budget"]
    return queued


def rr(ws: Path, *args: str, env: dict | None = None):
    return cli(*args, "--rules", str(ws / "rules"), "--state-dir", str(ws / ".rulerun"), env=env)


# -- --detailed-exitcode: 2 means changes, every error is 1 ---------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("--workflow", "nope/missing"),
        ("--source", "bogus"),
        ("--format", "nope"),
        ("--no-such-option",),
        ("--as-of", "yesterday"),
    ],
)
def test_detailed_exitcode_errors_exit_1_never_2(ws, args):
    res = rr(ws, "evaluate", "--detailed-exitcode", *args)
    assert res.exit_code == 1, res.output
    plain = rr(ws, "evaluate", *args)
    assert plain.exit_code == 2  # without the flag a usage error keeps its documented code


def test_detailed_exitcode_missing_rules_folder_exits_1(tmp_path):
    res = cli("evaluate", "--detailed-exitcode", "--rules", str(tmp_path / "nowhere"))
    assert res.exit_code == 1
    assert "not found" in res.output


def test_detailed_exitcode_diff_unknown_ref_exits_1(ws):
    res = rr(ws, "diff", "--base", "no-such-ref-anywhere", "--detailed-exitcode")
    assert res.exit_code == 1, res.output


def test_detailed_exitcode_still_exits_2_for_changes(ws):
    res = rr(ws, "evaluate", "--detailed-exitcode", "--format", "json")
    assert res.exit_code == 2
    assert json.loads(res.stdout)["actions"]


def test_shipped_github_workflow_fails_on_every_error():
    text = (REPO / "examples" / "github-actions" / "rulerun.yml").read_text()
    steps = [x for x in text.splitlines() if "run: rulerun " in x]
    assert any("rulerun evaluate" in x for x in steps)
    for line in steps:
        if "--detailed-exitcode" in line:
            assert "[ $? -eq 2 ]" in line  # 2 (changes) passes; 1 (any error) fails the step
        else:
            assert "||" not in line  # any non-zero exit fails the step


# -- apply on a file: source: actions that cannot execute say why and fail the run -----------------


def file_workspace(root: Path, settings: str | None = None) -> tuple[Path, Path]:
    """The DESIGN example rules and a file source where both rules fire on one ad group."""
    rules = pinterest_rules(root)
    rows = design_example_days("g1", october(1, 31))
    data = write_source(root / "data", [entity("g1", bid=1.2)], rows)
    if settings is not None:
        (root / "rulerun.yaml").write_text(settings)
    return rules, data


def test_apply_on_file_data_says_why_an_action_cannot_execute_and_exits_3(tmp_path):
    rules, data = file_workspace(tmp_path)
    res = cli("apply", "--rules", str(rules), "--source", f"file:{data}")
    assert res.exit_code == 3, res.output
    assert "cannot execute" in res.stdout
    # what is wrong and how to fix it, naming the platform and account
    assert "pinterest account acct" in res.stderr
    assert "rulerun.yaml" in res.stderr and "--source live" in res.stderr
    assert "Traceback" not in res.output
    logged = json.loads(cli("log", "--format", "json", "--rules", str(rules)).stdout)
    reasons = [r.get("status_reason") or "" for r in logged]
    assert any(r.startswith("cannot execute: pinterest account acct") and "rulerun.yaml" in r for r in reasons)


def test_apply_prints_its_run_id_and_log_shows_it(ws):
    res = rr(ws, "apply")
    assert res.exit_code == 0, res.output
    run_id = next(w for w in res.stdout.split() if w.count("-") == 1 and w[:8].isdigit() and "T" in w)
    rows = json.loads(rr(ws, "log", "--format", "json").stdout)
    assert rows and {r["run_id"] for r in rows} == {run_id}
    table = rr(ws, "log")
    assert "run" in table.stdout.splitlines()[1] + table.stdout.splitlines()[2]
    assert run_id in table.stdout


def run_id_of(res) -> str:
    line = next(x for x in res.stdout.splitlines() if x.startswith("run "))
    return line.split()[1]


def test_rollback_of_an_unknown_run_says_it_does_not_exist(ws):
    assert rr(ws, "apply").exit_code == 0
    res = rr(ws, "rollback", "--run", "20990101T000000Z-ffffff")
    assert res.exit_code == 1
    assert "no run '20990101T000000Z-ffffff'" in res.stderr and "Traceback" not in res.output


def test_rollback_dry_run_shows_what_it_would_do_and_changes_nothing(ws):
    applied = rr(ws, "apply")
    run_id = run_id_of(applied)
    before = rr(ws, "evaluate", "--format", "json").stdout
    dry = rr(ws, "rollback", "--run", run_id, "--dry-run")
    assert dry.exit_code == 0, dry.output
    executed = [r for r in json.loads(rr(ws, "log", "--format", "json", "--status", "executed").stdout)]
    changing = [r for r in executed if r["action_type"] != "notify"]
    assert dry.stdout.count("would roll back ") == len(changing) > 0
    assert "->" in dry.stdout and "nothing changed" in dry.stdout
    # nothing was rolled back: the log and the data are as they were
    assert not json.loads(rr(ws, "log", "--format", "json", "--status", "rolled_back").stdout)
    assert json.loads(rr(ws, "evaluate", "--format", "json").stdout)["actions"] == json.loads(before)["actions"]
    real = rr(ws, "rollback", "--run", run_id[:12])  # a unique prefix of the run id
    assert real.exit_code == 0, real.output
    assert real.stdout.count("rolled back ") == len(changing)


def test_action_ids_accept_a_unique_prefix_and_refuse_an_ambiguous_one(ws):
    assert rr(ws, "apply").exit_code == 0
    queued = budget_approval(ws)
    full = queued["action_id"]
    shown = rr(ws, "approvals", "show", full[:6], "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["action_id"] == full
    ids = [r["action_id"] for r in json.loads(rr(ws, "log", "--format", "json").stdout)]
    first = {i[0] for i in ids}
    prefix = next(c for c in sorted(first) if sum(i.startswith(c) for i in ids) > 1)
    ambiguous = rr(ws, "approvals", "show", prefix)
    assert ambiguous.exit_code == 2
    assert "ambiguous" in ambiguous.stderr
    assert sum(i in ambiguous.stderr for i in ids if i.startswith(prefix)) >= 2
    approved = rr(ws, "approvals", "approve", full[:8], "--by", "maria")
    assert approved.exit_code == 0 and full in approved.stdout
    missing = rr(ws, "approvals", "show", "zzzz")
    assert missing.exit_code == 1 and "no action 'zzzz'" in missing.stderr


def test_pending_approvals_name_their_time_columns(ws):
    assert rr(ws, "apply").exit_code == 0
    listing = rr(ws, "approvals", "list").stdout
    assert "queued at" in listing and "expires at" in listing


def test_stop_and_resume_say_when_there_is_nothing_to_change(ws):
    first = rr(ws, "stop", "--reason", "black friday freeze", "--by", "ana")
    assert first.exit_code == 0 and "engaged by ana" in first.stdout
    again = rr(ws, "stop", "--reason", "another reason", "--by", "bo")
    assert again.exit_code == 0
    assert "already engaged by ana" in again.stdout and "black friday freeze" in again.stdout
    # evaluate still shows the plan, and warns that apply will execute nothing
    plan = rr(ws, "evaluate", "--format", "json")
    assert plan.exit_code == 0 and json.loads(plan.stdout)["actions"]
    assert "emergency stop engaged: black friday freeze" in plan.stderr
    assert "released" in rr(ws, "resume").stdout
    idle = rr(ws, "resume")
    assert idle.exit_code == 0 and "not engaged" in idle.stdout
    assert "emergency stop" not in rr(ws, "evaluate", "--format", "json").stderr


def test_evaluate_warns_under_the_environment_stop_too(ws):
    res = rr(ws, "evaluate", "--format", "json", env={"RULERUN_EMERGENCY_STOP": "incident 42"})
    assert "emergency stop engaged: RULERUN_EMERGENCY_STOP=incident 42" in res.stderr


def test_approvals_show_is_readable_text_and_json_on_request(ws):
    assert rr(ws, "apply").exit_code == 0
    queued = budget_approval(ws)
    text = rr(ws, "approvals", "show", queued["action_id"])
    assert text.exit_code == 0, text.output
    assert not text.stdout.lstrip().startswith("{")
    assert "daily_budget: 1,500.00 -> 900.00 (-40%)" in text.stdout
    assert "queued at" in text.stdout and "expires at" in text.stdout
    assert queued["rule_id"] in text.stdout
    doc = json.loads(rr(ws, "approvals", "show", queued["action_id"], "--format", "json").stdout)
    assert doc["action_id"] == queued["action_id"]


# -- the source of a scheduled apply: named in rulerun.yaml, never guessed --------------------------


def test_rulerun_yaml_sets_the_default_source(tmp_path):
    rules, _ = file_workspace(tmp_path, settings="source: file:data\n")
    plan = cli("evaluate", "--rules", str(rules), "--format", "json")
    assert plan.exit_code == 0, plan.output
    doc = json.loads(plan.stdout)
    # the file data (one pinterest ad group g1), not the demo
    assert {a["entity_id"] for a in doc["actions"]} == {"g1"}
    applied = cli("apply", "--rules", str(rules))
    assert "demo sandbox" not in applied.stdout
    assert "cannot execute" in applied.stdout  # it ran on the file data's account
    # --source still wins over the file
    demo = cli("evaluate", "--rules", str(rules), "--format", "json", "--source", "demo")
    assert {a["entity_id"] for a in json.loads(demo.stdout)["actions"]} != {"g1"}


def test_a_bad_source_in_rulerun_yaml_is_an_error_at_its_line(tmp_path):
    rules, _ = file_workspace(tmp_path, settings="state_dir: .rulerun\nsource: warehouse\n")
    res = cli("evaluate", "--rules", str(rules))
    assert res.exit_code == 1
    assert "rulerun.yaml:2:" in res.stderr


def test_apply_on_the_demo_says_nothing_real_changed(ws):
    res = rr(ws, "apply")
    assert res.exit_code == 0
    assert any(x.startswith("Apply (demo sandbox: nothing real changed): ") for x in res.stdout.splitlines())


def test_apply_with_live_accounts_and_no_source_refuses_to_guess(ws):
    (ws / "rulerun.yaml").write_text("platforms:\n  meta:\n    accounts:\n      - {id: act_1029384756}\n")
    res = rr(ws, "apply")
    assert res.exit_code == 1
    assert "meta act_1029384756" in res.stderr and "--source live" in res.stderr
    assert not (ws / ".rulerun" / "actions.sqlite").exists()  # nothing ran, nothing was logged
    # naming the source is enough: the demo sandbox, said so in the summary
    named = rr(ws, "apply", "--source", "demo")
    assert named.exit_code == 0 and "nothing real changed" in named.stdout


# -- apply and the plan agree ---------------------------------------------------------------------


def summary_counts(stdout: str) -> dict[str, int]:
    """The summary line's counts: {"executed": 10, "skipped": 14, ...} (reasons in parentheses left out)."""
    line = next(x for x in stdout.splitlines() if x.startswith("Apply"))
    body = re.sub(r"\([^()]*\)", "", line.split("): ", 1)[-1] if "):" in line else line.split(": ", 1)[1])
    return {m.group(2).strip(): int(m.group(1)) for m in re.finditer(r"(\d+) ([a-z ]+?)\s*(?:,|$)", body.strip())}


def reason_counts(stdout: str) -> dict[str, int]:
    line = next(x for x in stdout.splitlines() if x.startswith("Apply"))
    inside = re.search(r"skipped \((.*?)\)(?:,|$)", line)
    return {m.group(2): int(m.group(1)) for m in re.finditer(r"(\d+) ([^,]+)", inside.group(1))} if inside else {}


def test_apply_counts_every_action_of_the_plan_and_names_the_rate_limit(tmp_path):
    shutil.copytree(REPO / "rules", tmp_path / "rules")  # the shipped 10 actions per hour
    plan = json.loads(rr(tmp_path, "evaluate", "--format", "json").stdout)
    res = rr(tmp_path, "apply")
    assert res.exit_code == 0, res.output
    counts = summary_counts(res.stdout)
    assert sum(counts.values()) == len(plan["actions"])  # nothing vanishes
    assert counts["executed"] == 10
    reasons = reason_counts(res.stdout)
    assert reasons["rate limit: 10 actions per hour reached"] > 0
    assert sum(reasons.values()) == counts["skipped"]


def test_after_apply_the_plan_marks_what_was_done_and_a_reapply_counts_it(ws):
    first = rr(ws, "apply")
    run_id = run_id_of(first)
    executed = {r["action_id"] for r in json.loads(rr(ws, "log", "--format", "json", "--status", "executed").stdout)}
    plan = json.loads(rr(ws, "evaluate", "--format", "json").stdout)
    again = [a for a in plan["actions"] if a["action_id"] in executed]
    assert again, "the rules still fire on some entities they changed"
    for a in again:
        assert a["status"] == "skipped"
        assert f"already executed (run {run_id})" in a["reasons"][-1]
    # nothing done is proposed as a change again, so CI's --detailed-exitcode agrees with apply
    res = rr(ws, "apply", "--all")
    counts = summary_counts(res.stdout)
    assert "executed" not in counts
    assert sum(counts.values()) == len(plan["actions"])
    assert reason_counts(res.stdout)["already executed"] >= len(again)


def test_an_executed_approved_budget_change_is_not_proposed_again_at_once(ws):
    assert rr(ws, "apply").exit_code == 0
    queued = budget_approval(ws)
    assert queued["action_type"] == "change_budget"
    assert rr(ws, "approvals", "approve", queued["action_id"], "--by", "maria").exit_code == 0
    second = rr(ws, "apply")
    assert "1 executed" in second.stdout
    run_id = run_id_of(second)
    plan = json.loads(rr(ws, "evaluate", "--format", "json").stdout)
    same = [a for a in plan["actions"] if a["rule_id"] == queued["rule_id"] and a["entity_id"] == queued["entity_id"]]
    assert all(a["status"] not in ("planned", "clamped", "needs_approval") for a in same)
    assert all(f"run {run_id}" in a["reasons"][-1] for a in same)


def test_cooldown_is_shown_in_the_plan_on_the_next_day(ws):
    assert rr(ws, "apply").exit_code == 0
    executed = json.loads(rr(ws, "log", "--format", "json", "--status", "executed").stdout)
    cooled = {(r["workflow"], r["rule_id"], r["entity_id"]) for r in executed if (r["payload"] or {}).get("cooldown")}
    assert cooled
    plan = json.loads(rr(ws, "evaluate", "--format", "json", "--as-of", "2026-11-02").stdout)
    hits = [a for a in plan["actions"] if (a["workflow"], a["rule_id"], a["entity_id"]) in cooled]
    open_ = [a for a in hits if a["status"] in ("planned", "clamped", "needs_approval")]
    assert not open_, [(a["rule_id"], a["status"]) for a in open_]
    assert any(
        a["reasons"] and a["reasons"][-1].startswith("cooldown ") and "again after" in a["reasons"][-1] for a in hits
    )


# -- schedules: apply runs what is due --------------------------------------------------------------


def record_run(ws: Path, started_at: datetime, workflows: list[str]) -> None:
    """An apply run in the action log's history, as an earlier apply would have left it."""
    from engine.apply.actionlog import open_log

    with open_log(None, ws / ".rulerun") as log:
        log.start_run(
            {
                "run_id": f"{started_at:%Y%m%dT%H%M%SZ}-000000",
                "started_at": started_at,
                "mode": "apply",
                "status": "succeeded",
                "summary": {"workflows": workflows},
            }
        )


def ran_and_waiting(stdout: str) -> tuple[list[str], list[str]]:
    ran = next(x for x in stdout.splitlines() if x.startswith("Due, ran: ")).removeprefix("Due, ran: ")
    waiting = next((x for x in stdout.splitlines() if x.startswith("Not due: ")), "Not due: ")
    return ([] if ran == "none" else ran.split(", ")), re.findall(r"([a-z_]+/[a-z_]+) \(next due ", waiting)


def test_apply_runs_only_the_workflows_due_since_their_last_run(ws):
    every = sorted(w.parent.name + "/" + w.stem for w in (ws / "rules").glob("*/*.yaml") if w.stem != "operator")
    every = [w for w in every if not w.endswith(".test")]
    record_run(ws, datetime.now(UTC) - timedelta(days=40), every)  # every schedule, monthly ones too, fired since
    first = rr(ws, "apply")
    assert first.exit_code == 0, first.output
    ran, waiting = ran_and_waiting(first.stdout)
    assert sorted(ran) == every and waiting == []
    again = rr(ws, "apply")
    ran, waiting = ran_and_waiting(again.stdout)
    assert ran == [] and sorted(waiting) == every
    assert "nothing to do" in again.stdout
    # the plan of a run that ran nothing executes nothing: no action belongs to its run
    assert not json.loads(rr(ws, "log", "--format", "json", "--run", run_id_of(again)).stdout)


def test_workflow_and_all_override_the_schedule(ws):
    assert rr(ws, "apply").exit_code == 0
    one = rr(ws, "apply", "--workflow", "pinterest/daily_optimize")
    assert "Due, ran" not in one.stdout and "Not due" not in one.stdout
    assert "Apply" in one.stdout
    everything = rr(ws, "apply", "--all")
    assert everything.exit_code == 0 and "Not due" not in everything.stdout
    assert "already executed" in everything.stdout
    clash = rr(ws, "apply", "--all", "--workflow", "pinterest/daily_optimize")
    assert clash.exit_code == 2


def test_the_workspace_timezone_reads_schedules_and_a_bad_one_is_positioned(ws):
    (ws / "rulerun.yaml").write_text("timezone: Europe/Berlin\n")
    assert rr(ws, "apply").exit_code == 0
    again = rr(ws, "apply")
    assert re.search(r"next due \d{4}-\d\d-\d\d \d\d:\d\d (CET|CEST)", again.stdout)
    (ws / "rulerun.yaml").write_text("timezone: Mars/Olympus\n")
    bad = rr(ws, "apply")
    assert bad.exit_code == 1 and "rulerun.yaml:1:" in bad.stderr and "Mars/Olympus" in bad.stderr


# -- piped output never wraps -------------------------------------------------------------------------


def test_piped_output_never_wraps_ids_whatever_the_terminal_width(ws):
    """A real process with stdout on a pipe and a narrow COLUMNS: every id stays on one line."""

    def piped(*args: str):
        env = {**os.environ, "COLUMNS": "60", "NO_COLOR": "1", "RULERUN_USER": "tester"}
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "engine.cli.main",
                *args,
                "--rules",
                str(ws / "rules"),
                "--state-dir",
                str(ws / ".rulerun"),
            ],
            cwd=ws,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    applied = piped("apply")
    assert applied.returncode == 0, applied.stderr
    rows = json.loads(piped("log", "--format", "json").stdout)
    table = piped("log").stdout
    for r in rows:
        assert r["action_id"] in table and r["run_id"] in table
    pending = piped("approvals", "list").stdout
    queued = json.loads(piped("approvals", "list", "--format", "json").stdout)
    assert all(q["action_id"] in pending and q["workflow"] + "/" + q["rule_id"] in pending for q in queued)
    plan = json.loads(piped("evaluate", "--format", "json").stdout)
    text = piped("evaluate").stdout
    assert all(a["rule_id"] in text for a in plan["actions"])
    assert any(len(line) > 60 for line in text.splitlines())


def test_file_data_executes_through_the_live_adapter_of_an_account_rulerun_yaml_lists(tmp_path, monkeypatch):
    """Exports read from files, changes made through the platform: the account is in rulerun.yaml."""
    from platforms.pinterest.adapter import PinterestAdapter
    from tests.fakes.pinterest_fake import ACCOUNT, G_MANUAL, PinterestFake
    from tests.fakes.pinterest_fake import env as pinterest_env

    fake = PinterestFake()  # directly: the adapter's wire format is checked by its own tests, through Prism
    try:
        monkeypatch.setattr(PinterestAdapter, "sleep", staticmethod(lambda s: None))
        for name, value in pinterest_env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("PINTEREST_REFRESH_TOKEN", raising=False)
        rules = pinterest_rules(tmp_path)
        rows = constant_days(
            G_MANUAL, october(1, 31), spend=10, impressions=9000, clicks=90, outbound_clicks=9, conversions=0
        )
        for r in rows:
            r["account_id"] = ACCOUNT
        data = write_source(tmp_path / "data", [entity(G_MANUAL, account_id=ACCOUNT, bid=1.1)], rows)
        account = f"{{id: '{ACCOUNT}', endpoint: '{fake.url}'}}"
        (tmp_path / "rulerun.yaml").write_text(
            f"source: file:data\nplatforms:\n  pinterest:\n    accounts:\n      - {account}\n"
        )
        assert data.exists()
        res = cli("apply", "--rules", str(rules))
        assert res.exit_code == 0, res.output
        assert "1 executed" in res.stdout and "demo sandbox" not in res.stdout
        assert fake.ad_groups[G_MANUAL]["bid_in_micro_currency"] == 940_000
    finally:
        fake.close()
