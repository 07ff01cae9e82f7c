"""The embedded demo data source: a deterministic, realistic D2C marketing dataset.

`--source demo` (the default) needs no credentials. It describes a fictional D2C
hardware brand selling three products, `bot` (a conference camera, about $899),
`dot` (a portable display, about $399) and `board` (an interactive whiteboard, about
$1,999), advertised on six ad platforms, with a Shopify store and Klaviyo email:

- **google**: two accounts; search campaigns with ad groups, responsive search ads,
  keywords (manual CPC bids or automated bidding) and search terms; a Shopping, a
  Performance Max and a YouTube campaign; one paused and one removed campaign.
- **meta**: a prospecting account with campaign budgets (CBO) and a retargeting/lead
  account whose budgets live on the ad sets (level `ad_group`); ads under each ad set.
- **amazon**: Sponsored Products (keywords, product ads, search terms), Sponsored
  Brands and Sponsored Display campaigns.
- **tiktok**: campaigns whose ad groups carry the budgets (lowest cost or cost cap).
- **linkedin**: campaign groups (level `campaign`), campaigns (`ad_group`), creatives (`ad`).
- **pinterest**: campaigns, ad groups with budgets and custom (manual) or automatic
  bids, promoted pins (`ad`).
- **shopify**: one store (level `account`) with daily sessions, add_to_carts, orders,
  revenue and new_customers: the truth that platform conversions are compared with.
- **klaviyo**: flows (daily rows) and email campaigns (one row, on the send date).

Dates: the last day of data is always 2026-10-31, so the default evaluation date is
2026-11-01; `days` (default 92) sets how far back the data goes (2026-08-01 by default).
Every value is derived from integer hashes of (entity, day, seed): the same parameters
always give the same tables, and a given date has the same values whatever `days` is.
Spend has weekday seasonality and daily noise; Shopify has its own weekly pattern.
Money is in USD as float dollars (rounded to cents), never micros. A metric a platform
does not report (catalog/field_mapping.yaml) is null on that platform's rows. Parent
rows (ad group, campaign) are the sums of their children; ads beside keywords get a
share of their ad group. Platform conversions over-report Shopify orders roughly by the
ratios of catalog/credibility.yaml: Shopify orders are the platform conversions divided
by those ratios, plus email-driven and organic orders.

Traps real accounts have, with stable ids (see TRAPS) so tests and docs can name them:

- `google_brand_zero_conversions`: a Google brand campaign (is_brand, label `brand`)
  with about $600 spend and no conversions in the last 30 days: it matches
  `pause_zero_conversion_campaigns`, and the safety layer must block the pause.
- `google_zero_conversion_campaign`: a non-brand campaign the same rule may pause.
- `tiktok_learning_ad_group`: a TikTok ad group still in the learning phase, created
  four days before the end, with a poor CPA that would otherwise trigger a bid or
  budget cut.
- `pinterest_just_under_threshold`: a Pinterest ad group with about $590 spend in the
  last 7 days (just under 2 x target_cpa = $600) and an outbound CTR under 0.3%, so
  `pause_expensive_low_outbound` must not fire on it, while
  `pinterest_expensive_low_outbound` (over $600, same CTR) must be paused.
- `pinterest_low_outbound_manual_bid`: outbound CTR under 0.5% with a manual bid:
  `lower_bid_low_outbound_ctr` lowers it.
- `meta_zero_impressions_ad_group` (and its ad): active, with daily rows of zeros
  (its audience is too small to deliver); `google_zero_impressions_keyword`: a
  low-search-volume keyword with rows of zeros; `google_no_rows_keyword` and
  `pinterest_no_rows_ad_group`: created on the last day, with no metric rows at all.
- `google_wasted_search_term`: over $50 and 10+ clicks in the last 14 days with no
  conversion: `negative_wasted_search_terms` adds it as a negative keyword.
- `meta_high_cpa_ad`: a fatigued creative with no conversion in the last 7 days:
  `pause_high_cpa_ads` pauses it.
- `google_high_roas_keyword`: ROAS over 4 with 5+ conversions in the last 30 days:
  `raise_bids_high_roas_keywords` raises its bid.
- `meta_budget_clamp_campaign`: a strong campaign in an account whose campaign budgets
  add up to $4,850/day, so raising its budget hits the +20% limit and the $5,000/day cap.
- `google_large_budget_campaign`: a $1,500/day campaign: a budget change over
  $500/day needs approval.
- `klaviyo_spam_complaints_campaign`: an email campaign with spam complaint and
  unsubscribe rates over the Klaviyo benchmarks.

`demo:ad_groups=N` adds N bulk ad groups spread over the six ad platforms by the budget
shares of catalog/benchmarks.yaml, under bulk campaigns of about 50 ad groups (accounts
of 4 campaigns), with `days` rows each; a few percent of them are bleeders (conversions
collapsed), stars, low outbound-CTR or dark (zero delivery) ad groups, so typical rules
find some work. Bulk campaigns carry their own rows, statistically consistent with (not
the exact sums of) their ad groups; bulk data does not feed the Shopify store.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from engine.core.catalog import METRIC_KEY_COLUMNS
from engine.core.errors import UsageError
from engine.data.sources import Source, SourceInfo

if TYPE_CHECKING:
    import duckdb

    from engine.core.catalog import Catalog

# Bump whenever the generated data changes (entities, formulas, constants).
GENERATOR_VERSION = 1

LAST_DAY = date(2026, 10, 31)
DEFAULT_DAYS = 92
MAX_DAYS = 3650
MAX_AD_GROUPS = 50_000_000
CURRENCY = "USD"

PRODUCT_PRICE = {"bot": 899.0, "dot": 399.0, "board": 1999.0}

# Day-of-week multipliers, Monday first; each list averages exactly 1 so any 7-day
# window keeps its weekly total. Ads spend most early in the week; the store sells
# most on Sunday and Monday.
AD_SEASON = (1.03, 1.06, 1.05, 1.02, 0.97, 0.90, 0.97)
COMMERCE_SEASON = (1.06, 1.04, 1.02, 0.99, 0.93, 0.92, 1.04)

AD_PLATFORMS = ("google", "meta", "amazon", "tiktok", "linkedin", "pinterest")

SHOPIFY_STORE = "vibe-store.myshopify.com"
KLAVIYO_ACCOUNT = "XkP9Lm"

# Stable ids of the traps described in the module docstring.
TRAPS: dict[str, str] = {
    "google_brand_zero_conversions": "21874500001",
    "google_large_budget_campaign": "21874500002",
    "google_zero_conversion_campaign": "21874500003",
    "google_high_roas_keyword": "39581200001",
    "google_zero_impressions_keyword": "39581200002",
    "google_no_rows_keyword": "39581200003",
    "google_wasted_search_term": "158933400001~free conference camera software",
    "meta_budget_clamp_campaign": "120214563300001",
    "meta_zero_impressions_ad_group": "120214563400001",
    "meta_high_cpa_ad": "120214563500001",
    "tiktok_learning_ad_group": "1781000000000001",
    "pinterest_just_under_threshold": "2680067500001",
    "pinterest_expensive_low_outbound": "2680067500002",
    "pinterest_low_outbound_manual_bid": "2680067500003",
    "pinterest_no_rows_ad_group": "2680067500004",
    "klaviyo_spam_complaints_campaign": "01JBEM20261029",
}

# Entity id formats per (platform, level): realistic widths; counters 1-99 are kept
# for the traps above, generated entities start at 101.
_ID_FORMATS = {
    ("google", "campaign"): "218745{:05d}",
    ("google", "ad_group"): "1589334{:05d}",
    ("google", "ad"): "6871022{:05d}",
    ("google", "keyword"): "395812{:05d}",
    ("meta", "campaign"): "1202145633{:05d}",
    ("meta", "ad_group"): "1202145634{:05d}",
    ("meta", "ad"): "1202145635{:05d}",
    ("amazon", "campaign"): "2847100{:05d}",
    ("amazon", "ad_group"): "3918200{:05d}",
    ("amazon", "ad"): "4102900{:05d}",
    ("amazon", "keyword"): "5530100{:05d}",
    ("tiktok", "campaign"): "17800000000{:05d}",
    ("tiktok", "ad_group"): "17810000000{:05d}",
    ("tiktok", "ad"): "17820000000{:05d}",
    ("linkedin", "campaign"): "6120{:05d}",
    ("linkedin", "ad_group"): "3081{:05d}",
    ("linkedin", "ad"): "1957{:05d}",
    ("pinterest", "campaign"): "62674158{:05d}",
    ("pinterest", "ad_group"): "26800675{:05d}",
    ("pinterest", "ad"): "68719476{:05d}",
    ("klaviyo", "flow"): "RcT{:05d}",
}


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
        doc = {"kind": self.kind, "generator": GENERATOR_VERSION, **self.params.__dict__}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]

    def materialize(self, con: duckdb.DuckDBPyConnection, schema: str, catalog: Catalog) -> SourceInfo:
        return _Materializer(con, schema, catalog, self.params).run()


# ---------------------------------------------------------------------------
# The curated dataset: entities and how each one performs


@dataclass(frozen=True)
class Perf:
    """How a leaf entity performs; its daily metrics are generated from this.

    Rates are per impression (ctr, vtr) or per click (outbound, cvr, leads). A regime
    change `shift_age` days before the last day multiplies spend and CVR from then on
    (a scaled-up campaign, a fatigued creative).
    """

    spend: float  # mean daily spend, USD
    cpm: float
    ctr: float
    cvr: float
    outbound: float = 0.0
    vtr: float = 0.0
    leads: float = 0.0
    aov: float | None = None  # None: the product's price
    noise: float = 0.15  # relative daily spend noise (triangular, +-noise at most)
    shift_age: int | None = None
    shift_spend: float = 1.0
    shift_cvr: float = 1.0


@dataclass(frozen=True)
class EmailPerf:
    """How a Klaviyo flow (daily) or email campaign (one send) performs; rates are per
    recipient (bounce), per delivered email (open, click, unsub, spam) or per click (conv)."""

    recipients: float
    open: float
    click: float
    conv: float
    bounce: float = 0.006
    unsub: float = 0.002
    spam: float = 0.0001
    aov: float = 650.0
    noise: float = 0.1
    seasonal: bool = True


# Typical unit economics per platform (and Google campaign type): CPM, CTR over all
# clicks, outbound share of clicks, video views per impression, leads per click, CVR.
BASELINES: dict[str, dict[str, float]] = {
    "google": {"cpm": 130.0, "ctr": 0.05, "cvr": 0.008},
    "google_shopping": {"cpm": 11.0, "ctr": 0.012, "cvr": 0.0045},
    "google_pmax": {"cpm": 10.0, "ctr": 0.009, "cvr": 0.0035},
    "google_video": {"cpm": 9.0, "ctr": 0.004, "cvr": 0.002, "vtr": 0.3},
    "meta": {"cpm": 18.0, "ctr": 0.012, "cvr": 0.006, "outbound": 0.55, "vtr": 0.06},
    "amazon": {"cpm": 6.0, "ctr": 0.0045, "cvr": 0.004},
    "tiktok": {"cpm": 9.0, "ctr": 0.009, "cvr": 0.004, "vtr": 0.25},
    "linkedin": {"cpm": 40.0, "ctr": 0.005, "cvr": 0.012, "outbound": 0.7, "leads": 0.05},
    "pinterest": {"cpm": 4.0, "ctr": 0.012, "cvr": 0.0012, "outbound": 0.65, "vtr": 0.05},
}


def perf(kind: str, spend: float, **overrides: Any) -> Perf:
    """A Perf from a platform baseline (`kind` is a BASELINES key) with overrides."""
    return Perf(spend=spend, **{**BASELINES[kind], **overrides})


@dataclass
class Node:
    """One curated entity; `perf` makes it a leaf that generates metrics, `share` gives
    it that part of its parent's metrics, otherwise it sums its children's."""

    platform: str
    account_id: str
    level: str
    entity_id: str
    name: str
    parent: Node | None = None
    status: str = "active"
    daily_budget: float | None = None
    bid: float | None = None
    is_brand: bool = False
    product: str | None = None
    learning_phase: bool | None = None
    labels: tuple[str, ...] = ()
    created_at: date = date(2026, 1, 5)
    bidding_strategy: str | None = None
    match_type: str | None = None
    perf: Perf | None = None
    share: float | None = None
    email: EmailPerf | None = None
    stopped_age: int = 0  # paused/removed: the last day with delivery, in days before LAST_DAY
    children: list[Node] = field(default_factory=list, repr=False)

    @property
    def parent_id(self) -> str | None:
        return self.parent.entity_id if self.parent else None

    def attributes(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "account_id": self.account_id,
            "level": self.level,
            "entity_id": self.entity_id,
            "parent_id": self.parent_id,
            "name": self.name,
            "status": self.status,
            "daily_budget": self.daily_budget,
            "bid": self.bid,
            "is_brand": self.is_brand,
            "product": self.product,
            "learning_phase": self.learning_phase,
            "labels": list(self.labels),
            "created_at": self.created_at,
            "currency": CURRENCY,
            "bidding_strategy": self.bidding_strategy,
            "match_type": self.match_type,
        }


_QUARTER = re.compile(r"(\d{4})Q([1-4])")
_INHERITED = ("is_brand", "product", "bidding_strategy", "status", "stopped_age")


def _created_from_name(name: str) -> date:
    """Campaigns are named `[Product]-[Objective]-[Targeting]-[YYYYQn]`: launch a few
    days into that quarter."""
    match = _QUARTER.search(name)
    if not match:
        return date(2026, 1, 5)
    year, quarter = int(match.group(1)), int(match.group(2))
    return date(year, 3 * quarter - 2, 4)


def _product_from_name(name: str) -> str | None:
    head = name.split("-", 1)[0].lower()
    return head if head in PRODUCT_PRICE else None


class Dataset:
    """Builds the curated entity tree with stable ids."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self._counters: dict[tuple[str, str], int] = {}

    def new_id(self, platform: str, level: str) -> str:
        key = (platform, level)
        self._counters[key] = self._counters.get(key, 100) + 1
        return _ID_FORMATS[key].format(self._counters[key])

    def add(self, parent: Node | None, level: str, name: str, **attrs: Any) -> Node:
        """Add an entity under `parent`, inheriting account, brand, product, bidding
        strategy, status and creation date unless given."""
        if parent is not None:
            attrs.setdefault("platform", parent.platform)
            attrs.setdefault("account_id", parent.account_id)
            attrs.setdefault("created_at", parent.created_at)
            for key in _INHERITED:
                attrs.setdefault(key, getattr(parent, key))
        else:
            attrs.setdefault("product", _product_from_name(name))
            attrs.setdefault("created_at", _created_from_name(name))
        if attrs.get("entity_id") is None:
            attrs["entity_id"] = self.new_id(attrs["platform"], level)
        node = Node(level=level, name=name, parent=parent, **attrs)
        if parent is not None:
            parent.children.append(node)
        self.nodes.append(node)
        return node

    def root(self, account: tuple[str, str], level: str, name: str, **attrs: Any) -> Node:
        """A top-level entity of `account` (platform, account_id)."""
        return self.add(None, level, name, platform=account[0], account_id=account[1], **attrs)

    def campaign(self, account: tuple[str, str], name: str, **attrs: Any) -> Node:
        return self.root(account, "campaign", name, **attrs)

    def keyword(
        self, group: Node, text: str, match: str, p: Perf | None, bid: float | None = None, **attrs: Any
    ) -> Node:
        return self.add(group, "keyword", text, match_type=match, perf=p, bid=bid, **attrs)

    def term(self, group: Node, text: str, match: str, p: Perf, **attrs: Any) -> Node:
        """A search term: another view of its ad group's keyword traffic (no roll-up)."""
        attrs.setdefault("entity_id", f"{group.entity_id}~{text}")
        return self.add(group, "search_term", text, match_type=match, perf=p, **attrs)

    def ads(self, group: Node, *ads: tuple[str, Perf]) -> None:
        for name, p in ads:
            self.add(group, "ad", name, perf=p)

    def split_ads(self, group: Node, *names: str) -> None:
        """Ads beside keywords (search ads, product ads): they split their ad group's traffic."""
        shares = (0.62, 0.38) if len(names) == 2 else (1.0,)
        for name, share in zip(names, shares, strict=True):
            self.add(group, "ad", name, share=share)


def _days_ago(age: int) -> date:
    return LAST_DAY - timedelta(days=age)


def _google(ds: Dataset) -> None:
    main, edu = ("google", "482-913-5520"), ("google", "482-913-7731")
    _google_brand(ds, main)
    _google_bot_search(ds, main)
    _google_dot_search(ds, main)
    _google_other(ds, main)
    _google_edu(ds, edu)


def _google_brand(ds: Dataset, acct: tuple[str, str]) -> None:
    # Brand search whose conversion tracking broke in a checkout migration: spend, no
    # conversions. A rule pauses it; brand protection must block that.
    camp = ds.campaign(
        acct,
        "Brand-Search-Exact-2026Q1",
        entity_id=TRAPS["google_brand_zero_conversions"],
        daily_budget=40.0,
        is_brand=True,
        labels=("brand", "always-on"),
        bidding_strategy="target_impression_share",
    )
    group = ds.add(camp, "ad_group", "Brand-Core")
    brand = {"cpm": 60.0, "ctr": 0.22, "cvr": 0.0}
    ds.keyword(group, "vibe bot", "exact", perf("google", 9.0, **brand))
    ds.keyword(group, "vibe board", "exact", perf("google", 7.0, **brand))
    ds.keyword(group, "vibe smart board", "phrase", perf("google", 4.0, **brand))
    ds.split_ads(group, "RSA-Brand-Core-v4")
    ds.term(group, "vibe bot", "exact", perf("google", 6.0, **brand))
    ds.term(group, "vibe board price", "exact", perf("google", 3.5, **brand))
    ds.term(group, "vibe smartboard review", "exact", perf("google", 1.5, **brand))


def _google_bot_search(ds: Dataset, acct: tuple[str, str]) -> None:
    camp = ds.campaign(
        acct,
        "Bot-Conversion-Broad-2026Q3",
        daily_budget=650.0,
        bidding_strategy="manual_cpc",
        labels=("prospecting", "nonbrand"),
    )
    cams = ds.add(camp, "ad_group", "Conference-Cameras", entity_id="158933400001")
    ds.keyword(cams, "conference room camera", "broad", perf("google", 95.0), bid=3.1)
    ds.keyword(cams, "ai meeting camera", "phrase", perf("google", 60.0), bid=2.6)
    # Exact match, high intent: platform ROAS far above 4 with plenty of conversions.
    high_roas = perf("google", 45.0, cvr=0.03)
    ds.keyword(cams, "360 conference camera", "exact", high_roas, bid=2.4, entity_id=TRAPS["google_high_roas_keyword"])
    # "Low search volume": active, never shown, rows of zeros.
    ds.keyword(
        cams,
        "smart conference camera",
        "exact",
        perf("google", 0.0, cpm=1.0),
        bid=1.5,
        entity_id=TRAPS["google_zero_impressions_keyword"],
        labels=("low-search-volume",),
    )
    ds.split_ads(cams, "RSA-Bot-Meetings-v2", "RSA-Bot-360-v1")
    wasted = perf("google", 5.2, cvr=0.0, noise=0.1)
    ds.term(cams, "free conference camera software", "broad", wasted, entity_id=TRAPS["google_wasted_search_term"])
    ds.term(cams, "best conference room camera 2026", "broad", perf("google", 14.0, cvr=0.04))
    ds.term(cams, "conference camera for small room", "broad", perf("google", 9.0, cvr=0.04))
    ds.term(cams, "ai meeting camera", "phrase", perf("google", 22.0, cvr=0.012))
    ds.term(cams, "360 conference camera", "exact", perf("google", 30.0, cvr=0.03))
    owl = ds.add(camp, "ad_group", "Competitor-Owl")
    ds.keyword(owl, "meeting owl", "phrase", perf("google", 70.0, cvr=0.005), bid=2.2)
    ds.keyword(owl, "owl labs alternative", "broad", perf("google", 35.0), bid=1.9)
    ds.split_ads(owl, "RSA-Bot-vs-Owl-v3")
    ds.term(owl, "meeting owl 4 price", "broad", perf("google", 18.0, cvr=0.015))
    ds.term(owl, "owl labs alternative", "broad", perf("google", 12.0, cvr=0.015))
    webcam = ds.add(camp, "ad_group", "Webcam-Upgrade", status="paused", stopped_age=20)
    ds.keyword(webcam, "4k webcam for meetings", "broad", perf("google", 25.0, cvr=0.004), bid=1.4)
    ds.split_ads(webcam, "RSA-Bot-Webcam-v1")


def _google_dot_search(ds: Dataset, acct: tuple[str, str]) -> None:
    camp = ds.campaign(
        acct,
        "Dot-Conversion-Phrase-2026Q3",
        daily_budget=350.0,
        bidding_strategy="target_cpa",
        labels=("prospecting", "nonbrand"),
    )
    group = ds.add(camp, "ad_group", "Portable-Display")
    ds.keyword(group, "portable touchscreen monitor", "phrase", perf("google", 110.0, cvr=0.012, cpm=90.0))
    ds.keyword(group, "smart display for home", "phrase", perf("google", 75.0, cvr=0.012, cpm=90.0))
    ds.keyword(group, "portable monitor for laptop", "broad", perf("google", 60.0, cvr=0.012, cpm=90.0))
    # Added on the last day: no metric rows yet.
    ds.keyword(
        group,
        "vibe dot portable screen",
        "exact",
        None,
        entity_id=TRAPS["google_no_rows_keyword"],
        created_at=LAST_DAY,
    )
    ds.split_ads(group, "RSA-Dot-Portable-v2", "RSA-Dot-Price-v1")
    ds.term(group, "portable touchscreen monitor 15.6", "phrase", perf("google", 28.0, cvr=0.015, cpm=90.0))
    ds.term(group, "smart display for kitchen", "phrase", perf("google", 11.0, cvr=0.015, cpm=90.0))
    old = ds.campaign(
        acct,
        "Dot-Conversion-Broad-2026Q1",
        daily_budget=300.0,
        status="paused",
        stopped_age=45,
        bidding_strategy="manual_cpc",
        labels=("nonbrand",),
    )
    old_group = ds.add(old, "ad_group", "Portable-Display-Broad")
    ds.keyword(old_group, "portable display", "broad", perf("google", 140.0, cvr=0.006), bid=1.8)
    ds.split_ads(old_group, "RSA-Dot-Broad-v1")


def _google_other(ds: Dataset, acct: tuple[str, str]) -> None:
    shopping = ds.campaign(
        acct,
        "Bot-Shopping-Standard-2026Q3",
        entity_id=TRAPS["google_large_budget_campaign"],
        daily_budget=1500.0,
        bidding_strategy="target_roas",
        labels=("shopping",),
    )
    scaled = perf("google_shopping", 1150.0, shift_age=21, shift_spend=1.15)  # budget raised three weeks ago
    products = ds.add(shopping, "ad_group", "All-Products", perf=scaled)
    ds.split_ads(products, "Product-Ads-Bot")
    pmax = ds.campaign(
        acct, "Board-PMax-Feed-2026Q3", daily_budget=700.0, bidding_strategy="target_roas", labels=("pmax",)
    )
    ds.add(pmax, "ad_group", "AG-Classroom", perf=perf("google_pmax", 310.0))
    ds.add(pmax, "ad_group", "AG-Office", perf=perf("google_pmax", 270.0, cvr=0.009))
    video = ds.campaign(
        acct,
        "Bot-Awareness-YouTube-2026Q3",
        daily_budget=250.0,
        bidding_strategy="target_cpm",
        labels=("awareness", "video"),
    )
    inmarket = ds.add(video, "ad_group", "Hybrid-Work-InMarket", perf=perf("google_video", 205.0))
    ds.split_ads(inmarket, "YT-Bot-Demo-30s")
    # A competitor test that never converted: a pause the safety layer should allow.
    comp = ds.campaign(
        acct,
        "Board-Conversion-Competitor-2026Q3",
        entity_id=TRAPS["google_zero_conversion_campaign"],
        daily_budget=60.0,
        bidding_strategy="manual_cpc",
        labels=("nonbrand", "competitor"),
    )
    flip = ds.add(comp, "ad_group", "Samsung-Flip")
    ds.keyword(flip, "samsung flip alternative", "broad", perf("google", 17.0, cvr=0.0), bid=2.0)
    ds.keyword(flip, "samsung flip 2 price", "phrase", perf("google", 11.0, cvr=0.0), bid=1.6)
    ds.split_ads(flip, "RSA-Board-vs-Flip-v1")
    # Removed before the data window: no rows at all.
    gone = ds.campaign(
        acct,
        "Bot-Conversion-Broad-2025Q4",
        daily_budget=200.0,
        status="removed",
        stopped_age=150,
        bidding_strategy="manual_cpc",
    )
    gone_group = ds.add(gone, "ad_group", "Conference-Cameras-Old")
    ds.keyword(gone_group, "conference camera", "broad", perf("google", 80.0), bid=2.5)


def _google_edu(ds: Dataset, acct: tuple[str, str]) -> None:
    camp = ds.campaign(
        acct,
        "Board-Conversion-Exact-2026Q3",
        daily_budget=400.0,
        bidding_strategy="manual_cpc",
        labels=("edu", "nonbrand"),
    )
    group = ds.add(camp, "ad_group", "Classroom-Displays")
    ds.keyword(group, "interactive whiteboard for classroom", "exact", perf("google", 85.0, cvr=0.004), bid=4.1)
    ds.keyword(group, "smart board for teachers", "phrase", perf("google", 60.0, cvr=0.004), bid=3.2)
    ds.keyword(group, "digital whiteboard school", "broad", perf("google", 45.0, cvr=0.004), bid=2.8)
    ds.split_ads(group, "RSA-Board-Classroom-v3", "RSA-Board-Grants-v1")
    ds.term(group, "interactive whiteboard for classroom", "phrase", perf("google", 40.0, cvr=0.012))
    ds.term(group, "smart board grants for schools", "phrase", perf("google", 8.0, cvr=0.025))
    # A consumer query that never converts: a second, smaller negative-keyword candidate.
    ds.term(group, "whiteboard for kids room", "phrase", perf("google", 4.0, cvr=0.0))
    grants = ds.campaign(
        acct,
        "Board-Conversion-Broad-2026Q3-Grants",
        daily_budget=250.0,
        bidding_strategy="maximize_conversions",
        labels=("edu",),
    )
    grant_group = ds.add(grants, "ad_group", "ESSER-Grants")
    ds.keyword(grant_group, "classroom technology grants", "broad", perf("google", 120.0, cvr=0.004, cpm=95.0))
    ds.split_ads(grant_group, "RSA-Board-ESSER-v1")


def _meta(ds: Dataset) -> None:
    _meta_prospecting(ds, ("meta", "act_1029384756"))
    _meta_retargeting(ds, ("meta", "act_1029384757"))


def _meta_prospecting(ds: Dataset, acct: tuple[str, str]) -> None:
    # CBO campaigns: budgets on the campaigns, adding up to $4,850/day in this account.
    cbo = {"bidding_strategy": "lowest_cost", "labels": ("prospecting", "cbo")}
    clamp = ds.campaign(
        acct,
        "Bot-Conversion-Advantage-2026Q3",
        entity_id=TRAPS["meta_budget_clamp_campaign"],
        daily_budget=800.0,
        **cbo,
    )
    adv = ds.add(clamp, "ad_group", "Advantage-Plus-Audience", learning_phase=False)
    ds.ads(
        adv,
        ("Bot-UGC-Video-v3", perf("meta", 390.0, cvr=0.009)),
        ("Bot-Static-Desk-v1", perf("meta", 330.0, cvr=0.007)),
    )
    lal = ds.campaign(acct, "Bot-Conversion-Lookalike-2026Q3", daily_budget=1100.0, **cbo)
    for audience, spend in (("LAL-1pct-Purchasers", 560.0), ("LAL-3pct-Purchasers", 420.0)):
        group = ds.add(lal, "ad_group", audience, learning_phase=False)
        tag = audience[:9]
        ds.ads(
            group,
            (f"Bot-UGC-Video-v3-{tag}", perf("meta", spend * 0.6)),
            (f"Bot-Carousel-Features-v2-{tag}", perf("meta", spend * 0.4)),
        )
    dot = ds.campaign(acct, "Dot-Conversion-Broad-2026Q3", daily_budget=900.0, **cbo)
    broad = ds.add(dot, "ad_group", "Broad-US-25-54", learning_phase=False)
    # Creative fatigue: converted until ten days ago, nothing since.
    fatigued = perf("meta", 105.0, cvr=0.005, noise=0.1, shift_age=10, shift_cvr=0.0)
    ds.add(broad, "ad", "Dot-Carousel-Lifestyle-v2", entity_id=TRAPS["meta_high_cpa_ad"], perf=fatigued)
    ds.ads(
        broad,
        ("Dot-Video-Unboxing-v1", perf("meta", 420.0, cvr=0.008, aov=420.0)),
        ("Dot-Static-Price-v3", perf("meta", 270.0, cvr=0.007)),
    )
    board = ds.campaign(
        acct, "Board-Conversion-Interest-2026Q3", daily_budget=650.0, **{**cbo, "bidding_strategy": "cost_cap"}
    )
    for audience, spend in (("Interest-Teachers", 330.0), ("Interest-Remote-Work", 240.0)):
        group = ds.add(board, "ad_group", audience, learning_phase=False)
        ds.ads(group, (f"Board-Demo-Video-v2-{audience[9:]}", perf("meta", spend, cvr=0.003)))
    video = ds.campaign(
        acct,
        "Bot-Awareness-Video-2026Q3",
        daily_budget=400.0,
        bidding_strategy="lowest_cost",
        labels=("awareness", "cbo"),
    )
    reach = ds.add(video, "ad_group", "Broad-Reach-18-65", learning_phase=False)
    ds.ads(
        reach,
        ("Bot-Brand-Film-15s", perf("meta", 190.0, ctr=0.011, cvr=0.005, vtr=0.18)),
        ("Bot-Brand-Film-6s", perf("meta", 120.0, ctr=0.011, cvr=0.005, vtr=0.25)),
    )
    ugc = ds.campaign(acct, "Dot-Conversion-UGC-2026Q3", daily_budget=1000.0, **cbo)
    for audience, spend in (("Broad-Advantage", 520.0), ("Interest-Tech-Gadgets", 380.0)):
        group = ds.add(ugc, "ad_group", audience, learning_phase=False)
        ds.ads(
            group,
            (f"Dot-UGC-Creator-A-{audience[:5]}", perf("meta", spend * 0.55, cvr=0.008)),
            (f"Dot-UGC-Creator-B-{audience[:5]}", perf("meta", spend * 0.45, cvr=0.007)),
        )


def _meta_retargeting(ds: Dataset, acct: tuple[str, str]) -> None:
    # ABO: the budgets live on the ad sets; the campaigns have none.
    visitors = ds.campaign(
        acct, "Bot-Retargeting-Visitors-2026Q3", bidding_strategy="lowest_cost", labels=("retargeting",)
    )
    for audience, budget, spend in (("Visitors-30d", 180.0, 165.0), ("Engagers-IG-60d", 90.0, 80.0)):
        group = ds.add(visitors, "ad_group", audience, daily_budget=budget, learning_phase=False)
        ds.ads(group, (f"Bot-Testimonial-v1-{audience[:8]}", perf("meta", spend, cvr=0.014, ctr=0.016)))
    cart = ds.campaign(acct, "Dot-Retargeting-Cart-2026Q3", bidding_strategy="lowest_cost", labels=("retargeting",))
    # The audience is too small to deliver: active, rows of zeros.
    empty = ds.add(
        cart,
        "ad_group",
        "Cart-Abandoners-7d",
        entity_id=TRAPS["meta_zero_impressions_ad_group"],
        daily_budget=50.0,
        learning_phase=False,
    )
    ds.ads(empty, ("Dot-Cart-Reminder-v1", perf("meta", 0.0, cpm=1.0)))
    leads = ds.campaign(
        acct,
        "Board-Leads-Form-2026Q4",
        bidding_strategy="lowest_cost",
        labels=("leads",),
        created_at=date(2026, 10, 6),
    )
    schools = ds.add(
        leads, "ad_group", "Lead-Form-Schools", daily_budget=120.0, learning_phase=True, created_at=date(2026, 10, 26)
    )
    ds.ads(schools, ("Board-Lead-Form-Edu-v1", perf("meta", 110.0, cvr=0.008, leads=0.06)))
    offices = ds.add(leads, "ad_group", "Lead-Form-Offices", daily_budget=100.0, learning_phase=False)
    ds.ads(offices, ("Board-Lead-Form-Office-v2", perf("meta", 92.0, cvr=0.008, leads=0.05)))
    test = ds.campaign(acct, "Bot-Conversion-Test-2026Q2", bidding_strategy="bid_cap", status="paused", stopped_age=30)
    bid_cap = ds.add(test, "ad_group", "Bid-Cap-Test", daily_budget=150.0, bid=180.0, learning_phase=False)
    ds.ads(bid_cap, ("Bot-Static-Offer-v1", perf("meta", 140.0, cvr=0.005)))


def _amazon(ds: Dataset) -> None:
    acct = ("amazon", "3847261904471")
    sp = ds.campaign(
        acct,
        "Bot-SP-Exact-2026Q3",
        daily_budget=600.0,
        bidding_strategy="dynamic_down",
        labels=("sponsored-products",),
    )
    group = ds.add(sp, "ad_group", "Bot-Keywords")
    ds.keyword(group, "conference camera", "exact", perf("amazon", 210.0), bid=2.1)
    ds.keyword(group, "360 meeting camera", "phrase", perf("amazon", 120.0), bid=1.8)
    ds.keyword(group, "webcam for conference room", "broad", perf("amazon", 95.0), bid=1.25)
    ds.split_ads(group, "B0CX4VBOT1 Vibe Bot")
    ds.term(group, "conference camera for large rooms", "broad", perf("amazon", 40.0))
    ds.term(group, "meeting owl", "broad", perf("amazon", 25.0))
    ds.term(group, "vibe bot", "broad", perf("amazon", 12.0))
    auto = ds.campaign(
        acct,
        "Dot-SP-Auto-2026Q3",
        daily_budget=300.0,
        bidding_strategy="dynamic_up_down",
        labels=("sponsored-products", "auto"),
    )
    auto_group = ds.add(auto, "ad_group", "Auto-Targeting", bid=0.95, perf=perf("amazon", 240.0, cvr=0.006))
    ds.split_ads(auto_group, "B0CX7VDOT2 Vibe Dot")
    ds.term(auto_group, "portable monitor", "broad", perf("amazon", 45.0, cvr=0.005))
    ds.term(auto_group, "touchscreen display", "broad", perf("amazon", 30.0, cvr=0.005))
    ds.term(auto_group, "usb c monitor 15 inch", "broad", perf("amazon", 9.0, cvr=0.005))
    brand = ds.campaign(
        acct,
        "Board-SB-Brand-2026Q3",
        daily_budget=150.0,
        bidding_strategy="manual_cpc",
        is_brand=True,
        labels=("brand", "sponsored-brands"),
    )
    store = ds.add(brand, "ad_group", "Brand-Store")
    ds.keyword(store, "vibe board", "exact", perf("amazon", 95.0, cvr=0.012), bid=1.1)
    ds.split_ads(store, "Vibe Brand Store Headline")
    display = ds.campaign(
        acct,
        "Bot-SD-Retargeting-2026Q3",
        daily_budget=120.0,
        bidding_strategy="optimize_for_conversions",
        labels=("sponsored-display",),
    )
    views = ds.add(display, "ad_group", "Views-Remarketing-30d", perf=perf("amazon", 105.0, cpm=3.0))
    ds.split_ads(views, "B0CX4VBOT1 Vibe Bot Display")
    old = ds.campaign(
        acct,
        "Bot-SP-Broad-2026Q2",
        daily_budget=200.0,
        bidding_strategy="dynamic_down",
        status="paused",
        stopped_age=60,
    )
    old_group = ds.add(old, "ad_group", "Broad-Keywords")
    ds.keyword(old_group, "camera for meetings", "broad", perf("amazon", 150.0), bid=1.4)


def _tiktok(ds: Dataset) -> None:
    acct = ("tiktok", "7290114453661")
    spark = ds.campaign(acct, "Bot-Awareness-Spark-2026Q3", labels=("awareness",), bidding_strategy="lowest_cost")
    for name, budget, spend in (("Spark-UGC-Desk-Setup", 300.0, 280.0), ("Spark-Creator-Whitelist", 250.0, 230.0)):
        group = ds.add(spark, "ad_group", name, daily_budget=budget, learning_phase=False)
        ds.ads(
            group, (f"{name}-Video-1", perf("tiktok", spend * 0.6)), (f"{name}-Video-2", perf("tiktok", spend * 0.4))
        )
    launch = ds.campaign(
        acct,
        "Dot-Conversion-Broad-2026Q4",
        labels=("prospecting",),
        bidding_strategy="cost_cap",
        created_at=date(2026, 10, 27),
    )
    # Launched four days before the end and still learning: the CPA is poor, but the
    # platform's guidance (and the safety layer) is to leave it alone.
    learning = ds.add(
        launch,
        "ad_group",
        "Broad-18-34-Purchase",
        entity_id=TRAPS["tiktok_learning_ad_group"],
        daily_budget=400.0,
        bid=45.0,
        learning_phase=True,
    )
    hooks = (perf("tiktok", 380.0 * 0.55, cvr=0.0012), perf("tiktok", 380.0 * 0.45, cvr=0.0012))
    ds.ads(learning, ("Dot-Launch-Hook-1", hooks[0]), ("Dot-Launch-Hook-2", hooks[1]))
    board = ds.campaign(
        acct, "Board-Conversion-Interest-2026Q3", labels=("prospecting",), bidding_strategy="lowest_cost"
    )
    teachers = ds.add(board, "ad_group", "Teachers-Interest", daily_budget=150.0, learning_phase=False)
    ds.ads(teachers, ("Board-Teachers-Interest-Video-1", perf("tiktok", 135.0, cvr=0.0025)))
    office = ds.add(
        board,
        "ad_group",
        "Home-Office",
        daily_budget=120.0,
        bid=60.0,
        bidding_strategy="cost_cap",
        learning_phase=False,
    )
    ds.ads(office, ("Board-Home-Office-Video-1", perf("tiktok", 105.0, cvr=0.0025)))
    old = ds.campaign(
        acct, "Bot-Conversion-Retarget-2026Q2", status="paused", stopped_age=40, bidding_strategy="lowest_cost"
    )
    old_group = ds.add(old, "ad_group", "Site-Visitors-30d", daily_budget=90.0, learning_phase=False)
    ds.ads(old_group, ("Bot-Retarget-Video-1", perf("tiktok", 80.0, cvr=0.008)))


def _linkedin(ds: Dataset) -> None:
    # LinkedIn campaign groups are `campaign`s, its campaigns `ad_group`s, creatives `ad`s.
    acct = ("linkedin", "508923114")
    edu = ds.campaign(
        acct,
        "Board-Leads-Education-2026Q3",
        daily_budget=150.0,
        bidding_strategy="manual_cpc",
        labels=("b2b", "leads"),
    )
    for name, bid, spend in (("Edu-Decision-Makers", 9.5, 80.0), ("Edu-IT-Admins", 8.0, 55.0)):
        group = ds.add(edu, "ad_group", name, bid=bid)
        ds.ads(group, (f"Board-Lead-Gen-{name[4:]}", perf("linkedin", spend)))
    ent = ds.campaign(
        acct,
        "Bot-Conversion-Enterprise-2026Q3",
        daily_budget=200.0,
        bidding_strategy="maximum_delivery",
        labels=("b2b",),
    )
    facilities = ds.add(ent, "ad_group", "Enterprise-Facilities")
    ds.ads(facilities, ("Bot-Single-Image-Facilities", perf("linkedin", 110.0, cvr=0.008, leads=0.0)))
    retarget = ds.add(ent, "ad_group", "Retarget-Website", bid=7.0, bidding_strategy="manual_cpc")
    ds.ads(retarget, ("Bot-Single-Image-Retarget", perf("linkedin", 60.0, cvr=0.008, leads=0.0)))


def _pinterest(ds: Dataset) -> None:
    acct = ("pinterest", "549755885175")
    closeups = {"ctr": 0.011, "outbound": 0.2}  # outbound CTR ~0.22%: most clicks are closeups
    bot = ds.campaign(acct, "Bot-Consideration-Keyword-2026Q3", labels=("consideration",), bidding_strategy="custom")
    # Two pins at $42.25/day with at most 0.6% noise: 7-day spend stays within $588-596.
    under = ds.add(
        bot,
        "ad_group",
        "Desk-Setup-Ideas",
        entity_id=TRAPS["pinterest_just_under_threshold"],
        daily_budget=90.0,
        bid=1.1,
    )
    pin = perf("pinterest", 42.25, noise=0.006, **closeups)
    ds.ads(under, ("Bot-Desk-Setup-Pin-1", pin), ("Bot-Desk-Setup-Pin-2", pin))
    over = ds.add(
        bot,
        "ad_group",
        "Home-Office-Inspo",
        entity_id=TRAPS["pinterest_expensive_low_outbound"],
        daily_budget=120.0,
        bidding_strategy="automatic",
    )
    ds.ads(
        over,
        ("Bot-Home-Office-Pin-1", perf("pinterest", 62.0, noise=0.08, **closeups)),
        ("Bot-Home-Office-Pin-2", perf("pinterest", 48.0, noise=0.08, **closeups)),
    )
    dot = ds.campaign(acct, "Dot-Consideration-Interest-2026Q3", labels=("consideration",), bidding_strategy="custom")
    gadgets = ds.add(
        dot,
        "ad_group",
        "Smart-Home-Gadgets",
        entity_id=TRAPS["pinterest_low_outbound_manual_bid"],
        daily_budget=70.0,
        bid=0.95,
    )
    ds.ads(gadgets, ("Dot-Gadget-Pin-1", perf("pinterest", 55.0, ctr=0.011, outbound=0.36)))
    gifts = ds.add(dot, "ad_group", "Gift-Guide-Tech", daily_budget=60.0, bidding_strategy="automatic")
    ds.ads(gifts, ("Dot-Gift-Guide-Pin-1", perf("pinterest", 45.0, outbound=0.7)))
    shop = ds.campaign(acct, "Board-Conversion-Shopping-2026Q3", labels=("shopping",), bidding_strategy="automatic")
    catalog = ds.add(shop, "ad_group", "Catalog-All-Boards", daily_budget=100.0)
    ds.ads(
        catalog,
        ("Board-Product-Pin-1", perf("pinterest", 50.0, outbound=0.8, cvr=0.002)),
        ("Board-Product-Pin-2", perf("pinterest", 38.0, outbound=0.8, cvr=0.002)),
    )
    video = ds.campaign(
        acct,
        "Bot-Awareness-Video-2026Q4",
        labels=("awareness",),
        bidding_strategy="automatic",
        created_at=date(2026, 10, 30),
    )
    # Created on the last day, not delivering yet: no metric rows at all.
    no_rows = TRAPS["pinterest_no_rows_ad_group"]
    ds.add(video, "ad_group", "Video-Hybrid-Work", entity_id=no_rows, daily_budget=40.0, created_at=LAST_DAY)


# Klaviyo flows: (name, daily recipients, open rate, click rate, conversion per click).
_FLOWS = (
    ("Welcome Series", 420.0, 0.52, 0.061, 0.045),
    ("Abandoned Cart", 260.0, 0.48, 0.083, 0.11),
    ("Browse Abandonment", 520.0, 0.41, 0.047, 0.035),
    ("Post-Purchase Onboarding", 45.0, 0.63, 0.092, 0.02),
    ("Winback 90d", 310.0, 0.27, 0.018, 0.03),
    ("Sunset Unengaged", 150.0, 0.12, 0.006, 0.01),
)

# Newsletter topics, picked by send date: (product, subject).
_TOPICS = (
    ("bot", "Meetings everyone can hear"),
    ("dot", "A second screen that fits in your bag"),
    ("board", "Your classroom, interactive"),
    ("bot", "Customer story: hybrid teams"),
    ("dot", "Five desk setups we love"),
    ("board", "Grants that cover a Vibe Board"),
    (None, "What's new at Vibe"),
)


def _klaviyo(ds: Dataset, days: int) -> None:
    acct = ("klaviyo", KLAVIYO_ACCOUNT)
    for name, recipients, open_rate, click, conv in _FLOWS:
        email = EmailPerf(recipients, open_rate, click, conv, unsub=0.012 if name.startswith("Sunset") else 0.002)
        flow_id = ds.new_id("klaviyo", "flow")
        ds.root(acct, "flow", name, entity_id=flow_id, created_at=date(2025, 11, 3), email=email)
    for age in range(days):
        sent = _days_ago(age)
        if sent.isoweekday() not in (2, 4):  # newsletters go out on Tuesdays and Thursdays
            continue
        product, subject = _TOPICS[sent.toordinal() % len(_TOPICS)]
        email = EmailPerf(52_000.0 - 30.0 * age, 0.38, 0.021, 0.012, noise=0.01, seasonal=False)
        entity_id = f"01JBEM{sent:%Y%m%d}"
        if entity_id == TRAPS["klaviyo_spam_complaints_campaign"]:
            # Sent to the whole list, unengaged profiles included: complaints spike.
            product, subject = "board", "Early access: Board Black Friday"
            email = replace(email, recipients=88_000.0, open=0.21, unsub=0.009, spam=0.0018, bounce=0.014)
        name, created = f"{sent:%Y-%m-%d} {subject}", sent - timedelta(days=2)
        ds.root(
            acct,
            "email_campaign",
            name,
            entity_id=entity_id,
            created_at=created,
            product=product,
            email=email,
            labels=("newsletter",),
            stopped_age=age,
        )


def _shopify(ds: Dataset) -> None:
    store = ("shopify", SHOPIFY_STORE)
    ds.root(store, "account", "Vibe Store (US)", entity_id=SHOPIFY_STORE, created_at=date(2021, 3, 15))


def curated_dataset(days: int = DEFAULT_DAYS) -> Dataset:
    """Every curated entity; Klaviyo email campaigns exist for the sends in the window."""
    ds = Dataset()
    for build in (_google, _meta, _amazon, _tiktok, _linkedin, _pinterest):
        build(ds)
    _klaviyo(ds, days)
    _shopify(ds)
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
    **{m: m for m in ("email_clicks", "unsubscribes", "spam_complaints", "bounces")},
}
_AD_RAW = ("spend_c", "impressions", "clicks", "outbound_clicks", "conversions", "value_c", "video_views", "leads")
_EMAIL_RAW = ("recipients", "bounces", "delivered", "opens", "email_clicks", "unsubscribes", "spam_complaints")
_EMAIL_RAW += ("conversions", "value_c")
_SHOP_RAW = ("sessions", "add_to_carts", "orders", "revenue_c", "new_customers")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _qualified(con: duckdb.DuckDBPyConnection, schema: str) -> str:
    """`schema` qualified with the current database, so that a database file named like
    the schema (demo.duckdb holding schema demo) cannot make references ambiguous."""
    parts = schema.split(".")
    if len(parts) == 1:
        row = con.execute("SELECT current_database()").fetchone()
        parts = [row[0], schema] if row else parts
    return ".".join(_ident(part) for part in parts)


def _metric_select(
    catalog: Catalog, platform_expr: str, platform_token: dict[str, str], *, skip_null: bool = False
) -> str:
    """The metric columns of metrics_daily in catalog order, null where the platform does
    not report the metric (catalog/field_mapping.yaml). `platform_token` maps a platform
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


@dataclass(frozen=True)
class BulkPlatform:
    """How bulk ad groups look on one platform."""

    objective: str
    targetings: tuple[str, ...]
    budget_on_group: bool  # budgets on ad groups (else on campaigns)
    manual_share: float  # share of ad groups with a manual bid
    manual_strategy: str
    auto_strategy: str
    learns: bool  # the platform reports learning_phase


_BROAD_MIX = ("Broad", "Lookalike", "Interest", "Retargeting")
BULK_PLATFORMS: dict[str, BulkPlatform] = {
    "google": BulkPlatform(
        "Conversion", ("Broad", "Phrase", "Exact", "Competitor"), False, 0.5, "manual_cpc", "target_cpa", False
    ),
    "meta": BulkPlatform("Conversion", _BROAD_MIX, True, 0.0, "bid_cap", "lowest_cost", True),
    "amazon": BulkPlatform(
        "SP", ("Exact", "Phrase", "Broad", "Auto"), False, 1.0, "dynamic_down", "dynamic_down", False
    ),
    "tiktok": BulkPlatform("Conversion", ("Broad", "Interest", "Creator"), True, 0.3, "cost_cap", "lowest_cost", True),
    "linkedin": BulkPlatform(
        "Leads", ("Titles", "Industries", "Retargeting"), False, 0.6, "manual_cpc", "max_delivery", False
    ),
    "pinterest": BulkPlatform(
        "Consideration", ("Keyword", "Interest", "Actalike"), True, 0.4, "custom", "automatic", False
    ),
}
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
    (midpoints of catalog/benchmarks.yaml budget_allocation; evenly without one)."""
    alloc = catalog.budget_allocation or {}
    weights = {}
    for platform in AD_PLATFORMS:
        share = alloc.get(platform) or {}
        weights[platform] = (float(share.get("min", 0)) + float(share.get("max", 0))) / 2
    if not sum(weights.values()):
        weights = dict.fromkeys(AD_PLATFORMS, 1.0)
    scale = total / sum(weights.values())
    counts = {p: math.floor(w * scale) for p, w in weights.items()}
    # Largest remainder (ties in platform order), so the counts add up to `total`.
    by_remainder = sorted(AD_PLATFORMS, key=lambda p: -(weights[p] * scale - counts[p]))
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
    "site_mode": "INTEGER",  # 0: no store sessions (Amazon), 1: clicks land, 2: outbound clicks land
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
_TEMP_TABLES = ("days", "keys", "gen", "contrib", "email", "ad_daily", "email_daily", "shop", "platforms", "bulk")
_TEMP_TABLES += ("bulk_camp",)


@dataclass
class _Curated:
    """The curated dataset flattened into rows of the temporary tables."""

    keys: list[dict] = field(default_factory=list)
    gens: list[dict] = field(default_factory=list)
    contrib: list[dict] = field(default_factory=list)
    emails: list[dict] = field(default_factory=list)
    shop_ent: int = -1


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
            cols = ", ".join(f"{_ident(name)} {sql_type}" for name, sql_type in columns)
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

    def _insert_rows(self, table: str, rows: list[tuple]) -> None:
        """Insert Python rows, 500 per multi-row VALUES statement (much faster than executemany)."""
        for start in range(0, len(rows), 500):
            batch = rows[start : start + 500]
            marks = ", ".join(["(" + ", ".join("?" * len(batch[0])) + ")"] * len(batch))
            self.con.execute(f"INSERT INTO {table} VALUES {marks}", [v for row in batch for v in row])

    def _temp_table(self, name: str, columns: dict[str, str], rows: list[dict]) -> None:
        self.con.execute(f"CREATE TEMP TABLE {_T}{name} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
        self._insert_rows(f"{_T}{name}", [tuple(row[c] for c in columns) for row in rows])

    def _insert_entities(self, nodes: list[Node]) -> None:
        names = [name for name, _ in self.catalog.entity_columns()]
        self._insert_rows(f"{self.schema}.entities", [tuple(n.attributes().get(c) for c in names) for n in nodes])

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
            elif node.platform == "shopify":
                out.shop_ent = ent
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
            "site_mode": 0 if node.platform == "amazon" else 2 if reports_outbound else 1,
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
        self._shopify_daily()
        rollup = ", ".join(f"sum(round(a.{c} * c.weight))::BIGINT AS {c}" for c in _AD_RAW)
        tokens = {p: f"'{p}'" for p in (*AD_PLATFORMS, "shopify", "klaviyo")}
        self.con.execute(f"""
            INSERT INTO {self.schema}.metrics_daily
            SELECT d.date, k.platform, k.account_id, k.level, k.entity_id,
                   {_metric_select(self.catalog, "k.platform", tokens)}
            FROM (SELECT c.ent, a.age, {rollup}
                  FROM {_T}ad_daily a JOIN {_T}contrib c USING (gen) GROUP BY c.ent, a.age
                  UNION ALL BY NAME
                  SELECT ent, age, {", ".join(_EMAIL_RAW)} FROM {_T}email_daily
                  UNION ALL BY NAME
                  SELECT {curated.shop_ent} AS ent, age, {", ".join(_SHOP_RAW)} FROM {_T}shop) m
            JOIN {_T}keys k USING (ent) JOIN {_T}days d USING (age)
            ORDER BY m.ent, m.age DESC""")

    def _shopify_daily(self) -> None:
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
        for pidx, platform in enumerate(AD_PLATFORMS):
            base = {"outbound": 0.0, "vtr": 0.0, "leads": 0.0, **BASELINES[platform]}
            spec = BULK_PLATFORMS[platform].__dict__
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
        tokens = {p: str(k) for k, p in enumerate(AD_PLATFORMS)}  # compared with pidx: cheaper than strings
        items = _metric_items(self.catalog, "pidx", tokens, skip_null=True)
        keys = ", ".join(f"{_ident(k)} {t}" for k, t in self.catalog.metric_columns()[: len(METRIC_KEY_COLUMNS)])
        cols = ", ".join(f"{_ident(m)} DOUBLE" for m, _ in items)
        self.con.execute(f"CREATE TABLE {self.schema}.metrics_bulk ({keys}, {cols})")
        for level, table in (("ad_group", "bulk"), ("campaign", "bulk_camp")):
            rows = f"SELECT b.*, d.age, d.date, d.ad_season AS season FROM {_T}{table} b, {_T}days d"
            self.con.execute(f"""
                INSERT INTO {self.schema}.metrics_bulk
                SELECT date, platform, account_id, '{level}', entity_id, {_items(items)}
                FROM (SELECT *, {_ad_metrics()} FROM ({_hashed(rows, "key", "age", self.params.seed, 3)}))""")
        narrow = {m for m, _ in items}
        select_bulk = ", ".join(
            _ident(name) if name in narrow or i < len(METRIC_KEY_COLUMNS) else f"NULL::{t} AS {_ident(name)}"
            for i, (name, t) in enumerate(self.catalog.metric_columns())
        )
        canonical = ", ".join(_ident(n) for n, _ in self.catalog.metric_columns())
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
