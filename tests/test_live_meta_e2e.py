"""Meta end to end through the command line: sync -> evaluate --source live -> apply -> rollback.

The real facebook-business SDK talks to a local fake of the Graph API (tests/fakes); the
CLI runs in subprocesses with credentials in their environment, as cron would run it.
"""

from __future__ import annotations

import json
from collections import Counter

import duckdb
import pytest

from tests.fakes.meta_graph_fake import ACCOUNT, APP_ID, APP_SECRET, TOKEN, MetaGraphFake
from tests.helpers.cli import run
from tests.helpers.rules import write_rules

AS_OF = "2026-02-01"  # the fake account's data is January 2026

OPERATOR = """\
operator: meta
platform: meta
"""
WORKFLOW = """\
workflow: efficiency
operator: meta
level: ad_group
window: last_7d
rules:
  - id: trim_campaign_budgets
    level: campaign
    when: status == 'active' and not is_null(daily_budget) and spend > 0
    action: {type: change_budget, by_pct: -10}
  - id: trim_ad_set_budgets
    when: status == 'active' and not is_null(daily_budget) and spend > 0 and not learning_phase
    action: {type: change_budget, by_pct: -10}
"""


@pytest.fixture
def fake():
    server = MetaGraphFake(page_size=50, async_polls=1)
    yield server
    server.close()


@pytest.fixture
def ws(tmp_path, fake):
    rules = write_rules(tmp_path, {"meta/operator.yaml": OPERATOR, "meta/efficiency.yaml": WORKFLOW})
    (tmp_path / "rulerun.yaml").write_text(
        f"platforms:\n  meta:\n    accounts:\n      - {{id: act_{ACCOUNT}, endpoint: '{fake.url}'}}\n"
    )
    return tmp_path, rules


ENV = {
    "META_APP_ID": APP_ID,
    "META_APP_SECRET": APP_SECRET,
    "META_ACCESS_TOKEN": TOKEN,
    "META_AD_ACCOUNT_ID": f"act_{ACCOUNT}",
    "RULERUN_META_POLL_INTERVAL": "0",
}


def cli(ws, *args, env=None):
    root, rules = ws
    return run(*args, "--rules", str(rules), cwd=root, env={**ENV, **(env or {})})


def test_connections_lists_credentials_without_values(ws):
    res = cli(ws, "connections")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "META_ACCESS_TOKEN set" in res.stdout and "ok" in res.stdout
    assert TOKEN not in res.stdout + res.stderr
    missing = run("connections", "--rules", str(ws[1]), cwd=ws[0], env={"META_ACCESS_TOKEN": ""})
    assert missing.returncode == 1 and "META_ACCESS_TOKEN MISSING" in missing.stdout


def test_sync_evaluate_apply_rollback_round_trip(ws, fake):
    synced = cli(ws, "sync", "--since", "2026-01-01")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "1 of 1 account(s)" in synced.stdout

    plan = json.loads(cli(ws, "evaluate", "--source", "live", "--as-of", AS_OF, "--format", "json").stdout)
    planned = {(a["rule_id"], a["entity_id"]): a for a in plan["actions"] if a["status"] == "planned"}
    assert set(planned) == {("trim_campaign_budgets", "c1"), ("trim_ad_set_budgets", "s4")}
    assert planned[("trim_campaign_budgets", "c1")]["before"] == {"daily_budget": 150.0}  # cents converted
    assert not any(a["entity_id"] == "s2" for a in plan["actions"] if a["status"] == "planned")  # learning

    applied = cli(ws, "apply", "--source", "live", "--as-of", AS_OF)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"{len(planned)} executed" in applied.stdout
    assert fake.campaigns["c1"]["daily_budget"] == "13500" and fake.adsets["s4"]["daily_budget"] == "900"

    log = json.loads(cli(ws, "log", "--format", "json", "--status", "executed").stdout)
    rolled = cli(ws, "rollback", "--run", log[0]["run_id"])
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert fake.campaigns["c1"]["daily_budget"] == "15000" and fake.adsets["s4"]["daily_budget"] == "1000"


def test_a_500_mid_page_is_retried_and_a_bad_token_fails_cleanly(ws, fake):
    fake.fail_page(1)
    # RULERUN_RETRY_MAX_WAIT=0: the retry goes at once, the test never sleeps
    recovered = cli(ws, "sync", "--since", "2026-01-01", env={"RULERUN_RETRY_MAX_WAIT": "0"})
    assert recovered.returncode == 0 and "1 of 1 account(s)" in recovered.stdout, recovered.stdout
    edges = ("campaigns", "adsets", "ads", "insights")
    gets = [(path, p) for m, path, p in fake.requests if m == "GET" and path.rsplit("/", 1)[-1] in edges]
    pages = Counter((path, p.get("after")) for path, p in gets)
    repeated = [page for page, n in pages.items() if n > 1]
    assert len(repeated) == 1 and repeated[0][1] is not None  # only the failed page, asked again with its cursor

    root, _ = ws
    state = root / ".rulerun" / "metrics.duckdb"
    rows_before = (
        duckdb.connect(str(state), read_only=True).execute("SELECT count(*) FROM live.metrics_daily").fetchone()[0]
    )
    bad = cli(ws, "sync", "--since", "2026-01-01", env={"META_ACCESS_TOKEN": "wrong-token"})
    assert bad.returncode == 1
    assert "act_123" in bad.stdout and "meta" in bad.stdout and "wrong-token" not in bad.stdout + bad.stderr
    rows_after = (
        duckdb.connect(str(state), read_only=True).execute("SELECT count(*) FROM live.metrics_daily").fetchone()[0]
    )
    assert rows_after == rows_before  # the failed account's range was not touched


# -- products of live entities: campaigns named after a product line get it, their ad sets and ads
# inherit it, and a per-product threshold then applies to them

PRODUCT_OPERATOR = """\
operator: meta
platform: meta
thresholds:
  max_spend: {default: 1000000000, bot: 0}
"""
PRODUCT_WORKFLOW = """\
workflow: per_product
operator: meta
level: ad_group
window: last_7d
rules:
  - id: campaign_over_its_product_limit
    level: campaign
    when: spend > thresholds.max_spend
    action: pause
  - id: ad_set_over_its_product_limit
    when: spend > thresholds.max_spend
    action: pause
"""


@pytest.fixture
def product_ws(tmp_path, fake):
    fake.campaigns["c1"]["name"] = "Bot-Prospecting-LAL-2026Q1"
    fake.campaigns["c2"]["name"] = "Dot-Retargeting-Visitors-2026Q1"
    rules = write_rules(tmp_path, {"meta/operator.yaml": PRODUCT_OPERATOR, "meta/per_product.yaml": PRODUCT_WORKFLOW})
    (tmp_path / "rulerun.yaml").write_text(
        "products: [bot, dot, board]\n"
        f"platforms:\n  meta:\n    accounts:\n      - {{id: act_{ACCOUNT}, endpoint: '{fake.url}'}}\n"
    )
    return tmp_path, rules


def stored_products(root):
    con = duckdb.connect(str(root / ".rulerun" / "metrics.duckdb"), read_only=True)
    try:
        return dict(con.execute("SELECT entity_id, product FROM live.entities WHERE platform = 'meta'").fetchall())
    finally:
        con.close()


def test_synced_campaigns_get_their_product_and_its_thresholds(product_ws):
    for _ in range(2):  # every sync re-reads the entities without a product: each one tags them again
        synced = cli(product_ws, "sync", "--since", "2026-01-01")
        assert synced.returncode == 0, synced.stdout + synced.stderr
        assert "Campaigns by product: bot 1, dot 1; 1 of no product" in " ".join(synced.stdout.split())
        got = stored_products(product_ws[0])
        assert [got[e] for e in ("c1", "s1", "a1", "a2")] == ["bot"] * 4  # the ad sets and ads inherit
        assert [got[e] for e in ("c2", "s2", "s3", "a3", "a4")] == ["dot"] * 5
        assert got["c3"] is None and got["s4"] is None  # "Brand Search Defence" names no product

    res = cli(product_ws, "evaluate", "--source", "live", "--as-of", AS_OF, "--dry-run", "--format", "json")
    plan = json.loads(res.stdout)
    fired = {(a["rule_id"], a["entity_id"]) for a in plan["actions"]}
    # only bot's limit of 0 is exceeded; dot and the untagged entities fall under the default
    assert fired == {("campaign_over_its_product_limit", "c1"), ("ad_set_over_its_product_limit", "s1")}
