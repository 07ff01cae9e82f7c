"""The loader: the DESIGN example loads as written; every user mistake is reported at file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.core.catalog import load_catalog
from engine.core.errors import UsageError, ValidationFailed
from engine.rules.loader import load_project
from tests.helpers.rules import PINTEREST_OPERATOR, PINTEREST_WORKFLOW, pinterest_rules, write_rules

REPO = Path(__file__).resolve().parent.parent


def load(path: Path):
    return load_project(path, load_catalog())


def errors_of(path: Path) -> list:
    with pytest.raises(ValidationFailed) as exc:
        load(path)
    return exc.value.diagnostics


def one_error(path: Path):
    errs = errors_of(path)
    assert len(errs) == 1, [e.format() for e in errs]
    return errs[0]


def test_shipped_library_loads():
    project = load(REPO / "rules")
    assert {w.id for w in project.workflows} == {
        "pinterest/daily_optimize",
        "pinterest/weekly_report",
        "google/daily_optimize",
        "meta/daily_optimize",
        "tiktok/daily_optimize",
        "amazon/daily_optimize",
        "linkedin/daily_optimize",
        "linkedin/lead_quality",
        "klaviyo/flow_optimize",
        "klaviyo/sunset",
        "klaviyo/list_hygiene",
        "klaviyo/deliverability",
        "cro/store_offers",
    }
    assert project.guardrails["max_daily_spend_cap"] == 5000


def test_design_example_loads_exactly_as_written(tmp_path):
    project = load(pinterest_rules(tmp_path))
    (wf,) = project.workflows
    assert wf.id == "pinterest/daily_optimize" and wf.level == "ad_group" and wf.window == "last_7d"
    assert wf.schedule == "0 6 * * *"
    assert [r.id for r in wf.rules] == ["pause_expensive_low_outbound", "lower_bid_low_outbound_ctr"]
    assert wf.rules[1].action.params == {"by_pct": -15} and wf.rules[1].cooldown == "3d"
    assert project.operators["pinterest"].thresholds["target_cpa"].default == 300


def test_guardrail_defaults_hold_without_the_file(tmp_path):
    project = load(pinterest_rules(tmp_path))
    assert project.guardrails_file is None
    assert project.guardrails["min_spend_before_pause"] == 500
    assert project.guardrails["brand_campaigns_no_auto_pause"] is True


def test_missing_rules_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        load(tmp_path / "nope")


def test_yaml_syntax_error_has_position(tmp_path):
    rules = pinterest_rules(tmp_path, workflow=PINTEREST_WORKFLOW.replace("level: ad_group", "level: [ad_group"))
    err = one_error(rules)
    assert err.file.endswith("daily_optimize.yaml") and err.line is not None
    assert "YAML syntax error" in err.message


def test_duplicate_keys_are_errors(tmp_path):
    text = PINTEREST_WORKFLOW.replace("    action: pause\n", "    action: pause\n    action: enable\n", 1)
    err = one_error(pinterest_rules(tmp_path, workflow=text))
    assert (err.line, err.col) == (12, 5)
    assert "duplicate key 'action'" in err.message and "line 11" in err.message


def test_unknown_key_suggests_the_right_one(tmp_path):
    text = PINTEREST_WORKFLOW.replace("    cooldown: 3d", "    cooldwn: 3d")
    err = one_error(pinterest_rules(tmp_path, workflow=text))
    assert (err.line, err.col) == (15, 5)
    assert "unknown key 'cooldwn'" in err.message and "cooldown" in err.hint


def test_wrong_type(tmp_path):
    text = PINTEREST_WORKFLOW.replace("level: ad_group\n", "level: ad_group\nenabled: maybe\n")
    err = one_error(pinterest_rules(tmp_path, workflow=text))
    assert err.line == 6 and "expected a boolean, got a string" in err.message


def test_bad_window(tmp_path):
    err = one_error(pinterest_rules(tmp_path, workflow=PINTEREST_WORKFLOW.replace("last_7d", "last_week")))
    assert (err.line, err.col) == (6, 9) and "unknown window 'last_week'" in err.message
    assert "last_Nd" in err.hint


def test_duplicate_rule_ids(tmp_path):
    text = PINTEREST_WORKFLOW.replace("id: lower_bid_low_outbound_ctr", "id: pause_expensive_low_outbound")
    err = one_error(pinterest_rules(tmp_path, workflow=text))
    assert err.line == 12 and "duplicate rule id" in err.message and "line 8" in err.message


@pytest.mark.parametrize(
    "when, message, col",
    [
        ("spnd > 1", "unknown name 'spnd'", 11),
        ("spend > thresholds.target_cap", "threshold 'target_cap' is not defined", 19),
        ("parent.colour == 'x'", "unknown parent attribute 'colour'", 11),
        ("spend > 1 and status > 3", "> compares numbers, got a string and a number", 25),
        ("status == 3", "cannot compare a string with a number", 11),
        ('"spend > 1 and (lambda: 1)"', "lambdas are not allowed", 27),
        ('"[x for x in spend]"', "comprehensions are not allowed", 12),
        ("spend.__class__ == 1", "names starting with '_' are not allowed", 11),
        ("spend ** spend > 1", "exponent of ** must be a number literal", 20),
        ("9 ** 9 ** 9 > 1", "exponent of ** must be a number literal", 16),
        ("spend == null", "comparing with null", 11),
        ("spend + 1", "expression must give a boolean", 11),
        ("spend >", "syntax error", 11),
        ("video_views > 1 and leads > 1", None, None),
    ],
)
def test_expression_errors_point_into_the_expression(tmp_path, when, message, col):
    # (lambdas and lists must be quoted in YAML, so their columns count the quote)
    text = PINTEREST_WORKFLOW.replace("spend > 2 * thresholds.target_cpa and outbound_ctr < 0.003", when)
    rules = pinterest_rules(tmp_path, workflow=text)
    if message is None:  # leads is not a pinterest metric
        err = one_error(rules)
        assert "not reported by platform pinterest" in err.message
        return
    err = one_error(rules)
    assert message in err.message, err.format()
    assert err.line == 10
    if message != "syntax error":
        assert err.col == col, err.format()


def test_expression_error_in_a_folded_block_maps_to_the_right_line(tmp_path):
    text = PINTEREST_WORKFLOW.replace(
        "    when: spend > 2 * thresholds.target_cpa and outbound_ctr < 0.003\n",
        "    when: >-\n      spend > 2 * thresholds.target_cpa\n      and outbound_ctrr < 0.003\n",
    )
    err = one_error(pinterest_rules(tmp_path, workflow=text))
    assert (err.line, err.col) == (12, 11) and "outbound_ctrr" in err.message


@pytest.mark.parametrize(
    "action, message",
    [
        (
            "add_negative_keyword",
            "platform pinterest does not support 'add_negative_keyword' at level 'ad_group'",
        ),
        ("frobnicate", "unknown action type 'frobnicate'"),
        ("{type: change_bid, by_pcts: -15}", "unknown change_bid parameter 'by_pcts'"),
        ("{type: change_bid, by_pct: -150}", "must be at least -100"),
        ("{type: change_bid}", "needs exactly one of by_pct or by_amount"),
        ("{type: change_bid, by_pct: 10, by_amount: 1}", "needs exactly one of by_pct or by_amount"),
        ("{type: set_bid, amount: -1}", "must be above 0"),
        ("{by_pct: 10}", "action mapping needs a `type`"),
    ],
)
def test_action_errors(tmp_path, action, message):
    text = PINTEREST_WORKFLOW.replace("action: {type: change_bid, by_pct: -15}", f"action: {action}")
    err = one_error(pinterest_rules(tmp_path, workflow=text))
    assert message in err.message, err.format()
    assert err.line in (14, 15)


def test_every_error_of_a_run_is_reported(tmp_path):
    text = (
        PINTEREST_WORKFLOW.replace("last_7d", "last_7x")
        .replace("outbound_ctr < 0.003", "outbound_ct < 0.003")
        .replace("by_pct: -15", "by_pc: -15")
    )
    rules = write_rules(
        tmp_path,
        {
            "pinterest/operator.yaml": PINTEREST_OPERATOR,
            "pinterest/daily_optimize.yaml": text,
            "guardrails.yaml": "max_daily_spend_cap: -5\nsurprise: 1\n",
            "meta/weekly.yaml": "workflow: weekly\n",
        },
    )
    messages = [e.format() for e in errors_of(rules)]
    assert len(messages) == 6, messages
    joined = "\n".join(messages)
    for fragment in (
        "unknown window 'last_7x'",
        "unknown name 'outbound_ct'",
        "unknown change_bid parameter 'by_pc'",
        "max_daily_spend_cap: -5 must be at least 0",
        "unknown key 'surprise'",
        "operator folder 'meta' has no operator.yaml",
    ):
        assert fragment in joined


def test_operator_file_errors(tmp_path):
    operator = PINTEREST_OPERATOR.replace("platform: pinterest", "platform: pinterst").replace(
        "min_outbound_ctr: 0.005", "min_outbound_ctr: low"
    )
    errs = errors_of(pinterest_rules(tmp_path, operator=operator))
    text = "\n".join(e.format() for e in errs)
    assert "'pinterst' is not allowed" in text and "did you mean 'pinterest'" in text
    assert "threshold 'min_outbound_ctr' must be a number" in text


def test_operator_and_workflow_names_must_match_their_files(tmp_path):
    rules = pinterest_rules(
        tmp_path, workflow=PINTEREST_WORKFLOW.replace("workflow: daily_optimize", "workflow: daily")
    )
    assert "does not match its file name" in one_error(rules).message


def test_per_product_thresholds_and_level_override(tmp_path):
    operator = PINTEREST_OPERATOR.replace("target_cpa: 300", "target_cpa: {default: 300, bot: 350}")
    project = load(pinterest_rules(tmp_path, operator=operator))
    th = project.operators["pinterest"].thresholds["target_cpa"]
    assert (th.value_for("bot"), th.value_for("dot"), th.value_for(None)) == (350, 300, 300)


def test_per_product_thresholds_need_a_default(tmp_path):
    # Without `default` an entity of another product would get no threshold and its rules would never fire.
    operator = PINTEREST_OPERATOR.replace("target_cpa: 300", "target_cpa: {bot: 280, dot: 180}")
    err = one_error(pinterest_rules(tmp_path, operator=operator))
    assert (err.file.endswith("operator.yaml"), err.line, err.col) == (True, 5, 15)
    assert "threshold 'target_cpa' has per-product values but no 'default'" in err.message
    assert "default:" in err.hint and "bot: 280" in err.hint


def test_per_product_threshold_with_wrong_values_keeps_the_generic_message(tmp_path):
    operator = PINTEREST_OPERATOR.replace("target_cpa: 300", "target_cpa: {default: 300, bot: high}")
    assert (
        "must be a number or a mapping of product: number"
        in one_error(pinterest_rules(tmp_path, operator=operator)).message
    )


def test_empty_and_non_utf8_files(tmp_path):
    rules = write_rules(tmp_path, {"pinterest/operator.yaml": PINTEREST_OPERATOR, "pinterest/daily_optimize.yaml": ""})
    assert "file is empty" in one_error(rules).message
    (rules / "pinterest" / "daily_optimize.yaml").write_bytes(b"workflow: caf\xe9\n")
    err = one_error(rules)
    assert "not valid UTF-8" in err.message and (err.line, err.col) == (1, 14)


def test_stray_top_level_rule_file(tmp_path):
    rules = pinterest_rules(tmp_path)
    (rules / "daily.yaml").write_text("workflow: daily\n")
    assert "unexpected rule file" in one_error(rules).message


def test_diagnostics_with_and_without_positions_sort_together():
    from engine.core.errors import DataError, Diagnostic

    err = DataError([Diagnostic("f", 3, 1, "c"), Diagnostic("f", None, None, "a"), Diagnostic("f", 1, None, "b")])
    assert [d.message for d in err.diagnostics] == ["a", "b", "c"]


def test_loosening_operator_guardrail_is_an_error_with_position(tmp_path):
    operator = PINTEREST_OPERATOR + "guardrails:\n  max_daily_budget_increase_pct: 30\n  min_spend_before_pause: 800\n"
    err = one_error(pinterest_rules(tmp_path, operator=operator))
    assert (err.line, err.col) == (8, 34)
    assert "loosens the global limit 20" in err.message and "only tighten" in err.message


def test_tightening_overrides_apply_to_that_operator_only(tmp_path):
    operator = (
        PINTEREST_OPERATOR + "guardrails:\n  max_daily_budget_increase_pct: 10\n  brand_campaigns_no_auto_pause: true\n"
    )
    project = load(pinterest_rules(tmp_path, operator=operator))
    assert project.operators["pinterest"].guardrails["max_daily_budget_increase_pct"] == 10
    assert project.guardrails["max_daily_budget_increase_pct"] == 20


def test_loosening_is_judged_against_the_global_file(tmp_path):
    rules = pinterest_rules(tmp_path, operator=PINTEREST_OPERATOR + "guardrails:\n  max_daily_spend_cap: 8000\n")
    (rules / "guardrails.yaml").write_text("max_daily_spend_cap: 10000\n")
    assert load(rules).operators["pinterest"].guardrails["max_daily_spend_cap"] == 8000
    (rules / "guardrails.yaml").write_text("max_daily_spend_cap: 6000\n")
    assert "loosens the global limit 6000" in one_error(rules).message


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("max_daily_spend_cap: -5\n", "max_daily_spend_cap: -5 must be at least 0"),
        ("max_daily_spend_cap: lots\n", "expected a number, got a string"),
        ("brand_campaigns_no_auto_pause: 1\n", "expected a boolean, got a number"),
        ("max_daily_spend_kap: 5000\n", "did you mean 'max_daily_spend_cap'?"),
    ],
)
def test_bad_guardrails_file(tmp_path, text, fragment):
    rules = pinterest_rules(tmp_path)
    (rules / "guardrails.yaml").write_text(text)
    err = one_error(rules)
    assert err.file.endswith("guardrails.yaml") and err.line == 1
    assert fragment in err.format()


def test_escalation_and_autonomy_in_operator_yaml(tmp_path):
    operator = PINTEREST_OPERATOR + (
        "escalation:\n  - id: big_bid_cut\n    when: action.type == 'change_bid' and action.pct < -10\n"
        "    reason: big bid cuts need a human\nautonomy:\n  default: dry_run\n  pause: auto\n"
    )
    op = load(pinterest_rules(tmp_path, operator=operator)).operators["pinterest"]
    assert [r.id for r in op.escalation] == ["big_bid_cut"]
    assert op.autonomy_for("pause") == "auto" and op.autonomy_for("change_bid") == "dry_run"


@pytest.mark.parametrize(
    "extra, fragment, line",
    [
        ("escalation:\n  - id: x\n    when: action.pcnt > 1\n", "unknown action field 'pcnt'", 9),
        ("escalation:\n  - id: budget_change_over_500\n    when: action.pct > 1\n", "already used", 8),
        ("autonomy:\n  pause: yolo\n", "'yolo' is not allowed", 8),
        ("autonomy:\n  paws: auto\n", "did you mean 'pause'?", 8),
    ],
)
def test_bad_escalation_and_autonomy(tmp_path, extra, fragment, line):
    err = one_error(pinterest_rules(tmp_path, operator=PINTEREST_OPERATOR + extra))
    assert fragment in err.format() and err.line == line


def test_impossible_dates_are_diagnostics_not_crashes(tmp_path):
    from engine.core.yamlpos import load_text

    doc, problems = load_text("a: 2026-11-31\nb: ok\n", "f.yaml")
    (p,) = problems
    assert (p.line, p.col) == (1, 4) and "not a valid date" in p.message
    assert doc.data == {"a": "2026-11-31", "b": "ok"}


@pytest.mark.parametrize("schedule", ["0 6 * * MON", "30 5 * * mon-fri", "*/15 6-18 * * 1-5", "0 6 1 JAN *", "@daily"])
def test_cron_schedules_croniter_accepts_load(tmp_path, schedule):
    (wf,) = load(pinterest_rules(tmp_path, workflow=PINTEREST_WORKFLOW.replace("0 6 * * *", schedule))).workflows
    assert wf.schedule == schedule


@pytest.mark.parametrize(
    "schedule, reason",
    [
        ("99 99 99 99 99", "minute '99' is not valid"),
        ("0 25 * * *", "hour '25' is not valid"),
        ("0 6 * * FUNDAY", "weekday 'FUNDAY' is not valid"),
        ("0 6 * *", "4 fields, not 5"),
        ("0 0 6 * * *", "6 fields, not 5"),
        ("@fortnightly", "unknown alias '@fortnightly'"),
    ],
)
def test_invalid_cron_schedules_are_reported_at_the_schedule(tmp_path, schedule, reason):
    err = one_error(pinterest_rules(tmp_path, workflow=PINTEREST_WORKFLOW.replace("0 6 * * *", schedule)))
    assert err.file.endswith("daily_optimize.yaml") and (err.line, err.col) == (4, 11)
    assert err.message == f"invalid cron schedule {schedule!r}: {reason}"
    assert "minute (0-59) hour (0-23)" in err.hint
