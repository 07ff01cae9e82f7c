"""Products of live entities end to end: campaigns named after a product line, synced from the
Meta fake through the command line, get that product, their ad sets and ads inherit it, and a
per-product threshold then applies to them.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from tests.fakes.meta_graph_fake import ACCOUNT, APP_ID, APP_SECRET, TOKEN, MetaGraphFake
from tests.helpers.cli import run
from tests.helpers.rules import write_rules

AS_OF = "2026-02-01"  # the fake account's data is January 2026

OPERATOR = """\
operator: meta
platform: meta
thresholds:
  max_spend: {default: 1000000000, bot: 0}
"""
WORKFLOW = """\
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
ENV = {
    "META_APP_ID": APP_ID,
    "META_APP_SECRET": APP_SECRET,
    "META_ACCESS_TOKEN": TOKEN,
    "META_AD_ACCOUNT_ID": f"act_{ACCOUNT}",
    "RULERUN_META_POLL_INTERVAL": "0",
}


@pytest.fixture
def fake():
    server = MetaGraphFake(page_size=50, async_polls=1)
    server.campaigns["c1"]["name"] = "Bot-Prospecting-LAL-2026Q1"
    server.campaigns["c2"]["name"] = "Dot-Retargeting-Visitors-2026Q1"
    yield server
    server.close()


@pytest.fixture
def ws(tmp_path, fake):
    rules = write_rules(tmp_path, {"meta/operator.yaml": OPERATOR, "meta/per_product.yaml": WORKFLOW})
    (tmp_path / "rulerun.yaml").write_text(
        "products: [bot, dot, board]\n"
        f"platforms:\n  meta:\n    accounts:\n      - {{id: act_{ACCOUNT}, endpoint: '{fake.url}'}}\n"
    )
    return tmp_path, rules


def cli(ws, *args):
    root, rules = ws
    return run(*args, "--rules", str(rules), cwd=root, env=ENV)


def stored_products(root):
    con = duckdb.connect(str(root / ".rulerun" / "metrics.duckdb"), read_only=True)
    try:
        return dict(con.execute("SELECT entity_id, product FROM live.entities WHERE platform = 'meta'").fetchall())
    finally:
        con.close()


def test_synced_campaigns_get_their_product_and_its_thresholds(ws):
    for _ in range(2):  # every sync re-reads the entities without a product: each one tags them again
        synced = cli(ws, "sync", "--since", "2026-01-01")
        assert synced.returncode == 0, synced.stdout + synced.stderr
        got = stored_products(ws[0])
        assert [got[e] for e in ("c1", "s1", "a1", "a2")] == ["bot"] * 4  # the ad sets and ads inherit
        assert [got[e] for e in ("c2", "s2", "s3", "a3", "a4")] == ["dot"] * 5
        assert got["c3"] is None and got["s4"] is None  # "Brand Search Defence" names no product

    plan = json.loads(cli(ws, "evaluate", "--source", "live", "--as-of", AS_OF, "--dry-run", "--format", "json").stdout)
    fired = {(a["rule_id"], a["entity_id"]) for a in plan["actions"]}
    # only bot's limit of 0 is exceeded; dot and the untagged entities fall under the default
    assert fired == {("campaign_over_its_product_limit", "c1"), ("ad_set_over_its_product_limit", "s1")}
