"""TikTok end to end through the command line: connections, sync, evaluate --source live, apply, rollback.

The CLI runs in-process (Click's runner) against the local fake of the Business API
(tests/fakes/tiktok_fake.py), whose data ends yesterday, with the token in the environment
as cron would have it. A real process matters only for the exit code test of a failed sync.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import duckdb
import pytest
from click.testing import CliRunner

from engine.cli.main import main
from tests.fakes.tiktok_fake import ADVERTISER, TOKEN, TikTokFake
from tests.helpers.cli import run
from tests.helpers.rules import write_rules

OPERATOR = "operator: tiktok\nplatform: tiktok\n"
WORKFLOW = """\
workflow: efficiency
operator: tiktok
level: ad_group
window: last_7d
rules:
  - id: trim_campaign_budgets
    level: campaign
    when: status == 'active' and spend > 0
    action: {type: change_budget, by_pct: -10}
  - id: trim_ad_group_budgets
    when: status == 'active' and spend > 0
    action: {type: change_budget, by_pct: -10}
  - id: lower_bids
    when: status == 'active' and spend > 0
    action: {type: change_bid, by_pct: -10}
"""
ENV = {
    "TIKTOK_ACCESS_TOKEN": TOKEN,
    "TIKTOK_ADVERTISER_ID": ADVERTISER,
    "RULERUN_TIKTOK_MAX_QPS": "1000000",  # the fake has no rate limit: do not pace
    "COLUMNS": "200",
    "NO_COLOR": "1",
}
C_DAILY, C_TOTAL, C_PAUSED, C_CBO = (f"180000000000{n}" for n in range(1, 5))
G_BID, G_NEW, G_TOTAL, G_PAUSED, G_CBO, G_EDITED = (f"181000000000{n}" for n in range(1, 7))


@pytest.fixture
def fake():
    server = TikTokFake(first_day=date.today() - timedelta(days=31), days=31)
    yield server
    server.close()


@pytest.fixture
def ws(tmp_path, fake, monkeypatch):
    monkeypatch.delenv("RULERUN_STATE_DIR", raising=False)
    rules = write_rules(tmp_path, {"tiktok/operator.yaml": OPERATOR, "tiktok/efficiency.yaml": WORKFLOW})
    (tmp_path / "rulerun.yaml").write_text(
        f"platforms:\n  tiktok:\n    accounts:\n      - {{id: '{ADVERTISER}', endpoint: '{fake.url}'}}\n"
    )
    return tmp_path, rules


def cli(ws, *args, env=None):
    _, rules = ws
    return CliRunner().invoke(main, [*args, "--rules", str(rules)], env={**ENV, **(env or {})}, catch_exceptions=False)


def metric_rows(ws) -> int:
    state = ws[0] / ".rulerun" / "metrics.duckdb"
    with duckdb.connect(str(state), read_only=True) as con:
        return con.execute("SELECT count(*) FROM live.metrics_daily WHERE platform = 'tiktok'").fetchone()[0]


def test_docs_mark_tiktok_live():
    res = CliRunner().invoke(main, ["docs", "platforms"], env={"COLUMNS": "200"})
    section = res.output.split("tiktok (TikTok Ads)")[1].split("vwo (VWO)")[0]
    assert "live adapter: yes" in section and "learning" in section


def test_connections_names_the_advertiser_without_the_token(ws):
    res = cli(ws, "connections")
    assert res.exit_code == 0, res.output
    assert "TIKTOK_ACCESS_TOKEN set" in res.output and "Acme TikTok" in res.output and TOKEN not in res.output
    missing = cli(ws, "connections", env={"TIKTOK_ACCESS_TOKEN": ""})
    assert missing.exit_code == 1 and "TIKTOK_ACCESS_TOKEN MISSING" in missing.output


def test_sync_evaluate_apply_rollback_round_trip(ws, fake):
    synced = cli(ws, "sync", "--platform", "tiktok", "--since", fake.first_day.isoformat())
    assert synced.exit_code == 0, synced.output
    assert "1 of 1 account(s)" in synced.output and metric_rows(ws) > 0

    plan = json.loads(cli(ws, "evaluate", "--source", "live", "--format", "json").output)
    by = {(a["rule_id"], a["entity_id"]): a for a in plan["actions"]}
    planned = {k for k, a in by.items() if a["status"] == "planned"}
    assert planned == {
        ("trim_campaign_budgets", C_CBO),
        ("trim_ad_group_budgets", G_BID),
        ("lower_bids", G_BID),
        ("lower_bids", G_TOTAL),  # a cost cap on conversions is a custom bid too
    }
    assert by[("lower_bids", G_TOTAL)]["before"] == {"bid": 30.0}
    # ad groups still learning (derived), and their campaign, are blocked, saying so
    for rule, entity_id in (
        ("trim_ad_group_budgets", G_NEW),
        ("trim_ad_group_budgets", G_EDITED),
        ("trim_campaign_budgets", C_DAILY),
    ):
        blocked = by[(rule, entity_id)]
        assert blocked["status"] == "blocked" and "derived" in " ".join(blocked["reasons"])
    # budgets that are not daily ones, and automatic bids, are skipped with the reason
    assert by[("trim_campaign_budgets", C_TOTAL)]["status"] == "skipped"
    assert "lifetime (total) budget" in " ".join(by[("trim_campaign_budgets", C_TOTAL)]["reasons"])
    assert "parent's budget" in " ".join(by[("trim_ad_group_budgets", G_CBO)]["reasons"])
    assert "bids by lowest_cost" in " ".join(by[("lower_bids", G_CBO)]["reasons"])

    applied = cli(ws, "apply", "--source", "live")
    assert applied.exit_code == 0, applied.output
    assert "4 executed" in applied.output
    assert (fake.campaigns[C_DAILY]["budget"], fake.campaigns[C_CBO]["budget"]) == (500.0, 720.0)
    assert (fake.adgroups[G_BID]["budget"], fake.adgroups[G_BID]["bid_price"]) == (135.0, 2.25)
    assert fake.adgroups[G_TOTAL]["conversion_bid_price"] == 27.0

    log = json.loads(cli(ws, "log", "--format", "json", "--status", "executed").output)
    rolled = cli(ws, "rollback", "--run", log[0]["run_id"])
    assert rolled.exit_code == 0, rolled.output
    assert (fake.campaigns[C_DAILY]["budget"], fake.campaigns[C_CBO]["budget"]) == (500.0, 800.0)
    assert (fake.adgroups[G_BID]["budget"], fake.adgroups[G_BID]["bid_price"]) == (150.0, 2.5)
    assert fake.adgroups[G_TOTAL]["conversion_bid_price"] == 30.0


def test_a_refused_change_is_failed_and_the_others_still_execute(ws, fake):
    assert cli(ws, "sync", "--since", fake.first_day.isoformat()).exit_code == 0
    fake.fail_object(G_BID)
    applied = cli(ws, "apply", "--source", "live")
    assert applied.exit_code == 3, applied.output  # an action failed
    executed = json.loads(cli(ws, "log", "--format", "json", "--status", "executed").output)
    failed = json.loads(cli(ws, "log", "--format", "json", "--status", "failed").output)
    assert {a["entity_id"] for a in executed} == {C_CBO, G_TOTAL}
    assert {a["entity_id"] for a in failed} == {G_BID}  # both of its changes: refused, never logged as executed
    assert fake.adgroups[G_BID]["budget"] == 150.0 and fake.campaigns[C_CBO]["budget"] == 720.0


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("auth", "invalid or revoked"),
        ("expired", "expired"),
        ("malformed", "not JSON"),
        ("no_permission", "no permission"),
    ],
)
def test_a_failed_sync_names_the_account_and_keeps_what_was_stored(ws, fake, kind, says):
    assert cli(ws, "sync", "--since", fake.first_day.isoformat()).exit_code == 0
    before = metric_rows(ws)
    fake.fail_next(kind, endpoint="report/integrated/get")
    res = cli(ws, "sync", "--since", fake.first_day.isoformat())
    assert res.exit_code == 1
    assert f"tiktok account {ADVERTISER}" in res.output and says in res.output and TOKEN not in res.output
    assert "Traceback" not in res.output and metric_rows(ws) == before


def test_a_bad_token_exits_1_in_a_real_process(ws):
    root, rules = ws
    res = run("sync", "--rules", str(rules), cwd=root, env={**ENV, "TIKTOK_ACCESS_TOKEN": "wrong-token-1234567"})
    assert res.returncode == 1 and "tiktok account" in res.stdout and "invalid or revoked" in res.stdout
    assert "wrong-token-1234567" not in res.stdout + res.stderr and "Traceback" not in res.stderr
