"""Hostile YAML never crashes, hangs or slips through: each is an error at its file:line:col.

Every YAML-level case runs under both parsers (libyaml's and PyYAML's pure-Python one), which
must refuse the same inputs at the same places.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.authoring.ruletests import load_tests
from engine.cli.main import main
from engine.core import limits
from engine.core.catalog import load_catalog
from engine.core.errors import Diagnostic, ValidationFailed
from engine.core.yamlpos import PARSERS, load_file, load_text
from engine.language.expr import ExprError, compile_expr
from engine.rules.loader import load_project
from engine.rules.scope import RuleScope
from tests.helpers.rules import PINTEREST_OPERATOR, PINTEREST_WORKFLOW, pinterest_rules, write_rules

parsers = pytest.mark.parametrize("parser", sorted(PARSERS))


def refused(text: str, parser: str) -> Diagnostic:
    """The first problem found in `text`, which must be positioned."""
    _, problems = load_text(text, "f.yaml", parser)
    assert problems, "accepted"
    d = problems[0]
    assert d.file == "f.yaml" and d.line is not None and d.col is not None, d.format()
    return d


def at(text: str, d: Diagnostic) -> str:
    """The source text from the diagnostic's position on."""
    line = text.split("\n")[d.line - 1]
    return line[d.col - 1 :]


def laughs(unused: bool) -> str:
    """Nine anchors of nine aliases: 9^9 values once expanded."""
    lines = ["a0: &a0 [lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return ("unused:\n" + "".join(f"  {x}\n" for x in lines) + "ok: 1\n") if unused else "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- aliases and depth


@parsers
@pytest.mark.parametrize("unused", [False, True])
def test_billion_laughs_is_refused_before_anything_is_built(parser, unused):
    text = laughs(unused)
    d = refused(text, parser)
    assert f"aliases expand to more than {limits.MAX_ALIAS_VALUES:,} values" in d.message
    assert at(text, d).startswith("*a")


@parsers
def test_too_many_aliases(parser):
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * (limits.MAX_ALIASES + 1)) + "]\n"
    d = refused(text, parser)
    assert f"more than {limits.MAX_ALIASES} aliases" in d.message
    assert d.line == 2 and d.col == 5 + 4 * limits.MAX_ALIASES  # the first alias over the limit


@parsers
@pytest.mark.parametrize(
    ("text", "alias_col"),
    [
        ("rules:\n  - description: &r [*r]\n", 22),
        ("a: &r {b: {c: *r}}\n", 15),
    ],
)
def test_an_alias_inside_its_own_anchor_is_refused(parser, text, alias_col):
    d = refused(text, parser)
    assert "alias *r is inside the value it refers to" in d.message
    assert d.col == alias_col and at(text, d).startswith("*r")


@parsers
def test_aliases_within_the_limits_load_with_positions(parser):
    text = "cut: &cut {type: change_bid, by_pct: -15}\nagain: *cut\n"
    doc, problems = load_text(text, "f.yaml", parser)
    assert problems == []
    assert doc.data["again"] == {"type": "change_bid", "by_pct": -15}
    assert doc.pos(("again", "by_pct")).line == 1  # where the value is written


@parsers
@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 600 + "]" * 600 + "\n",  # flow lists
        "".join(" " * i + "k:\n" for i in range(2000)) + " " * 2000 + "v: 1\n",  # a block mapping
    ],
)
def test_deep_nesting_is_refused_without_recursion_errors(parser, text):
    d = refused(text, parser)
    assert f"nested more than {limits.MAX_DEPTH} levels deep" in d.message
    assert at(text, d)[0] in "[k"


@parsers
def test_the_depth_limit_is_exact(parser):
    # The root mapping is level 1 and its value level 2: 63 brackets reach level 64.
    deepest = "a: " + "[" * (limits.MAX_DEPTH - 1) + "]" * (limits.MAX_DEPTH - 1) + "\n"
    assert load_text(deepest, "f.yaml", parser)[1] == []
    d = refused("a: " + "[" * limits.MAX_DEPTH + "]" * limits.MAX_DEPTH + "\n", parser)
    assert "levels deep" in d.message and (d.line, d.col) == (1, 3 + limits.MAX_DEPTH)


@parsers
def test_an_alias_cannot_nest_deeper_than_the_limit(parser):
    half = limits.MAX_DEPTH // 2 + 2
    text = "a: &deep " + "[" * half + "]" * half + "\nb: " + "[" * half + "*deep" + "]" * half + "\n"
    d = refused(text, parser)
    assert "alias *deep nests values more than" in d.message and at(text, d).startswith("*deep")


# --------------------------------------------------------------------------- tags, merge keys, odd scalars


@parsers
@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("!foo last_7d", "!foo"),
        ("!!python/name:os.system", "!!python/name:os.system"),
        ("!!python/module:os", "!!python/module:os"),
        ('!!python/object/apply:os.system ["true"]', "!!python/object/apply:os.system"),
        ("!!binary aGk=", "!!binary"),
        ("!!set {a, b}", "!!set"),
        ("!!omap [{a: 1}]", "!!omap"),
    ],
)
def test_tags_are_errors_at_their_position(parser, value, shown):
    text = f"workflow: w\nwindow: {value}\n"
    d = refused(text, parser)
    assert d.message == f"YAML tag {shown} is not allowed in rule files" and (d.line, d.col) == (2, 9)


@parsers
@pytest.mark.parametrize(("text", "kind"), [("a: !!int abc\n", "integer"), ("a: !!bool maybe\n", "boolean")])
def test_a_core_tag_the_text_does_not_fit_is_an_error(parser, text, kind):
    d = refused(text, parser)
    assert f"is not a valid {kind}" in d.message and (d.line, d.col) == (1, 4)


@parsers
def test_core_tags_that_fit_are_read(parser):
    doc, problems = load_text("a: !!str 123\nb: !!float 1\nc: = \nd: !!timestamp 2026-11-01\n", "f.yaml", parser)
    assert problems == []
    assert doc.data["a"] == "123" and doc.data["b"] == 1.0 and doc.data["c"] == "="
    assert str(doc.data["d"]) == "2026-11-01"


@parsers
def test_a_timestamp_tag_on_text_is_an_error(parser):
    d = refused("a: !!timestamp soon\n", parser)
    assert "not a valid date" in d.message and (d.line, d.col) == (1, 4)


@parsers
def test_merge_keys_are_an_error_at_their_position(parser):
    text = "rules:\n  - <<: {priority: 1}\n    id: r\n"
    d = refused(text, parser)
    assert "merge keys (<<) are not supported" in d.message and (d.line, d.col) == (2, 5)


@parsers
def test_complex_keys_and_several_documents_are_errors(parser):
    assert "mapping keys must be plain names" in refused("? [a]\n: 1\n", parser).message
    d = refused("a: 1\n---\nb: 2\n", parser)
    assert "YAML syntax error" in d.message and d.line == 2


@parsers
def test_control_characters_are_positioned_after_wide_characters(parser):
    text = "name: ééé\nb: x\x01y\n"
    d = refused(text, parser)
    assert "U+0001" in d.message and (d.line, d.col) == (2, 5)


@parsers
def test_a_lone_surrogate_escape_never_reaches_the_data(parser):
    text = 'description: "ok \\ud800"\n'
    doc, problems = load_text(text, "f.yaml", parser)
    assert problems and problems[0].line == 1 and problems[0].col is not None
    assert "surrogate" in problems[0].message or "Unicode character escape" in problems[0].message
    if doc is not None:
        assert "\ud800" not in doc.data["description"]
        doc.data["description"].encode("utf-8")  # what crashed before


@parsers
def test_a_lone_surrogate_in_the_text_itself_is_an_error(parser):
    d = refused("a: 1\nb: x\ud800\n", parser)
    assert d.line == 2


# --------------------------------------------------------------------------- reading files


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.yaml"
    line = "description: " + "x" * 86 + "\n"  # 100 bytes
    path.write_text(line * (limits.MAX_FILE_BYTES // 100) + "x: 1\n", encoding="utf-8")
    doc, (d,) = load_file(path)
    assert doc is None and "larger than 1,000,000 bytes" in d.message
    assert d.line == limits.MAX_FILE_BYTES // 100 + 1  # where the limit is crossed


def test_a_file_at_the_size_limit_is_read(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"description: " + b"x" * (limits.MAX_FILE_BYTES - 14) + b"\n")
    doc, problems = load_file(path)
    assert problems == [] and len(doc.data["description"]) == limits.MAX_FILE_BYTES - 14


def test_a_fifo_is_refused_instead_of_blocking(tmp_path):
    fifo = tmp_path / "operator.yaml"
    os.mkfifo(fifo)
    found: list = []
    reader = threading.Thread(target=lambda: found.append(load_file(fifo)), daemon=True)
    reader.start()
    reader.join(timeout=10)  # returns at once unless the reader blocks on the FIFO
    assert found, "load_file blocked on a FIFO"
    doc, (d,) = found[0]
    assert doc is None and d.message == "not a regular file"


# --------------------------------------------------------------------------- the loader


def errors_of(rules: Path) -> list[Diagnostic]:
    with pytest.raises(ValidationFailed) as exc:
        load_project(rules, load_catalog())
    return exc.value.diagnostics


def test_a_blank_condition_is_an_error_not_a_dropped_rule(tmp_path):
    text = PINTEREST_WORKFLOW.replace("when: spend > 2 * thresholds.target_cpa and outbound_ctr < 0.003", 'when: " "')
    (d,) = errors_of(pinterest_rules(tmp_path, workflow=text))
    assert d.message == "expression is empty" and (d.line, d.col) == (10, 13)  # after the blank, in the quotes


@pytest.mark.parametrize(
    ("fragment", "message", "line"),
    [
        ("thresholds: abc", "thresholds: expected a mapping, got a string", 4),
        ("thresholds: [1, 2]", "thresholds: expected a mapping, got a list", 4),
        ("thresholds: 7", "thresholds: expected a mapping, got a number", 4),
        ("guardrails: abc", "guardrails: expected a mapping, got a string", 4),
        ("autonomy: [pause]", "autonomy: expected a mapping, got a list", 4),
        ("escalation: {id: x}", "escalation: expected a list, got a mapping", 4),
    ],
)
def test_wrong_shapes_in_operator_yaml_are_schema_errors(tmp_path, fragment, message, line):
    operator = PINTEREST_OPERATOR.replace("thresholds:\n  target_cpa: 300\n  min_outbound_ctr: 0.005\n", "")
    rules = pinterest_rules(tmp_path, workflow=PINTEREST_WORKFLOW.replace("thresholds.", "x_"), operator=operator)
    (rules / "pinterest" / "operator.yaml").write_text(operator + fragment + "\n", encoding="utf-8")
    errors = errors_of(rules)
    wanted = [d for d in errors if d.file.endswith("operator.yaml")]
    assert [(d.message, d.line) for d in wanted] == [(message, line)], [d.format() for d in errors]


def test_rules_that_are_not_a_list_are_a_schema_error(tmp_path):
    head = PINTEREST_WORKFLOW.split("rules:")[0]
    (d,) = errors_of(pinterest_rules(tmp_path, workflow=head + "rules: 5\n"))
    assert d.message == "rules: expected a list, got a number" and d.line == 7


def test_a_refused_value_is_reported_once(tmp_path):
    text = PINTEREST_WORKFLOW.replace("window: last_7d", "window: !foo last_7d")
    (d,) = errors_of(pinterest_rules(tmp_path, workflow=text))
    assert d.message == "YAML tag !foo is not allowed in rule files" and (d.line, d.col) == (6, 9)


def test_only_the_first_errors_of_a_file_are_shown_then_a_count(tmp_path):
    keys = 50_000
    text = PINTEREST_WORKFLOW + "".join(f"k{i}: 1\n" for i in range(keys))
    with pytest.raises(ValidationFailed) as exc:
        load_project(pinterest_rules(tmp_path, workflow=text), load_catalog())
    shown = exc.value.diagnostics
    assert len(shown) == limits.MAX_ERRORS_PER_FILE + 1
    assert [d.message for d in shown[:2]] == ["unknown key 'k0'", "unknown key 'k1'"]
    last = shown[-1]
    assert last.message == f"{keys - limits.MAX_ERRORS_PER_FILE} more problem(s) in this file not shown"
    assert last.line == 16 + limits.MAX_ERRORS_PER_FILE  # the first key left out
    assert exc.value.message.startswith(f"{keys} error(s)")


def test_a_schedule_longer_than_any_cron_line_is_refused_without_parsing_it(tmp_path):
    schedule = "0 6 * * " + "1," * 400_000 + "1"  # valid cron, and seconds of croniter's time
    text = PINTEREST_WORKFLOW.replace('schedule: "0 6 * * *"', f'schedule: "{schedule}"')
    (d,) = errors_of(pinterest_rules(tmp_path, workflow=text))
    assert d.message == f"invalid cron schedule: {len(schedule):,} characters, more than any schedule needs (200)"
    assert (d.line, d.col) == (4, 11)


def test_a_workflow_holds_at_most_the_rule_limit(tmp_path):
    n = limits.MAX_RULES_PER_WORKFLOW + 1
    text = PINTEREST_WORKFLOW.split("rules:")[0] + "rules:\n"
    text += "".join(f"  - id: r{i}\n    when: spend > {i}\n    action: pause\n" for i in range(n))
    (d,) = errors_of(pinterest_rules(tmp_path, workflow=text))
    assert d.message == f"more than {limits.MAX_RULES_PER_WORKFLOW} rules in one workflow ({n})"
    assert d.line == 8 + 3 * limits.MAX_RULES_PER_WORKFLOW  # the first rule over the limit


def test_an_operator_holds_at_most_the_escalation_limit(tmp_path):
    n = limits.MAX_ESCALATIONS_PER_OPERATOR + 1
    operator = PINTEREST_OPERATOR + "escalation:\n"
    operator += "".join(f"  - {{id: e{i}, when: action.pct > {i + 100}}}\n" for i in range(n))
    (d,) = errors_of(pinterest_rules(tmp_path, operator=operator))
    assert d.message.startswith(f"more than {limits.MAX_ESCALATIONS_PER_OPERATOR} escalation rules")
    assert d.line == 8 + limits.MAX_ESCALATIONS_PER_OPERATOR


def test_hostile_yaml_in_the_guardrails_file_is_positioned(tmp_path):
    rules = write_rules(
        tmp_path,
        {
            "pinterest/operator.yaml": PINTEREST_OPERATOR,
            "pinterest/daily_optimize.yaml": PINTEREST_WORKFLOW,
            "guardrails.yaml": "max_bid_change_pct: &x 10\nmax_actions_per_hour: !!python/name:os.system\n",
        },
    )
    (d,) = errors_of(rules)
    assert d.file.endswith("guardrails.yaml") and (d.line, d.col) == (2, 23) and "YAML tag" in d.message


# --------------------------------------------------------------------------- names in expressions


@pytest.fixture(scope="module")
def scope() -> RuleScope:
    from engine.rules.model import Threshold

    return RuleScope(load_catalog(), "pinterest", "last_7d", {"target_cpa": Threshold("target_cpa", 300.0)})


@pytest.mark.parametrize(
    ("text", "char", "position", "hint"),
    [
        ("ｓｐｅｎｄ > 100", "ｓ", 1, "names are plain ASCII: type 'spend'"),
        ("spend > 1 and ｃｌｉｃｋｓ > 2", "ｃ", 15, "names are plain ASCII: type 'clicks'"),
        ("sp\u0435nd > 100", "\u0435", 3, "names use ASCII letters"),  # a Cyrillic e
        ("thresholds.ｔarget_cpa < spend", "ｔ", 12, "names are plain ASCII: type 'target_cpa'"),
    ],
)
def test_non_ascii_names_are_refused_at_the_character(scope, text, char, position, hint):
    with pytest.raises(ExprError) as exc:
        compile_expr(text, scope)
    err = exc.value
    assert err.offset == position - 1 and text[err.offset] == char
    assert f"{char!r}" in err.message and f"U+{ord(char):04X} {unicodedata.name(char)}" in err.message
    assert f"at position {position}" in err.message and err.hint.startswith(hint)


def test_non_ascii_text_in_quotes_is_allowed(scope):
    expr = compile_expr("contains(name, 'café ｓｐｅｎｄ') and spend > 1", scope)
    assert expr.text.startswith("contains")


def test_a_surrogate_in_an_expression_is_an_error(scope):
    with pytest.raises(ExprError, match="not valid text"):
        compile_expr("spend > 1 and '\ud800' == name", scope)


def test_a_look_alike_name_is_an_error_at_its_column_in_the_file(tmp_path):
    text = PINTEREST_WORKFLOW.replace("when: spend > 2", "when: ｓｐｅｎｄ > 2")
    (d,) = errors_of(pinterest_rules(tmp_path, workflow=text))
    assert (d.line, d.col) == (10, 11) and "U+FF53" in d.message


# --------------------------------------------------------------------------- the command line, memory-limited


def _hostile_folders(root: Path) -> dict[str, Path]:
    """Rules folders that once crashed, hung or exhausted memory; each file is under the size limit."""
    head = PINTEREST_WORKFLOW.split("rules:")[0] + "rules:\n"
    many_rules = "".join(f"  - id: r{i}\n    when: spend > {i}\n    action: pause\n" for i in range(30_000))
    huge = head + many_rules[: limits.MAX_FILE_BYTES - len(head) - 100].rsplit("\n  - id:", 1)[0] + "\n"
    test = "  - {{name: t{}, entities: [{{id: g1}}], expect_no: [{{rule: pause_expensive_low_outbound}}]}}\n"
    many_tests = "workflow: daily_optimize\nas_of: 2026-11-01\ntests:\n"
    many_tests += "".join(test.format(i) for i in range((limits.MAX_FILE_BYTES - 100) // len(test.format(99999))))
    workflows = {
        "billion_laughs": PINTEREST_WORKFLOW.replace("rules:", laughs(False) + "rules:"),
        "deep_flow": PINTEREST_WORKFLOW.replace("level: ad_group", "level: " + "[" * 400_000 + "]" * 400_000),
        "deep_block": PINTEREST_WORKFLOW + "".join(" " * i + "k:\n" for i in range(1300)) + " " * 1300 + "v: 1\n",
        "recursive_alias": PINTEREST_WORKFLOW.replace("description: Pause", "description: &r [*r]\n    x: Pause"),
        "huge_file": huge,
        "keys_50k": PINTEREST_WORKFLOW + "".join(f"k{i}: 1\n" for i in range(50_000)),
        "huge_test_file": PINTEREST_WORKFLOW,
    }
    folders = {}
    for name, workflow in workflows.items():
        assert len(workflow.encode()) <= limits.MAX_FILE_BYTES and len(many_tests) <= limits.MAX_FILE_BYTES
        files = {"pinterest/operator.yaml": PINTEREST_OPERATOR, "pinterest/daily_optimize.yaml": workflow}
        if name == "huge_test_file":
            files["pinterest/daily_optimize.test.yaml"] = many_tests
        folders[name] = write_rules(root / name, files)
    return folders


def _limited() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # 1 GiB of address space


POSITIONED = re.compile(r"^\S+daily_optimize(\.test)?\.yaml:\d+:\d+: error: ", re.MULTILINE)


@pytest.mark.slow
def test_hostile_folders_fail_fast_and_small_in_a_real_subprocess(tmp_path):
    folders = _hostile_folders(tmp_path)
    tests = folders.pop("huge_test_file")
    runs = [(name, ["validate", "--rules", str(rules)]) for name, rules in folders.items()]
    huge = folders["huge_file"]
    runs += [
        ("huge_file", ["lint", "--rules", str(huge)]),
        ("huge_file", ["evaluate", "--rules", str(huge), "--state-dir", str(tmp_path / "state")]),
        ("huge_test_file", ["test", str(tests / "pinterest" / "daily_optimize.test.yaml")]),
    ]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    for name, args in runs:
        done = subprocess.run(
            [sys.executable, "-m", "engine.cli.main", *args],
            capture_output=True,
            text=True,
            timeout=30,  # a hang guard with room for a loaded machine, not a speed check
            preexec_fn=_limited,
            env=env,
            cwd=tmp_path,
        )
        out = done.stdout + done.stderr
        assert done.returncode == 1, (name, args[0], done.returncode, out[-2000:])
        assert "Traceback" not in out and "MemoryError" not in out, (name, args[0], out[-2000:])
        assert POSITIONED.search(out), (name, args[0], out[:2000])


# --------------------------------------------------------------------------- rule test files


def write_test_file(tmp_path: Path, tests: str, workflow: str = PINTEREST_WORKFLOW) -> Path:
    rules = pinterest_rules(tmp_path, workflow=workflow)
    path = rules / "pinterest" / "daily_optimize.test.yaml"
    path.write_text("workflow: daily_optimize\nas_of: 2026-11-01\ntests:\n" + tests, encoding="utf-8")
    return path


def rule_test_errors(path: Path) -> list[Diagnostic]:
    with pytest.raises(ValidationFailed) as exc:
        load_tests([path], path.parent.parent, load_catalog())
    return exc.value.diagnostics


def a_test(i: int, entities: str = "[{id: g1}]", metrics: str = "{g1: {spend: 1 x 7}}") -> str:
    return (
        f"  - name: t{i}\n    entities: {entities}\n    metrics: {metrics}\n"
        "    expect_no: [{rule: pause_expensive_low_outbound}]\n"
    )


def test_a_test_file_holds_at_most_the_test_limit(tmp_path):
    n = limits.MAX_TESTS_PER_FILE + 1
    (d,) = rule_test_errors(write_test_file(tmp_path, "".join(a_test(i) for i in range(n))))
    assert d.message == f"more than {limits.MAX_TESTS_PER_FILE} tests in one file ({n})"
    assert d.line == 4 + 4 * limits.MAX_TESTS_PER_FILE


@pytest.mark.parametrize("days", ["99999999", "9" * 5000])
def test_a_series_longer_than_any_window_is_refused_before_it_is_built(tmp_path, days):
    (d,) = rule_test_errors(write_test_file(tmp_path, a_test(0, metrics=f"{{g1: {{spend: 1 x {days}}}}}")))
    assert d.message == "spend of g1: more days than any window reads (at most 3650)" and d.line == 6


def test_the_daily_values_of_a_test_file_are_bounded_while_they_are_read(tmp_path):
    n = limits.MAX_TEST_DAILY_VALUES // 3650 + 1  # entities with ten years of data each
    entities = "[" + ", ".join(f"{{id: g{k}}}" for k in range(n)) + "]"
    metrics = "{" + ", ".join(f"g{k}: {{spend: 1 x 3650}}" for k in range(n)) + "}"
    lifetime = PINTEREST_WORKFLOW.replace("window: last_7d", "window: lifetime")
    (d,) = rule_test_errors(write_test_file(tmp_path, a_test(0, entities, metrics), workflow=lifetime))
    assert d.message == (
        f"the series up to this one hold {n * 3650:,} daily values; "
        f"a test file may hold at most {limits.MAX_TEST_DAILY_VALUES:,}"
    )


def test_the_rows_a_test_file_generates_are_bounded(tmp_path):
    entities = "[" + ", ".join(f"{{id: g{k}}}" for k in range(100)) + "]"
    rows_per_test = 100 * 7
    n = limits.MAX_TEST_ENTITY_DAYS // rows_per_test + 1
    (d,) = rule_test_errors(write_test_file(tmp_path, "".join(a_test(i, entities) for i in range(n))))
    assert "daily rows of metrics" in d.message and f"at most {limits.MAX_TEST_ENTITY_DAYS:,}" in d.message
    assert d.line == 4 + 4 * (n - 1)  # the first test over the limit


def test_big_conditions_allow_fewer_tests(tmp_path):
    condition = " and ".join(f"spend > {k}" for k in range(80))
    head = PINTEREST_WORKFLOW.split("rules:")[0] + "rules:\n"
    rules = "".join(f"  - id: r{i}\n    when: {condition}\n    action: pause\n" for i in range(60))
    rules += "  - id: pause_expensive_low_outbound\n    when: spend > 1\n    action: pause\n"
    (d,) = rule_test_errors(write_test_file(tmp_path, "".join(a_test(i) for i in range(5)), workflow=head + rules))
    assert "condition parts" in d.message and "tests of a workflow whose conditions have" in d.message


# --------------------------------------------------------------------------- user text on the terminal


def test_user_text_in_messages_prints_as_written(tmp_path):
    text = PINTEREST_WORKFLOW + "#\n" * (99 - PINTEREST_WORKFLOW.count("\n")) + '"[/]": 1\n"x[bold]:100:": 2\n'
    result = CliRunner().invoke(main, ["validate", "--rules", str(pinterest_rules(tmp_path, workflow=text))])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "daily_optimize.yaml:100:1: error: unknown key '[/]'" in result.output  # no rich markup, no emoji
    assert "daily_optimize.yaml:101:1: error: unknown key 'x[bold]:100:'" in result.output


def test_a_notify_message_with_markup_is_shown_as_written(tmp_path):
    text = PINTEREST_WORKFLOW.replace(
        "    action: pause\n", '    action: {type: notify, message: "[/] spend :100: [red]high"}\n'
    )
    args = ["evaluate", "--rules", str(pinterest_rules(tmp_path, workflow=text)), "--state-dir", str(tmp_path / "s")]
    result = CliRunner().invoke(main, [*args, "--workflow", "pinterest"])
    assert result.exit_code == 0, result.output
    assert "notify: [/] spend :100: [red]high" in result.output
