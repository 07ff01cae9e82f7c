"""LinkedIn Ads end to end through the command line, against the local Rest.li fake.

`connections`, `sync --platform linkedin`, `evaluate --source live`, `apply` and
`rollback` run in-process (Click's CliRunner) with the credentials in the environment
and the fake's address in rulerun.yaml; none of them retries a call. The tests that do
inject the adapter's and the sync's waits, so nothing sleeps.
"""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest
from click.testing import CliRunner

from engine.cli.main import main
from tests.fakes.linkedin_fake import ACCOUNT, CLIENT_ID, CLIENT_SECRET, TOKEN, VERSION, LinkedInFake
from tests.helpers.rules import write_rules

AS_OF = "2026-02-01"  # the fake account's data is January 2026
OPERATOR = "operator: linkedin\nplatform: linkedin\n"
WORKFLOW = """\
workflow: efficiency
operator: linkedin
level: ad_group
window: last_7d
rules:
  - id: trim_budgets
    when: status == 'active' and not is_null(daily_budget) and spend > 0 and not is_brand
    action: {type: change_budget, by_pct: -10}
  - id: lower_bids
    when: status == 'active' and spend > 0 and not is_brand
    action: {type: change_bid, by_pct: -5}
  - id: pause_second_creative
    level: ad
    when: status == 'active' and name == 'Creative-2'
    action: pause
"""
ENV = {
    "LINKEDIN_CLIENT_ID": CLIENT_ID,
    "LINKEDIN_CLIENT_SECRET": CLIENT_SECRET,
    "LINKEDIN_ACCESS_TOKEN": TOKEN,
    "LINKEDIN_AD_ACCOUNT_ID": ACCOUNT,
    "LINKEDIN_REFRESH_TOKEN": "",
    "COLUMNS": "200",  # wide tables: one line per row
    "NO_COLOR": "1",
}


@pytest.fixture
def fake():
    server = LinkedInFake()
    yield server
    server.close()


def workspace(tmp_path, fake, *, version: str = VERSION, account: str = ACCOUNT):
    rules = write_rules(tmp_path, {"linkedin/operator.yaml": OPERATOR, "linkedin/efficiency.yaml": WORKFLOW})
    (tmp_path / "rulerun.yaml").write_text(
        f"platforms:\n  linkedin:\n    api_version: '{version}'\n"
        f"    accounts:\n      - {{id: '{account}', endpoint: '{fake.url}'}}\n"
    )
    return rules


@pytest.fixture
def ws(tmp_path, fake):
    return workspace(tmp_path, fake)


def cli(rules, *args, env=None):
    result = CliRunner().invoke(main, [*args, "--rules", str(rules)], env={**ENV, **(env or {})})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback reached the user
    return result


def stored_rows(rules) -> int:
    con = duckdb.connect(str(rules.parent / ".rulerun" / "metrics.duckdb"), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM live.metrics_daily WHERE platform = 'linkedin'").fetchone()[0]
    finally:
        con.close()


def test_connections_lists_the_variables_and_checks_the_account(ws):
    res = cli(ws, "connections")
    assert res.exit_code == 0, res.output
    assert "LINKEDIN_ACCESS_TOKEN set" in res.stdout and "Acme Robotics B2B (USD)" in res.stdout
    assert TOKEN not in res.output and CLIENT_SECRET not in res.output
    missing = cli(ws, "connections", env={"LINKEDIN_ACCESS_TOKEN": ""})
    assert missing.exit_code == 1 and "LINKEDIN_ACCESS_TOKEN MISSING" in missing.stdout


def test_sync_evaluate_apply_rollback_round_trip(ws, fake):
    synced = cli(ws, "sync", "--platform", "linkedin", "--since", "2026-01-01")
    assert synced.exit_code == 0, synced.output
    assert "1 of 1 account(s)" in synced.stdout and stored_rows(ws) > 0

    plan = json.loads(cli(ws, "evaluate", "--source", "live", "--as-of", AS_OF, "--format", "json").stdout)
    by = {(a["rule_id"], a["entity_id"]): a for a in plan["actions"]}
    planned = {k for k, a in by.items() if a["status"] == "planned"}
    assert planned == {
        ("trim_budgets", "700000001"),
        ("trim_budgets", "700000002"),
        ("lower_bids", "700000001"),
        ("pause_second_creative", "800000002"),
    }
    assert by[("trim_budgets", "700000001")]["before"] == {"daily_budget": 100.0}
    # the automated campaign has no manual bid: skipped, with the reason
    skipped = by[("lower_bids", "700000002")]
    assert skipped["status"] == "skipped" and any("no manual bid" in r for r in skipped["reasons"])
    assert not any(e == "700000004" for _, e in by)  # under the brand group

    applied = cli(ws, "apply", "--source", "live", "--as-of", AS_OF)
    assert applied.exit_code == 0, applied.output
    assert "4 executed" in applied.stdout
    assert fake.campaigns["700000001"]["dailyBudget"] == {"amount": "90.00", "currencyCode": "USD"}
    assert fake.campaigns["700000001"]["unitCost"] == {"amount": "8.08", "currencyCode": "USD"}
    assert fake.campaigns["700000002"]["dailyBudget"]["amount"] == "45.00"
    assert fake.creatives["800000002"]["intendedStatus"] == "PAUSED"

    log = json.loads(cli(ws, "log", "--format", "json", "--status", "executed").stdout)
    assert {r["entity_id"] for r in log} == {"700000001", "700000002", "800000002"}
    rolled = cli(ws, "rollback", "--run", log[0]["run_id"])
    assert rolled.exit_code == 0, rolled.output
    assert fake.campaigns["700000001"]["dailyBudget"]["amount"] == "100.00"
    assert fake.campaigns["700000001"]["unitCost"]["amount"] == "8.50"
    assert fake.campaigns["700000002"]["dailyBudget"]["amount"] == "50.00"
    assert fake.creatives["800000002"]["intendedStatus"] == "ACTIVE"


def test_a_revoked_token_fails_the_sync_cleanly_and_keeps_what_was_stored(ws, fake):
    assert cli(ws, "sync", "--platform", "linkedin", "--since", "2026-01-01").exit_code == 0
    before = stored_rows(ws)
    fake.revoke(TOKEN)
    res = cli(ws, "sync", "--platform", "linkedin", "--since", "2026-01-01")
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "linkedin" in res.stdout and ACCOUNT in res.stdout and "LINKEDIN_ACCESS_TOKEN" in res.stdout
    assert TOKEN not in res.output and stored_rows(ws) == before


def test_a_sunset_version_says_which_setting_to_change(tmp_path, fake):
    rules = workspace(tmp_path, fake, version="202401")
    res = cli(rules, "connections")
    assert res.exit_code == 1 and "202401 is no longer active" in res.stdout
    assert "api_version" in res.stdout and "Traceback" not in res.output


def test_an_unknown_account_is_named(tmp_path, fake):
    rules = workspace(tmp_path, fake, account="123456")
    res = cli(rules, "sync", "--platform", "linkedin", "--since", "2026-01-01")
    assert res.exit_code == 1 and "no ad account 123456" in res.stdout and "Traceback" not in res.output


@pytest.mark.parametrize("step", ["/adAccounts/508923114", "/adCampaignGroups", "/creatives", "/adAnalytics"])
def test_a_rate_limit_at_any_step_of_a_sync_stores_nothing_for_the_range(tmp_path, fake, step):
    """Through the sync itself (its own waits injected too): the range is all or nothing."""
    from engine.core.catalog import load_catalog
    from engine.data.store import Store
    from engine.data.sync import sync
    from platforms.adapter import Account
    from tests.fakes.linkedin_fake import make_adapter

    catalog = load_catalog()
    waits: list[float] = []

    def adapter_for(account):
        return make_adapter(fake, sleeps=waits)

    account = Account("linkedin", ACCOUNT, endpoint=fake.url, api_version=VERSION)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in ENV.items():
            mp.setenv(name, value)
        with Store(tmp_path / ".rulerun") as store:
            first = sync(store, catalog, [account], adapter_for, since=date(2026, 1, 1), today=date(2026, 1, 8))
            assert not first.failed
            rows = store.connect().execute("SELECT count(*) FROM live.metrics_daily").fetchone()[0]
            fake.fail_at(step, "rate_limit", 10_000, after=1 if step == "/adAnalytics" else 0)
            second = sync(store, catalog, [account], adapter_for, since=date(2026, 1, 1), today=date(2026, 1, 8))
            assert [r.error for r in second.accounts if r.error]
            error = second.accounts[0].error
            assert error.startswith(f"linkedin account {ACCOUNT}: ") and "rate limited by LinkedIn" in error
            assert store.connect().execute("SELECT count(*) FROM live.metrics_daily").fetchone()[0] == rows
    assert waits  # every wait was recorded, none slept


def test_a_rate_limited_write_is_not_logged_as_executed(ws, fake):
    """`rulerun apply` against a LinkedIn that refuses every write to one campaign with 429."""
    assert cli(ws, "sync", "--platform", "linkedin", "--since", "2026-01-01").exit_code == 0
    fake.fail_at("/700000001", "rate_limit", 10_000, method="PARTIAL_UPDATE")
    bid_before = dict(fake.campaigns["700000001"]["unitCost"])
    # RULERUN_RETRY_MAX_WAIT=0: the retries of the one call go at once, the test never sleeps
    applied = cli(ws, "apply", "--source", "live", "--as-of", "2026-02-01", env={"RULERUN_RETRY_MAX_WAIT": "0"})
    assert applied.exit_code == 3, applied.output  # an action failed
    rows = json.loads(cli(ws, "log", "--format", "json").output)
    failed = {(r["entity_id"], r["action_type"]): r["error_message"] for r in rows if r["status"] == "failed"}
    assert ("700000001", "change_bid") in failed  # the refused write
    assert all("rate limited by LinkedIn" in e for e in failed.values())
    assert fake.campaigns["700000001"]["unitCost"] == bid_before  # never changed, never logged executed
