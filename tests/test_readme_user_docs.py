"""What the README tells users about rule test files, environment variables and shell completion holds."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.helpers.cli import REPO, run

README = (REPO / "README.md").read_text(encoding="utf-8")
TEST_HOOKS = {"RULERUN_CRASH_AT", "RULERUN_SANDBOX_BATCH", "RULERUN_SANDBOX_FAULTS"}  # for the test suite only


def _section(title: str) -> str:
    start = README.index(title)
    following = re.search(r"\n#{2,4} ", README[start + len(title) :])
    return README[start : start + len(title) + (following.start() if following else len(README))]


def test_every_key_of_a_rule_test_file_is_documented():
    schema = json.loads((REPO / "schemas" / "rule-test.schema.json").read_text())
    test = schema["properties"]["tests"]["items"]
    keys = set(schema["properties"]) | set(test["properties"])
    keys |= set(test["properties"]["entities"]["items"]["properties"])
    keys |= set(test["properties"]["expect"]["items"]["properties"])
    doc = _section("#### Rule test files")
    missing = sorted(k for k in keys if f"`{k}`" not in doc)
    assert not missing, f"README's rule test section does not mention {missing}"


def test_the_rule_test_example_in_the_readme_passes(tmp_path):
    example = re.search(r"```yaml\n# rules/(\w+)/(\w+)\.test\.yaml\n(.*?)```", _section("#### Rule test files"), re.S)
    assert example, "the section shows a test file"
    operator, workflow, text = example.groups()
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    path = tmp_path / "rules" / operator / f"readme_{workflow}.test.yaml"
    path.write_text(text, encoding="utf-8")
    result = run("test", str(path), "--rules", str(tmp_path / "rules"))
    assert result.returncode == 0 and "1 passed, 0 failed" in result.stdout, result.stdout + result.stderr


def _variables_read_by_the_code() -> set[str]:
    found = set()
    for folder in ("engine", "platforms"):
        for path in (REPO / folder).rglob("*.py"):
            found |= set(re.findall(r"RULERUN_[A-Z_]+[A-Z]", path.read_text(encoding="utf-8")))
    return found - TEST_HOOKS


def test_every_environment_variable_is_documented():
    variables = _variables_read_by_the_code()
    assert {"RULERUN_RULES", "RULERUN_STATE_DIR"} <= variables
    table = _section("### Where rulerun finds the rules folder")
    missing = sorted(v for v in variables if f"`{v}`" not in table)
    assert not missing, f"README's table of variables lacks {missing}"


def _complete(env: dict[str, str]) -> str:
    """What the command prints when the shell asks it for completion (Click reads these variables)."""
    from click.testing import CliRunner

    from engine.cli.main import main

    result = CliRunner().invoke(main, [], env=env, prog_name="rulerun")
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_documented_completion_commands_print_a_completion_script(shell):
    line = f"_RULERUN_COMPLETE={shell}_source rulerun"
    assert line in _section("### Shell completion")
    assert "_rulerun_completion" in _complete({"_RULERUN_COMPLETE": f"{shell}_source"})


def test_completion_offers_the_commands():
    out = _complete({"_RULERUN_COMPLETE": "bash_complete", "COMP_WORDS": "rulerun back", "COMP_CWORD": "1"})
    assert "plain,backtest" in out.splitlines()
