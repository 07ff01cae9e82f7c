"""The embedded demo data source: a deterministic, realistic D2C marketing dataset.

`--source demo` (the default) needs no credentials. It describes a fictional D2C
hardware brand selling three products, `bot` (a conference camera, about $899),
`dot` (a portable display, about $399) and `board` (an interactive whiteboard, about
$1,999), advertised on several ad platforms, with a Shopify store and email.

Each platform's part of the dataset lives in its folder, `platforms/<name>/demo.py`
(see engine/core/demodata.py): its entities, how they perform, the stable ids of its
traps (entities real accounts have that rules and the safety layer must get right;
TRAPS maps their names to ids, and each module's docstring describes them) and how its
bulk ad groups look. This module discovers those modules when the source is
materialized and turns the dataset into tables, set-based in DuckDB.

Dates: the last day of data is always 2026-10-31, so the default evaluation date is
2026-11-01; `days` (default 92) sets how far back the data goes (2026-08-01 by default).
Every value is derived from integer hashes of (entity, day, seed): the same parameters
always give the same tables, and a given date has the same values whatever `days` is.
Spend has weekday seasonality and daily noise; Shopify has its own weekly pattern.
Money is in USD as float dollars (rounded to cents), never micros. A metric a platform
does not report (its field mapping) is null on that platform's rows. Parent rows (ad
group, campaign) are the sums of their children; ads beside keywords get a share of
their ad group. Platform conversions over-report Shopify orders roughly by the
platforms' credibility ratios: Shopify orders are the platform conversions divided by
those ratios, plus email-driven and organic orders. The store's product rows (Bot, Dot,
Board) are the orders the ads of each product drove plus a fixed share of the rest, at the
product's price: what per-product truth (`truth.net_new_cac` of a Bot campaign) reads.

`demo:ad_groups=N` adds N bulk ad groups spread over the ad platforms (those with a bulk
profile) by the budget shares of catalog/budget_allocation.yaml, under bulk campaigns of
about 50 ad groups (accounts of 4 campaigns), with `days` rows each; a few percent of
them are bleeders (conversions collapsed), stars, low outbound-CTR or dark (zero
delivery) ad groups, so typical rules find some work. Bulk campaigns carry their own
rows, statistically consistent with (not the exact sums of) their ad groups; bulk data
does not feed the Shopify store.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from engine.core.catalog import METRIC_KEY_COLUMNS
from engine.core.demodata import (
    CURRENCY,
    DEFAULT_DAYS,
    LAST_DAY,
    PRODUCT_PRICE,
    Dataset,
    EmailPerf,
    Node,
    Perf,
    PlatformDemo,
)
from engine.core.errors import UsageError
from engine.core.resources import platform_files
from engine.data.rows import insert_rows
from engine.data.sources import Source, SourceInfo
from engine.language.sql import quote_ident

if TYPE_CHECKING:
    import duckdb

    from engine.core.catalog import Catalog

# Bump whenever the generated data changes through this module or engine/core/demodata.py
# (formulas, constants); the platforms' demo modules are part of the fingerprint.
GENERATOR_VERSION = 3  # 3: the store's product rows, within the store's sums

MAX_DAYS = 3650
MAX_AD_GROUPS = 50_000_000

# Day-of-week multipliers, Monday first; each list averages exactly 1 so any 7-day
# window keeps its weekly total. Ads spend most early in the week; the store sells
# most on Sunday and Monday.
AD_SEASON = (1.03, 1.06, 1.05, 1.02, 0.97, 0.90, 0.97)
COMMERCE_SEASON = (1.06, 1.04, 1.02, 0.99, 0.93, 0.92, 1.04)

# ---------------------------------------------------------------------------
# Parameters


@dataclass(frozen=True)
class DemoParams:
    """The knobs of `demo:k=v,...`."""

    ad_groups: int = 0
    days: int = DEFAULT_DAYS
    seed: int = 1


_PARAM_LIMITS = {"ad_groups": (0, MAX_AD_GROUPS), "days": (1, MAX_DAYS), "seed": (0, 2**31 - 1)}
_SPEC_HINT = "use --source demo or --source demo:ad_groups=N,days=D,seed=S (integers)"


def parse_params(arg: str) -> DemoParams:
    """Parse "" or "ad_groups=1000000,days=30,seed=2" into DemoParams."""
    values: dict[str, int] = {}
    for item in arg.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, raw = item.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or key not in _PARAM_LIMITS:
            raise UsageError(f"unknown demo source option {item!r}", hint=_SPEC_HINT)
        if key in values:
            raise UsageError(f"demo source option {key!r} given twice", hint=_SPEC_HINT)
        values[key] = _parse_int(key, raw)
    return DemoParams(**values)


def _parse_int(key: str, raw: str) -> int:
    low, high = _PARAM_LIMITS[key]
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"demo source option {key}={raw!r} is not an integer", hint=_SPEC_HINT) from None
    if not low <= value <= high:
        raise UsageError(
            f"demo source option {key}={value} is out of range",
            hint=f"{key} must be an integer from {low} to {high}",
        )
    return value


class DemoSource(Source):
    """The embedded deterministic demo dataset (see the module docstring)."""

    kind = "demo"

    def __init__(self, params: DemoParams | None = None):
        self.params = params or DemoParams()

    @classmethod
    def from_spec(cls, arg: str) -> DemoSource:
        return cls(parse_params(arg))

    def describe(self) -> str:
        defaults = DemoParams()
        parts = [
            f"{name}={getattr(self.params, name)}"
            for name in ("ad_groups", "days", "seed")
            if getattr(self.params, name) != getattr(defaults, name)
        ]
        return "demo:" + ",".join(parts) if parts else "demo"

    def fingerprint(self) -> str:
        doc = {"kind": self.kind, "generator": GENERATOR_VERSION, "platforms": _demo_digest(), **self.params.__dict__}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]

    def materialize(self, con: duckdb.DuckDBPyConnection, schema: str, catalog: Catalog) -> SourceInfo:
        return _Materializer(con, schema, catalog, self.params).run()


# ---------------------------------------------------------------------------
# The platforms' parts of the dataset

DEMO_MODULE = "demo.py"


@cache
def platform_demos() -> dict[str, PlatformDemo]:
    """Platform name -> its DEMO, for every platform folder with a demo.py, in `order`."""
    demos = {}
    for name in platform_files(DEMO_MODULE):
        demo = getattr(importlib.import_module(f"platforms.{name}.demo"), "DEMO", None)
        if not isinstance(demo, PlatformDemo):
            raise TypeError(f"platforms/{name}/{DEMO_MODULE} must define DEMO = PlatformDemo(...)")
        demos[name] = demo
    return dict(sorted(demos.items(), key=lambda item: (item[1].order, item[0])))


@cache
def _demo_digest() -> str:
    """A digest of the platforms' demo modules (read, not imported): editing one, or
    adding a platform, changes the data, so cached copies of it must not be reused."""
    digest = hashlib.sha256()
    for name, path in platform_files(DEMO_MODULE).items():
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def ad_platforms() -> tuple[str, ...]:
    """The platforms with bulk ad groups, in dataset order."""
    return tuple(name for name, demo in platform_demos().items() if demo.bulk is not None)


def traps() -> dict[str, str]:
    """Trap name -> entity id, over every platform."""
    return {name: entity_id for demo in platform_demos().values() for name, entity_id in demo.traps.items()}


def __getattr__(name: str) -> Any:
    # TRAPS is computed on first use: importing this module must not import the platforms' demo modules.
    if name == "TRAPS":
        return traps()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def curated_dataset(days: int = DEFAULT_DAYS) -> Dataset:
    """Every curated entity of every platform, for a window of `days` (dated entities
    such as email sends exist when they fall in it)."""
    demos = platform_demos()
    ds = Dataset(days, {name: demo.ids for name, demo in demos.items()})
    for demo in demos.values():
        demo.build(ds)
    return ds


# ---------------------------------------------------------------------------
# SQL: deterministic pseudo-random numbers and the metric formulas
#
# DuckDB's random() and hash() are not stable across versions, so the noise comes from
# an integer hash written in SQL; every intermediate stays below 2^63 (BIGINT-safe).

_M32 = 0xFFFFFFFF
_MUL = 0x45D9F3B  # multiplier of a well-known 32-bit multiply-xorshift integer hash


def _hashed(source: str, key: str, day: str, seed: int, count: int) -> str:
    """`source` (a SELECT) plus 32-bit hash columns h1..h<count> of (key, day, seed).

    h1 takes two multiply-xorshift rounds over the structured input; the others one
    round over h1, which is already well mixed. Each step is a nested SELECT because
    lateral aliases are inlined, and nested inlined hashes grow exponentially.
    """
    x0 = f"((({key})::BIGINT * 2654435761 + ({day})::BIGINT * 40503 + {seed * 1_000_003 + 12345}) & {_M32})"
    sql = f"SELECT *, xor({x0}, {x0} >> 16) * {_MUL} & {_M32} AS _a1 FROM ({source})"
    sql = f"SELECT *, xor(_a1, _a1 >> 16) * {_MUL} & {_M32} AS _b1 FROM ({sql})"
    sql = f"SELECT *, xor(_b1, _b1 >> 16) AS h1 FROM ({sql})"
    rest = range(2, count + 1)
    if rest:
        mixes = [f"xor(h1, {0x9E3779B9 * k & _M32}) * {_MUL} & {_M32} AS _a{k}" for k in rest]
        sql = f"SELECT *, {', '.join(mixes)} FROM ({sql})"
        sql = f"SELECT *, {', '.join(f'xor(_a{k}, _a{k} >> 16) AS h{k}' for k in rest)} FROM ({sql})"
    return sql


def _u(h: str, slot: int) -> str:
    """A uniform number in [0, 1) from byte `slot` (0-3) of the 32-bit hash `h`."""
    return f"((({h}) >> {8 * slot}) & 255) / 256.0"


def _jitter(h: str, slot: int, width: float) -> str:
    """A factor uniform in [1 - width/2, 1 + width/2)."""
    return f"({1 - width / 2} + {width} * {_u(h, slot)})"


def _count(x: str, h: str, slot: int) -> str:
    """An integer count from expected value x by stochastic rounding (floor(x + u) is x
    on average), so small daily rates still add up over a window."""
    return f"floor({x} + {_u(h, slot)})::BIGINT"


def _exact_sum(expr: str) -> str:
    """sum(expr) in fixed point: integer sums do not depend on the order a parallel
    aggregate adds the rows in, so the result is the same on every run."""
    return f"sum(round(({expr}) * 1e6)::BIGINT) / 1e6"


def _items(pairs: list[tuple[str, str]]) -> str:
    return ",\n".join(f"{expr} AS {alias}" for alias, expr in pairs)


def _ad_metrics() -> str:
    """Daily ad metrics from a profile (p_* columns), `age`, `season` and hashes h1-h3."""
    shifted = "p_shift_age IS NOT NULL AND age < p_shift_age"
    noise = f"(1 + p_noise * ({_u('h1', 0)} + {_u('h1', 1)} - 1))"  # triangular in (-noise, +noise)
    spend = f"p_spend * season * (CASE WHEN {shifted} THEN p_shift_spend ELSE 1.0 END) * {noise}"
    cvr = f"p_cvr * (CASE WHEN {shifted} THEN p_shift_cvr ELSE 1.0 END)"
    return _items(
        [
            ("spend_c", f"round({spend} * 100)::BIGINT"),
            ("impressions", _count(f"spend_c * 10 / p_cpm * {_jitter('h1', 2, 0.1)}", "h1", 3)),
            ("clicks", _count(f"impressions * p_ctr * {_jitter('h2', 0, 0.2)}", "h2", 1)),
            ("outbound_clicks", _count("clicks * p_outbound", "h2", 2)),
            ("conversions", _count(f"clicks * {cvr}", "h2", 3)),
            ("value_c", f"round(conversions * p_aov * {_jitter('h3', 0, 0.3)} * 100)::BIGINT"),
            ("video_views", _count("impressions * p_vtr", "h3", 1)),
            ("leads", _count("clicks * p_leads", "h3", 2)),
        ]
    )


def _email_metrics() -> str:
    """Daily email metrics from an email profile (e_* columns), `season` and hashes h1-h3."""
    noise = f"(1 + e_noise * ({_u('h1', 0)} + {_u('h1', 1)} - 1))"
    return _items(
        [
            ("recipients", _count(f"e_recipients * season * {noise}", "h1", 2)),
            ("bounces", _count("recipients * e_bounce", "h1", 3)),
            ("delivered", "recipients - bounces"),
            ("opens", _count(f"delivered * e_open * {_jitter('h2', 0, 0.1)}", "h2", 1)),
            ("email_clicks", _count(f"delivered * e_click * {_jitter('h2', 2, 0.2)}", "h2", 3)),
            ("unsubscribes", _count("delivered * e_unsub", "h3", 0)),
            ("spam_complaints", _count("delivered * e_spam", "h3", 1)),
            ("conversions", _count("email_clicks * e_conv", "h3", 2)),
            ("value_c", f"round(conversions * e_aov * {_jitter('h3', 3, 0.3)} * 100)::BIGINT"),
        ]
    )


# Shopify: orders no ad claims (direct, organic, word of mouth) and their value, the
# sessions that are not paid clicks, the share of email conversions that are real.
ORGANIC_ORDERS = 8.0
ORGANIC_AOV = 640.0
ORGANIC_SESSIONS = 1800.0
EMAIL_TRUTH_SHARE = 0.5
NEW_CUSTOMER_SHARE = 0.66
RETURNING_SHARE = 0.55  # of the orders that are not first orders: the rest are guest checkouts
# each product's share of the orders no ad of a product drove (email, organic, brand search)
UNATTRIBUTED_PRODUCT_SHARE = {"bot": 0.55, "dot": 0.35, "board": 0.10}
PRODUCT_SALES_SHARE = 0.9  # of the store's revenue, its line items' (the rest: shipping and tax)
NET_SHARE = 0.92  # revenue kept after discounts and refunds
UNITS_PER_ORDER = 1.3
ADD_TO_CART_RATE = 0.055
SESSIONS_PER_SITE_CLICK = 0.7


def _shop_metrics() -> str:
    """The store's daily truth from what ads and email really drove (paid_*, email_*),
    organic demand, `com_season` and hashes h1-h3."""
    organic = f"{ORGANIC_ORDERS} * com_season * (1 + 0.12 * ({_u('h1', 0)} + {_u('h1', 1)} - 1))"
    site_sessions = f"coalesce(site_clicks, 0) * {SESSIONS_PER_SITE_CLICK}"
    organic_sessions = f"{ORGANIC_SESSIONS} * com_season * {_jitter('h2', 2, 0.14)}"
    value = f"coalesce(paid_value_c, 0) + coalesce(email_value_c, 0) + organic * {ORGANIC_AOV * 100}"
    return _items(
        [
            ("organic", organic),
            ("orders", _count("coalesce(paid_orders, 0) + coalesce(email_orders, 0) + organic", "h1", 2)),
            ("revenue_c", f"round(({value}) * {_jitter('h1', 3, 0.06)})::BIGINT"),
            ("new_customers", _count(f"orders * {NEW_CUSTOMER_SHARE} * {_jitter('h2', 0, 0.2)}", "h2", 1)),
            ("returning_customers", f"round(greatest(orders - new_customers, 0) * {RETURNING_SHARE})::BIGINT"),
            ("net_revenue_c", f"round(revenue_c * {NET_SHARE})::BIGINT"),
            ("units_sold", f"round(orders * {UNITS_PER_ORDER})::BIGINT"),
            ("sessions", _count(f"{site_sessions} + {organic_sessions}", "h2", 3)),
            ("add_to_carts", _count(f"sessions * {ADD_TO_CART_RATE} * {_jitter('h3', 0, 0.2)}", "h3", 1)),
        ]
    )


# The generated columns behind each canonical metric. Money is generated in integer
# cents, so sums are exact and identical whatever order a parallel aggregate adds in.
_GENERATED: dict[str, str] = {
    "spend": "spend_c / 100.0",
    "conversion_value": "value_c / 100.0",
    "revenue": "revenue_c / 100.0",
    **{m: m for m in ("impressions", "clicks", "outbound_clicks", "conversions", "video_views", "leads")},
    **{m: m for m in ("sessions", "add_to_carts", "orders", "new_customers", "recipients", "delivered", "opens")},
    "returning_customers": "returning_customers",
    "net_revenue": "net_revenue_c / 100.0",
    "units_sold": "units_sold",
    **{m: m for m in ("email_clicks", "unsubscribes", "spam_complaints", "bounces")},
}
_AD_RAW = ("spend_c", "impressions", "clicks", "outbound_clicks", "conversions", "value_c", "video_views", "leads")
_EMAIL_RAW: tuple[str, ...] = (
    "recipients",
    "bounces",
    "delivered",
    "opens",
    "email_clicks",
    "unsubscribes",
    "spam_complaints",
)
_EMAIL_RAW += ("conversions", "value_c")
_SHOP_RAW: tuple[str, ...] = ("sessions", "add_to_carts", "orders", "revenue_c", "new_customers")
_SHOP_RAW += ("returning_customers", "net_revenue_c", "units_sold")


def _qualified(con: duckdb.DuckDBPyConnection, schema: str) -> str:
    """`schema` qualified with the current database, so that a database file named like
    the schema (demo.duckdb holding schema demo) cannot make references ambiguous."""
    parts = schema.split(".")
    if len(parts) == 1:
        row = con.execute("SELECT current_database()").fetchone()
        parts = [row[0], schema] if row else parts
    return ".".join(quote_ident(part) for part in parts)


def _metric_select(
    catalog: Catalog, platform_expr: str, platform_token: dict[str, str], *, skip_null: bool = False
) -> str:
    """The metric columns of metrics_daily in catalog order, null where the platform does
    not report the metric (its field mapping). `platform_token` maps a platform
    name to the SQL literal `platform_expr` is compared with. With `skip_null`, columns
    that would be null on every row are left out (the narrow bulk table)."""
    return _items(_metric_items(catalog, platform_expr, platform_token, skip_null))


def _metric_items(
    catalog: Catalog, platform_expr: str, platform_token: dict[str, str], skip_null: bool
) -> list[tuple[str, str]]:
    items = []
    for metric, sql_type in catalog.metric_columns()[len(METRIC_KEY_COLUMNS) :]:
        value = _GENERATED.get(metric)
        reporters = [tok for name, tok in platform_token.items() if metric in catalog.metrics_available(name)]
        if value is None or not reporters:
            if not skip_null:
                items.append((metric, f"NULL::{sql_type}"))
        elif len(reporters) == len(platform_token):
            items.append((metric, f"({value})::{sql_type}"))
        else:
            items.append(
                (metric, f"CASE WHEN {platform_expr} IN ({', '.join(reporters)}) THEN ({value})::{sql_type} END")
            )
    return items


# ---------------------------------------------------------------------------
# Bulk ad groups (`demo:ad_groups=N`)


BULK_GROUPS_PER_CAMPAIGN = 50
BULK_CAMPAIGNS_PER_ACCOUNT = 4
# Archetypes by cumulative probability: most ad groups are ordinary; a few percent are
# bleeders (conversions collapsed 1-3 weeks ago), stars, low outbound CTR or dark.
BULK_BLEEDER, BULK_STAR, BULK_LOW_OUTBOUND, BULK_DARK = 0.04, 0.08, 0.10, 0.12
# Bulk ad groups sell bot and dot at a platform ROAS of 3.0 +-20% (stars 2.2x that), so
# CPA thresholds and ROAS >= 4 rules mostly catch the bleeders and the stars.
BULK_ROAS = 3.0
BULK_STAR_LIFT = 2.2
_BULK_KEY, _BULK_CAMPAIGN_KEY = 1_000_000, 60_000_000  # hash keys: apart from the curated ones


def bulk_counts(total: int, catalog: Catalog) -> dict[str, int]:
    """Split `total` bulk ad groups over the ad platforms by their budget shares
    (midpoints of catalog/budget_allocation.yaml; evenly without one)."""
    alloc = catalog.budget_allocation or {}
    platforms = ad_platforms()
    weights = {}
    for platform in platforms:
        share = alloc.get(platform) or {}
        weights[platform] = (float(share.get("min", 0)) + float(share.get("max", 0))) / 2
    if not sum(weights.values()):
        weights = dict.fromkeys(platforms, 1.0)
    scale = total / sum(weights.values())
    counts = {p: math.floor(w * scale) for p, w in weights.items()}
    # Largest remainder (ties in platform order), so the counts add up to `total`.
    by_remainder = sorted(platforms, key=lambda p: -(weights[p] * scale - counts[p]))
    for platform in by_remainder[: total - sum(counts.values())]:
        counts[platform] += 1
    return counts


def _bulk_profile() -> str:
    """Bulk ad group attributes and metric profile from i, j (index in the platform),
    the platform's columns (_T + "platforms") and hashes h1, h2."""
    u = _u
    arche = (
        f"CASE WHEN {u('h1', 1)} < {BULK_BLEEDER} THEN 1 WHEN {u('h1', 1)} < {BULK_STAR} THEN 2 "
        f"WHEN {u('h1', 1)} < {BULK_LOW_OUTBOUND} THEN 3 WHEN {u('h1', 1)} < {BULK_DARK} THEN 4 ELSE 0 END"
    )
    prices = " ".join(f"WHEN '{p}' THEN {v}" for p, v in PRODUCT_PRICE.items())
    stopped = "1 + (h2 >> 24) % 60"  # paused or removed 1-60 days before the end
    bleeding = "7 + (h2 >> 24) % 14"  # conversions collapsed 1-3 weeks before the end
    status = f"CASE WHEN {u('h2', 0)} < 0.9 THEN 'active' WHEN {u('h2', 0)} < 0.98 THEN 'paused' ELSE 'removed' END"
    shift_age = f"(CASE WHEN status <> 'active' THEN {stopped} WHEN arche = 1 THEN {bleeding} END)::INTEGER"
    cpc = "p_cpm / p_ctr / 1000"
    # CVR from the target ROAS: CPA = price / ROAS, so CVR = CPC * ROAS / price.
    roas = f"{BULK_ROAS} * {_jitter('h2', 2, 0.4)} * CASE WHEN arche = 2 THEN {BULK_STAR_LIFT} ELSE 1.0 END"
    return _items(
        [
            ("product", f"CASE WHEN {u('h1', 0)} < 0.55 THEN 'bot' ELSE 'dot' END"),
            ("arche", arche),
            ("status", status),
            ("manual", f"{u('h2', 3)} < manual_share"),
            ("p_spend", f"CASE WHEN arche = 4 THEN 0.0 ELSE round(4 * pow(15, {u('h1', 2)}), 2) END"),  # $4-$60/day
            ("p_cpm", f"cpm * {_jitter('h1', 3, 0.4)}"),
            ("p_ctr", f"ctr * {_jitter('h2', 1, 0.6)}"),
            ("p_aov", f"CASE product {prices} END"),
            ("p_cvr", f"{cpc} * {roas} / p_aov"),
            ("p_outbound", "outbound * CASE WHEN arche = 3 THEN 0.3 ELSE 1.0 END"),
            ("p_vtr", "vtr"),
            ("p_leads", "leads"),
            ("p_noise", "0.2"),
            ("p_shift_age", shift_age),
            ("p_shift_spend", "CASE WHEN status <> 'active' THEN 0.0 ELSE 1.0 END"),
            ("p_shift_cvr", "CASE WHEN arche = 1 THEN 0.05 ELSE 1.0 END"),
            ("targeting", "targetings[1 + (h1 >> 24) % len(targetings)]"),
            ("name", "concat_ws('-', upper(product[1]) || product[2:], objective, targeting, '2026Q3', 'AG' || j)"),
            ("daily_budget", "CASE WHEN budget_on_group THEN ceil(p_spend * 1.3 / 5) * 5 END"),
            ("bid", f"CASE WHEN manual THEN round({cpc} * 1.3, 2) END"),
            ("bidding_strategy", "CASE WHEN manual THEN manual_strategy ELSE auto_strategy END"),
            # The same bits as the ROAS jitter: ad groups still learning convert worst.
            ("learning_phase", f"CASE WHEN learns THEN {u('h2', 2)} < 0.05 END"),
            ("created_at", "DATE '2026-07-01' + ((h1 >> 16) % 60)::INTEGER"),
        ]
    )


def _bulk_campaign_profile() -> str:
    """A bulk campaign's profile from its ad groups' sums (spend, imp, clk, ...): rates
    weighted by expected volume, noise shrunk as for a sum of n ad groups."""
    return _items(
        [
            ("name", "concat_ws('-', upper(product[1]) || product[2:], objective, 'Mixed', '2026Q3', 'C' || cidx)"),
            ("key", f"{_BULK_CAMPAIGN_KEY} + cidx"),
            ("p_spend", "spend"),
            ("p_cpm", "coalesce(spend * 1000 / nullif(imp, 0), cpm)"),
            ("p_ctr", "coalesce(clk / nullif(imp, 0), ctr)"),
            ("p_outbound", "coalesce(outc / nullif(clk, 0), outbound)"),
            ("p_cvr", "coalesce(conv / nullif(clk, 0), cvr)"),
            ("p_aov", f"coalesce(val / nullif(conv, 0), {PRODUCT_PRICE['bot']})"),
            ("p_vtr", "coalesce(vid / nullif(imp, 0), vtr)"),
            ("p_leads", "coalesce(lead / nullif(clk, 0), leads)"),
            ("p_noise", "0.2 / sqrt(n)"),
            ("p_shift_age", "NULL::INTEGER"),
            ("p_shift_spend", "1.0"),
            ("p_shift_cvr", "1.0"),
        ]
    )


# ---------------------------------------------------------------------------
# Materialization

_T = "_rulerun_demo_"  # prefix of the temporary tables

# Temporary tables filled from Python: column -> type.
_GEN_COLUMNS = {
    "gen": "INTEGER",
    "platform": "VARCHAR",
    "key": "BIGINT",
    "first_age": "INTEGER",
    "last_age": "INTEGER",
    **{f"p_{name}": "DOUBLE" for name in Perf.__dataclass_fields__},
    "p_shift_age": "INTEGER",
    "cred": "DOUBLE",
    "truth": "BOOLEAN",  # counts toward Shopify orders (search terms duplicate keywords)
    "product": "VARCHAR",  # the product its orders are of (the store's product rows)
    "site_mode": "INTEGER",  # 0: no store sessions (store_traffic False), 1: clicks land, 2: outbound clicks land
}
_EMAIL_COLUMNS = {
    "ent": "INTEGER",
    "key": "BIGINT",
    "first_age": "INTEGER",
    "last_age": "INTEGER",
    **{f"e_{name}": "DOUBLE" for name in EmailPerf.__dataclass_fields__},
    "e_seasonal": "BOOLEAN",
}
_KEY_COLUMNS = {"ent": "INTEGER", "platform": "VARCHAR", "account_id": "VARCHAR", "level": "VARCHAR"}
_KEY_COLUMNS["entity_id"] = "VARCHAR"
_CONTRIB_COLUMNS = {"gen": "INTEGER", "ent": "INTEGER", "weight": "DOUBLE"}
_PLATFORM_COLUMNS = {
    "pidx": "INTEGER",
    "platform": "VARCHAR",
    "start_i": "BIGINT",
    "camp_off": "BIGINT",
    "acct_off": "BIGINT",
    **{name: "DOUBLE" for name in ("cpm", "ctr", "cvr", "outbound", "vtr", "leads")},
    "objective": "VARCHAR",
    "targetings": "VARCHAR[]",
    "budget_on_group": "BOOLEAN",
    "manual_share": "DOUBLE",
    "manual_strategy": "VARCHAR",
    "auto_strategy": "VARCHAR",
    "learns": "BOOLEAN",
}
_TEMP_TABLES: tuple[str, ...] = (
    "days",
    "keys",
    "gen",
    "contrib",
    "email",
    "ad_daily",
    "email_daily",
    "shop",
    "product_entities",
    "product_daily",
    "platforms",
    "bulk",
)
_TEMP_TABLES += ("bulk_camp",)


@dataclass
class _Curated:
    """The curated dataset flattened into rows of the temporary tables."""

    keys: list[dict] = field(default_factory=list)
    gens: list[dict] = field(default_factory=list)
    contrib: list[dict] = field(default_factory=list)
    emails: list[dict] = field(default_factory=list)
    shop_ent: int = -1
    products: list[dict] = field(default_factory=list)  # the store's product entities: ent, product


class _Materializer:
    def __init__(self, con: duckdb.DuckDBPyConnection, schema: str, catalog: Catalog, params: DemoParams):
        self.con = con
        self.schema = _qualified(con, schema)
        self.catalog = catalog
        self.params = params

    def run(self) -> SourceInfo:
        self._drop_temp_tables()  # leftovers of an earlier run on this connection
        self._create_tables()
        self._create_days()
        dataset = curated_dataset(self.params.days)
        self._insert_entities(dataset.nodes)
        self._curated_metrics(self._flatten(dataset.nodes))
        if self.params.ad_groups:
            self._bulk()
        self._drop_temp_tables()
        return self._info()

    def _drop_temp_tables(self) -> None:
        for table in _TEMP_TABLES:
            self.con.execute(f"DROP TABLE IF EXISTS {_T}{table}")

    # -- tables

    def _create_tables(self) -> None:
        for table, columns in (
            ("entities", self.catalog.entity_columns()),
            ("metrics_daily", self.catalog.metric_columns()),
        ):
            cols = ", ".join(f"{quote_ident(name)} {sql_type}" for name, sql_type in columns)
            self.con.execute(f"CREATE TABLE {self.schema}.{table} ({cols})")

    def _create_days(self) -> None:
        """One row per day: its age (days before LAST_DAY), date and weekday seasonality."""
        last = f"DATE '{LAST_DAY.isoformat()}'"
        self.con.execute(f"""
            CREATE TEMP TABLE {_T}days AS
            SELECT age, {last} - age AS date,
                   {list(AD_SEASON)}[isodow({last} - age)] AS ad_season,
                   {list(COMMERCE_SEASON)}[isodow({last} - age)] AS com_season
            FROM (SELECT range::INTEGER AS age FROM range({self.params.days}))""")

    def _temp_table(self, name: str, columns: dict[str, str], rows: list[dict]) -> None:
        self.con.execute(f"CREATE TEMP TABLE {_T}{name} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
        insert_rows(self.con, f"{_T}{name}", list(columns.items()), ([row[c] for c in columns] for row in rows))

    def _insert_entities(self, nodes: list[Node]) -> None:
        columns = self.catalog.entity_columns()
        rows = ([n.attributes().get(c) for c, _ in columns] for n in nodes)
        insert_rows(self.con, f"{self.schema}.entities", columns, rows)

    def _insert_entity_select(self, columns: dict[str, str], source: str) -> None:
        """Insert entities from a SELECT; attributes missing from `columns` are null."""
        items = [f"({columns.get(name, 'NULL')})::{sql_type}" for name, sql_type in self.catalog.entity_columns()]
        self.con.execute(f"INSERT INTO {self.schema}.entities SELECT {', '.join(items)} FROM {source}")

    # -- curated metrics

    def _flatten(self, nodes: list[Node]) -> _Curated:
        """Generators (leaves with a Perf) and what each adds up to: itself and its
        ancestors, plus a share of its ad group for ads beside keywords."""
        out = _Curated()
        index = {id(node): k for k, node in enumerate(nodes)}
        gens_of: dict[int, list[int]] = {}  # entity -> generators adding up to it
        for ent, node in enumerate(nodes):
            out.keys.append({"ent": ent, **node.attributes()})
            if node.perf is not None:
                gen = len(out.gens)
                out.gens.append(self._gen_row(gen, node))
                # Search terms are another view of keyword traffic: they do not roll up.
                chain = [node] if node.level == "search_term" else _lineage(node)
                for member in chain:
                    gens_of.setdefault(index[id(member)], []).append(gen)
                    out.contrib.append({"gen": gen, "ent": index[id(member)], "weight": 1.0})
            elif node.email is not None:
                out.emails.append(self._email_row(ent, node))
            elif node.truth_store:
                out.shop_ent = ent
            elif node.level == "product" and node.parent is not None and node.parent.truth_store:
                out.products.append({"ent": ent, "product": node.product})
        for ent, node in enumerate(nodes):
            if node.share is not None and node.parent is not None:
                parent_gens = gens_of.get(index[id(node.parent)], [])
                out.contrib += [{"gen": gen, "ent": ent, "weight": node.share} for gen in parent_gens]
        return out

    def _age_range(self, node: Node) -> tuple[int, int]:
        """(first, last) age with rows: from creation (or the window start) to the stop."""
        first = min(self.params.days - 1, (LAST_DAY - node.created_at).days)
        if node.level == "email_campaign":
            first = node.stopped_age  # one row, on the send date
        return first, node.stopped_age

    def _gen_row(self, gen: int, node: Node) -> dict:
        assert node.perf is not None
        first, last = self._age_range(node)
        reports_outbound = "outbound_clicks" in self.catalog.metrics_available(node.platform)
        store_traffic = platform_demos()[node.platform].store_traffic
        profile = {f"p_{k}": v for k, v in node.perf.__dict__.items()}
        profile["p_aov"] = node.perf.aov or PRODUCT_PRICE.get(node.product or "", ORGANIC_AOV)
        return {
            "gen": gen,
            "platform": node.platform,
            "key": gen + 1,
            "first_age": first,
            "last_age": last,
            **profile,
            "cred": self.catalog.credibility_ratio(node.platform),
            "truth": node.level != "search_term",
            "product": node.product,
            "site_mode": 0 if not store_traffic else 2 if reports_outbound else 1,
        }

    def _email_row(self, ent: int, node: Node) -> dict:
        assert node.email is not None
        first, last = self._age_range(node)
        profile = {f"e_{k}": v for k, v in node.email.__dict__.items()}
        return {"ent": ent, "key": 100_000 + ent, "first_age": first, "last_age": last, **profile}

    def _curated_metrics(self, curated: _Curated) -> None:
        seed = self.params.seed
        self._temp_table("keys", _KEY_COLUMNS, curated.keys)
        self._temp_table("gen", _GEN_COLUMNS, curated.gens)
        self._temp_table("contrib", _CONTRIB_COLUMNS, curated.contrib)
        self._temp_table("email", _EMAIL_COLUMNS, curated.emails)
        ad_days = f"""SELECT g.*, d.age, d.ad_season AS season
            FROM {_T}gen g JOIN {_T}days d ON d.age BETWEEN g.last_age AND g.first_age"""
        self.con.execute(f"""
            CREATE TEMP TABLE {_T}ad_daily AS
            SELECT gen, age, cred, truth, site_mode, {", ".join(_AD_RAW)}
            FROM (SELECT *, {_ad_metrics()} FROM ({_hashed(ad_days, "key", "age", seed, 3)}))""")
        email_days = f"""SELECT e.*, d.age, CASE WHEN e_seasonal THEN d.com_season ELSE 1.0 END AS season
            FROM {_T}email e JOIN {_T}days d ON d.age BETWEEN e.last_age AND e.first_age"""
        self.con.execute(f"""
            CREATE TEMP TABLE {_T}email_daily AS
            SELECT ent, age, {", ".join(_EMAIL_RAW)}
            FROM (SELECT *, {_email_metrics()} FROM ({_hashed(email_days, "key", "age", seed, 3)}))""")
        self._store_daily()
        self._product_daily(curated)
        rollup = ", ".join(f"sum(round(a.{c} * c.weight))::BIGINT AS {c}" for c in _AD_RAW)
        tokens = {p: f"'{p}'" for p in platform_demos()}
        self.con.execute(f"""
            INSERT INTO {self.schema}.metrics_daily
            SELECT d.date, k.platform, k.account_id, k.level, k.entity_id,
                   {_metric_select(self.catalog, "k.platform", tokens)}
            FROM (SELECT c.ent, a.age, {rollup}
                  FROM {_T}ad_daily a JOIN {_T}contrib c USING (gen) GROUP BY c.ent, a.age
                  UNION ALL BY NAME
                  SELECT ent, age, {", ".join(_EMAIL_RAW)} FROM {_T}email_daily
                  UNION ALL BY NAME
                  SELECT {curated.shop_ent} AS ent, age, {", ".join(_SHOP_RAW)} FROM {_T}shop
                  UNION ALL BY NAME
                  SELECT * FROM {_T}product_daily) m
            JOIN {_T}keys k USING (ent) JOIN {_T}days d USING (age)
            ORDER BY m.ent, m.age DESC""")

    def _store_daily(self) -> None:
        """The store's truth: platform conversions divided by their over-reporting ratio,
        part of the email conversions, organic demand."""
        site_clicks = "CASE site_mode WHEN 1 THEN clicks WHEN 2 THEN outbound_clicks ELSE 0 END"
        inputs = f"""
            WITH paid AS (
                SELECT age, {_exact_sum("conversions / cred")} AS paid_orders,
                       {_exact_sum("value_c / cred")} AS paid_value_c, sum({site_clicks}) AS site_clicks
                FROM {_T}ad_daily WHERE truth GROUP BY age),
            email AS (
                SELECT age, sum(conversions) * {EMAIL_TRUTH_SHARE} AS email_orders,
                       sum(value_c) * {EMAIL_TRUTH_SHARE} AS email_value_c
                FROM {_T}email_daily GROUP BY age)
            SELECT d.age, d.com_season, paid.* EXCLUDE (age), email.* EXCLUDE (age)
            FROM {_T}days d LEFT JOIN paid USING (age) LEFT JOIN email USING (age)"""
        self.con.execute(f"""
            CREATE TEMP TABLE {_T}shop AS
            SELECT age, {", ".join(_SHOP_RAW)}
            FROM (SELECT *, {_shop_metrics()} FROM ({_hashed(inputs, "900001", "age", self.params.seed, 3)}))""")

    def _product_daily(self, curated: _Curated) -> None:
        """Each store product's orders: those its ads drove (conversions over the platform's
        ratio), plus its share of the store's other orders. The store's line-item sales
        (PRODUCT_SALES_SHARE of its revenue, the rest shipping and tax) and its new customers are
        split over the products by their orders (at their prices), so the products never hold
        more than the store."""
        self._temp_table("product_entities", {"ent": "INTEGER", "product": "VARCHAR"}, curated.products)
        shares = " ".join(f"WHEN '{p}' THEN {v}" for p, v in UNATTRIBUTED_PRODUCT_SHARE.items())
        prices = " ".join(f"WHEN '{p}' THEN {v}" for p, v in PRODUCT_PRICE.items())
        # the noise of a product's day depends on the product and the date only (not on `days`)
        keys = " ".join(f"WHEN '{p}' THEN {i}" for i, p in enumerate(PRODUCT_PRICE, 1))
        inputs = f"""
            WITH paid AS (
                SELECT a.age, g.product, {_exact_sum("a.conversions / a.cred")} AS paid
                FROM {_T}ad_daily a JOIN {_T}gen g USING (gen) WHERE a.truth GROUP BY ALL),
            paid_all AS (SELECT age, sum(paid) AS paid_all FROM paid GROUP BY age)
            SELECT p.ent, p.product, s.age, 900_100 + CASE p.product {keys} ELSE 0 END AS key,
                   coalesce(pd.paid, 0) AS paid, greatest(s.orders - coalesce(pa.paid_all, 0), 0) AS rest,
                   s.orders AS store_orders, s.revenue_c AS store_revenue_c, s.new_customers AS store_new,
                   CASE p.product {shares} ELSE 0 END AS share, CASE p.product {prices} ELSE 0 END AS price
            FROM {_T}product_entities p CROSS JOIN {_T}shop s
            LEFT JOIN paid pd ON pd.age = s.age AND pd.product = p.product
            LEFT JOIN paid_all pa ON pa.age = s.age"""
        hashed = _hashed(inputs, "key", "age", self.params.seed, 1)
        counted = f"SELECT *, {_count('paid + rest * share', 'h1', 0)} AS orders FROM ({hashed})"
        weight = "orders * price / nullif(sum(orders * price) OVER (PARTITION BY age), 0)"
        self.con.execute(f"""
            CREATE TEMP TABLE {_T}product_daily AS
            SELECT ent, age, orders,
                   coalesce(round(store_revenue_c * {PRODUCT_SALES_SHARE} * {weight}), 0)::BIGINT AS revenue_c,
                   floor(store_new * least(orders / greatest(store_orders, 1), 1))::BIGINT AS new_customers,
                   round(orders * {UNITS_PER_ORDER})::BIGINT AS units_sold
            FROM ({counted})""")

    # -- bulk

    def _bulk(self) -> None:
        counts = bulk_counts(self.params.ad_groups, self.catalog)
        bounds = self._bulk_platforms(counts)
        self._bulk_ad_groups(bounds)
        self._bulk_campaigns()
        self._bulk_metrics()

    def _bulk_platforms(self, counts: dict[str, int]) -> list[int]:
        """One row per ad platform: where its ad groups, campaigns and accounts start,
        its baseline economics and bulk settings. Returns the platforms' start indexes."""
        rows, start, camps, accts = [], 0, 0, 0
        demos = platform_demos()
        for pidx, platform in enumerate(ad_platforms()):
            bulk = demos[platform].bulk
            assert bulk is not None  # ad_platforms() lists only the platforms with bulk settings
            spec = asdict(bulk)
            base = spec.pop("baseline")
            rows.append(
                {
                    "pidx": pidx,
                    "platform": platform,
                    "start_i": start,
                    "camp_off": camps,
                    "acct_off": accts,
                    **base,
                    **spec,
                }
            )
            n_camps = -(-counts[platform] // BULK_GROUPS_PER_CAMPAIGN)
            start, camps = start + counts[platform], camps + n_camps
            accts += -(-n_camps // BULK_CAMPAIGNS_PER_ACCOUNT)
        for row in rows:
            row["targetings"] = list(row["targetings"])
        self._temp_table("platforms", _PLATFORM_COLUMNS, rows)
        return [row["start_i"] for row in rows]

    def _bulk_ad_groups(self, starts: list[int]) -> None:
        pidx = " ".join(f"WHEN i < {b} THEN {k - 1}" for k, b in enumerate(starts) if k)
        source = f"""SELECT i, {_BULK_KEY} + i AS key, pl.*
            FROM (SELECT range AS i, CASE {pidx} ELSE {len(starts) - 1} END AS pidx FROM range({self.params.ad_groups}))
            JOIN {_T}platforms pl USING (pidx)"""
        per_campaign, per_account = BULK_GROUPS_PER_CAMPAIGN, BULK_GROUPS_PER_CAMPAIGN * BULK_CAMPAIGNS_PER_ACCOUNT
        self.con.execute(f"""
            CREATE TEMP TABLE {_T}bulk AS
            SELECT i, pidx, platform, cidx, key, entity_id, account_id, campaign_id, name, status, product,
                   daily_budget, bid, bidding_strategy, learning_phase, created_at, p_spend, p_cpm, p_ctr, p_cvr,
                   p_outbound, p_vtr, p_leads, p_aov, p_noise, p_shift_age, p_shift_spend, p_shift_cvr
            FROM (SELECT *, i - start_i AS j, camp_off + j // {per_campaign} AS cidx,
                         acct_off + j // {per_account} AS aidx,
                         printf('bag%08d', i) AS entity_id, printf('bulk-%05d', aidx) AS account_id,
                         printf('bcmp%07d', cidx) AS campaign_id, {_bulk_profile()}
                  FROM ({_hashed(source, "key", "1000000", self.params.seed, 2)}))""")
        columns = {
            "platform": "platform",
            "account_id": "account_id",
            "level": "'ad_group'",
            "entity_id": "entity_id",
            "parent_id": "campaign_id",
            "name": "name",
            "status": "status",
            "daily_budget": "daily_budget",
            "bid": "bid",
            "is_brand": "false",
            "product": "product",
            "learning_phase": "learning_phase",
            "labels": "['bulk']",
            "created_at": "created_at",
            "currency": f"'{CURRENCY}'",
            "bidding_strategy": "bidding_strategy",
        }
        self._insert_entity_select(columns, f"{_T}bulk")

    def _bulk_campaigns(self) -> None:
        """Bulk campaigns with a profile adding up their active ad groups' expected volumes,
        so their rows match the ad groups' sums statistically without aggregating tens of
        millions of generated rows."""
        w = "CASE WHEN b.status = 'active' THEN b.p_spend ELSE 0.0 END"
        imp = f"({w}) * 1000 / b.p_cpm"
        clk = f"{imp} * b.p_ctr"
        terms = {
            "spend": w,
            "imp": imp,
            "clk": clk,
            "outc": f"{clk} * b.p_outbound",
            "conv": f"{clk} * b.p_cvr",
            "val": f"{clk} * b.p_cvr * b.p_aov",
            "vid": f"{imp} * b.p_vtr",
            "lead": f"{clk} * b.p_leads",
        }
        sums = ", ".join(f"{_exact_sum(expr)} AS {name}" for name, expr in terms.items())
        budget = f"ceil({_exact_sum('b.p_spend')} * 1.25 / 10) * 10"  # campaign budgets: 25% headroom
        platform_cols = ", ".join(
            f"any_value(pl.{c}) AS {c}" for c in ("objective", "cpm", "ctr", "outbound", "cvr", "vtr", "leads")
        )
        self.con.execute(f"""
            CREATE TEMP TABLE {_T}bulk_camp AS
            SELECT *, {_bulk_campaign_profile()}
            FROM (SELECT b.cidx, any_value(b.pidx) AS pidx, any_value(b.platform) AS platform,
                    any_value(b.account_id) AS account_id, any_value(b.campaign_id) AS entity_id,
                    arg_min(b.product, b.i) AS product, arg_min(b.bidding_strategy, b.i) AS bidding_strategy,
                    min(b.created_at) AS created_at, {platform_cols},
                    CASE WHEN NOT any_value(pl.budget_on_group) THEN {budget} END AS daily_budget,
                    count(*) AS n, {sums}
                  FROM {_T}bulk b JOIN {_T}platforms pl USING (pidx)
                  GROUP BY b.cidx)
            ORDER BY cidx""")
        columns = {
            "platform": "platform",
            "account_id": "account_id",
            "level": "'campaign'",
            "entity_id": "entity_id",
            "name": "name",
            "status": "'active'",
            "daily_budget": "daily_budget",
            "is_brand": "false",
            "product": "product",
            "labels": "['bulk']",
            "created_at": "created_at",
            "currency": f"'{CURRENCY}'",
            "bidding_strategy": "bidding_strategy",
        }
        self._insert_entity_select(columns, f"{_T}bulk_camp ORDER BY cidx")

    def _bulk_metrics(self) -> None:
        """`days` rows per bulk ad group and campaign, generated set-based: the profile
        table crossed with the days, never a Python loop per row.

        Bulk rows go to a narrow table holding only the metrics ad platforms report, and
        `metrics_daily` becomes a view over both tables: writing millions of all-null
        email and store columns is most of the cost of a wide insert."""
        tokens = {p: str(k) for k, p in enumerate(ad_platforms())}  # compared with pidx: cheaper than strings
        items = _metric_items(self.catalog, "pidx", tokens, skip_null=True)
        keys = ", ".join(f"{quote_ident(k)} {t}" for k, t in self.catalog.metric_columns()[: len(METRIC_KEY_COLUMNS)])
        cols = ", ".join(f"{quote_ident(m)} DOUBLE" for m, _ in items)
        self.con.execute(f"CREATE TABLE {self.schema}.metrics_bulk ({keys}, {cols})")
        for level, table in (("ad_group", "bulk"), ("campaign", "bulk_camp")):
            rows = f"SELECT b.*, d.age, d.date, d.ad_season AS season FROM {_T}{table} b, {_T}days d"
            self.con.execute(f"""
                INSERT INTO {self.schema}.metrics_bulk
                SELECT date, platform, account_id, '{level}', entity_id, {_items(items)}
                FROM (SELECT *, {_ad_metrics()} FROM ({_hashed(rows, "key", "age", self.params.seed, 3)}))""")
        narrow = {m for m, _ in items}
        select_bulk = ", ".join(
            quote_ident(name) if name in narrow or i < len(METRIC_KEY_COLUMNS) else f"NULL::{t} AS {quote_ident(name)}"
            for i, (name, t) in enumerate(self.catalog.metric_columns())
        )
        canonical = ", ".join(quote_ident(n) for n, _ in self.catalog.metric_columns())
        self.con.execute(f"ALTER TABLE {self.schema}.metrics_daily RENAME TO metrics_curated")
        self.con.execute(f"""CREATE VIEW {self.schema}.metrics_daily AS
            SELECT {canonical} FROM {self.schema}.metrics_curated
            UNION ALL SELECT {select_bulk} FROM {self.schema}.metrics_bulk""")

    # -- summary

    def _info(self) -> SourceInfo:
        entities = self.con.execute(f"SELECT count(*) FROM {self.schema}.entities").fetchone()
        metrics = self.con.execute(f"SELECT min(date), max(date), count(*) FROM {self.schema}.metrics_daily").fetchone()
        assert entities is not None and metrics is not None
        return SourceInfo(
            present_metrics=frozenset(self.catalog.additive),
            min_date=metrics[0],
            max_date=metrics[1],
            entity_rows=int(entities[0]),
            metric_rows=int(metrics[2]),
            data_quality=[],
        )


def _lineage(node: Node) -> list[Node]:
    """The node and its ancestors."""
    chain = []
    current: Node | None = node
    while current is not None:
        chain.append(current)
        current = current.parent
    return chain
