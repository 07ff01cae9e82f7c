"""Amazon Ads end to end: connections, sync, evaluate --source live, apply and rollback.

The shipped Amazon rules (rules/amazon) run through the command line (Click's runner, in
process; one real process where the exit code and stderr matter) against the local fake of
the Amazon Ads API (tests/fakes/amazon_ads_fake.py), reached through rulerun.yaml's
`endpoint:`. The fake's data ends yesterday, as a daily cron finds it: `evaluate --source live`
syncs again first, and search terms are only known from recent reports. Faults that would be
retried with real waits are driven through the sync engine itself, with the wait injected.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from click.testing import CliRunner

from engine.cli.main import main
from tests.fakes.amazon_ads_fake import ENV, OTHER_PROFILE, PROFILE, AmazonAdsFake
from tests.helpers.cli import REPO, run

TODAY = datetime.now(UTC).date()  # rulerun.yaml's account keeps the default timezone, UTC
AS_OF = TODAY.isoformat()
SINCE = (TODAY - timedelta(days=31)).isoformat()  # the fake's first day: 31 days up to yesterday


def numbers(cost: float, sales: float, clicks: float = 3, purchases: float | None = None):
    orders = purchases if purchases is not None else (1 if sales else 0)
    return lambda day: {"impressions": 500, "clicks": clicks, "cost": cost, "purchases7d": orders, "sales7d": sales}


@pytest.fixture
def fake():
    server = AmazonAdsFake(page_size=2, report_polls=0)
    server.first_day = TODAY - timedelta(days=31)
    server.metrics.update(
        {
            ("keyword", "301"): numbers(3.0, 5.0),  # ACOS 0.6 with 42 clicks: bid down
            ("keyword", "302"): numbers(1.0, 10.0),  # ACOS 0.1
            ("search_term", "201~conference camera 4k"): numbers(2.0, 0.0),  # $28, no sale: negative
            ("search_term", "201~meeting room camera"): numbers(2.0, 30.0),
            ("search_term", "202~portable monitor"): numbers(0.5, 0.0),  # $7: too little to judge
            ("campaign", "101"): numbers(49.0, 245.0, purchases=1),  # spends 98% of $50 at ACOS 0.2
            ("campaign", "102"): numbers(10.0, 20.0),
        }
    )
    yield server
    server.close()


@pytest.fixture
def ws(tmp_path, fake):
    shutil.copytree(REPO / "rules" / "amazon", tmp_path / "rules" / "amazon")
    (tmp_path / "rulerun.yaml").write_text(
        f"platforms:\n  amazon:\n    accounts:\n      - {{id: '{PROFILE}', endpoint: '{fake.url}'}}\n"
    )
    return tmp_path


def cli(ws, *args, env=None):
    result = CliRunner().invoke(
        main, [*args, "--rules", str(ws / "rules")], env={**ENV, "COLUMNS": "200", **(env or {})}
    )
    assert "Traceback" not in result.output
    return result


def stored_rows(ws) -> int:
    with duckdb.connect(str(ws / ".rulerun" / "metrics.duckdb"), read_only=True) as con:
        return con.execute("SELECT count(*) FROM live.metrics_daily WHERE platform = 'amazon'").fetchone()[0]


def test_connections_shows_the_profile_and_amazons_own_automation(ws, fake):
    res = cli(ws, "connections")
    assert res.exit_code == 0, res.output
    assert "AMAZON_ADS_REFRESH_TOKEN set" in res.output and "ok (Vibe: US, USD, America/Los_Angeles)" in res.output
    assert f"note: amazon {PROFILE}: platform-side automation present: Amazon budget rule 'Prime Day boost'" in (
        res.output.replace("\n", " ")
    )
    for secret in [*ENV.values(), *fake.issued]:
        assert secret not in res.output


def test_a_budget_rule_read_failure_is_a_note_not_a_failed_connection(ws, fake):
    fake.fail_step("permanent", "GET", "/sp/budgetRules")
    res = cli(ws, "connections")
    assert res.exit_code == 0, res.output
    assert "could not read everything worth noting" in res.output and "HTTP 400" in res.output


def test_sync_evaluate_apply_rollback_round_trip(ws, fake):
    synced = cli(ws, "sync", "--platform", "amazon", "--since", SINCE)
    assert synced.exit_code == 0, synced.output
    assert "1 of 1 account(s)" in synced.output

    plan = json.loads(cli(ws, "evaluate", "--source", "live", "--as-of", AS_OF, "--format", "json").output)
    by_rule = {(a["rule_id"], a["entity_id"]): a for a in plan["actions"]}
    assert set(by_rule) == {
        ("lower_bids_high_acos_keywords", "301"),
        ("negative_wasted_search_terms", "201~conference camera 4k"),
        ("raise_budgets_capped_efficient_campaigns", "101"),
    }
    bid = by_rule[("lower_bids_high_acos_keywords", "301")]
    assert bid["status"] == "planned" and bid["before"] == {"bid": 2.1} and bid["after"] == {"bid": 1.79}
    assert by_rule[("negative_wasted_search_terms", "201~conference camera 4k")]["status"] == "planned"
    budget = by_rule[("raise_budgets_capped_efficient_campaigns", "101")]
    assert budget["status"] == "blocked" and "min_mer_for_increase" in json.dumps(budget)  # no Shopify data

    applied = cli(ws, "apply", "--source", "live", "--as-of", AS_OF)
    assert applied.exit_code == 0, applied.output
    assert "2 executed" in applied.output
    assert fake.keywords["301"]["bid"] == 1.79
    (negative,) = [n for n in fake.negatives["negativeKeywords"].values() if n["keywordText"] == "conference camera 4k"]
    assert negative["adGroupId"] == "201" and negative["matchType"] == "NEGATIVE_EXACT"
    assert fake.campaigns["101"]["budget"]["budget"] == 50  # blocked: never sent

    log = json.loads(cli(ws, "log", "--format", "json", "--status", "executed").output)
    rolled = cli(ws, "rollback", "--run", log[0]["run_id"])
    assert rolled.exit_code == 0, rolled.output
    assert fake.keywords["301"]["bid"] == 2.1 and negative["state"] == "ARCHIVED"


def test_sync_rereads_the_restatement_window(ws, fake):
    assert cli(ws, "sync", "--since", SINCE).exit_code == 0
    first = len(fake.reports)
    today = datetime.now(UTC).date()  # not TODAY: the suite may have started before midnight UTC
    again = cli(ws, "sync")  # no --since: the days not stored yet, plus Amazon's 3 restated days
    assert again.exit_code == 0, again.output
    ranges = {
        (r["request"]["configuration"]["reportTypeId"], r["request"]["startDate"], r["request"]["endDate"])
        for r in list(fake.reports.values())[first:]
    }
    yesterday = today - timedelta(days=1)
    reread = (yesterday - timedelta(days=2)).isoformat()
    assert {(kind, start) for kind, start, _ in ranges if kind != "spSearchTerm"} == {
        ("spCampaigns", reread),
        ("spTargeting", reread),
    }
    # search terms have no list: the last 31 days' report names them
    assert {(start, end) for kind, start, end in ranges if kind == "spSearchTerm"} == {
        ((yesterday - timedelta(days=30)).isoformat(), yesterday.isoformat())
    }


def test_a_revoked_refresh_token_fails_the_sync_cleanly_and_keeps_what_was_stored(ws, fake):
    assert cli(ws, "sync", "--since", SINCE).exit_code == 0
    before = stored_rows(ws)
    fake.revoke()
    res = run("sync", "--rules", str(ws / "rules"), cwd=ws, env=ENV)  # a real process: exit code and stderr
    assert res.returncode == 1
    assert f"{PROFILE}" in res.stdout and "amazon" in res.stdout
    assert "set AMAZON_ADS_REFRESH_TOKEN" in res.stdout.replace("\n", "")
    assert "Traceback" not in res.stdout + res.stderr
    for secret in [*ENV.values(), *fake.issued]:
        assert secret not in res.stdout + res.stderr
    assert stored_rows(ws) == before


def test_an_unknown_profile_names_the_profiles_the_credentials_reach(ws, fake):
    (ws / "rulerun.yaml").write_text(
        f"platforms:\n  amazon:\n    accounts:\n      - {{id: '42', endpoint: '{fake.url}'}}\n"
    )
    res = cli(ws, "connections")
    assert res.exit_code == 1
    text = " ".join(res.output.split())
    assert "unknown profile 42" in text and PROFILE in text and OTHER_PROFILE in text


def test_failed_items_of_a_207_are_settled_on_their_own_through_apply(ws, fake):
    assert cli(ws, "sync", "--since", SINCE).exit_code == 0
    fake.fail_item("301")
    applied = cli(ws, "apply", "--source", "live", "--as-of", AS_OF)
    assert applied.exit_code == 3, applied.output  # at least one action failed
    assert fake.keywords["301"]["bid"] == 2.1 and any(
        n["keywordText"] == "conference camera 4k" for n in fake.negatives["negativeKeywords"].values()
    )
    rows = json.loads(cli(ws, "log", "--format", "json").output)
    status = {r["entity_id"]: r for r in rows}
    assert (
        status["301"]["status"] == "failed"
        and "the fake was told to refuse changes of 301" in status["301"]["error_message"]
    )
    assert status["201~conference camera 4k"]["status"] == "executed"


# -- faults driven through the sync engine (waits injected) -------------------------------------------------


@pytest.fixture
def engine_sync(tmp_path, fake, monkeypatch):
    from engine.core.catalog import load_catalog
    from engine.data.store import Store
    from engine.data.sync import sync
    from platforms.adapter import Account
    from platforms.amazon.adapter import AmazonAdsAdapter

    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    account = Account("amazon", PROFILE, endpoint=fake.url)
    sleeps: list[float] = []

    def once():
        with Store(tmp_path / "state") as store:
            report = sync(
                store,
                load_catalog(),
                [account],
                lambda a: AmazonAdsAdapter(a, sleep=sleeps.append, max_report_wait=30),
                since=fake.first_day,
                today=TODAY,
            )
            con = store.connect()
            rows = con.execute("SELECT count(*) FROM live.metrics_daily").fetchone()[0]
            marks = con.execute("SELECT count(*) FROM _rulerun_sync").fetchone()[0]
        return report, rows, marks, sleeps

    return once


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/auth/o2/token"),
        ("GET", "/v2/profiles"),
        ("POST", "/reporting/reports"),
        ("POST", "/sp/keywords/list"),
        ("GET", "/reporting/reports/"),
        ("GET", "/download/"),
    ],
)
def test_rate_limiting_at_any_step_of_a_sync_stores_nothing(engine_sync, fake, method, path):
    fake.fail_step("rate_limit", method, path, n=1000)
    report, rows, marks, _ = engine_sync()
    (result,) = report.accounts
    assert result.error and result.error.startswith(f"amazon account {PROFILE}: ") and "HTTP 429" in result.error
    assert rows == 0 and marks == 0


def test_a_report_that_never_finishes_stores_nothing(engine_sync, fake):
    fake.report_outcome = "NEVER"
    report, rows, marks, sleeps = engine_sync()
    (result,) = report.accounts
    assert "was not ready after" in result.error and rows == 0 and marks == 0
    assert 0 < sum(sleeps) <= 30  # the read waits at most its bound; sync does not retry on top


def test_a_500_mid_paging_is_retried_and_the_sync_completes(engine_sync, fake):
    fake.fail_page(1)
    report, rows, marks, sleeps = engine_sync()
    assert report.accounts[0].error is None and rows > 0 and marks == 1
    lists = [r["body"].get("nextToken") for r in fake.requests if r["path"] == "/sp/campaigns/list"]
    assert lists == [None, "2", "2"]  # the failed page again, never page 1
    assert len(sleeps) == 1
