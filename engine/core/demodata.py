"""Building blocks of the embedded demo dataset, shared by the platforms' demo modules.

Each platform's part of the demo dataset lives in its folder, `platforms/<name>/demo.py`,
as a `DEMO = PlatformDemo(...)`: a builder adding its curated entities (a tree of Nodes,
leaves with a Perf or EmailPerf) to the Dataset, the formats of its entity ids, the
stable ids of its traps and, for ad platforms, how its bulk ad groups look. The demo
source (engine/data/sources/demo.py) discovers these modules, builds the dataset in
their `order` and turns it into tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from engine.core.status import EntityStatus

LAST_DAY = date(2026, 10, 31)
DEFAULT_DAYS = 92
CURRENCY = "USD"

PRODUCT_PRICE = {"bot": 899.0, "dot": 399.0, "board": 1999.0}


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
    """How an email flow (daily) or email campaign (one send) performs; rates are per
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


@dataclass(frozen=True)
class Baseline:
    """Typical unit economics of a platform (or campaign type): CPM, CTR over all clicks,
    CVR, outbound share of clicks, video views per impression, leads per click."""

    cpm: float
    ctr: float
    cvr: float
    outbound: float = 0.0
    vtr: float = 0.0
    leads: float = 0.0


def perf(base: Baseline, spend: float, **overrides: Any) -> Perf:
    """A Perf from a baseline with overrides."""
    return Perf(spend=spend, **{**asdict(base), **overrides})


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
    status: EntityStatus = EntityStatus.ACTIVE
    daily_budget: float | None = None
    bid: float | None = None
    is_brand: bool = False
    product: str | None = None
    learning_phase: bool | None = None
    labels: tuple[str, ...] = ()
    created_at: date = date(2026, 1, 5)
    bidding_strategy: str | None = None
    match_type: str | None = None
    flow_status: str | None = None  # email flows: live, manual or draft
    profile_count: float | None = None  # email segments and lists: their size
    completion_rate: float | None = None  # email flows: the share of recipients that reach the last email
    perf: Perf | None = None
    share: float | None = None
    email: EmailPerf | None = None
    stopped_age: int = 0  # paused/removed: the last day with delivery, in days before LAST_DAY
    truth_store: bool = False  # the store: its rows are the truth ads and email drove (orders, revenue, ...)
    body: str | None = None  # a store page's body (HTML)
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
            "flow_status": self.flow_status,
            "profile_count": self.profile_count,
            "completion_rate": self.completion_rate,
            "body": self.body,
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
    """Builds the curated entity tree with stable ids.

    `days` is how far back the data goes; `ids` holds each platform's entity id formats
    per level (counters 1-99 are kept for traps, generated entities start at 101).
    """

    def __init__(self, days: int = DEFAULT_DAYS, ids: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.days = days
        self.ids = ids or {}
        self.nodes: list[Node] = []
        self._counters: dict[tuple[str, str], int] = {}

    def new_id(self, platform: str, level: str) -> str:
        key = (platform, level)
        self._counters[key] = self._counters.get(key, 100) + 1
        return self.ids[platform][level].format(self._counters[key])

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


def days_ago(age: int) -> date:
    return LAST_DAY - timedelta(days=age)


@dataclass(frozen=True)
class BulkPlatform:
    """How bulk ad groups (`demo:ad_groups=N`) look on one platform."""

    baseline: Baseline
    objective: str
    targetings: tuple[str, ...]
    budget_on_group: bool  # budgets on ad groups (else on campaigns)
    manual_share: float  # share of ad groups with a manual bid
    manual_strategy: str
    auto_strategy: str
    learns: bool  # the platform reports learning_phase


@dataclass(frozen=True)
class PlatformDemo:
    """One platform's part of the demo dataset: `DEMO` in platforms/<name>/demo.py."""

    # Position in the dataset: entity order, and the keys the daily noise is hashed from,
    # follow it, so a new platform goes after the others to leave their data unchanged.
    order: int
    build: Callable[[Dataset], None]
    ids: Mapping[str, str] = field(default_factory=dict)  # level -> entity id format
    traps: Mapping[str, str] = field(default_factory=dict)  # trap name -> entity id
    bulk: BulkPlatform | None = None  # None: no bulk ad groups on this platform
    store_traffic: bool = True  # its clicks land on the store (they count as Shopify sessions)
