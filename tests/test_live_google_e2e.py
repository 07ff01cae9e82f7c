"""Google Ads end to end through the command line: sync -> evaluate --source live -> apply -> rollback.

The real google-ads SDK talks gRPC to a local fake (tests/fakes/google_ads_fake.py) over the
plaintext `http://` endpoint of rulerun.yaml, with a pre-issued access token.
"""

from __future__ import annotations

import json

import pytest

from tests.fakes.google_ads_fake import TOKEN, GoogleAdsFake
from tests.helpers.cli import run
from tests.helpers.rules import write_rules

AS_OF = "2026-03-04"  # the fake account has data for 2026-03-01..03

OPERATOR = "operator: google\nplatform: google\n"
WORKFLOW = """\
workflow: efficiency
operator: google
level: campaign
window: last_7d
rules:
  - id: trim_budgets
    when: status == 'active' and spend > 0
    action: {type: change_budget, by_pct: -10}
"""
ENV = {"GOOGLE_ADS_DEVELOPER_TOKEN": "dev-token", "GOOGLE_ADS_ACCESS_TOKEN": TOKEN}


@pytest.fixture
def fake():
    server = GoogleAdsFake()
    yield server
    server.stop()


@pytest.fixture
def ws(tmp_path, fake):
    rules = write_rules(tmp_path, {"google/operator.yaml": OPERATOR, "google/efficiency.yaml": WORKFLOW})
    (tmp_path / "rulerun.yaml").write_text(
        f"platforms:\n  google:\n    accounts:\n      - {{id: '123-456-7890', endpoint: 'http://{fake.endpoint}'}}\n"
    )
    return tmp_path, rules


def cli(ws, *args):
    root, rules = ws
    return run(*args, "--rules", str(rules), cwd=root, env=ENV)


def test_sync_evaluate_apply_rollback_round_trip(ws, fake):
    synced = cli(ws, "sync", "--since", "2026-03-01")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    connected = cli(ws, "connections")
    assert connected.returncode == 0 and TOKEN not in connected.stdout

    plan = json.loads(cli(ws, "evaluate", "--source", "live", "--as-of", AS_OF, "--format", "json").stdout)
    planned = {a["entity_id"]: a for a in plan["actions"] if a["status"] == "planned"}
    assert set(planned) == {"11", "12"}  # the paused Shopping campaign is left alone
    assert planned["11"]["before"] == {"daily_budget": 50.0}  # micros converted

    applied = cli(ws, "apply", "--source", "live", "--as-of", AS_OF)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "2 executed" in applied.stdout
    assert fake.account.budgets["501"] == 45_000_000 and fake.account.budgets["502"] == 18_000_000

    log = json.loads(cli(ws, "log", "--format", "json", "--status", "executed").stdout)
    rolled = cli(ws, "rollback", "--run", log[0]["run_id"])
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert fake.account.budgets["501"] == 50_000_000 and fake.account.budgets["502"] == 20_000_000


def test_auth_errors_during_sync_name_the_account(ws, fake):
    fake.fail_next("auth", n=10)
    res = cli(ws, "sync", "--since", "2026-03-01")
    assert res.returncode == 1 and "123-456-7890" in res.stdout and TOKEN not in res.stdout + res.stderr


def test_a_shared_budget_change_waits_for_approval_and_names_every_campaign(ws, fake):
    fake.account.campaigns["14"] = {"name": "Gadgets", "status": "ENABLED", "budget": "502", "bidding": "TARGET_CPA"}
    fake.account.shared_budgets.add("502")
    assert cli(ws, "sync", "--since", "2026-03-01").returncode == 0
    plan = json.loads(cli(ws, "evaluate", "--source", "live", "--as-of", AS_OF, "--format", "json").stdout)
    by_id = {a["entity_id"]: a for a in plan["actions"]}
    for shared in ("12", "14"):
        assert by_id[shared]["status"] == "needs_approval"
        assert any("shared by several campaigns" in r for r in by_id[shared]["reasons"])
        assert "shared budget: also changes campaigns 12, 14" in by_id[shared]["reasons"]
    assert by_id["11"]["status"] == "planned"  # its budget is its own
    applied = cli(ws, "apply", "--source", "live", "--as-of", AS_OF)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert fake.account.budgets["502"] == 20_000_000 and fake.account.budgets["501"] == 45_000_000
