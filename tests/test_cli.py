"""The command line as users and CI see it: outputs, exit codes, and no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest

from engine.authoring.schemas import all_schemas
from tests.helpers.cli import REPO, run
from tests.helpers.data import constant_days, design_example_days, entity, october, write_source
from tests.helpers.rules import PINTEREST_WORKFLOW, pinterest_rules


@pytest.fixture
def workspace(tmp_path):
    """A rules folder (the DESIGN example) and a small file source where both rules fire."""
    rules = pinterest_rules(tmp_path)
    metrics = design_example_days("g1", october(25, 31))
    metrics += constant_days(
        "g2",
        october(25, 31),
        spend=10,
        impressions=5000,
        clicks=90,
        outbound_clicks=90,
        conversions=1,
        conversion_value=40,
    )
    data = write_source(tmp_path / "data", [entity("g1", bid=1.2), entity("g2")], metrics)
    return tmp_path, rules, data


def test_help_is_fast_to_import_and_loads_no_sdk_or_engine():
    code = (
        "import sys; from engine.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('duckdb', 'jsonschema', 'simpleeval', 'google.ads', 'facebook_business', "
        "'klaviyo_api', 'shopify', 'redshift_connector') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO).stdout
    assert "HEAVY []" in out
    assert "evaluate" in out and "Exit codes" in out


def test_validate_shipped_library():
    res = run("validate")
    assert res.returncode == 0, res.stderr
    rules = REPO / "rules"
    operators = len(list(rules.glob("*/operator.yaml")))
    workflows = [p for p in rules.glob("*/*.yaml") if p.name != "operator.yaml" and not p.name.endswith(".test.yaml")]
    assert res.stdout.startswith(f"ok: {operators} operator(s), {len(workflows)} workflow(s)")


def test_validate_reports_positions_without_traceback(tmp_path):
    rules = pinterest_rules(tmp_path, workflow=PINTEREST_WORKFLOW.replace("spend > 2", "spnd > 2"))
    res = run("validate", "--rules", str(rules))
    assert res.returncode == 1
    assert "daily_optimize.yaml:10:11: error: unknown name 'spnd'" in res.stderr
    assert "hint: did you mean 'spend'?" in res.stderr
    assert "Traceback" not in res.stderr
    js = run("validate", "--rules", str(rules), "--format", "json")
    assert js.returncode == 1
    diag = json.loads(js.stdout)["diagnostics"][0]
    assert (diag["line"], diag["col"], diag["severity"]) == (10, 11, "error")


def test_evaluate_json_is_one_document_in_the_plan_contract(workspace):
    _, rules, data = workspace
    res = run("evaluate", "--dry-run", "--rules", str(rules), "--source", f"file:{data}", "--format", "json")
    assert res.returncode == 0, res.stderr
    plan = json.loads(res.stdout)  # exactly one document: json.loads fails on trailing data
    jsonschema.validate(plan, all_schemas()["plan.schema.json"])
    assert plan["mode"] == "dry_run" and plan["as_of"] == "2026-11-01"
    fired = {(a["rule_id"], a["entity_id"]) for a in plan["actions"]}
    assert fired == {("pause_expensive_low_outbound", "g1"), ("lower_bid_low_outbound_ctr", "g1")}
    pause = next(a for a in plan["actions"] if a["type"] == "pause")
    assert pause["workflow"] == "pinterest/daily_optimize"
    assert pause["before"] == {"status": "active"} and pause["after"] == {"status": "paused"}
    assert pause["evidence"] == {"spend": 840.0, "thresholds.target_cpa": 300.0, "outbound_ctr": 0.001}
    bid = next(a for a in plan["actions"] if a["type"] == "change_bid")
    assert bid["before"] == {"bid": 1.2} and bid["after"] == {"bid": 1.02}
    assert plan["summary"]["by_type"] == {"change_bid": 1, "pause": 1}


def test_evaluate_formats(workspace):
    _, rules, data = workspace
    common = ("evaluate", "--rules", str(rules), "--source", f"file:{data}")
    table = run(*common)
    assert table.returncode == 0, table.stderr
    assert "pinterest/daily_optimize" in table.stdout
    assert "status: active -> paused" in table.stdout and "bid: 1.20 -> 1.02 (-15%)" in table.stdout
    # both rules fire on g1: the pause wins, the bid change is skipped as a conflict
    assert table.stdout.rstrip().splitlines()[-1] == "Plan: 1 planned, 1 skipped (1 change_bid, 1 pause; 1 conflict)"
    lines = run(*common, "--format", "jsonl").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["record"] for r in records] == ["action", "action", "summary"]
    md = run(*common, "--format", "markdown").stdout
    assert md.startswith("### rulerun plan") and "| name-g1 (g1) | pause_expensive_low_outbound |" in md


def test_evaluate_saves_the_plan(workspace):
    tmp, rules, data = workspace
    out = tmp / "plan.json"
    res = run(
        "evaluate",
        "--rules",
        str(rules),
        "--source",
        f"file:{data}",
        "--out",
        str(out),
        "--format",
        "markdown",
    )
    assert res.returncode == 0
    assert len(json.loads(out.read_text())["actions"]) == 2


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("evaluate", "--frobnicate"), "No such option"),
        (("evaluate", "--as-of", "yesterday"), "is not a date"),
        (("evaluate", "--workflow", "nope/none"), "no workflow 'nope/none'"),
        (("evaluate", "--source", "ftp:x"), "unknown source 'ftp:x'"),
        (("evaluate", "--source", "file:/definitely/not/here"), "does not exist"),
        (("explain", "--workflow", "pinterest/daily_optimize"), "Missing option '--entity'"),
    ],
)
def test_usage_errors_exit_2(workspace, args, fragment):
    tmp, rules, _ = workspace
    res = run(*args, "--rules", str(rules), cwd=tmp)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert fragment in res.stderr and "Traceback" not in res.stderr


def test_bad_data_exits_1_and_writes_nothing(workspace):
    tmp, rules, data = workspace
    text = (data / "metrics_daily.csv").read_text().splitlines()
    text[3] = text[3].replace(",120,", ",12o,")
    (data / "metrics_daily.csv").write_text("\n".join(text) + "\n")
    res = run("evaluate", "--rules", str(rules), "--source", f"file:{data}", cwd=tmp)
    assert res.returncode == 1, res.stderr
    assert "metrics_daily.csv:4:" in res.stderr and "12o" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp / ".rulerun").exists()


def test_invalid_rules_touch_no_state(workspace):
    tmp, rules, data = workspace
    (rules / "pinterest" / "daily_optimize.yaml").write_text(PINTEREST_WORKFLOW.replace("last_7d", "last_7"))
    res = run("evaluate", "--rules", str(rules), "--source", f"file:{data}", cwd=tmp)
    assert res.returncode == 1 and "unknown window 'last_7'" in res.stderr
    assert not (tmp / ".rulerun").exists()


def test_explain_shows_each_subexpression(workspace):
    _, rules, data = workspace
    res = run(
        "explain",
        "--rules",
        str(rules),
        "--source",
        f"file:{data}",
        "--workflow",
        "pinterest/daily_optimize",
        "--entity",
        "g1",
    )
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "pause_expensive_low_outbound (ad_group, last_7d): fires" in out
    assert "2 * thresholds.target_cpa" in out and "600" in out
    assert "action pause: status: active -> paused" in out
    assert "disagrees" not in out
    missing = run(
        "explain",
        "--rules",
        str(rules),
        "--source",
        f"file:{data}",
        "--workflow",
        "pinterest/daily_optimize",
        "--entity",
        "nope",
    )
    assert missing.returncode == 1 and "entity 'nope'" in missing.stderr


def test_schema_and_docs_commands():
    listing = run("schema")
    assert "workflow" in listing.stdout.split()
    wf = json.loads(run("schema", "workflow").stdout)
    assert wf["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    docs = run("docs", "functions")
    assert docs.returncode == 0 and "pct_change" in docs.stdout
