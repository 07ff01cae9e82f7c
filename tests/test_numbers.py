"""Numbers: NaN, infinities and huge values are errors at their line; bad amounts in data never crash.

Rule, test, catalog and guardrail files go through one reader (engine.core.yamlpos), so
its number checks hold everywhere; the safety pipeline skips an action whose amount is
not finite or absurd instead of crashing in the cents arithmetic.
"""

from __future__ import annotations

import json
import math
import re

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from engine.cli.main import main
from engine.core.catalog import load_catalog
from engine.core.errors import DiagnosticsError, ValidationFailed
from engine.core.platform_catalog import FRAGMENT_FILE
from engine.core.resources import platforms_dir
from engine.core.yamlpos import PARSERS, load_data, load_text
from engine.rules.escalation import default_escalations
from engine.rules.guardrails import GUARDRAILS, loosens
from engine.rules.loader import load_project
from engine.safety.pipeline import (
    LIVE,
    MAX_AMOUNT,
    apply_guardrails,
    apply_spend_cap,
    ceil_money,
    floor_money,
    run_pipeline,
    skip_unusable_amounts,
)
from tests.helpers.data import constant_days, entity, october, write_source
from tests.helpers.rules import PINTEREST_OPERATOR, PINTEREST_WORKFLOW, pinterest_rules, write_rules
from tests.helpers.safety import bid, budget, fresh, operator

parsers = pytest.mark.parametrize("parser", sorted(PARSERS))


# --------------------------------------------------------------------------- reading numbers


@parsers
@pytest.mark.parametrize(
    ("value", "message"),
    [
        (".nan", ".nan is not a number"),
        (".NaN", ".NaN is not a number"),
        (".inf", "number .inf is out of range"),
        ("-.Inf", "number -.Inf is out of range"),
        ("1.0e+400", "number 1.0e+400 is out of range"),
        ("1000000000000000001", "number 1000000000000000001 is out of range"),
        ("0x" + "f" * 30, "is out of range"),
        ("9" * 400, "is too long (400 characters)"),
        ("9" * 5000, "is too long (5000 characters)"),  # more digits than Python converts
        ("1" + ":1" * 300_000, "is too long"),  # sexagesimal: quadratic to convert
    ],
)
def test_non_finite_and_huge_numbers_are_errors_at_their_position(parser, value, message):
    doc, problems = load_text(f"a: 1\nlimit: {value}\n", "f.yaml", parser)
    (d,) = problems
    assert message in d.message and (d.line, d.col) == (2, 8)
    assert "between -1e18 and 1e18" in d.hint
    assert doc.data["limit"] == value  # left as written: no NaN or infinity reaches the checks


@parsers
@pytest.mark.parametrize("value", ["1.0e+18", "-1.0e+18", "1000000000000000000", "0.000001", "1.0e-400", "-0.0"])
def test_numbers_within_the_range_are_read(parser, value):
    doc, problems = load_text(f"limit: {value}\n", "f.yaml", parser)
    assert problems == [] and doc.data["limit"] == float(value)


@parsers
def test_a_non_finite_key_is_an_error(parser):
    _, (d,) = load_text("thresholds:\n  .nan: 1\n", "f.yaml", parser)
    assert d.message == ".nan is not a number" and (d.line, d.col) == (2, 3)


# --------------------------------------------------------------------------- rule files


def errors_of(rules) -> list:
    with pytest.raises(ValidationFailed) as exc:
        load_project(rules, load_catalog())
    return exc.value.diagnostics


@pytest.mark.parametrize("key", ["min_spend_before_pause", "max_bid_change_pct", "max_daily_spend_cap"])
@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_non_finite_guardrail_overrides_are_errors_at_their_line(tmp_path, key, value):
    operator = PINTEREST_OPERATOR + f"guardrails:\n  {key}: {value}\n"
    (d,) = errors_of(pinterest_rules(tmp_path, operator=operator))
    assert d.file.endswith("operator.yaml") and (d.line, d.col) == (8, 5 + len(key))
    assert "is not a number" in d.message or "out of range" in d.message


def test_non_finite_global_guardrails_are_errors_at_their_line(tmp_path):
    files = {
        "pinterest/operator.yaml": PINTEREST_OPERATOR,
        "pinterest/daily_optimize.yaml": PINTEREST_WORKFLOW,
        "guardrails.yaml": "max_bid_change_pct: 20\nmin_spend_before_pause: .nan\nmax_daily_spend_cap: " + "9" * 400,
    }
    errors = errors_of(write_rules(tmp_path, files))
    assert [(d.line, d.col) for d in errors] == [(2, 25), (3, 22)]
    assert all(d.file.endswith("guardrails.yaml") for d in errors)


def test_a_400_digit_threshold_is_an_error_at_its_line(tmp_path):
    operator = PINTEREST_OPERATOR.replace("target_cpa: 300", "target_cpa: " + "4" * 400)
    (d,) = errors_of(pinterest_rules(tmp_path, operator=operator))  # rules using it do not report it missing
    assert d.file.endswith("operator.yaml") and (d.line, d.col) == (5, 15) and "too long" in d.message


def test_a_huge_number_in_a_rule_action_is_an_error(tmp_path):
    workflow = PINTEREST_WORKFLOW.replace("by_pct: -15", "by_pct: -1.0e+300")
    (d,) = errors_of(pinterest_rules(tmp_path, workflow=workflow))
    line = workflow.split("\n").index("    action: {type: change_bid, by_pct: -1.0e+300}") + 1
    assert (d.line, d.col) == (line, 40) and "out of range" in d.message


@given(
    name=st.sampled_from([g.name for g in GUARDRAILS.values() if g.type != "boolean"]),
    base=st.floats(0, 1e6),
    value=st.floats(allow_nan=True, allow_infinity=True),
)
def test_an_override_that_is_not_a_finite_number_always_loosens(name, base, value):
    tighter = value <= base if GUARDRAILS[name].tighter == "lower" else value >= base
    assert loosens(name, base, value) == (not math.isfinite(value) or not tighter)


# --------------------------------------------------------------------------- catalog files


def test_non_finite_numbers_in_a_yaml_data_file_raise_with_their_position(tmp_path):
    path = tmp_path / "credibility.yaml"
    path.write_text("ratios:\n  meta: 1.45\n  google: .inf\n", encoding="utf-8")
    with pytest.raises(DiagnosticsError) as exc:
        load_data(path)
    (d,) = exc.value.diagnostics
    assert d.file.endswith("credibility.yaml") and (d.line, d.col) == (3, 11) and "out of range" in d.message


def test_non_finite_numbers_in_a_platform_catalog_fragment_are_errors_at_their_line(tmp_path):
    folder = tmp_path / "platforms" / "pinterest"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("", encoding="utf-8")
    lines = (platforms_dir() / "pinterest" / FRAGMENT_FILE).read_text(encoding="utf-8").split("\n")
    number = re.compile(r"^(\s*[\w-]+:\s*)(\d+(\.\d+)?)\s*(#.*)?$")
    hit = next(i for i, line in enumerate(lines) if number.match(line))
    lines[hit] = number.sub(r"\1.nan", lines[hit])
    (folder / FRAGMENT_FILE).write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(DiagnosticsError) as exc:
        load_catalog(None, str(tmp_path / "platforms"))
    first = exc.value.diagnostics[0]
    assert first.file.endswith(FRAGMENT_FILE) and first.line == hit + 1 and first.message == ".nan is not a number"


# --------------------------------------------------------------------------- amounts from data


def test_money_rounding_survives_amounts_beyond_any_budget():
    assert floor_money(1e308) == 1e308 and ceil_money(-1e308) == -1e308
    assert math.isnan(floor_money(math.nan)) and floor_money(math.inf) == math.inf
    assert floor_money(12.345) == 12.34 and ceil_money(12.341) == 12.35


@pytest.mark.parametrize(
    ("before", "after", "side"),
    [(1e308, 8.5e307, "current"), (1.2, math.inf, "new"), (math.nan, 1.0, "current"), (2e12, 1.0, "current")],
)
def test_an_unusable_amount_skips_the_action_with_the_reason(before, after, side):
    a = bid(before, after)
    skip_unusable_amounts([a])
    assert a.status == "skipped" and a.guardrails[0]["name"] == "amount_out_of_range"
    assert f"the {side} bid" in a.reasons[0] and "not a usable amount" in a.reasons[0]


def test_usable_amounts_are_left_alone():
    a, b = bid(1.2, 1.0), budget(MAX_AMOUNT, MAX_AMOUNT - 1)
    skip_unusable_amounts([a, b])
    assert a.status == b.status == "planned" and a.reasons == b.reasons == []


def test_a_bid_of_1e308_goes_through_the_pipeline_without_crashing():
    ops = {"ops": operator(guardrails={"max_bid_change_pct": 20})}
    a = bid(1e308, 8.5e307)
    result = run_pipeline([a], {a.action_id: fresh()}, {}, ops, default_escalations(load_catalog()))
    assert [x.status for x in result.actions] == ["skipped"]


def test_an_account_total_beyond_cents_blocks_budget_increases():
    a = budget(100, 110)
    apply_spend_cap([a], {("google", "acct"): 1e308}, {a.workflow: operator().guardrails})
    assert a.status == "blocked" and a.guardrails[0]["name"] == "max_daily_spend_cap"


amounts = st.one_of(
    st.floats(0.01, 1e4),
    st.sampled_from([0.0, 1e12, 1e13, 1e308, -1e308, math.inf, -math.inf, math.nan, 5e-324]),
)


@given(
    pairs=st.lists(st.tuples(st.sampled_from(["bid", "budget"]), amounts, amounts), min_size=1, max_size=6),
    total=amounts,
)
def test_no_amount_crashes_the_pipeline_and_no_live_action_keeps_an_unusable_one(pairs, total):
    acts = [(bid if kind == "bid" else budget)(b, a, entity=f"e{i}") for i, (kind, b, a) in enumerate(pairs)]
    g = operator().guardrails
    skip_unusable_amounts(acts)
    for a in acts:
        apply_guardrails(a, fresh(), g)
    apply_spend_cap(acts, {("google", "acct"): total}, {a.workflow: g for a in acts})
    for a in acts:
        if a.status in LIVE:
            attr = "bid" if a.type == "change_bid" else "daily_budget"
            assert all(abs(v) <= MAX_AMOUNT for v in (a.before[attr], a.after[attr]))


def test_evaluate_skips_an_action_whose_data_makes_the_amount_absurd(tmp_path):
    days = october(25, 31)
    data = write_source(
        tmp_path / "data",
        [entity("g1", bid=1e308), entity("g2", bid=1.2)],
        [
            *constant_days("g1", days, spend=1, impressions=5000, outbound_clicks=1),
            *constant_days("g2", days, spend=1, impressions=5000, outbound_clicks=1),
        ],
    )
    rules = pinterest_rules(tmp_path)
    args = ["evaluate", "--rules", str(rules), "--source", f"file:{data}", "--format", "json"]
    result = CliRunner().invoke(main, [*args, "--state-dir", str(tmp_path / "state")])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    by_entity = {a["entity_id"]: a for a in plan["actions"] if a["type"] == "change_bid"}
    assert by_entity["g1"]["status"] == "skipped"
    assert any("not a usable amount" in r for r in by_entity["g1"]["reasons"])
    assert by_entity["g2"]["status"] in ("planned", "clamped")
