"""The embedded demo source: shape, determinism, traps and the size knob."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import duckdb
import pytest

from engine.core.catalog import load_catalog
from engine.core.errors import UsageError
from engine.core.resources import platform_files
from engine.data.sources import SourceInfo, parse_source
from engine.data.sources.demo import GENERATOR_VERSION, TRAPS, DemoSource, ad_platforms, bulk_counts, platform_demos
from platforms import get_platform
from tests.helpers.layout import copy_layout, run_in

CATALOG = load_catalog()
AD_PLATFORMS = ("google", "meta", "amazon", "tiktok", "linkedin", "pinterest")
KEYS = "platform, account_id, level, entity_id"


def materialize(spec: str, path: str = ":memory:") -> tuple[duckdb.DuckDBPyConnection, SourceInfo]:
    """Materialize `spec` into schema `demo` the way the store does: in a transaction."""
    con = duckdb.connect(path)
    con.execute("CREATE SCHEMA demo")
    con.execute("BEGIN")
    info = parse_source(spec).materialize(con, "demo", CATALOG)
    con.execute("COMMIT")
    return con, info


@pytest.fixture(scope="module")
def demo() -> duckdb.DuckDBPyConnection:
    con, _ = materialize("demo")
    return con


def one(con: duckdb.DuckDBPyConnection, sql: str, *params):
    row = con.execute(sql, list(params)).fetchone()
    assert row is not None
    return row[0] if len(row) == 1 else row


def window(con: duckdb.DuckDBPyConnection, entity_id: str, days: int) -> dict[str, float]:
    """Sums of every metric over the `days` complete days before 2026-11-01."""
    sums = ", ".join(f"coalesce(sum({m}), 0) AS {m}" for m in CATALOG.additive)
    cur = con.execute(
        f"SELECT {sums}, count(*) AS n FROM demo.metrics_daily WHERE entity_id = ? AND date >= DATE '2026-11-01' - ?",
        [entity_id, days],
    )
    row = cur.fetchone()
    assert row is not None
    return dict(zip([d[0] for d in cur.description], row, strict=True))


def entity(con: duckdb.DuckDBPyConnection, entity_id: str) -> dict:
    cur = con.execute("SELECT * FROM demo.entities WHERE entity_id = ?", [entity_id])
    rows = cur.fetchall()
    assert len(rows) == 1, f"{entity_id}: {len(rows)} entities"
    return dict(zip([d[0] for d in cur.description], rows[0], strict=True))


def checksum(con: duckdb.DuckDBPyConnection, table: str, where: str = "true") -> str:
    order = "date, " + KEYS if table == "metrics_daily" else KEYS
    return one(con, f"SELECT md5(string_agg(t::VARCHAR, '|' ORDER BY {order})) FROM demo.{table} t WHERE {where}")


# -- shape


def test_tables_have_exactly_the_catalog_columns(demo):
    for table, expected in (("entities", CATALOG.entity_columns()), ("metrics_daily", CATALOG.metric_columns())):
        described = demo.execute(f"DESCRIBE demo.{table}").fetchall()
        assert [(name, sql_type) for name, sql_type, *_ in described] == expected


def test_date_range_and_source_info():
    con, info = materialize("demo")
    assert (info.min_date, info.max_date) == (date(2026, 8, 1), date(2026, 10, 31))
    assert info.present_metrics == frozenset(CATALOG.additive)
    assert info.entity_rows == one(con, "SELECT count(*) FROM demo.entities")
    assert info.metric_rows == one(con, "SELECT count(*) FROM demo.metrics_daily")
    assert info.data_quality == []
    assert 150 <= info.entity_rows <= 600  # a few hundred curated entities
    assert not con.execute("SELECT * FROM duckdb_tables() WHERE table_name LIKE '_rulerun_demo_%'").fetchall()
    _, short = materialize("demo:days=30")
    assert (short.min_date, short.max_date) == (date(2026, 10, 2), date(2026, 10, 31))


def test_keys_are_unique_and_parents_exist(demo):
    assert one(demo, f"SELECT count(*) - count(DISTINCT ({KEYS})) FROM demo.entities") == 0
    dup = f"SELECT count(*) FROM (SELECT date, {KEYS} FROM demo.metrics_daily GROUP BY ALL HAVING count(*) > 1)"
    assert one(demo, dup) == 0
    orphans = """SELECT count(*) FROM demo.entities c WHERE parent_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM demo.entities p
        WHERE (p.platform, p.account_id, p.entity_id) = (c.platform, c.account_id, c.parent_id))"""
    assert one(demo, orphans) == 0
    unknown = f"SELECT count(*) FROM demo.metrics_daily m ANTI JOIN demo.entities e USING ({KEYS})"
    assert one(demo, unknown) == 0
    assert one(demo, "SELECT count(DISTINCT currency) FROM demo.entities") == 1


def test_platforms_and_levels(demo):
    levels = set(demo.execute("SELECT DISTINCT platform, level FROM demo.entities").fetchall())
    for platform in AD_PLATFORMS:
        assert {(platform, "campaign"), (platform, "ad_group"), (platform, "ad")} <= levels
    assert {
        ("google", "keyword"),
        ("google", "search_term"),
        ("amazon", "keyword"),
        ("amazon", "search_term"),
    } <= levels
    assert {("shopify", "account"), ("klaviyo", "email_campaign"), ("klaviyo", "flow")} <= levels
    assert {("activecampaign", lvl) for lvl in ("email_campaign", "flow", "segment")} <= levels
    assert one(demo, "SELECT count(*) FROM demo.entities WHERE platform = 'shopify' AND level = 'account'") == 1
    assert one(demo, "SELECT count(*) FROM demo.entities WHERE platform = 'shopify' AND level = 'page'") == 2
    statuses = {row[0] for row in demo.execute("SELECT DISTINCT status FROM demo.entities").fetchall()}
    assert statuses == {"active", "paused", "removed", "archived"}  # archived: completed email campaigns


def test_metrics_a_platform_does_not_report_are_null(demo):
    for platform in (*AD_PLATFORMS, "shopify", "klaviyo"):
        mapped = CATALOG.mapped_metrics(platform)
        counts = ", ".join(f"count({m})" for m in CATALOG.additive)
        total, *non_null = demo.execute(
            f"SELECT count(*), {counts} FROM demo.metrics_daily WHERE platform = ? AND level <> 'product'", [platform]
        ).fetchone()
        assert total > 0
        for metric, n in zip(CATALOG.additive, non_null, strict=True):
            assert n == (total if metric in mapped else 0), (platform, metric)
    # the store's product rows hold what the live adapter reads per product
    total, *non_null = demo.execute(
        f"SELECT count(*), {counts} FROM demo.metrics_daily WHERE platform = 'shopify' AND level = 'product'"
    ).fetchone()
    product_metrics = {"orders", "revenue", "new_customers", "units_sold"}
    assert total == 3 * 92
    assert {m: n for m, n in zip(CATALOG.additive, non_null, strict=True) if n} == dict.fromkeys(product_metrics, total)
    # the products' sales and new customers are a part of the store's, day by day
    over = one(
        demo,
        """SELECT count(*) FROM (
            SELECT date, sum(revenue) FILTER (WHERE level = 'product') AS p_rev,
                   sum(revenue) FILTER (WHERE level = 'account') AS s_rev,
                   sum(new_customers) FILTER (WHERE level = 'product') AS p_new,
                   sum(new_customers) FILTER (WHERE level = 'account') AS s_new
            FROM demo.metrics_daily WHERE platform = 'shopify' GROUP BY date)
        WHERE p_rev > s_rev OR p_new > s_new""",
    )
    assert over == 0
    assert one(demo, "SELECT count(outbound_clicks) FROM demo.metrics_daily WHERE platform = 'google'") == 0


def test_money_is_dollars_and_counts_are_whole(demo):
    # Dollars rounded to cents (never micros); counts are integers, nothing is negative.
    spend_cents = "SELECT count(*) FROM demo.metrics_daily WHERE spend <> round(spend, 2) OR spend < 0"
    assert one(demo, spend_cents) == 0
    assert one(demo, "SELECT max(spend) FROM demo.metrics_daily WHERE level = 'campaign'") < 5000
    assert one(demo, "SELECT count(*) FROM demo.metrics_daily WHERE clicks <> floor(clicks) OR orders < 0") == 0
    assert one(demo, "SELECT count(*) FROM demo.metrics_daily WHERE clicks > impressions") == 0


def test_parents_sum_their_children(demo):
    mismatches = """
        WITH child AS (
            SELECT m.date, e.platform, e.account_id, e.parent_id, sum(m.spend) AS spend, sum(m.conversions) AS conv
            FROM demo.metrics_daily m JOIN demo.entities e USING (platform, account_id, level, entity_id)
            WHERE e.level = 'ad_group' GROUP BY ALL)
        SELECT count(*) FROM child c JOIN demo.metrics_daily p
          ON (p.date, p.platform, p.account_id, p.entity_id, p.level)
           = (c.date, c.platform, c.account_id, c.parent_id, 'campaign')
        WHERE abs(p.spend - c.spend) > 0.005 OR p.conversions <> c.conv"""
    assert one(demo, mismatches) == 0


# -- determinism


def test_same_parameters_give_identical_tables(demo):
    again, _ = materialize("demo")
    for table in ("entities", "metrics_daily"):
        assert checksum(demo, table) == checksum(again, table)
    other_seed, _ = materialize("demo:seed=2")
    assert checksum(demo, "metrics_daily") != checksum(other_seed, "metrics_daily")
    assert checksum(demo, "entities") == checksum(other_seed, "entities")


def test_a_date_has_the_same_values_whatever_the_window(demo):
    short, _ = materialize("demo:days=30")
    recent = "date >= DATE '2026-10-02'"
    assert checksum(short, "metrics_daily") == checksum(demo, "metrics_daily", recent)


def test_spend_has_weekday_seasonality_and_shopify_weekly_seasonality(demo):
    by_dow = dict(
        demo.execute("""
        SELECT isodow(date), avg(orders) FROM demo.metrics_daily
        WHERE platform = 'shopify' AND level = 'account' GROUP BY 1""").fetchall()
    )
    assert by_dow[1] > by_dow[6]  # Monday sells more than Saturday
    spend = dict(
        demo.execute("""
        SELECT isodow(date), sum(spend) FROM demo.metrics_daily WHERE level = 'campaign' GROUP BY 1""").fetchall()
    )
    assert spend[2] > spend[6]


def test_platform_conversions_over_report_shopify_orders(demo):
    last_30 = "date >= DATE '2026-10-02'"
    claimed = dict(
        demo.execute(f"""
        SELECT platform, sum(conversions) FROM demo.metrics_daily
        WHERE level = 'campaign' AND {last_30} GROUP BY 1""").fetchall()
    )
    store = "platform = 'shopify' AND level = 'account'"  # the product rows split the same orders again
    orders = one(demo, f"SELECT sum(orders) FROM demo.metrics_daily WHERE {store} AND {last_30}")
    email = one(demo, f"SELECT sum(conversions) FROM demo.metrics_daily WHERE platform = 'klaviyo' AND {last_30}")
    true_paid = sum(conv / CATALOG.credibility_ratio(platform) for platform, conv in claimed.items())
    assert set(claimed) == set(AD_PLATFORMS)
    assert true_paid < orders < sum(claimed.values()) + email
    revenue = one(demo, f"SELECT sum(revenue) FROM demo.metrics_daily WHERE {store} AND {last_30}")
    spend = one(demo, f"SELECT sum(spend) FROM demo.metrics_daily WHERE level = 'campaign' AND {last_30}")
    assert 2.0 < revenue / spend < 6.0  # a healthy MER: budget increases are allowed


# -- the platforms' demo modules


def test_each_platform_folder_with_a_demo_module_contributes_its_part(demo):
    demos = platform_demos()
    assert set(demos) == set(platform_files("demo.py"))
    assert [d.order for d in demos.values()] == sorted(d.order for d in demos.values())
    first_seen = "SELECT platform FROM demo.entities GROUP BY platform ORDER BY min(rowid)"
    assert [r[0] for r in demo.execute(first_seen).fetchall()] == list(demos)
    assert ad_platforms() == AD_PLATFORMS and all(demos[p].bulk for p in AD_PLATFORMS)
    for name, platform_demo in demos.items():
        for trap, entity_id in platform_demo.traps.items():
            assert TRAPS[trap] == entity_id and entity(demo, entity_id)["platform"] == name, trap
    assert sum(len(d.traps) for d in demos.values()) == len(TRAPS)


def test_the_demo_modules_are_imported_only_when_the_source_is_materialized():
    code = (
        "import sys; import engine.data.sources.demo as d; "
        "before = [m for m in sys.modules if m.endswith('.demo') and m.startswith('platforms.')]; "
        "d.curated_dataset(3); "
        "after = [m for m in sys.modules if m.endswith('.demo') and m.startswith('platforms.')]; "
        "print(len(before), len(after))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.split() == ["0", str(len(platform_files("demo.py")))]


def test_the_fingerprint_follows_the_platforms_demo_modules(tmp_path):
    root = copy_layout(tmp_path)
    code = "from engine.data.sources.demo import DemoSource; print(DemoSource().fingerprint())"
    fingerprints = [run_in(root, "-c", code).stdout]
    with (root / "platforms" / "shopify" / "demo.py").open("a") as fh:
        fh.write("# edited\n")
    fingerprints.append(run_in(root, "-c", code).stdout)
    (root / "platforms" / "newads").mkdir()
    (root / "platforms" / "newads" / "__init__.py").write_text("")
    (root / "platforms" / "newads" / "demo.py").write_text("")
    fingerprints.append(run_in(root, "-c", code).stdout)
    assert all(fingerprints) and len(set(fingerprints)) == 3


# -- traps


def test_every_trap_exists(demo):
    for name, entity_id in TRAPS.items():
        assert one(demo, "SELECT count(*) FROM demo.entities WHERE entity_id = ?", entity_id) == 1, name


def test_google_brand_campaign_without_conversions(demo):
    camp = entity(demo, TRAPS["google_brand_zero_conversions"])
    assert (camp["platform"], camp["level"], camp["status"]) == ("google", "campaign", "active")
    assert camp["is_brand"] and "brand" in camp["labels"]
    m = window(demo, camp["entity_id"], 30)
    assert 500 <= m["spend"] <= 700 and m["conversions"] == 0  # matches pause_zero_conversion_campaigns
    children = "SELECT bool_and(is_brand) FROM demo.entities WHERE parent_id = ? AND platform = 'google'"
    assert one(demo, children, camp["entity_id"])


def test_non_brand_zero_conversion_campaign(demo):
    camp = entity(demo, TRAPS["google_zero_conversion_campaign"])
    m = window(demo, camp["entity_id"], 30)
    assert not camp["is_brand"] and camp["status"] == "active"
    assert m["spend"] >= 500 and m["conversions"] == 0


def test_tiktok_ad_group_in_learning_phase(demo):
    group = entity(demo, TRAPS["tiktok_learning_ad_group"])
    assert (group["platform"], group["level"], group["status"]) == ("tiktok", "ad_group", "active")
    assert group["learning_phase"] is True and group["bid"] and group["daily_budget"]
    m = window(demo, group["entity_id"], 7)
    assert m["n"] == 5  # launched four days before the end
    assert m["spend"] > 1000 and m["spend"] / max(m["conversions"], 1) > 2 * 220  # would get its bid cut


def test_pinterest_ad_group_just_under_the_spend_threshold(demo):
    # pause_expensive_low_outbound: spend > 2 * target_cpa (600) and outbound_ctr < 0.003
    under = window(demo, TRAPS["pinterest_just_under_threshold"], 7)
    assert 580 <= under["spend"] <= 600
    assert under["outbound_clicks"] / under["impressions"] < 0.003
    over = window(demo, TRAPS["pinterest_expensive_low_outbound"], 7)
    assert over["spend"] > 600 and over["outbound_clicks"] / over["impressions"] < 0.003
    assert entity(demo, TRAPS["pinterest_expensive_low_outbound"])["status"] == "active"


def test_pinterest_low_outbound_ctr_with_a_manual_bid(demo):
    group = entity(demo, TRAPS["pinterest_low_outbound_manual_bid"])
    m = window(demo, group["entity_id"], 7)
    assert group["bid"] is not None and group["platform"] == "pinterest"
    assert m["outbound_clicks"] / m["impressions"] < 0.005 and m["impressions"] >= 2000


@pytest.mark.parametrize(
    "trap", ["meta_zero_impressions_ad_group", "google_zero_impressions_keyword", "google_no_rows_keyword"]
)
def test_active_entities_without_impressions(demo, trap):
    assert entity(demo, TRAPS[trap])["status"] == "active"
    m = window(demo, TRAPS[trap], 92)
    assert m["impressions"] == 0 and m["spend"] == 0
    assert m["n"] == (0 if "no_rows" in trap else 92)


def test_entities_with_no_metric_rows_at_all(demo):
    no_rows = f"SELECT count(*) FROM demo.entities e ANTI JOIN demo.metrics_daily m USING ({KEYS})"
    assert one(demo, no_rows) >= 3
    assert window(demo, TRAPS["pinterest_no_rows_ad_group"], 92)["n"] == 0


def test_google_search_term_wasting_spend(demo):
    term = entity(demo, TRAPS["google_wasted_search_term"])
    assert (term["platform"], term["level"]) == ("google", "search_term")
    assert entity(demo, term["parent_id"])["level"] == "ad_group"
    m = window(demo, term["entity_id"], 14)
    assert m["spend"] > 50 and m["clicks"] >= 10 and m["conversions"] == 0


def test_meta_ad_with_cpa_over_twice_the_target(demo):
    ad = entity(demo, TRAPS["meta_high_cpa_ad"])
    m = window(demo, ad["entity_id"], 7)
    assert (ad["level"], ad["status"], ad["product"]) == ("ad", "active", "dot")
    assert m["spend"] / max(m["conversions"], 1) > 2 * 220  # meta target_cpa for dot


def test_google_keyword_with_high_roas(demo):
    kw = entity(demo, TRAPS["google_high_roas_keyword"])
    m = window(demo, kw["entity_id"], 30)
    assert kw["status"] == "active" and kw["bid"] is not None and kw["match_type"] == "exact"
    assert m["conversion_value"] / m["spend"] >= 4 and m["conversions"] >= 5


def test_budget_candidates(demo):
    clamp = entity(demo, TRAPS["meta_budget_clamp_campaign"])
    budgets = one(
        demo,
        "SELECT sum(daily_budget) FROM demo.entities WHERE account_id = ? AND status = 'active'",
        clamp["account_id"],
    )
    assert budgets == 4850 and budgets + 0.2 * clamp["daily_budget"] > 5000  # +20% still hits the $5,000 cap
    m = window(demo, clamp["entity_id"], 7)
    assert m["conversions"] >= 5 and m["conversion_value"] / m["spend"] > 2
    assert entity(demo, TRAPS["google_large_budget_campaign"])["daily_budget"] >= 1000


def test_klaviyo_campaign_with_spam_complaints(demo):
    m = window(demo, TRAPS["klaviyo_spam_complaints_campaign"], 7)
    assert m["n"] == 1  # one row, on the send date
    assert m["spam_complaints"] / m["delivered"] > 0.001 and m["unsubscribes"] / m["delivered"] > 0.005


def test_entity_attributes_are_realistic(demo):
    rows = demo.execute("SELECT platform, level, name, bid, bidding_strategy, match_type FROM demo.entities").fetchall()
    for platform, level, name, _, _, match_type in rows:
        assert name
        assert (match_type is not None) == (level in ("keyword", "search_term")), (platform, level, name)
    campaigns = [r[2] for r in rows if r[1] == "campaign" and r[0] in AD_PLATFORMS]
    assert all(name.split("-")[0] in ("Bot", "Dot", "Board", "Brand") for name in campaigns)
    learning = "SELECT DISTINCT platform FROM demo.entities WHERE learning_phase IS NOT NULL"
    assert {r[0] for r in demo.execute(learning).fetchall()} == {"meta", "tiktok"}
    budget_levels = "SELECT DISTINCT platform, level FROM demo.entities WHERE daily_budget IS NOT NULL"
    for platform, level in demo.execute(budget_levels).fetchall():
        # budgets sit where the platform keeps them: the levels it can change them at
        assert get_platform(platform).supports("set_budget", level), (platform, level)
    products = {r[0] for r in demo.execute("SELECT DISTINCT product FROM demo.entities").fetchall()}
    assert products == {"bot", "dot", "board", None}


# -- size knob


def test_bulk_ad_groups(tmp_path):
    con, info = materialize("demo:ad_groups=1200,days=5", str(tmp_path / "store.duckdb"))
    counts = bulk_counts(1200, CATALOG)
    assert sum(counts.values()) == 1200 and counts["google"] > counts["meta"] > counts["linkedin"] > 0
    bulk = "FROM demo.entities WHERE labels = ['bulk']"
    got = dict(con.execute(f"SELECT platform, count(*) {bulk} AND level = 'ad_group' GROUP BY 1").fetchall())
    assert got == counts
    campaigns = sum(-(-n // 50) for n in counts.values())
    assert one(con, f"SELECT count(*) {bulk} AND level = 'campaign'") == campaigns
    bulk_rows = "SELECT count(*) FROM demo.metrics_daily WHERE account_id LIKE 'bulk-%'"
    assert one(con, bulk_rows) == (1200 + campaigns) * 5
    plain, _ = materialize("demo:days=5")
    assert info.metric_rows == one(plain, "SELECT count(*) FROM demo.metrics_daily") + (1200 + campaigns) * 5
    orphans = f"""SELECT count(*) {bulk} AND level = 'ad_group' AND parent_id NOT IN (
        SELECT entity_id FROM demo.entities WHERE level = 'campaign')"""
    assert one(con, orphans) == 0
    # A realistic mix: most ad groups deliver, a few are dark.
    dark = "SELECT avg((impressions = 0)::INTEGER) FROM demo.metrics_daily WHERE account_id LIKE 'bulk-%'"
    assert 0.02 < one(con, dark) < 0.3


def test_database_file_named_like_the_schema(tmp_path):
    con, info = materialize("demo:days=2", str(tmp_path / "demo.duckdb"))
    assert one(con, "SELECT count(*) FROM demo.demo.entities") == info.entity_rows


def test_bulk_is_deterministic():
    # Enough ad groups for two row groups, so that DuckDB aggregates them in parallel.
    runs = [materialize("demo:ad_groups=130000,days=1")[0] for _ in range(2)]
    for table in ("entities", "metrics_daily"):
        sums = [one(con, f"SELECT sum(hash(t)::HUGEINT), count(*) FROM demo.{table} t") for con in runs]
        assert sums[0] == sums[1]


# -- spec


def test_spec_parsing_describe_and_fingerprint():
    assert DemoSource.from_spec("").describe() == "demo"
    source = parse_source("demo: days = 30 , ad_groups=1_000_000")
    assert isinstance(source, DemoSource)
    assert source.describe() == "demo:ad_groups=1000000,days=30"
    assert parse_source(source.describe()).fingerprint() == source.fingerprint()
    assert parse_source("demo:seed=2").fingerprint() != parse_source("demo").fingerprint()
    assert parse_source("demo:days=92").describe() == "demo"
    assert isinstance(GENERATOR_VERSION, int)


@pytest.mark.parametrize(
    "arg",
    ["bogus=1", "ad_groups", "days=abc", "days=0", "days=100000", "ad_groups=-5", "seed=1.5", "days=3,days=4"],
)
def test_bad_specs_are_usage_errors(arg):
    with pytest.raises(UsageError) as err:
        DemoSource.from_spec(arg)
    assert err.value.hint
