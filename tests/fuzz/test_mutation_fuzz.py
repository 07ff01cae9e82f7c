"""Mutation fuzz of the shipped rules folder through the real commands, in process.

Each example mutates the text of one shipped file (rule, operator, guardrails, rule test or
rulerun.yaml): lines deleted, duplicated, re-indented or swapped, values replaced by other
shapes, tags, anchors and aliases, look-alike and invisible Unicode, numbers out of range.
Then `validate`, `lint`, `test` and `evaluate` must each exit 0 or 1, print no traceback,
and every error or warning line must name file:line[:col].

CI runs a few examples; HYPOTHESIS_PROFILE=nightly runs many more.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli.main import main
from tests.fuzz.shapes import NIGHTLY, dump, samples
from tests.helpers.cli import REPO

RULES = REPO / "rules"
FILES = [*sorted(str(p.relative_to(REPO)) for p in RULES.rglob("*.yaml")), "rulerun.yaml"]
TEXTS = {rel: (REPO / rel).read_text(encoding="utf-8") for rel in FILES if rel != "rulerun.yaml"}
TEXTS["rulerun.yaml"] = dump(samples()["config"][1] | {"state_dir": "state"})

VALUES = [
    "[1, 2]",
    "{a: 1}",
    "null",
    "''",
    "' '",
    "-1",
    "true",
    ".nan",
    "-.inf",
    "9" * 400,
    "1.0e+309",
    '"\\ud800"',
    "!foo x",
    "!!python/name:os.system",
    "!!binary aGk=",
    "*nowhere",
    "&a [*a]",
    "<<",
    "=",
    "ｓｐｅｎｄ > 1",
    "spend > 1e400",
    "[" * 80 + "]" * 80,
    '"[/]"',
    "x[bold]:100:",
    "{type: notify, message: '[/] :100:'}",
]
INSERTS = ["ｓ", "\u202e", "\u200b", "é", "\t", "\x00", "\x85", "&x ", "*x ", "!!str ", "#", ":", "'", '"', "- "]
DIAGNOSTIC = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+)(:(?P<col>\d+))?: (error|warning): ")


@st.composite
def mutated(draw) -> tuple[str, str]:
    rel = draw(st.sampled_from(FILES))
    lines = TEXTS[rel].split("\n")
    for _ in range(draw(st.integers(1, 3))):
        lines = lines or [""]
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "indent", "dedent", "swap", "value", "insert", "cut"]))
        line = lines[i]
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, line)
        elif op == "indent":
            lines[i] = "  " + line
        elif op == "dedent":
            lines[i] = line[2:] if line.startswith("  ") else line
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            a, b = lines[i].partition(": "), lines[j].partition(": ")
            if a[1] and b[1]:
                lines[i], lines[j] = a[0] + ": " + b[2], b[0] + ": " + a[2]
        elif op == "value" and ": " in line:
            lines[i] = line.partition(": ")[0] + ": " + draw(st.sampled_from(VALUES))
        elif op == "insert":
            k = draw(st.integers(0, len(line)))
            lines[i] = line[:k] + draw(st.sampled_from(INSERTS)) + line[k:]
        elif op == "cut":
            lines = lines[:i]
    return rel, "\n".join(lines)


@pytest.fixture(scope="module")
def state(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("state")  # shared: the demo data is loaded once


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    return root


def check(result, command: str) -> None:
    assert isinstance(result.exception, SystemExit | type(None)), (command, result.exception)
    assert result.exit_code in (0, 1), (command, result.exit_code, result.output)
    assert "Traceback" not in result.output, (command, result.output)
    for line in result.output.splitlines():
        if ": error: " in line or ": warning: " in line or line.startswith(("error:", "warning:")):
            assert DIAGNOSTIC.match(line), (command, line)


@settings(
    max_examples=1500 if NIGHTLY else 8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(change=mutated())
def test_mutated_rule_folders_never_crash(workspace, state, change):
    rel, text = change
    shutil.rmtree(workspace, ignore_errors=True)
    for name, original in TEXTS.items():
        path = workspace / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text if name == rel else original, encoding="utf-8")
    rules = str(workspace / "rules")
    operator = Path(rel).parts[1] if rel.count("/") == 2 else "pinterest"
    runner = CliRunner()
    check(runner.invoke(main, ["validate", "--rules", rules]), "validate")
    check(runner.invoke(main, ["lint", "--rules", rules]), "lint")
    check(runner.invoke(main, ["test", "--rules", rules, str(workspace / "rules" / operator)]), "test")
    evaluate = ["evaluate", "--rules", rules, "--state-dir", str(state), "--workflow", operator]
    check(runner.invoke(main, evaluate), "evaluate")
