"""What people read: `explain`, the table and the Markdown comment show values, reasons and names safely."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from engine.cli.main import main
from engine.core.catalog import load_catalog
from engine.core.numbers import fmt_number, fmt_pct
from engine.rules.escalation import default_escalations
from engine.safety.pipeline import run_pipeline
from tests.helpers.data import constant_days, entity, october, write_source
from tests.helpers.rules import write_rules
from tests.helpers.safety import bid, budget, fresh, operator

OPERATOR = """\
operator: pinterest
platform: pinterest
thresholds:
  target_cpa: 100
  min_outbound_ctr: 0.005
escalation:
  - id: bid_cuts_need_a_human
    when: action.type == 'change_bid'
    reason: bid cuts need a human on this account
"""

WORKFLOW = """\
workflow: daily
operator: pinterest
level: ad_group
window: last_7d
rules:
  - id: pause_expensive
    when: spend > max(conversions, 1) * thresholds.target_cpa and pct_change(spend, prev.spend) >= 0
    action: pause
  - id: lower_bid
    when: outbound_ctr < thresholds.min_outbound_ctr and impressions >= 2000
    action: {type: change_bid, by_pct: -15}
"""

CATALOG = load_catalog()
TRICKY_NAME = "Spring *sale* <img src=x> | [x](y) _z_"


@pytest.fixture
def workspace(tmp_path):
    """g1 spends 1,260.00 over 113,400 impressions in the window: paused, so its bid cut is skipped;
    g2 is expensive but has spent too little to be paused (blocked); g3's bid cut needs approval."""
    rules = write_rules(tmp_path, {"pinterest/operator.yaml": OPERATOR, "pinterest/daily.yaml": WORKFLOW})
    days = october(18, 31)
    metrics = constant_days("g1", days, spend=180, impressions=16200, clicks=90, outbound_clicks=9, conversions=0)
    metrics += constant_days("g2", days, spend=20, impressions=300, clicks=3, outbound_clicks=3, conversions=0)
    metrics += constant_days("g3", days, spend=10, impressions=5000, clicks=50, outbound_clicks=5, conversions=1)
    data = write_source(
        tmp_path / "data", [entity("g1", bid=1.2, name=TRICKY_NAME), entity("g2"), entity("g3", bid=0.8)], metrics
    )
    return tmp_path, rules, data


def rulerun(workspace, *args: str) -> str:
    tmp, rules, data = workspace
    common = ["--rules", str(rules), "--source", f"file:{data}", "--state-dir", str(tmp / "state")]
    result = CliRunner(env={"COLUMNS": "200"}).invoke(main, [args[0], *common, *args[1:]])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_explain_shows_values_of_function_calls_never_the_functions(workspace):
    out = rulerun(workspace, "explain", "--workflow", "pinterest/daily", "--entity", "g1")
    assert "<function" not in out and "0x" not in out
    lines = {" ".join(line.split()[:-1]): line.split()[-1] for line in out.splitlines() if line.startswith("  ")}
    assert lines["max(conversions, 1)"] == "1"
    assert lines["pct_change(spend, prev.spend)"] == "0"
    assert not [k for k in lines if k in ("max", "pct_change")]  # a called name is not a step of its own


def markdown_rows(out: str) -> dict[tuple[str, str], list[str]]:
    rows = {}
    for line in out.splitlines():
        if line.startswith("| ") and not line.startswith("| Entity"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows[(cells[0], cells[1])] = cells
    return rows


def test_markdown_shows_why_actions_are_blocked_skipped_or_wait(workspace):
    rows = markdown_rows(rulerun(workspace, "evaluate", "--dry-run", "--format", "markdown"))
    statuses = {rule_entity: cells[-1] for rule_entity, cells in rows.items()}
    assert statuses[("name-g2 (g2)", "pause_expensive")].startswith("blocked: lifetime spend 280.00 is under")
    assert statuses[("name-g3 (g3)", "lower_bid")] == "needs_approval: bid cuts need a human on this account"
    (skipped,) = [cells[-1] for (entity, rule), cells in rows.items() if rule == "lower_bid" and "g1" in entity]
    assert skipped.startswith("skipped: conflict: pinterest/daily/pause\\_expensive pauses this entity")


def test_markdown_escapes_markdown_and_html_in_names(workspace):
    out = rulerun(workspace, "evaluate", "--dry-run", "--format", "markdown")
    assert "<img" not in out and "*sale*" not in out and "[x](y)" not in out
    escaped = "Spring \\*sale\\* &lt;img src=x&gt; \\| \\[x\\](y) \\_z\\_ (g1)"
    assert escaped in out
    for line in out.splitlines():
        if line.startswith("| Spring"):
            assert line.count(" | ") == 4  # the name's `|` does not split the row


# -- numbers: one way everywhere ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (1260.0, "money", "1,260.00"),
        (0.5, "money", "0.50"),
        (113400.0, "count", "113,400"),
        (2000.0, None, "2,000"),
        (300.0, None, "300"),
        (0.000556, "ratio", "0.000556"),
        (4.3712, "ratio", "4.37"),
        (12345.678, None, "12,345.68"),
        (True, None, "true"),
    ],
)
def test_one_number_format(value, unit, shown):
    assert fmt_number(value, unit) == shown


def test_percent_changes_are_signed_whole_numbers():
    assert (fmt_pct(20.0), fmt_pct(-15.0), fmt_pct(0.4)) == ("+20%", "-15%", "+0%")


def test_numbers_read_the_same_in_table_markdown_and_explain(workspace):
    table = rulerun(workspace, "evaluate", "--dry-run")
    markdown = rulerun(workspace, "evaluate", "--dry-run", "--format", "markdown")
    explained = rulerun(workspace, "explain", "--workflow", "pinterest/daily", "--entity", "g1")
    for out in (table, markdown.replace("&gt;", ">")):  # Markdown shows `>` as an entity
        assert "spend=1,260.00" in out and "prev.spend=1,260.00" in out and "impressions=113,400" in out
        assert "bid: 1.20 -> 1.02 (-15%)" in out
    steps = {" ".join(line.split()[:-1]): line.split()[-1] for line in explained.splitlines() if line.startswith("  ")}
    assert steps["spend"] == "1,260.00" and steps["impressions"] == "113,400"
    assert "action change_bid: bid: 1.20 -> 1.02 (-15%)" in explained


def test_guardrail_messages_show_amounts_the_same_way():
    def one(action, budgets=None):
        facts = {action.action_id: fresh()}
        (a,) = run_pipeline([action], facts, budgets or {}, {"ops": operator()}, default_escalations(CATALOG)).actions
        return a.guardrails[-1]["message"]

    assert one(bid(1.0, 1.5)) == "bid change clamped to 20%: requested 1.50, allowed 1.20"
    assert one(budget(4000.0, 4400.0), {("google", "acct"): 4900.0}) == (
        "daily budget clamped to keep the account at 5,000/day: requested 4,400.00, allowed 4,100.00"
    )
