"""Pinterest end to end through the command line: connections, sync, evaluate, apply, rollback.

The CLI runs in-process (Click's runner) on the DESIGN.md workflow, against the local
Pinterest fake through Prism when it is installed; credentials come from the environment
and the account's `endpoint` from rulerun.yaml. The fake's data runs up to yesterday, so
`--source live` evaluates today as a scheduled run would.
"""

from __future__ import annotations

import json

import duckdb
import pytest
from click.testing import CliRunner

from engine.cli.main import main
from platforms.pinterest.adapter import PinterestAdapter
from tests.fakes import pinterest_prism
from tests.fakes.pinterest_fake import ACCOUNT, G_AUTO, G_CBO, G_MANUAL, REFRESH_TOKEN, TOKEN, PinterestFake, env
from tests.helpers.rules import PINTEREST_OPERATOR, PINTEREST_WORKFLOW, write_rules

pytestmark = pytest.mark.prism  # through the Prism proxy: one worker runs them all


@pytest.fixture
def fake():
    server = PinterestFake()
    server.api = pinterest_prism.route(server)
    yield server
    server.close()
    pinterest_prism.check()


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(PinterestAdapter, "sleep", staticmethod(waits.append))
    return waits


@pytest.fixture
def ws(tmp_path, fake, monkeypatch, sleeps):
    rules = write_rules(
        tmp_path, {"pinterest/operator.yaml": PINTEREST_OPERATOR, "pinterest/daily_optimize.yaml": PINTEREST_WORKFLOW}
    )
    (tmp_path / "rulerun.yaml").write_text(
        f"platforms:\n  pinterest:\n    accounts:\n      - {{id: '{ACCOUNT}', endpoint: '{fake.api}'}}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RULERUN_STATE_DIR", raising=False)
    monkeypatch.delenv("PINTEREST_REFRESH_TOKEN", raising=False)
    for name, value in env().items():
        monkeypatch.setenv(name, value)
    return tmp_path, rules


def cli(ws, *args):
    _, rules = ws
    return CliRunner().invoke(main, [*args, "--rules", str(rules)], env={"COLUMNS": "200", "NO_COLOR": "1"})


def stored_rows(root) -> int:
    with duckdb.connect(str(root / ".rulerun" / "metrics.duckdb"), read_only=True) as con:
        return con.execute("SELECT count(*) FROM live.metrics_daily WHERE platform = 'pinterest'").fetchone()[0]


def test_connections_names_the_variables_and_checks_the_account(ws):
    res = cli(ws, "connections")
    assert res.exit_code == 0, res.output
    assert "PINTEREST_ACCESS_TOKEN set" in res.output and "Acme Pinterest" in res.output
    assert TOKEN not in res.output


def test_sync_evaluate_apply_rollback_round_trip(ws, fake):
    synced = cli(ws, "sync", "--platform", "pinterest")
    assert synced.exit_code == 0, synced.output
    assert "1 of 1 account(s)" in synced.output and stored_rows(ws[0]) > 0

    plan = json.loads(cli(ws, "evaluate", "--source", "live", "--dry-run", "--format", "json").output)
    planned = {a["entity_id"]: a for a in plan["actions"] if a["status"] == "planned"}
    # outbound CTR ~0.25% on the odd-numbered ad groups with a manual bid: their bids are cut 15%
    assert set(planned) == {G_MANUAL, G_CBO}
    assert planned[G_MANUAL]["before"] == {"bid": 1.1} and planned[G_MANUAL]["after"] == {"bid": 0.94}
    assert G_AUTO not in planned  # outbound CTR ~0.67%: healthy

    applied = cli(ws, "apply", "--source", "live")
    assert applied.exit_code == 0, applied.output
    assert "2 executed" in applied.output
    assert fake.ad_groups[G_MANUAL]["bid_in_micro_currency"] == 940_000
    assert fake.ad_groups[G_CBO]["bid_in_micro_currency"] == 810_000
    patches = [b for m, _, _, b in fake.requests if m == "PATCH"]
    assert patches and sum(len(b) for b in patches) == 2

    log = json.loads(cli(ws, "log", "--format", "json", "--status", "executed").output)
    rolled = cli(ws, "rollback", "--run", log[0]["run_id"])
    assert rolled.exit_code == 0, rolled.output
    assert fake.ad_groups[G_MANUAL]["bid_in_micro_currency"] == 1_100_000
    assert fake.ad_groups[G_CBO]["bid_in_micro_currency"] == 950_000


def test_a_500_mid_page_is_retried_and_a_revoked_token_stores_nothing(ws, fake, sleeps, monkeypatch):
    monkeypatch.setattr(PinterestAdapter, "PAGE_SIZE", 2)  # pages of 2: the lists take several pages
    fake.fail_page(1)
    recovered = cli(ws, "sync", "--platform", "pinterest")
    assert recovered.exit_code == 0 and "1 of 1 account(s)" in recovered.output, recovered.output
    assert len(sleeps) == 1  # the failed page alone was asked again, after a pause
    before = stored_rows(ws[0])

    fake.revoke()
    bad = cli(ws, "sync", "--platform", "pinterest", "--since", "2026-01-01")
    assert bad.exit_code == 1
    assert ACCOUNT in bad.output and "PINTEREST_ACCESS_TOKEN" in bad.output and "Traceback" not in bad.output
    assert TOKEN not in bad.output
    assert stored_rows(ws[0]) == before  # the failed account's range was not touched


def test_an_expired_token_is_renewed_during_sync(ws, fake, monkeypatch):
    monkeypatch.setenv("PINTEREST_REFRESH_TOKEN", REFRESH_TOKEN)
    fake.expire_token()
    res = cli(ws, "sync", "--platform", "pinterest")
    assert res.exit_code == 0, res.output
    assert [r[1] for r in fake.requests].count("/oauth/token") == 1
    assert REFRESH_TOKEN not in res.output and fake.token not in res.output


def test_rate_limiting_fails_the_sync_cleanly(ws, fake, sleeps):
    fake.fail_next("rate_limit", n=100)
    res = cli(ws, "sync", "--platform", "pinterest")
    assert res.exit_code == 1
    assert f"pinterest account {ACCOUNT}" in res.output and "HTTP 429" in res.output
    assert "Traceback" not in res.output and stored_rows(ws[0]) == 0
