"""Klaviyo end to end through the command line: connections, sync, evaluate, apply with approvals, rollback.

The CLI runs in-process (Click's runner) on the shipped rules/klaviyo workflows, against
the local Klaviyo fake through Prism when it is installed; the key comes from the
environment and the account's `endpoint` from rulerun.yaml.
"""

from __future__ import annotations

import json

import duckdb
import pytest
from click.testing import CliRunner

from engine.cli.main import main
from platforms import ratelimit
from platforms.klaviyo.adapter import KlaviyoAdapter
from tests.fakes import klaviyo_prism
from tests.fakes.klaviyo_fake import ACCOUNT, API_KEY, C_SENT, F_CART, F_SUNSET, S_UNENGAGED, KlaviyoFake, env
from tests.helpers.cli import REPO
from tests.helpers.rules import write_rules

SHIPPED = ("operator.yaml", "flow_optimize.yaml", "sunset.yaml", "list_hygiene.yaml", "deliverability.yaml")


pytestmark = pytest.mark.prism  # through the Prism proxy: one worker runs them all


@pytest.fixture
def fake():
    server = KlaviyoFake(profiles=1500, report_limit=None)  # 1,480 unengaged profiles: over 1,000
    server.api = klaviyo_prism.route(server)
    yield server
    server.close()
    klaviyo_prism.check()


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(KlaviyoAdapter, "sleep", staticmethod(waits.append))
    return waits


@pytest.fixture
def ws(tmp_path, fake, monkeypatch, sleeps):
    rules = write_rules(
        tmp_path, {f"klaviyo/{name}": (REPO / "rules" / "klaviyo" / name).read_text() for name in SHIPPED}
    )
    (tmp_path / "rulerun.yaml").write_text(
        f"platforms:\n  klaviyo:\n    accounts:\n      - {{id: '{ACCOUNT}', endpoint: '{fake.api}'}}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RULERUN_STATE_DIR", raising=False)
    # the report windows are process-wide (as in a real run): each test starts with fresh ones
    monkeypatch.setattr(ratelimit, "_SHARED", {})
    for name, value in env().items():
        monkeypatch.setenv(name, value)
    return tmp_path, rules


def cli(ws, *args):
    _, rules = ws
    return CliRunner().invoke(main, [*args, "--rules", str(rules)], env={"COLUMNS": "220", "NO_COLOR": "1"})


def stored(root, level: str | None = None) -> int:
    where = f" AND level = '{level}'" if level else ""
    with duckdb.connect(str(root / ".rulerun" / "metrics.duckdb"), read_only=True) as con:
        return con.execute(f"SELECT count(*) FROM live.metrics_daily WHERE platform = 'klaviyo'{where}").fetchone()[0]


def test_connections_check_the_account_and_say_what_a_sync_costs_in_report_quota(ws):
    res = cli(ws, "connections")
    assert res.exit_code == 0, res.output
    assert "KLAVIYO_PRIVATE_API_KEY set" in res.output and "Vibe Inc (XkP9Lm)" in res.output
    assert "225 a day" in res.output and "of each report's daily budget per daily sync" in res.output
    assert API_KEY not in res.output


def test_sync_evaluate_apply_with_approvals_and_rollback(ws, fake):
    synced = cli(ws, "sync", "--platform", "klaviyo")
    assert synced.exit_code == 0, synced.output
    assert "1 of 1 account(s)" in synced.output and stored(ws[0], "flow") > 0 and stored(ws[0], "email_campaign") == 1

    plan = json.loads(cli(ws, "evaluate", "--source", "live", "--dry-run", "--format", "json").output)
    by_rule = {(a["rule_id"], a["entity_id"]): a for a in plan["actions"]}
    assert by_rule[("cart_recovery_below_target", F_CART)]["status"] == "planned"  # 3% recovery
    assert by_rule[("spam_complaints_over_limit", C_SENT)]["status"] == "planned"  # 0.18% complaints
    suppress = by_rule[("suppress_unengaged_after_sunset", S_UNENGAGED)]
    assert suppress["status"] == "needs_approval" and suppress["after"] == {"suppressed_profiles": 1480}
    sunset = by_rule[("run_sunset_flow", F_SUNSET)]
    assert sunset["status"] == "needs_approval" and sunset["after"] == {"flow_status": "live"}

    applied = cli(ws, "apply", "--source", "live")
    assert applied.exit_code == 0, applied.output
    assert fake.suppressed() == 0 and fake.flows[F_SUNSET]["status"] == "manual"  # nothing gated ran

    queued = json.loads(cli(ws, "approvals", "list", "--format", "json").output)
    ids = {q["rule_id"]: q["action_id"] for q in queued}
    for rule in ("suppress_unengaged_after_sunset", "run_sunset_flow"):
        ok = cli(ws, "approvals", "approve", ids[rule], "--by", "maria", "--note", "monthly hygiene")
        assert ok.exit_code == 0, ok.output
    again = cli(ws, "apply", "--source", "live")
    assert again.exit_code == 0, again.output
    assert fake.flows[F_SUNSET]["status"] == "live"
    assert fake.suppressed() == 1480
    jobs = [b for m, p, _, b in fake.requests if m == "POST" and p == "/api/profile-suppression-bulk-create-jobs"]
    assert len(jobs) == 15 and max(len(b["data"]["attributes"]["profiles"]["data"]) for b in jobs) == 100

    log = json.loads(cli(ws, "log", "--format", "json", "--status", "executed").output)
    run = next(r["run_id"] for r in log if r["action_type"] == "suppress_profiles")
    rolled = cli(ws, "rollback", "--run", run)
    assert rolled.exit_code == 0, rolled.output
    assert fake.flows[F_SUNSET]["status"] == "manual" and fake.suppressed() == 0


def test_a_bad_api_key_fails_the_sync_clearly_and_stores_nothing(ws, monkeypatch):
    monkeypatch.setenv("KLAVIYO_PRIVATE_API_KEY", "pk_not_the_right_key_42")
    res = cli(ws, "sync", "--platform", "klaviyo")
    assert res.exit_code == 1
    assert f"klaviyo account {ACCOUNT}" in res.output and "KLAVIYO_PRIVATE_API_KEY" in res.output
    assert "pk_not_the_right_key_42" not in res.output and "Traceback" not in res.output
    assert stored(ws[0]) == 0


def test_a_burst_429_is_waited_out(ws, fake, sleeps):
    fake.fail_next("rate_limit", n=1)
    res = cli(ws, "sync", "--platform", "klaviyo")
    assert res.exit_code == 0 and "1 of 1 account(s)" in res.output, res.output
    assert sleeps == [1.0]


def test_a_values_report_over_its_daily_quota_warns_and_the_rest_lands(ws, fake):
    first = cli(ws, "sync", "--platform", "klaviyo")
    assert first.exit_code == 0, first.output
    campaigns = stored(ws[0], "email_campaign")
    fake.report_day["campaign-values-reports"] = fake.daily_quota
    res = cli(ws, "sync", "--platform", "klaviyo", "--since", str(fake.campaigns[C_SENT]["send"]))
    assert res.exit_code == 0, res.output
    assert "1 of 1 account(s)" in res.output
    assert "campaign-values report is over its daily quota" in res.output and "retry after" in res.output
    assert stored(ws[0], "email_campaign") == campaigns == 1  # kept, not wiped
    assert stored(ws[0], "flow") > 0


def test_evaluate_on_live_data_says_which_report_it_could_not_read(ws, fake):
    fake.report_day["flow-series-reports"] = fake.daily_quota
    res = cli(ws, "evaluate", "--source", "live", "--dry-run")
    assert res.exit_code == 0, res.output
    assert "warning: klaviyo XkP9Lm: the flow-series report is over its daily quota" in res.output
    assert "spam_complaints_over_limit" in res.output  # the campaigns' numbers still landed and were judged
