"""The five-minute tour in README.md shows what the commands print on the demo today."""

from __future__ import annotations

import re
import shutil

from tests.helpers.cli import REPO, run

README = (REPO / "README.md").read_text(encoding="utf-8")


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_tour_quotes_the_demo_plan_summary(tmp_path):
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    res = run("evaluate", "--dry-run", "--rules", str(tmp_path / "rules"), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    (summary,) = [x for x in res.stdout.splitlines() if x.startswith("Plan: ")]
    quoted = re.search(r"summary: `(Plan: [^`]+)` on\s+the demo", README)
    assert quoted, "the tour quotes the plan's summary line"
    assert _flat(quoted.group(1)) == summary


def test_the_tour_shows_what_entities_prints(tmp_path):
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    block = re.search(r"```\n\$ rulerun entities (.*?)\n(.*?)```", README, re.S)
    assert block, "the tour shows a rulerun entities example"
    args, shown = block.group(1).split(), block.group(2)
    res = run("entities", *args, "--rules", str(tmp_path / "rules"), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert [_flat(x) for x in res.stdout.splitlines() if x.strip()] == [_flat(x) for x in shown.splitlines()]
