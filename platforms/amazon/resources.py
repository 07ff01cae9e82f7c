"""The Sponsored Products v3 resources rulerun reads and changes, as the API names them.

Each resource has its own versioned media type, sent as both `Accept` and `Content-Type`;
its list endpoint is `POST <path>/list` (paged with `maxResults` and `nextToken`), its
update `PUT <path>` with a list of items under the resource's key, answered with HTTP 207
Multi-Status: `{<key>: {"success": [{"index", ...}], "error": [{"index", "errors"}]}}`
(PLATFORM-FACTS 4.2, 4.3; the collection's "List ...", "Update ..." requests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.core.status import EntityStatus


@dataclass(frozen=True)
class Resource:
    level: str  # the rulerun level its items are
    path: str
    media: str
    key: str  # the list's key in request and response bodies
    id: str  # an item's id field
    bid: str | None = None  # the field holding the item's bid
    # whether its list takes a stateFilter (the collection shows none for targets: filtered here)
    state_filter: bool = True

    @property
    def id_filter(self) -> str:
        return f"{self.id}Filter"


CAMPAIGNS = Resource("campaign", "/sp/campaigns", "application/vnd.spCampaign.v3+json", "campaigns", "campaignId")
AD_GROUPS = Resource(
    "ad_group", "/sp/adGroups", "application/vnd.spAdGroup.v3+json", "adGroups", "adGroupId", "defaultBid"
)
KEYWORDS = Resource("keyword", "/sp/keywords", "application/vnd.spKeyword.v3+json", "keywords", "keywordId", "bid")
TARGETS = Resource(
    "target", "/sp/targets", "application/vnd.spTargetingClause.v3+json", "targetingClauses", "targetId", "bid", False
)
BY_LEVEL = {r.level: r for r in (CAMPAIGNS, AD_GROUPS, KEYWORDS, TARGETS)}


@dataclass(frozen=True)
class Negatives:
    """Negative keywords at one scope. Listed items carry `keywordId`; created and deleted ones `<id>`."""

    scope: str  # campaign | ad_group
    path: str
    media: str
    key: str
    id: str  # the id in create and delete answers, and its filter (`<id>Filter`)


CAMPAIGN_NEGATIVES = Negatives(
    "campaign",
    "/sp/campaignNegativeKeywords",
    "application/vnd.spCampaignNegativeKeyword.v3+json",
    "campaignNegativeKeywords",
    "campaignNegativeKeywordId",
)
AD_GROUP_NEGATIVES = Negatives(
    "ad_group",
    "/sp/negativeKeywords",
    "application/vnd.spNegativeKeyword.v3+json",
    "negativeKeywords",
    "negativeKeywordId",
)
NEGATIVES = {n.scope: n for n in (CAMPAIGN_NEGATIVES, AD_GROUP_NEGATIVES)}

STATE_OUT = {EntityStatus.ACTIVE: "ENABLED", EntityStatus.PAUSED: "PAUSED"}
LISTED = ["ENABLED", "PAUSED"]  # what a sync lists (archived entities cannot change any more)
ANY_STATE = ["ENABLED", "PAUSED", "ARCHIVED"]
NEGATIVE_MATCH_OUT = {"exact": "NEGATIVE_EXACT", "phrase": "NEGATIVE_PHRASE"}
NEGATIVE_MATCH_IN = {v: k for k, v in NEGATIVE_MATCH_OUT.items()}
MATCH_IN = {"EXACT": "exact", "PHRASE": "phrase", "BROAD": "broad"}
# dynamicBidding.strategy -> the bidding_strategy attribute
STRATEGY_IN = {"LEGACY_FOR_SALES": "dynamic_down", "AUTO_FOR_SALES": "dynamic_up_down", "MANUAL": "fixed"}
# Auto-targeting expressions by the names Amazon's console gives them
AUTO_TARGETS = {
    "QUERY_HIGH_REL_MATCHES": "close-match",
    "QUERY_BROAD_REL_MATCHES": "loose-match",
    "ASIN_SUBSTITUTE_RELATED": "substitutes",
    "ASIN_ACCESSORY_RELATED": "complements",
}


def target_name(expression: Any) -> str:
    """A targeting clause's expression as text: `close-match`, `asinSameAs=B0CX4VBOT1`, ..."""
    parts = []
    for term in expression if isinstance(expression, list) else []:
        if not isinstance(term, dict):
            continue
        kind = str(term.get("type") or "")
        if kind in AUTO_TARGETS:
            parts.append(AUTO_TARGETS[kind])
        elif term.get("value") is not None:
            parts.append(f"{_camel(kind)}={term['value']}")
        else:
            parts.append(_camel(kind))
    return " ".join(parts) or "target"


def _camel(kind: str) -> str:
    head, *rest = kind.lower().split("_")
    return head + "".join(w.capitalize() for w in rest)
