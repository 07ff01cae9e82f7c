"""`rulerun diff --base REF`: the plan at a git ref against the working tree, on the demo data."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from engine.authoring.diff import compare_plans, effects
from engine.cli.authoring_commands import diff_command
from engine.core.errors import RulerunError, ValidationFailed
from engine.core.plan import PlannedAction
from tests.helpers.cli import REPO

TIKTOK_BID = "action: {type: change_bid, by_pct: -15}"
NEW_PINTEREST_RULE = """\
  - id: pause_low_outbound
    when: outbound_ctr < 0.0025 and impressions >= 2000
    action: pause
"""


def git(repo, *args: str) -> str:
    res = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return res.stdout


@pytest.fixture
def repo(tmp_path):
    """A git repository whose one commit holds a copy of the shipped rules."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "rules", root / "rules")
    git(tmp_path, "init", "-q", str(root))
    git(root, "add", "rules")
    git(root, "commit", "-q", "-m", "rules")
    return root


def edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def run_diff(repo, tmp_path, capsysbinary, base="HEAD", fmt="json", **kwargs):
    code = diff_command(
        base=base,
        rules=str(repo / "rules"),
        source="demo",
        as_of=None,
        state_dir=str(tmp_path / "state"),
        fmt=fmt,
        **kwargs,
    )
    out = capsysbinary.readouterr().out.decode()
    return code, (json.loads(out) if fmt == "json" else out)


def test_no_changes_is_an_empty_diff_and_exit_0(repo, tmp_path, capsysbinary):
    code, doc = run_diff(repo, tmp_path, capsysbinary, detailed_exitcode=True)
    assert code == 0
    summary = doc["summary"]
    assert (summary["added"], summary["removed"], summary["changed"]) == (0, 0, 0)
    assert summary["unchanged"] > 0
    assert summary["text"].startswith("Diff vs HEAD: no changes")


def test_added_removed_and_changed_actions_against_the_working_tree(repo, tmp_path, capsysbinary):
    rules = repo / "rules"
    # removed: the bid rule's threshold drops below every ad group's outbound CTR
    edit(rules / "pinterest/operator.yaml", "min_outbound_ctr: 0.005", "min_outbound_ctr: 0.001")
    # added: a new pause rule
    (rules / "pinterest/daily_optimize.yaml").write_text(
        (rules / "pinterest/daily_optimize.yaml").read_text() + NEW_PINTEREST_RULE
    )
    # changed: the same rule and entities, a smaller bid cut
    edit(rules / "tiktok/daily_optimize.yaml", TIKTOK_BID, "action: {type: change_bid, by_pct: -10}")

    code, doc = run_diff(repo, tmp_path, capsysbinary, detailed_exitcode=True)

    assert code == 2
    removed = {(a["rule_id"], a["entity_id"]) for a in doc["removed"]}
    assert removed and {rule for rule, _ in removed} == {"lower_bid_low_outbound_ctr"}
    added = doc["added"]
    assert added and {a["rule_id"] for a in added} == {"pause_low_outbound"}
    assert all(a["type"] == "pause" for a in added)
    changed = doc["changed"]
    assert changed and {c["head"]["rule_id"] for c in changed} == {"lower_bid_high_cpa"}
    for c in changed:
        assert "params" in c["fields"] and "after" in c["fields"]
        assert c["base"]["params"] == {"by_pct": -15} and c["head"]["params"] == {"by_pct": -10}
    summary = doc["summary"]
    assert (summary["added"], summary["removed"], summary["changed"]) == (len(added), len(removed), len(changed))
    assert summary["text"].startswith(f"Diff vs HEAD: +{len(added)} action")
    assert f"-{len(removed)}, ~{len(changed)} changed" in summary["text"]


def test_spend_affected_is_the_daily_spend_of_added_actions(repo, tmp_path, capsysbinary):
    rules = repo / "rules"
    (rules / "pinterest/daily_optimize.yaml").write_text(
        (rules / "pinterest/daily_optimize.yaml").read_text() + NEW_PINTEREST_RULE
    )
    _, doc = run_diff(repo, tmp_path, capsysbinary)
    acting = [a for a in doc["added"] if a["status"] in ("planned", "clamped", "needs_approval")]
    assert acting, "the new rule should propose at least one pause that goes ahead"
    per_day = sum(a["spend_per_day"] for a in acting)
    assert per_day > 0
    assert doc["summary"]["spend_affected_per_day"] == pytest.approx(per_day, abs=0.01)
    assert f"spend affected ${per_day:,.2f}/day" in doc["summary"]["text"]


def test_committed_change_against_head_parent(repo, tmp_path, capsysbinary):
    edit(repo / "rules/tiktok/daily_optimize.yaml", TIKTOK_BID, "action: {type: change_bid, by_pct: -10}")
    git(repo, "commit", "-q", "-am", "smaller bid cut")
    _, doc = run_diff(repo, tmp_path, capsysbinary, base="HEAD~1")
    assert doc["summary"]["changed"] > 0 and doc["summary"]["added"] == doc["summary"]["removed"] == 0
    assert doc["base_commit"] == git(repo, "rev-parse", "HEAD~1").strip()
    code, _ = run_diff(repo, tmp_path, capsysbinary, base="HEAD", detailed_exitcode=True)
    assert code == 0


def test_table_and_markdown(repo, tmp_path, capsysbinary):
    edit(repo / "rules/pinterest/operator.yaml", "min_outbound_ctr: 0.005", "min_outbound_ctr: 0.001")
    _, table = run_diff(repo, tmp_path, capsysbinary, fmt="table")
    assert "lower_bid_low_outbound_ctr" in table and "Diff vs HEAD: +0 actions, -" in table
    _, markdown = run_diff(repo, tmp_path, capsysbinary, fmt="markdown")
    assert markdown.startswith("### rulerun diff vs `HEAD`")
    assert "#### Removed (" in markdown and "| Workflow | Entity | Rule | Change | Status |" in markdown


def test_settings_changes_are_reported_and_a_loosening_is_flagged(repo, tmp_path, capsysbinary, monkeypatch):
    rules = repo / "rules"
    edit(rules / "guardrails.yaml", "max_bid_change_pct: 20 ", "max_bid_change_pct: 35 ")  # looser
    edit(rules / "guardrails.yaml", "max_daily_spend_cap: 5000", "max_daily_spend_cap: 4000")  # stricter
    edit(rules / "tiktok/operator.yaml", "target_cpa: 250", "target_cpa: 240")
    code, doc = run_diff(repo, tmp_path, capsysbinary, detailed_exitcode=True)
    assert code == 2  # settings changed, even where no action differs today
    settings = {(c["scope"], c["name"]): c for c in doc["settings"]}
    assert set(settings) == {
        ("global", "max_bid_change_pct"),
        ("global", "max_daily_spend_cap"),
        ("tiktok", "target_cpa"),
    }
    assert [c["name"] for c in doc["settings"] if c["loosens"]] == ["max_bid_change_pct"]
    assert (doc["summary"]["settings_changed"], doc["summary"]["settings_loosened"]) == (3, 1)
    assert doc["summary"]["text"].endswith("3 settings changed, 1 loosened")

    _, text = run_diff(repo, tmp_path, capsysbinary, fmt="table")
    assert "warning: guardrail max_bid_change_pct: 20 -> 35 (loosens a global limit) at " in text
    assert "setting: tiktok threshold target_cpa: 250 -> 240 at " in text
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    _, github = run_diff(repo, tmp_path, capsysbinary, fmt="github")
    (warning,) = [line for line in github.splitlines() if line.startswith("::warning")]
    assert "file=" in warning and "guardrails.yaml,line=6," in warning and "max_bid_change_pct: 20 -> 35" in warning
    assert "| guardrail max\\_bid\\_change\\_pct | 20 | 35 | **loosens** |" in summary.read_text()


def test_workflow_selection_limits_both_sides(repo, tmp_path, capsysbinary):
    edit(repo / "rules/pinterest/operator.yaml", "min_outbound_ctr: 0.005", "min_outbound_ctr: 0.001")
    _, doc = run_diff(repo, tmp_path, capsysbinary, workflows=("tiktok/daily_optimize",))
    assert doc["summary"]["removed"] == 0 and doc["summary"]["unchanged"] > 0


def test_invalid_rules_at_the_base_are_errors_of_the_ref(repo, tmp_path, capsysbinary):
    workflow = repo / "rules/pinterest/daily_optimize.yaml"
    edit(workflow, "when: spend > 2", "when: spnd > 2")
    git(repo, "commit", "-q", "-am", "typo")
    edit(workflow, "when: spnd > 2", "when: spend > 2")  # fixed in the working tree
    with pytest.raises(ValidationFailed) as exc:
        run_diff(repo, tmp_path, capsysbinary)
    assert exc.value.exit_code == 1
    assert "rules at HEAD" in exc.value.message
    files = {d.file for d in exc.value.diagnostics}
    assert files == {"HEAD:rules/pinterest/daily_optimize.yaml"}
    assert any("spnd" in d.message for d in exc.value.diagnostics)


def test_rules_folder_added_after_the_base(tmp_path, capsysbinary):
    root = tmp_path / "repo"
    root.mkdir()
    git(tmp_path, "init", "-q", str(root))
    (root / "README").write_text("before the rules\n")
    git(root, "add", "README")
    git(root, "commit", "-q", "-m", "start")
    shutil.copytree(REPO / "rules", root / "rules")
    _, doc = run_diff(root, tmp_path, capsysbinary)
    assert doc["summary"]["removed"] == 0 and doc["summary"]["added"] > 0
    assert any("did not exist at HEAD" in n for n in doc["notes"])


def test_bad_ref_exits_1_with_a_hint(repo, tmp_path, capsysbinary):
    with pytest.raises(RulerunError) as exc:
        run_diff(repo, tmp_path, capsysbinary, base="no-such-branch")
    assert exc.value.exit_code == 1
    assert "no-such-branch" in exc.value.message and exc.value.hint
    with pytest.raises(RulerunError):
        run_diff(repo, tmp_path, capsysbinary, base="--output=/tmp/x")


def test_rules_outside_a_git_repository_exits_1(tmp_path, capsysbinary, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # never find a repository above tmp_path
    plain = tmp_path / "plain"
    shutil.copytree(REPO / "rules", plain / "rules")
    with pytest.raises(RulerunError) as exc:
        run_diff(plain, tmp_path, capsysbinary)
    assert "not in a git repository" in exc.value.message and "git init" in exc.value.hint


# -- pure comparison -------------------------------------------------------------------------


def action(rule_id: str, entity_id: str, type_: str = "pause", status: str = "planned", **kw) -> PlannedAction:
    return PlannedAction(
        workflow="p/w",
        rule_id=rule_id,
        platform="pinterest",
        account_id="a",
        level="ad_group",
        entity_id=entity_id,
        entity_name=None,
        type=type_,
        params=kw.pop("params", {}),
        before={"status": "active"},
        after=kw.pop("after", {"status": "paused"}),
        status=status,
        action_id=f"{rule_id}-{entity_id}-{status}",
        **kw,
    )


def test_compare_plans_matches_by_key_and_reports_what_differs():
    base = [action("r", "1"), action("r", "2"), action("r", "3", status="blocked")]
    head = [action("r", "2"), action("r", "3"), action("r", "4", spend=70.0), action("r", "5", status="blocked")]
    diff = compare_plans(
        base, head, lambda a: (a.spend or 0) / 7, base_ref="main", base_commit="0" * 40, source="demo", as_of=None
    )
    assert [a.entity_id for a in diff.added] == ["4", "5"]
    assert [a.entity_id for a in diff.removed] == ["1"]
    assert [(c.head.entity_id, c.fields) for c in diff.changed] == [("3", ["status"])]
    assert diff.unchanged == 1
    assert diff.spend_per_day == pytest.approx(10.0)  # the blocked addition touches no spend
    # planned pauses: 2 at the base (1, 2), 3 now (2, 3, 4)
    assert diff.effects == ["pauses 1 more ad group"]
    assert diff.summary_line() == (
        "Diff vs main: +2 actions, -1, ~1 changed; pauses 1 more ad group; spend affected $10.00/day"
    )


def test_effects_count_fewer_and_pluralize():
    base = [action("r", str(i), type_="change_bid", after={"bid": 1.0}) for i in range(3)]
    assert effects(base, []) == ["changes the bid of 3 fewer ad groups"]
