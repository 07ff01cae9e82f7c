"""CI integration: GitHub annotations, the step summary, and Terraform-style detailed exit codes."""

from __future__ import annotations

from tests.helpers.cli import run
from tests.helpers.rules import PINTEREST_WORKFLOW, pinterest_rules


def test_validate_github_annotates_errors_and_writes_the_summary(tmp_path):
    rules = pinterest_rules(tmp_path, workflow=PINTEREST_WORKFLOW.replace("spend > 2", "spnd > 2"))
    summary = tmp_path / "summary.md"
    res = run(
        "validate", "--rules", str(rules), "--format", "github", cwd=tmp_path, env={"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert res.returncode == 1
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith("::error "))
    assert "file=rules/pinterest/daily_optimize.yaml,line=10,col=11::unknown name 'spnd'" in line
    assert "unknown name 'spnd'" in summary.read_text()


def test_evaluate_github_and_detailed_exitcode(tmp_path):
    rules = pinterest_rules(tmp_path)
    summary = tmp_path / "summary.md"
    res = run(
        "evaluate",
        "--dry-run",
        "--rules",
        str(rules),
        "--format",
        "github",
        "--detailed-exitcode",
        cwd=tmp_path,
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert res.returncode == 2, res.stderr  # the demo has Pinterest actions to plan
    notices = [ln for ln in res.stdout.splitlines() if ln.startswith("::")]
    assert any(
        "file=rules/pinterest/daily_optimize.yaml,line=8" in n and "pause_expensive_low_outbound" in n for n in notices
    )
    assert res.stdout.splitlines()[-1].startswith("Plan: ")
    assert summary.read_text().startswith("### rulerun plan")


def test_detailed_exitcode_is_0_without_actions(tmp_path):
    quiet = PINTEREST_WORKFLOW.replace("spend > 2 * thresholds.target_cpa", "spend > 1e12").replace(
        "impressions >= 2000", "impressions >= 1e15"
    )
    res = run(
        "evaluate",
        "--dry-run",
        "--rules",
        str(pinterest_rules(tmp_path, workflow=quiet)),
        "--detailed-exitcode",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr


def test_annotation_escaping():
    from engine.output.ci import annotation

    assert annotation("error", "50% off\nnow", "a,b.yaml", 3) == "::error file=a%2Cb.yaml,line=3::50%25 off%0Anow"


def test_diff_github_annotates_the_rules_whose_actions_change(tmp_path):
    import shutil
    import subprocess

    from tests.helpers.cli import REPO

    shutil.copytree(REPO / "rules", tmp_path / "rules")
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "rules"], cwd=tmp_path, check=True)
    operator = tmp_path / "rules" / "pinterest" / "operator.yaml"
    operator.write_text(operator.read_text().replace("target_cpa: 300", "target_cpa: 250"))
    summary = tmp_path / "summary.md"
    res = run(
        "diff",
        "--base",
        "HEAD",
        "--rules",
        str(tmp_path / "rules"),
        "--format",
        "github",
        "--detailed-exitcode",
        cwd=tmp_path,
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert res.returncode == 2, res.stderr
    assert any(
        ln.startswith("::notice file=rules/pinterest/daily_optimize.yaml,line=8") and "added:" in ln
        for ln in res.stdout.splitlines()
    )
    assert res.stdout.splitlines()[-1].startswith("Diff vs HEAD: +1 action")
    assert summary.exists()


def test_shipped_library_passes_its_rule_tests_and_strict_lint():
    tested = run("test")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.rstrip().splitlines()[-1].endswith(" passed, 0 failed")
    linted = run("lint", "--strict")
    assert linted.returncode == 0 and linted.stdout.strip().endswith("lint: 0 warning(s)"), linted.stdout


def test_rule_tests_github_format_writes_the_step_summary(tmp_path):
    summary = tmp_path / "summary.md"
    res = run("test", "--format", "github", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert res.returncode == 0, res.stdout
    assert summary.read_text().startswith("### rulerun test") and " passed, 0 failed" in summary.read_text()
