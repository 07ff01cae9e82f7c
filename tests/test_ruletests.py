"""`rulerun test`: the shipped rule tests pass, failures show expected vs got, bad files point at file:line:col."""

from __future__ import annotations

import shutil
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.authoring import ruletests
from engine.cli.authoring_commands import test_command
from engine.core.catalog import load_catalog
from engine.core.errors import UsageError, ValidationFailed
from engine.core.yamlpos import display_path
from engine.rules.loader import load_project
from tests.helpers.cli import REPO

# A valid test file; the bad-input cases below each break one thing in it.
BASE = """\
workflow: daily_optimize
as_of: 2026-11-01
tests:
  - name: expensive ad group is paused
    entities:
      - {id: g1, bid: 1.20}
    metrics:
      g1:
        spend: 120 x 7
        impressions: 9000 x 7
        outbound_clicks: 9 x 7
    expect:
      - {rule: pause_expensive_low_outbound, entity: g1, type: pause, status: planned}
  - name: ad group just under the threshold is not paused
    entities:
      - {id: g1, bid: 1.20}
    metrics:
      g1:
        spend: [85, 85, 85, 85, 85, 85, 80]
        impressions: 9000 x 7
        outbound_clicks: 9 x 7
    expect:
      - {rule: lower_bid_low_outbound_ctr, entity: g1, status: planned, after: {bid: 1.02}}
    expect_no:
      - {rule: pause_expensive_low_outbound}
"""


def write_tests(tmp_path: Path, text: str, name: str = "daily_optimize.test.yaml") -> Path:
    """A rules folder with the shipped Pinterest operator and workflow, and `text` as a test file beside them."""
    folder = tmp_path / "rules" / "pinterest"
    if not folder.exists():
        folder.mkdir(parents=True)
        for f in ("operator.yaml", "daily_optimize.yaml"):
            shutil.copy(REPO / "rules" / "pinterest" / f, folder / f)
    (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder / name


def run(rules: Path, *, paths: list[str] | None = None, run_regex=None, junit=None, fmt="text") -> int:
    return test_command(paths or [str(rules)], str(rules), run_regex, junit, fmt)


def position(text: str, marker: str) -> tuple[int, int]:
    """1-based line and column of the first occurrence of `marker`."""
    offset = text.index(marker)
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


# --------------------------------------------------------------------------- the shipped library


def test_shipped_rule_tests_all_pass(monkeypatch, capsys):
    monkeypatch.chdir(REPO)  # the default path is the rules folder
    assert test_command([], None, None, None, "text") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    total = len(ruletests.load_tests(ruletests.find_test_files([REPO / "rules"]), None, load_catalog()))
    assert total >= 30
    assert lines == [f"{total} passed, 0 failed"]


def test_every_shipped_rule_has_a_test_where_it_fires_and_one_where_it_must_not():
    catalog = load_catalog()
    project = load_project(REPO / "rules", catalog)
    tests = ruletests.load_tests(ruletests.find_test_files([REPO / "rules"]), None, catalog)
    for wf in project.workflows:
        assert (REPO / "rules" / wf.operator.name / f"{wf.name}.test.yaml").exists(), wf.id
        mine = [t for t in tests if t.workflow.id == wf.id]
        for rule in wf.rules:
            fires = any(e.fields.get("rule") == rule.id for t in mine for e in t.expect)
            silent = any(
                t.expect_nothing is not None or any(e.fields.get("rule", rule.id) == rule.id for e in t.expect_no)
                for t in mine
            )
            assert fires and silent, f"{wf.id}/{rule.id}: fires={fires} must-not={silent}"


# --------------------------------------------------------------------------- failures


def test_a_failing_test_shows_expected_and_got(tmp_path, capsys):
    text = BASE.replace("type: pause, status: planned}", "type: pause, status: blocked}")
    path = write_tests(tmp_path, text)
    assert run(tmp_path / "rules") == 1
    out = capsys.readouterr().out
    name_line, _ = position(text, "- name: expensive")
    expect_line, _ = position(text, "      - {rule: pause_expensive_low_outbound, entity: g1, type: pause")
    assert f"FAIL {display_path(path)}:{name_line}: expensive ad group is paused" in out
    assert (
        f"expected (line {expect_line}): {{rule: pause_expensive_low_outbound, entity: g1, type: pause, "
        "status: blocked}" in out
    )
    assert "got for g1:" in out
    assert (
        "{rule: pause_expensive_low_outbound, entity: g1, type: pause, status: planned, after: {status: paused}}" in out
    )
    assert "after: {bid: 1.02}, guardrails: [conflict]}" in out  # the bid cut lost to the pause
    assert out.strip().splitlines()[-1] == "1 passed, 1 failed"


def test_expect_no_and_expect_nothing_failures_list_the_actions(tmp_path, capsys):
    text = BASE.replace("expect_no:\n      - {rule: pause_expensive_low_outbound}", "expect_no:\n      - {entity: g1}")
    text = text.replace(
        "    expect:\n      - {rule: pause_expensive_low_outbound, entity: g1, type: pause, status: planned}",
        "    expect: []",
    )
    write_tests(tmp_path, text)
    assert run(tmp_path / "rules") == 1
    out = capsys.readouterr().out
    assert f"expected no action at all (line {position(text, 'expect: []')[0]})" in out
    assert f"expected no action like (line {position(text, '- {entity: g1}')[0]}): {{entity: g1}}" in out
    assert "{rule: lower_bid_low_outbound_ctr, entity: g1, type: change_bid, status: planned" in out
    assert out.strip().splitlines()[-1] == "0 passed, 2 failed"


def test_numeric_platform_ids_and_a_brand_parent(tmp_path, capsys):
    write_tests(
        tmp_path,
        """\
        workflow: daily_optimize
        as_of: 2026-11-01
        tests:
          - name: numeric ids under a brand campaign
            entities:
              - {id: 1001, level: campaign, is_brand: true}
              - {id: 23851234, parent: 1001, bid: 1.20}
            metrics:
              23851234: {spend: 120 x 7, impressions: 9000 x 7, outbound_clicks: 9 x 7}
            expect:
              - {entity: 23851234, type: pause, status: blocked, guardrails: [brand_campaigns_no_auto_pause]}
        """,
    )
    assert run(tmp_path / "rules") == 0, capsys.readouterr().out


def test_money_is_compared_to_the_cent():
    action = SimpleNamespace(
        rule_id="r", entity_id="g1", type="change_bid", status="planned",
        params={"by_pct": -15}, before={"bid": 1.2}, after={"bid": 1.02}, guardrails=[],
    )  # fmt: skip
    assert ruletests.matches({"after": {"bid": 1.02}}, action)
    assert ruletests.matches({"after": {"bid": 1.024}}, action)
    assert not ruletests.matches({"after": {"bid": 1.03}}, action)
    assert ruletests.matches({"params": {"by_pct": -15}, "guardrails": []}, action)
    assert not ruletests.matches({"guardrails": ["conflict"]}, action)


# --------------------------------------------------------------------------- bad input

BAD = [
    ("workflow: daily_optimize", "workflow: daily_optimise", "daily_optimise", "no workflow 'daily_optimise'"),
    ("{rule: pause_expensive_low_outbound, entity: g1, type", "{rule: pause_expensiv, entity: g1, type",
     "pause_expensiv", "no rule 'pause_expensiv' in pinterest/daily_optimize"),
    ("entity: g1, type: pause", "entity: g7, type: pause", "g7", "unknown entity 'g7'"),
    ("      g1:\n        spend: 120 x 7", "      g9:\n        spend: 120 x 7", "g9", "metrics for unknown entity 'g9'"),
    ("spend: 120 x 7", "spend: 12 x", "12 x", "spend of g1: '12 x' is not a daily series"),
    ("spend: 120 x 7", "spend: x 7", "x 7", "spend of g1: 'x 7' is not a daily series"),
    ("spend: 120 x 7", "spend: [1, 2, 3, 4, 5, 6, 7, 8]", "[1, 2",
     "spend of g1: 8 daily values, but daily_optimize reads at most 7 days before as_of (last_7d)"),
    ("spend: 120 x 7", "spend: 120 x 9", "120 x 9", "9 daily values"),
    ("spend: 120 x 7", "spend: 840", "840", "spend of g1: a single number is ambiguous"),
    ("spend: 120 x 7", "outbound_ctr: 0.01 x 7", "outbound_ctr", "outbound_ctr is computed"),
    ("as_of: 2026-11-01", "as_of: 2026-13-01", "2026-13-01", "as_of: '2026-13-01' is not a date"),
    ("as_of: 2026-11-01", "as_of: 2026-11-31", "2026-11-31", "as_of: '2026-11-31' is not a date"),
    ("as_of: 2026-11-01", "as_of: next week", "next week", "as_of: 'next week' is not a date"),
    ("{id: g1, bid: 1.20}", "{id: g1, bid: 1.20, statuz: paused}", "statuz",
     "unknown key 'statuz' in test 'expensive ad group is paused' entity 'g1'"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "marker", "message"), BAD, ids=[case[3][:40] for case in BAD])
def test_bad_input_is_reported_at_file_line_col(tmp_path, old, new, marker, message):
    assert old in BASE
    text = BASE.replace(old, new, 1)
    path = write_tests(tmp_path, text)
    with pytest.raises(ValidationFailed) as info:
        run(tmp_path / "rules")
    assert info.value.exit_code == 1
    line, col = position(text, marker)
    found = [d for d in info.value.diagnostics if message in d.message]
    assert found, [d.format() for d in info.value.diagnostics]
    assert (found[0].file, found[0].line, found[0].col) == (display_path(path), line, col)
    assert found[0].hint


def test_every_problem_of_every_file_is_reported_at_once(tmp_path):
    broken = BASE.replace("spend: 120 x 7", "spend: 12 x").replace("entity: g1, type", "entity: g7, type")
    write_tests(tmp_path, broken)
    write_tests(tmp_path, BASE.replace("as_of: 2026-11-01", "as_of: 2026-02-30"), name="other.test.yaml")
    with pytest.raises(ValidationFailed) as info:
        run(tmp_path / "rules")
    messages = [d.message for d in info.value.diagnostics]
    assert any("'12 x'" in m for m in messages)
    assert any("unknown entity 'g7'" in m for m in messages)
    assert any("'2026-02-30' is not a date" in m for m in messages)


def test_a_test_file_outside_an_operator_folder_is_an_error(tmp_path):
    write_tests(tmp_path, BASE)
    stray = tmp_path / "rules" / "stray.test.yaml"
    stray.write_text(BASE, encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        run(tmp_path / "rules")
    (d,) = info.value.diagnostics
    assert (d.file, d.line, d.col) == (display_path(stray), 1, 1)
    assert "not in an operator folder" in d.message


# --------------------------------------------------------------------------- selection and outputs


def test_run_selects_tests_by_file_and_name(tmp_path, capsys):
    write_tests(tmp_path, BASE.replace("type: pause, status: planned}", "type: pause, status: blocked}"))
    assert run(tmp_path / "rules", run_regex=r"pinterest/daily_optimize\.test\.yaml::.*under") == 0
    assert capsys.readouterr().out.strip() == "1 passed, 0 failed"
    assert run(tmp_path / "rules", run_regex="::expensive") == 1
    assert capsys.readouterr().out.strip().endswith("0 passed, 1 failed")
    with pytest.raises(UsageError):
        run(tmp_path / "rules", run_regex="no such test")
    with pytest.raises(UsageError):
        run(tmp_path / "rules", run_regex="(")


def test_junit_xml_has_a_suite_per_file_and_a_case_per_test(tmp_path, capsys):
    failing = write_tests(tmp_path, BASE.replace("type: pause, status: planned}", "type: pause, status: blocked}"))
    passing = write_tests(tmp_path, BASE, name="other.test.yaml")
    junit = tmp_path / "out" / "junit.xml"
    junit.parent.mkdir()
    assert run(tmp_path / "rules", junit=str(junit)) == 1
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "4" and root.get("failures") == "1"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {display_path(failing), display_path(passing)}
    cases = suites[display_path(failing)].findall("testcase")
    assert [c.get("name") for c in cases] == [
        "expensive ad group is paused",
        "ad group just under the threshold is not paused",
    ]
    (failure,) = cases[0].findall("failure")
    assert failure.get("message").startswith("expected (line 13): {rule: pause_expensive_low_outbound")
    assert "got for g1:" in failure.text
    assert not cases[1].findall("failure") and not suites[display_path(passing)].findall("testcase/failure")
    assert [p.name for p in junit.parent.iterdir()] == ["junit.xml"]  # no temporary file left behind


def test_github_format_annotates_the_failing_test(tmp_path, capsys):
    text = BASE.replace("type: pause, status: planned}", "type: pause, status: blocked}")
    path = write_tests(tmp_path, text)
    assert run(tmp_path / "rules", fmt="github") == 1
    out = capsys.readouterr().out
    annotations = [line for line in out.splitlines() if line.startswith("::error ")]
    assert len(annotations) == 1
    line = position(text, "- name: expensive")[0]
    assert annotations[0].startswith(f"::error file={display_path(path)},line={line}::expensive ad group is paused: ")
    assert "expected (line 13)" in annotations[0] and "%0A" in annotations[0]


def test_github_format_annotates_invalid_files(tmp_path, capsys):
    path = write_tests(tmp_path, BASE.replace("spend: 120 x 7", "spend: 12 x"))
    with pytest.raises(ValidationFailed):
        run(tmp_path / "rules", fmt="github")
    line, col = position(BASE.replace("spend: 120 x 7", "spend: 12 x"), "12 x")
    assert f"::error file={display_path(path)},line={line},col={col}::spend of g1" in capsys.readouterr().out
