"""The rules folder is found upward from the working directory, as git finds `.git`."""

from __future__ import annotations

import shutil

import pytest

from engine.rules.workspace import Workspace, find_rules
from tests.helpers.cli import REPO, run


@pytest.fixture
def repo(tmp_path):
    """A repository with the shipped rules, a rulerun.yaml naming the state directory, and nested folders."""
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    (tmp_path / "docs" / "deep").mkdir(parents=True)
    return tmp_path


def test_found_from_a_nested_folder(repo):
    assert find_rules(repo / "docs" / "deep") == repo / "rules"
    assert find_rules(repo / "rules" / "meta") == repo / "rules"


def test_at_the_working_directory_it_stays_relative(repo):
    assert str(find_rules(repo)) == "rules"


def test_rulerun_yaml_marks_the_workspace_even_before_its_rules_exist(tmp_path):
    (tmp_path / "rulerun.yaml").write_text("state_dir: var/state\n")
    (tmp_path / "sub").mkdir()
    assert find_rules(tmp_path / "sub") == tmp_path / "rules"


def test_a_rules_folder_without_rule_files_is_not_a_workspace(tmp_path):
    outer = tmp_path / "outer"
    shutil.copytree(REPO / "rules", outer / "rules")
    (outer / "inner" / "rules").mkdir(parents=True)  # an empty rules/ on the way up is passed over
    (outer / "inner" / "rules" / "notes.txt").write_text("not rules")
    assert find_rules(outer / "inner") == outer / "rules"


def test_the_nearest_workspace_wins(tmp_path):
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    shutil.copytree(REPO / "rules" / "meta", tmp_path / "brand" / "rules" / "meta")
    (tmp_path / "brand" / "src").mkdir()
    assert find_rules(tmp_path / "brand" / "src") == tmp_path / "brand" / "rules"


def test_state_and_settings_follow_the_found_rules(repo, monkeypatch):
    (repo / "rulerun.yaml").write_text("state_dir: var/state\n")
    monkeypatch.chdir(repo / "docs" / "deep")
    monkeypatch.delenv("RULERUN_RULES", raising=False)
    monkeypatch.delenv("RULERUN_STATE_DIR", raising=False)
    ws = Workspace.resolve(None, None)
    assert ws.rules == repo / "rules" and ws.state_dir == repo / "var" / "state"


def test_rules_option_and_variable_win_over_discovery(repo, tmp_path_factory, monkeypatch):
    other = tmp_path_factory.mktemp("other") / "rules"
    monkeypatch.chdir(repo / "docs")
    monkeypatch.setenv("RULERUN_RULES", str(other))
    assert Workspace.resolve(None, None).rules == other
    assert Workspace.resolve(str(repo / "rules" / "meta"), None).rules == repo / "rules" / "meta"


def test_validate_from_inside_the_repository(repo):
    result = run("validate", cwd=repo / "rules" / "meta", env={"RULERUN_RULES": ""})
    assert result.returncode == 0, result.stderr
    assert "workflow" in result.stdout.lower()


def test_no_workspace_anywhere_says_how_to_fix_it(tmp_path):
    result = run("validate", cwd=tmp_path, env={"RULERUN_RULES": ""})
    assert result.returncode == 2 and "rules folder 'rules' not found" in result.stderr
    assert "or below it" in result.stderr and "Traceback" not in result.stderr
