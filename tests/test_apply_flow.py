"""The apply flow as a scheduled job and CI see it: exit codes, sources, schedules, and a plan
that agrees with what apply does. Commands run in-process through Click's runner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import main
from tests.helpers.cli import REPO


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


def test_shipped_github_workflow_accepts_only_0_and_2():
    text = (REPO / "examples" / "github-actions" / "rulerun.yml").read_text()
    line = next(x for x in text.splitlines() if "--detailed-exitcode" in x)
    assert "[ $? -eq 2 ]" in line  # 1 (any error) fails the step
