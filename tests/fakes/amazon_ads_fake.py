"""A local fake of the Amazon Ads API and of Login with Amazon, speaking their wire protocol.

`AmazonAdsFake()` serves on 127.0.0.1 (port 0, in a thread; `url` is its address for
`Account.endpoint`), for one advertising profile (`PROFILE`, in USD, Los Angeles time) and
a second one the credentials also reach (`OTHER_PROFILE`):

- POST /auth/o2/token                      form `grant_type=refresh_token`, `refresh_token`,
                                           `client_id`, `client_secret` -> an access token
- GET  /v2/profiles                        the profiles (Bearer + ClientId, no Scope)
- POST /sp/{campaigns,adGroups,keywords,targets}/list   id and state filters, `maxResults`,
                                           `nextToken` paging (`page_size` items at most)
- PUT  /sp/{campaigns,adGroups,keywords,targets}        updates -> 207 success/error per item
- POST /sp/{campaignNegativeKeywords,negativeKeywords}[/list|/delete]  create, list, delete
- POST /reporting/reports, GET /reporting/reports/{id}  PENDING for `report_polls` polls,
                                           then COMPLETED with a pre-signed-style `url`
- GET  /download/{id}.json.gz              the report: gzip-compressed JSON rows
- GET  /sp/budgetRules, GET /sp/budgetRules/{id}/campaigns   `pageSize`/`nextToken` paging

Every API call must carry `Authorization: Bearer <a live token>`, the client id, and (but
for /v2/profiles) `Amazon-Advertising-API-Scope: PROFILE`; the v3 resources need their
media type as Accept and Content-Type; the download must carry no Amazon header. `requests`
records every request (kind, method, path, query, headers, body) for the test that holds
them against the official Postman collection.

Faults: `fail_next(kind, n)` (API calls only) with kind `auth` (401), `rate_limit` (429 with
`Retry-After: retry_after`), `transient` (500) or `permanent` (400); `fail_token(kind, n)`
the same on the token endpoint; `fail_step(kind, method, path_prefix, n)` the same on one
step (downloads included); `expire_tokens()` (live tokens answer 401 from now on),
`revoke()` (the refresh token is refused: invalid_grant), `fail_item(id_or_text)` (that
item of a write comes back in the 207's error list), `fail_page(n)` (HTTP 500 on the n-th
request for a follow-up page), `report_outcome` ("FAILED", "NEVER" or "CORRUPT"),
`duplicates` (an identical pending report request is refused with 425). `latency` delays
every request (benchmarks).
"""

from __future__ import annotations

import copy
import gzip
import itertools
import json
import threading
import zlib
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.base import HttpFakeServer

PROFILE = "3847261904471"
OTHER_PROFILE = "2050000000001"
CLIENT_ID = "amzn1.application-oa2-client.SENTINEL-4711"
CLIENT_SECRET = "client-secret-SENTINEL-5150"
REFRESH_TOKEN = "Atzr|refresh-SENTINEL-8086"
FIRST_DAY = date(2026, 1, 1)
DAYS = 31

ENV = {
    "AMAZON_ADS_CLIENT_ID": CLIENT_ID,
    "AMAZON_ADS_CLIENT_SECRET": CLIENT_SECRET,
    "AMAZON_ADS_REFRESH_TOKEN": REFRESH_TOKEN,
}

MEDIA = {
    "campaigns": "application/vnd.spCampaign.v3+json",
    "adGroups": "application/vnd.spAdGroup.v3+json",
    "keywords": "application/vnd.spKeyword.v3+json",
    "targets": "application/vnd.spTargetingClause.v3+json",
    "campaignNegativeKeywords": "application/vnd.spCampaignNegativeKeyword.v3+json",
    "negativeKeywords": "application/vnd.spNegativeKeyword.v3+json",
}
REPORT_MEDIA = "application/vnd.createasyncreportrequest.v3+json"
# path segment -> (body/answer key, id field, the success item's entity key)
RESOURCES = {
    "campaigns": ("campaigns", "campaignId", "campaign"),
    "adGroups": ("adGroups", "adGroupId", "adGroup"),
    "keywords": ("keywords", "keywordId", "keyword"),
    "targets": ("targetingClauses", "targetId", "targetingClause"),
}
NEGATIVES = {
    "campaignNegativeKeywords": ("campaignNegativeKeywords", "campaignNegativeKeywordId"),
    "negativeKeywords": ("negativeKeywords", "negativeKeywordId"),
}
METRIC_COLUMNS = {"impressions", "clicks", "cost", "purchases1d", "purchases7d", "purchases14d", "sales7d", "sales14d"}
REPORT_TYPES = {  # reportTypeId -> (groupBy allowed, id columns it has)
    "spCampaigns": ({"campaign", "adGroup"}, {"campaignId", "adGroupId", "campaignName"}),
    "spTargeting": ({"targeting"}, {"campaignId", "adGroupId", "keywordId", "matchType", "targeting"}),
    "spSearchTerm": ({"searchTerm"}, {"campaignId", "adGroupId", "keywordId", "matchType", "searchTerm"}),
}
CONFIG_KEYS = {"adProduct", "groupBy", "columns", "reportTypeId", "timeUnit", "format", "filters"}
MAX_REPORT_DAYS = 31


def _campaigns() -> dict[str, dict[str, Any]]:
    def campaign(cid, name, state, budget, targeting, strategy):
        return {
            "campaignId": cid,
            "name": name,
            "state": state,
            "targetingType": targeting,
            "budget": {"budget": budget, "budgetType": "DAILY"},
            "dynamicBidding": {"strategy": strategy, "placementBidding": []},
            "startDate": "2025-12-01",
            "premiumBidAdjustment": False,
        }

    return {
        "101": campaign("101", "Bot-SP-Exact", "ENABLED", 50, "MANUAL", "LEGACY_FOR_SALES"),
        "102": campaign("102", "Dot-SP-Auto", "ENABLED", 30, "AUTO", "AUTO_FOR_SALES"),
        "103": campaign("103", "Board-SP-Brand", "PAUSED", 20, "MANUAL", "MANUAL"),
    }


def _ad_groups() -> dict[str, dict[str, Any]]:
    return {
        "201": {
            "adGroupId": "201",
            "campaignId": "101",
            "name": "Exact-Keywords",
            "state": "ENABLED",
            "defaultBid": 1.0,
        },
        "202": {
            "adGroupId": "202",
            "campaignId": "102",
            "name": "Auto-Targets",
            "state": "ENABLED",
            "defaultBid": 0.75,
        },
        "203": {"adGroupId": "203", "campaignId": "103", "name": "Brand", "state": "PAUSED", "defaultBid": 0.5},
    }


def _keywords() -> dict[str, dict[str, Any]]:
    def keyword(kid, gid, cid, text, match, state, bid=None):
        item = {"keywordId": kid, "adGroupId": gid, "campaignId": cid, "keywordText": text}
        item.update(matchType=match, state=state)
        if bid is not None:
            item["bid"] = bid
        return item

    return {
        "301": keyword("301", "201", "101", "conference camera", "EXACT", "ENABLED", 2.1),
        "302": keyword("302", "201", "101", "meeting camera", "PHRASE", "ENABLED"),
        "303": keyword("303", "203", "103", "vibe board", "EXACT", "PAUSED", 1.1),
    }


def _targets() -> dict[str, dict[str, Any]]:
    def target(tid, gid, cid, expression, kind, state, bid):
        return {
            "targetId": tid,
            "adGroupId": gid,
            "campaignId": cid,
            "expression": expression,
            "resolvedExpression": expression,
            "expressionType": kind,
            "state": state,
            "bid": bid,
        }

    return {
        "401": target("401", "202", "102", [{"type": "QUERY_HIGH_REL_MATCHES"}], "AUTO", "ENABLED", 0.8),
        "402": target("402", "202", "102", [{"type": "ASIN_SAME_AS", "value": "B0CX4VBOT1"}], "MANUAL", "PAUSED", 1.2),
        "403": target("403", "202", "102", [{"type": "ASIN_SAME_AS", "value": "B0OLDOLD01"}], "MANUAL", "ARCHIVED", 1),
    }


def _daily(seed: int, day: date) -> dict[str, float]:
    """Made-up but stable numbers for one entity and day."""
    k = (day - FIRST_DAY).days
    clicks = 5 + (seed + k) % 7
    purchases = (seed + k) % 3
    return {
        "impressions": 400 + 13 * ((seed * 7 + k) % 50),
        "clicks": clicks,
        "cost": round(0.9 * clicks + 0.01 * (seed % 10), 2),
        "purchases7d": purchases,
        "sales7d": round(24.99 * purchases, 2),
    }


class AmazonAdsFake(HttpFakeServer):
    def __init__(self, *, page_size: int = 2, report_polls: int = 1, latency: float = 0.0):
        self.page_size = page_size
        self.report_polls = report_polls
        self.profiles = [
            {
                "profileId": int(PROFILE),
                "countryCode": "US",
                "currencyCode": "USD",
                "dailyBudget": 999999999.0,
                "timezone": "America/Los_Angeles",
                "accountInfo": {
                    "marketplaceStringId": "ATVPDKIKX0DER",
                    "id": "A3VIBE",
                    "type": "seller",
                    "name": "Vibe",
                },
            },
            {
                "profileId": int(OTHER_PROFILE),
                "countryCode": "DE",
                "currencyCode": "EUR",
                "timezone": "Europe/Paris",
                "accountInfo": {
                    "marketplaceStringId": "A1PA6795UKMFR9",
                    "id": "A3VIBE",
                    "type": "seller",
                    "name": "DE",
                },
            },
        ]
        self.campaigns = _campaigns()
        self.ad_groups = _ad_groups()
        self.keywords = _keywords()
        self.targets = _targets()
        self.negatives: dict[str, dict[str, dict[str, Any]]] = {
            "campaignNegativeKeywords": {
                "501": {"keywordId": "501", "campaignId": "101", "keywordText": "free", "matchType": "NEGATIVE_EXACT"}
                | {"state": "ENABLED"},
                "502": {"keywordId": "502", "campaignId": "101", "keywordText": "old", "matchType": "NEGATIVE_EXACT"}
                | {"state": "ARCHIVED"},
            },
            "negativeKeywords": {
                "601": {"keywordId": "601", "campaignId": "102", "adGroupId": "202", "keywordText": "cheap"}
                | {"matchType": "NEGATIVE_PHRASE", "state": "ENABLED"},
            },
        }
        # (campaignId, adGroupId, keywordId, search term) of the search-term report
        self.search_terms = [
            ("101", "201", "301", "conference camera 4k"),
            ("101", "201", "302", "meeting room camera"),
            ("102", "202", "401", "portable monitor"),
        ]
        self.budget_rules = [
            {
                "ruleId": "f1eded08-af77-454a-b307-7783802657e2",
                "ruleState": "ACTIVE",
                "ruleStatus": "ACTIVE",
                "ruleDetails": {
                    "name": "Prime Day boost",
                    "ruleType": "PERFORMANCE",
                    "budgetIncreaseBy": {"type": "PERCENT", "value": 25},
                    "performanceMeasureCondition": {
                        "metricName": "ROAS",
                        "threshold": 2,
                        "comparisonOperator": "GREATER_THAN_OR_EQUAL_TO",
                    },
                    "recurrence": {"type": "DAILY"},
                },
                "campaigns": ["101"],
            },
            {
                "ruleId": "c29298a0-0369-4146-8065-a73d33d51779",
                "ruleState": "PAUSED",
                "ruleStatus": "PAUSED",
                "ruleDetails": {"name": "Old rule", "budgetIncreaseBy": {"type": "PERCENT", "value": 10}},
                "campaigns": ["102"],
            },
        ]
        # (level, id) -> day -> report numbers; anything not here gets _daily's
        self.metrics: dict[tuple[str, str], Callable[[date], dict[str, float]]] = {}
        self.first_day, self.days = FIRST_DAY, DAYS
        self.requests: list[dict[str, Any]] = []
        self.writes: list[tuple[str, str, Any]] = []  # (method, path, body) of every accepted write call
        self.reports: dict[str, dict[str, Any]] = {}
        self.report_outcome: str | None = None  # FAILED | NEVER | CORRUPT
        self.duplicates = False
        self.retry_after = "0"
        self.token_lifetime = 3600
        self.live_tokens: set[str] = set()
        self.issued: list[str] = []
        self.revoked = False
        self.failing_items: set[str] = set()
        self.step_faults: list[list[Any]] = []
        self._fail_page_at: int | None = None
        self._pages_seen = 0
        self._ids = itertools.count(9000)
        super().__init__(latency=latency)

    # -- scripting

    def fail_next(self, kind: str, n: int = 1, method: str | None = "api") -> None:
        super().fail_next(kind, n, method)

    def fail_step(self, kind: str, method: str, path: str, n: int = 1) -> None:
        """The next `n` requests of `method` whose path starts with `path` fail with `kind`."""
        with self.lock:
            self.step_faults.append([kind, method, path, n])

    def fail_token(self, kind: str, n: int = 1) -> None:
        super().fail_next(kind, n, "token")

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (401), as when it expires early."""
        with self.lock:
            self.live_tokens.clear()

    def revoke(self) -> None:
        """The refresh token is refused from now on (invalid_grant) and no access token works."""
        with self.lock:
            self.revoked = True
            self.live_tokens.clear()

    def fail_item(self, ident: str) -> None:
        """Writes of this entity id (or negative keyword text) come back as 207 error items."""
        self.failing_items.add(ident)

    def fail_page(self, nth: int = 1) -> None:
        """HTTP 500 on the nth request for a follow-up page (one with a nextToken)."""
        self._fail_page_at, self._pages_seen = nth, 0

    def use_jpy(self) -> None:
        self.profiles[0].update(currencyCode="JPY", timezone="Asia/Tokyo", countryCode="JP")

    def bulk(self, entities: int, *, days: int = 30, first_day: date = FIRST_DAY) -> None:
        """About `entities` entities: campaigns of 10 ad groups of 5 keywords and 4 targets, plus search terms."""
        self.first_day, self.days = first_day, days
        self.campaigns, self.ad_groups, self.keywords, self.targets = {}, {}, {}, {}
        self.search_terms, self.budget_rules = [], []
        self.negatives = {"campaignNegativeKeywords": {}, "negativeKeywords": {}}
        ids = itertools.count(10_000_000)
        while len(self.campaigns) + len(self.ad_groups) + len(self.keywords) + len(self.targets) < entities:
            cid = str(next(ids))
            self.campaigns[cid] = _campaigns()["101"] | {"campaignId": cid, "name": f"SP-{cid}"}
            for _ in range(10):
                gid = str(next(ids))
                self.ad_groups[gid] = _ad_groups()["201"] | {"adGroupId": gid, "campaignId": cid}
                for i in range(5):
                    kid = str(next(ids))
                    self.keywords[kid] = _keywords()["301"] | {"keywordId": kid, "adGroupId": gid, "campaignId": cid}
                    self.keywords[kid]["keywordText"] = f"keyword {kid}"
                    if i == 0:
                        self.search_terms.append((cid, gid, kid, f"term {kid}"))
                for _ in range(4):
                    tid = str(next(ids))
                    self.targets[tid] = _targets()["401"] | {"targetId": tid, "adGroupId": gid, "campaignId": cid}

    def write_calls(self) -> int:
        return len(self.writes)

    # -- HTTP

    def handle(self, method, path, query, headers, body) -> tuple[int, bytes, dict[str, str]]:
        h = {k.lower(): v for k, v in headers.items()}
        path = path.rstrip("/")
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        kind = "token" if path == "/auth/o2/token" else "download" if path.startswith("/download/") else "api"
        parsed = self._body(h, body)
        with self.lock:
            self.requests.append(
                {"kind": kind, "method": method, "path": path, "query": params, "headers": h, "body": parsed}
            )
            fault = self.record(kind, (method, path)) or self._step_fault(method, path)
            if fault:
                status, answer, extra = self._fault(fault)
            elif kind == "token":
                status, answer, extra = self._token(parsed)
            elif kind == "api":
                status, answer, extra = self._api(method, path, params, h, parsed)
        if kind == "download" and not fault:
            return self._download(path, h)  # outside the lock: it may wait for the report's generation
        return status, json.dumps(answer).encode(), {"Content-Type": "application/json", **extra}

    def _step_fault(self, method: str, path: str) -> str | None:
        for fault in self.step_faults:
            if fault[1] == method and path.startswith(fault[2]):
                fault[3] -= 1
                if fault[3] <= 0:
                    self.step_faults.remove(fault)
                return fault[0]
        return None

    @staticmethod
    def _body(headers: dict[str, str], body: bytes) -> Any:
        if not body:
            return None
        if "json" in headers.get("content-type", ""):
            try:
                return json.loads(body)
            except ValueError:
                return {"__unparsable__": body.decode(errors="replace")}
        return {k: v[-1] for k, v in parse_qs(body.decode(errors="replace")).items()}

    def _fault(self, kind: str) -> tuple[int, Any, dict[str, str]]:
        if kind == "auth":
            return 401, {"code": "UNAUTHORIZED", "details": "Not authorized to access this advertiser"}, {}
        if kind == "rate_limit":
            return 429, {"code": "429", "details": "Too Many Requests"}, {"Retry-After": self.retry_after}
        if kind == "transient":
            return 500, {"code": "INTERNAL_ERROR", "details": "An internal error has occurred"}, {}
        return 400, {"code": "INVALID_ARGUMENT", "details": "The fake was told to refuse this request"}, {}

    def _token(self, form: Any) -> tuple[int, Any, dict[str, str]]:
        form = form or {}
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}, {}
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type", "error_description": "grant_type"}, {}
        if self.revoked or form.get("refresh_token") != REFRESH_TOKEN:
            return (
                400,
                {"error": "invalid_grant", "error_description": "The request has an invalid grant parameter"},
                {},
            )
        token = f"Atza|access-{len(self.issued) + 1}-SENTINEL-7331"
        self.issued.append(token)
        self.live_tokens.add(token)
        answer = {"access_token": token, "refresh_token": REFRESH_TOKEN, "token_type": "bearer"}
        return 200, answer | {"expires_in": self.token_lifetime}, {}

    def _api(self, method, path, params, h, body) -> tuple[int, Any, dict[str, str]]:
        auth = h.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.live_tokens:
            return 401, {"code": "UNAUTHORIZED", "details": "Access token is expired or invalid"}, {}
        if h.get("amazon-advertising-api-clientid") != CLIENT_ID:
            return 401, {"code": "UNAUTHORIZED", "details": "Invalid client id in Amazon-Advertising-API-ClientId"}, {}
        if isinstance(body, dict) and "__unparsable__" in body:
            return 400, {"code": "400", "details": "Malformed JSON body"}, {}
        if path == "/v2/profiles" and method == "GET":
            return 200, self.profiles, {}
        if h.get("amazon-advertising-api-scope") != PROFILE:
            return 403, {"code": "UNAUTHORIZED", "details": "Not authorized to access scope"}, {}
        if isinstance(body, dict) and body.get("nextToken") and self._fail_page_at is not None:
            self._pages_seen += 1
            if self._pages_seen == self._fail_page_at:
                self._fail_page_at = None
                return 500, {"code": "INTERNAL_ERROR", "details": "An internal error has occurred"}, {}
        segs = path.strip("/").split("/")
        if segs[:2] == ["reporting", "reports"]:
            return self._reporting(method, segs[2:], h, body)
        if segs[:2] == ["sp", "budgetRules"]:
            return self._budget_rules(method, segs[2:], params)
        if segs[0] != "sp" or len(segs) < 2 or segs[1] not in MEDIA:
            return 404, {"code": "NOT_FOUND", "details": f"no resource {path}"}, {}
        media = MEDIA[segs[1]]
        if h.get("content-type") != media or h.get("accept") != media:
            return 415, {"code": "UNSUPPORTED_MEDIA_TYPE", "details": f"use {media} as Content-Type and Accept"}, {}
        if not isinstance(body, dict):
            return 400, {"code": "INVALID_ARGUMENT", "details": "a JSON object body is required"}, {}
        action = segs[2] if len(segs) > 2 else None
        if segs[1] in RESOURCES:
            if method == "POST" and action == "list":
                return self._list(segs[1], body)
            if method == "PUT" and action is None:
                return self._update(segs[1], path, body)
        elif segs[1] in NEGATIVES:
            if method == "POST" and action == "list":
                return self._list_negatives(segs[1], body)
            if method == "POST" and action is None:
                return self._create_negatives(segs[1], path, body)
            if method == "POST" and action == "delete":
                return self._delete_negatives(segs[1], path, body)
        return 405, {"code": "METHOD_NOT_ALLOWED", "details": f"{method} {path}"}, {}

    # -- Sponsored Products v3

    def _store(self, segment: str) -> dict[str, dict[str, Any]]:
        return {"campaigns": self.campaigns, "adGroups": self.ad_groups, "keywords": self.keywords}.get(
            segment, self.targets
        )

    def _page(self, key: str, items: list[dict[str, Any]], body: dict[str, Any]) -> tuple[int, Any, dict]:
        size = body.get("maxResults", self.page_size)
        if not isinstance(size, int) or not 1 <= size <= 100:
            return 400, {"code": "INVALID_ARGUMENT", "details": "maxResults must be 1 to 100"}, {}
        start = int(body.get("nextToken") or 0)
        size = min(size, self.page_size)
        answer: dict[str, Any] = {key: copy.deepcopy(items[start : start + size]), "totalResults": len(items)}
        if start + size < len(items):
            answer["nextToken"] = str(start + size)
        return 200, answer, {}

    def _list(self, segment: str, body: dict[str, Any]) -> tuple[int, Any, dict]:
        key = RESOURCES[segment][0]
        items = list(self._store(segment).values())
        for name in ("campaignId", "adGroupId", "keywordId", "targetId"):
            wanted = (body.get(f"{name}Filter") or {}).get("include")
            if wanted is not None:
                items = [i for i in items if i.get(name) in {str(w) for w in wanted}]
        states = (body.get("stateFilter") or {}).get("include")
        if states is not None:
            items = [i for i in items if i["state"] in states]
        return self._page(key, items, body)

    def _update(self, segment: str, path: str, body: dict[str, Any]) -> tuple[int, Any, dict]:
        key, ident, one = RESOURCES[segment]
        items = body.get(key)
        if not isinstance(items, list) or not items or len(items) > 1000:
            return 400, {"code": "INVALID_ARGUMENT", "details": f"{key}: 1 to 1000 items"}, {}
        store = self._store(segment)
        success, errors = [], []
        for index, item in enumerate(items):
            eid = str(item.get(ident))
            problem = self._check_update(segment, store, eid, item)
            if problem is None and eid in self.failing_items:
                problem = ("rangeError", "TOO_HIGH", f"the fake was told to refuse changes of {eid}")
            if problem is not None:
                errors.append(_error_item(index, *problem))
                continue
            target = store[eid]
            target.update({k: copy.deepcopy(v) for k, v in item.items() if k != ident})
            success.append({"index": index, ident: eid, one: copy.deepcopy(target)})
        if success:
            self.writes.append(("PUT", path, body))
        return 207, {key: {"success": success, "error": errors}}, {}

    @staticmethod
    def _check_update(segment, store, eid, item) -> tuple[str, str, str] | None:
        if eid not in store:
            return "entityNotFoundError", "ENTITY_NOT_FOUND", f"no entity {eid}"
        allowed = {"campaigns": {"state", "budget"}, "adGroups": {"state", "defaultBid"}}.get(segment, {"state", "bid"})
        extra = set(item) - allowed - {RESOURCES[segment][1]}
        if extra:
            return "malformedValueError", "UNKNOWN_FIELD", f"fields not updatable here: {sorted(extra)}"
        if "state" in item and item["state"] not in ("ENABLED", "PAUSED", "ARCHIVED"):
            return "malformedValueError", "INVALID_STATE", f"state {item['state']!r}"
        if "budget" in item:
            budget = item["budget"]
            if not isinstance(budget, dict) or budget.get("budgetType") != "DAILY":
                return "malformedValueError", "INVALID_BUDGET", "budget: {budget, budgetType: DAILY}"
            if not isinstance(budget.get("budget"), int | float) or budget["budget"] < 1:
                return "rangeError", "TOO_LOW", "the daily budget must be at least 1"
        for name in ("bid", "defaultBid"):
            if name in item and (not isinstance(item[name], int | float) or item[name] < 0.02):
                return "rangeError", "TOO_LOW", f"{name} must be at least 0.02"
        return None

    def _list_negatives(self, segment: str, body: dict[str, Any]) -> tuple[int, Any, dict]:
        key, _ = NEGATIVES[segment]
        items = list(self.negatives[segment].values())
        wanted = (body.get("campaignIdFilter") or {}).get("include")
        if wanted is not None:
            items = [i for i in items if i["campaignId"] in {str(w) for w in wanted}]
        return self._page(key, items, body)

    def _create_negatives(self, segment: str, path: str, body: dict[str, Any]) -> tuple[int, Any, dict]:
        key, ident = NEGATIVES[segment]
        items = body.get(key)
        if not isinstance(items, list) or not items:
            return 400, {"code": "INVALID_ARGUMENT", "details": f"{key}: a list of negative keywords"}, {}
        success, errors = [], []
        for index, item in enumerate(items):
            problem = self._check_negative(segment, item)
            if problem is None and str(item.get("keywordText")) in self.failing_items:
                problem = ("otherError", "REFUSED", "the fake was told to refuse this negative keyword")
            if problem is not None:
                errors.append(_error_item(index, *problem))
                continue
            nid = str(next(self._ids))
            stored = {"keywordId": nid, **{k: item[k] for k in ("campaignId", "keywordText", "matchType", "state")}}
            if segment == "negativeKeywords":
                stored["adGroupId"] = item["adGroupId"]
            self.negatives[segment][nid] = stored
            success.append({"index": index, ident: nid})
        if success:
            self.writes.append(("POST", path, body))
        return 207, {key: {"success": success, "error": errors}}, {}

    def _check_negative(self, segment: str, item: Any) -> tuple[str, str, str] | None:
        if not isinstance(item, dict):
            return "malformedValueError", "INVALID", "not an object"
        if item.get("campaignId") not in self.campaigns:
            return "entityNotFoundError", "ENTITY_NOT_FOUND", f"no campaign {item.get('campaignId')}"
        if segment == "negativeKeywords" and item.get("adGroupId") not in self.ad_groups:
            return "entityNotFoundError", "ENTITY_NOT_FOUND", f"no ad group {item.get('adGroupId')}"
        if item.get("matchType") not in ("NEGATIVE_EXACT", "NEGATIVE_PHRASE") or item.get("state") != "ENABLED":
            return "malformedValueError", "INVALID", "matchType NEGATIVE_EXACT or NEGATIVE_PHRASE, state ENABLED"
        if not item.get("keywordText"):
            return "malformedValueError", "INVALID", "keywordText is required"
        for other in self.negatives[segment].values():
            same_place = other["campaignId"] == item["campaignId"] and other.get("adGroupId") == item.get("adGroupId")
            same_keyword = other["keywordText"] == item["keywordText"] and other["matchType"] == item["matchType"]
            if same_place and same_keyword and other["state"] != "ARCHIVED":
                return "duplicateValueError", "DUPLICATE_VALUE", "this negative keyword exists"
        return None

    def _delete_negatives(self, segment: str, path: str, body: dict[str, Any]) -> tuple[int, Any, dict]:
        key, ident = NEGATIVES[segment]
        ids = (body.get(f"{ident}Filter") or {}).get("include")
        if not isinstance(ids, list) or not ids:
            return 400, {"code": "INVALID_ARGUMENT", "details": f"{ident}Filter.include is required"}, {}
        success, errors = [], []
        for index, nid in enumerate(ids):
            stored = self.negatives[segment].get(str(nid))
            if stored is None or stored["state"] == "ARCHIVED":
                errors.append(_error_item(index, "entityNotFoundError", "ENTITY_NOT_FOUND", f"no {ident} {nid}"))
                continue
            stored["state"] = "ARCHIVED"
            success.append({"index": index, ident: str(nid)})
        if success:
            self.writes.append(("POST", path, body))
        return 207, {key: {"success": success, "error": errors}}, {}

    # -- budget rules

    def _budget_rules(self, method: str, rest: list[str], params: dict[str, str]) -> tuple[int, Any, dict]:
        if method != "GET":
            return 405, {"code": "METHOD_NOT_ALLOWED", "details": "read only here"}, {}
        size = int(params.get("pageSize") or 30)
        start = int(params.get("nextToken") or 0)
        if not rest:
            rules = [{k: v for k, v in r.items() if k != "campaigns"} for r in self.budget_rules]
            key, items = "budgetRulesForAdvertiserResponse", rules
        elif len(rest) == 2 and rest[1] == "campaigns":
            rule = next((r for r in self.budget_rules if r["ruleId"] == rest[0]), None)
            if rule is None:
                return 404, {"code": "NOT_FOUND", "details": f"no budget rule {rest[0]}"}, {}
            items = [{"campaignId": c, "campaignName": self.campaigns[c]["name"]} for c in rule["campaigns"]]
            key = "associatedCampaigns"
        else:
            return 404, {"code": "NOT_FOUND", "details": "/".join(rest)}, {}
        more = start + size < len(items)
        return 200, {key: items[start : start + size], "nextToken": str(start + size) if more else None}, {}

    # -- reporting

    def _reporting(self, method: str, rest: list[str], h: dict[str, str], body: Any) -> tuple[int, Any, dict]:
        if method == "POST" and not rest:
            if h.get("content-type") != REPORT_MEDIA:
                return 415, {"code": "415", "detail": f"Content-Type must be {REPORT_MEDIA}"}, {}
            return self._create_report(body)
        if method == "GET" and len(rest) == 1 and rest[0] in self.reports:
            report = self.reports[rest[0]]
            report["polls"] += 1
            status = "PENDING" if report["polls"] <= self.report_polls else "COMPLETED"
            if self.report_outcome == "NEVER":
                status = "PROCESSING" if report["polls"] > 1 else "PENDING"
            if self.report_outcome == "FAILED" and status == "COMPLETED":
                status = "FAILED"
            report["done"] = status in ("COMPLETED", "FAILED")
            return 200, self._report_view(report, status), {}
        return 404, {"code": "NOT_FOUND", "detail": f"no report {'/'.join(rest)}"}, {}

    def _create_report(self, body: Any) -> tuple[int, Any, dict]:
        problem = _check_report(body)
        if problem:
            return 400, {"code": "400", "detail": problem}, {}
        if self.duplicates:
            for rid, other in self.reports.items():
                if other["request"] == body and not other["done"]:
                    return 425, {"code": "425", "detail": f"The Request is a duplicate of : {rid}"}, {}
        rid = f"{next(self._ids):08d}-44d8-425c-a3fc-c6aa51e91b39"
        report = {"id": rid, "request": body, "polls": 0, "done": False, "ready": threading.Event()}
        self.reports[rid] = report
        # generated in the background, as Amazon does while the client goes on
        threading.Thread(target=self._generate, args=(report,), daemon=True).start()
        return 200, self._report_view(report, "PENDING"), {}

    def _generate(self, report: dict[str, Any]) -> None:
        rows = self.report_rows(report["request"])
        report["file"] = gzip.compress(json.dumps(rows).encode(), compresslevel=1)
        report["ready"].set()

    def _report_view(self, report: dict[str, Any], status: str) -> dict[str, Any]:
        body = report["request"]
        done = status == "COMPLETED"
        url = f"{self.url}/download/{report['id']}.json.gz?X-Amz-Security-Token=SIGNED-SENTINEL-2&X-Amz-Signature=ab12"
        return {
            "reportId": report["id"],
            "name": body.get("name"),
            "status": status,
            "startDate": body["startDate"],
            "endDate": body["endDate"],
            "configuration": {**body["configuration"], "filters": None},
            "createdAt": "2026-02-01T06:00:00.000Z",
            "updatedAt": "2026-02-01T06:00:05.000Z",
            "url": url if done else None,
            "urlExpiresAt": "2026-02-01T07:00:05.000Z" if done else None,
            "fileSize": 22 if done else None,
            "generatedAt": "2026-02-01T06:00:05.000Z" if done else None,
            "failureReason": "Internal error while generating the report" if status == "FAILED" else None,
        }

    def _download(self, path: str, h: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        if any(name.startswith("amazon-advertising-api") or name == "authorization" for name in h):
            body = b"<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>"
            return 400, body, {"Content-Type": "application/xml"}
        rid = path.removeprefix("/download/").removesuffix(".json.gz")
        report = self.reports.get(rid)
        if report is None:
            return 404, b"<Error><Code>NoSuchKey</Code></Error>", {"Content-Type": "application/xml"}
        if self.report_outcome == "CORRUPT":
            return 200, b"\x1f\x8b not really gzip", {"Content-Type": "application/x-gzip"}
        report["ready"].wait(300)
        return 200, report["file"], {"Content-Type": "application/x-gzip"}

    def report_rows(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        config = request["configuration"]
        columns = config["columns"]
        start, end = date.fromisoformat(request["startDate"]), date.fromisoformat(request["endDate"])
        entities = self._report_entities(config)
        rows = []
        day = max(start, self.first_day)
        last = min(end, self.first_day + timedelta(days=self.days - 1))
        while day <= last:
            iso = day.isoformat()
            for level, eid, ids in entities:
                numbers = self.metrics[(level, eid)](day) if (level, eid) in self.metrics else _daily(_seed(eid), day)
                full = {"date": iso, **ids, **numbers}
                rows.append({c: full.get(c) for c in columns})
            day += timedelta(days=1)
        return rows

    def _report_entities(self, config: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
        kind, group = config["reportTypeId"], config["groupBy"]
        if kind == "spCampaigns" and "adGroup" not in group:
            return [("campaign", c, {"campaignId": int(c)}) for c in self.campaigns]
        if kind == "spCampaigns":
            return [
                ("ad_group", g, {"campaignId": int(a["campaignId"]), "adGroupId": int(g)})
                for g, a in self.ad_groups.items()
            ]
        if kind == "spTargeting":
            out = []
            for kid, k in self.keywords.items():
                ids = {"campaignId": int(k["campaignId"]), "adGroupId": int(k["adGroupId"]), "keywordId": int(kid)}
                out.append(("keyword", kid, ids | {"matchType": k["matchType"], "targeting": k["keywordText"]}))
            for tid, t in self.targets.items():
                ids = {"campaignId": int(t["campaignId"]), "adGroupId": int(t["adGroupId"]), "keywordId": int(tid)}
                out.append(("target", tid, ids | {"matchType": "TARGETING_EXPRESSION", "targeting": "close-match"}))
            return out
        return [
            (
                "search_term",
                f"{gid}~{term}",
                {"campaignId": int(cid), "adGroupId": int(gid), "keywordId": int(kid), "searchTerm": term},
            )
            for cid, gid, kid, term in self.search_terms
        ]


def _check_report(body: Any) -> str | None:
    """What is wrong with a report request, checked as Reporting v3 does; None when it is right."""
    if not isinstance(body, dict):
        return "a JSON object body is required"
    unknown = set(body) - {"name", "startDate", "endDate", "configuration"}
    if unknown:
        return f"unknown fields {sorted(unknown)}"
    try:
        start, end = date.fromisoformat(body["startDate"]), date.fromisoformat(body["endDate"])
    except (KeyError, TypeError, ValueError):
        return "startDate and endDate must be YYYY-MM-DD"
    if end < start or (end - start).days + 1 > MAX_REPORT_DAYS:
        return f"the date range must be 1 to {MAX_REPORT_DAYS} days"
    config = body.get("configuration")
    if not isinstance(config, dict) or set(config) - CONFIG_KEYS:
        return f"configuration: only {sorted(CONFIG_KEYS)}"
    if config.get("adProduct") != "SPONSORED_PRODUCTS" or config.get("format") != "GZIP_JSON":
        return "adProduct SPONSORED_PRODUCTS and format GZIP_JSON"
    kind = config.get("reportTypeId")
    if kind not in REPORT_TYPES:
        return f"unknown reportTypeId {kind!r}"
    groups, ids = REPORT_TYPES[kind]
    if not config.get("groupBy") or set(config["groupBy"]) - groups:
        return f"groupBy of {kind}: {sorted(groups)}"
    if config.get("timeUnit") != "DAILY" or "date" not in (config.get("columns") or []):
        return "timeUnit DAILY with the date column"
    bad = set(config["columns"]) - ids - METRIC_COLUMNS - {"date"}
    if bad:
        return f"columns not in {kind}: {sorted(bad)}"
    return None


def _error_item(index: int, kind: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "index": index,
        "errors": [{"errorType": kind, "errorValue": {kind: {"reason": reason, "message": message}}}],
    }


def _seed(entity_id: str) -> int:
    return zlib.crc32(entity_id.encode()) % 97


class ContractHarness:
    """The contract suite's handle on this fake (tests/contract/__init__.py)."""

    platform = "amazon"
    faults = ("auth", "rate_limit", "transient", "permanent")

    def __init__(self, tmp_path, monkeypatch) -> None:
        self.fake = AmazonAdsFake(page_size=50)
        for name, value in ENV.items():
            monkeypatch.setenv(name, value)
        self._adapters: list[Any] = []

    @property
    def secrets(self) -> list[str]:
        return [CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, *self.fake.issued]

    def adapter(self, currency: str = "USD") -> Any:
        from platforms.adapter import Account
        from platforms.amazon.adapter import AmazonAdsAdapter

        account = Account("amazon", PROFILE, currency=currency, endpoint=self.fake.url)
        self._adapters.append(AmazonAdsAdapter(account, sleep=lambda s: None))
        return self._adapters[-1]

    def _key(self, level: str, entity_id: str) -> Any:
        from engine.core.execution import EntityKey

        return EntityKey("amazon", PROFILE, level, entity_id)

    def entity(self, action_type: str, level: str) -> Any:
        if level == "search_term":
            return self._key(level, "201~conference camera 4k")
        if action_type == "enable":
            return self._key(level, {"campaign": "103", "ad_group": "203", "keyword": "303", "target": "402"}[level])
        return self._key(level, {"campaign": "101", "ad_group": "201", "keyword": "301", "target": "401"}[level])

    def negative(self, key: Any) -> dict[str, Any]:
        return {"text": key.entity_id.split("~", 1)[1], "match_type": "exact", "scope": "campaign"}

    def writes(self) -> int:
        return self.fake.write_calls()

    def fail_next(self, kind: str) -> None:
        # a 401 is followed by a new token and the call once more: an auth failure answers both
        self.fake.fail_next(kind, 2 if kind == "auth" else 1)

    def fail_in_batch(self, key: Any) -> None:
        self.fake.fail_item(key.entity_id)

    def use_jpy(self) -> tuple[Any, str]:
        self.fake.use_jpy()
        self.fake.campaigns["101"]["budget"]["budget"] = 5000
        return self._key("campaign", "101"), "daily_budget"

    def wire(self, key: Any, attribute: str) -> Any:
        return self.fake.campaigns[key.entity_id]["budget"]["budget"]

    def close(self) -> None:
        for adapter in self._adapters:
            adapter.close()
        self.fake.close()
