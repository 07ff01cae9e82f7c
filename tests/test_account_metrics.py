"""`account.<metric>` in rule conditions: the metric over the window for the entity's whole account."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from engine.cli.main import main
from tests.helpers.data import day, entity, write_source
from tests.helpers.rules import PINTEREST_OPERATOR, write_rules

WORKFLOW = """\
workflow: weak
operator: pinterest
level: ad_group
window: last_7d
rules:
  - id: ctr_far_under_the_accounts
    when: status == 'active' and impressions >= 1000 and ctr < 0.5 * account.ctr
    action: pause
  - id: spends_most_of_the_account
    when: spend > 0.6 * account.spend
    action: {type: notify, message: one ad group spends most of the account}
"""


def _rows(tmp_path):
    # account "acct": g1 clicks 1%, g2 3%, g3 (paused) 8%: account CTR (10+30+80)/3000 = 4%
    # account "other": h1 at 1% is its whole account, so never under half of it
    entities = [
        entity("g1"),
        entity("g2"),
        entity("g3", status="paused"),
        {**entity("h1"), "account_id": "other"},
    ]
    metrics = []
    for d in ("2026-03-01", "2026-03-02"):
        metrics += [
            day(d, "g1", spend=10, impressions=500, clicks=5),
            day(d, "g2", spend=10, impressions=500, clicks=15),
            day(d, "g3", spend=10, impressions=500, clicks=40),
            {**day(d, "h1", spend=10, impressions=500, clicks=5), "account_id": "other"},
        ]
    metrics.append(day("2026-02-01", "g2", spend=999, impressions=1, clicks=1))  # outside the window
    return write_source(tmp_path / "data", entities, metrics)


@pytest.fixture
def setup(tmp_path):
    rules = write_rules(tmp_path, {"pinterest/operator.yaml": PINTEREST_OPERATOR, "pinterest/weak.yaml": WORKFLOW})
    return rules, _rows(tmp_path)


def invoke(*args):
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_account_metrics_sum_every_entity_of_the_level_in_the_same_account(setup):
    rules, data = setup
    res = invoke(
        "evaluate", "--rules", str(rules), "--source", f"file:{data}", "--as-of", "2026-03-03", "--format", "json"
    )
    assert res.exit_code == 0, res.output
    actions = {(a["rule_id"], a["entity_id"]): a for a in json.loads(res.stdout)["actions"]}
    # h1 is the whole of its account (all of its spend); in "acct" nobody reaches 60% (g3's spend counts)
    assert set(actions) == {("ctr_far_under_the_accounts", "g1"), ("spends_most_of_the_account", "h1")}
    evidence = actions[("ctr_far_under_the_accounts", "g1")]["evidence"]
    assert evidence["ctr"] == 0.01 and evidence["account.ctr"] == 0.04  # the paused g3 counts, February not


def test_explain_computes_the_same_account_values(setup):
    rules, data = setup
    res = invoke(
        "explain", "--rules", str(rules), "--workflow", "pinterest/weak", "--entity", "g1",
        "--source", f"file:{data}", "--as-of", "2026-03-03",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "disagrees" not in res.stdout and "0.04" in res.stdout


def test_an_unknown_account_metric_is_a_clear_error(tmp_path):
    bad = WORKFLOW.replace("account.ctr", "account.crt")
    rules = write_rules(tmp_path, {"pinterest/operator.yaml": PINTEREST_OPERATOR, "pinterest/weak.yaml": bad})
    res = invoke("validate", "--rules", str(rules))
    assert res.exit_code == 1 and "unknown metric 'crt'" in res.output and "weak.yaml" in res.output
