"""A local fake of the Pinterest API v5 (ads) for testing platforms/pinterest/adapter.py over HTTP.

`PinterestFake()` starts an HTTP server on 127.0.0.1 (port 0, in a thread); `url` is its
address for `Account.endpoint` (paths without `/v5`, as in the official description,
tests/specs/pinterest-v5.openapi.yaml). It holds one ad account (`ACCOUNT`, USD) with
campaigns (one with a daily spend cap, one under campaign budget optimization, a paused
brand one, one with a lifetime cap only), ad groups (daily, CBO and lifetime budgets,
manual and automatic bids, one archived), ads, and daily metrics for the `DAYS` days up to
yesterday. It serves:

- POST  /oauth/token                                   refresh_token grant (Basic app id:secret)
- GET   /ad_accounts/{id}                              the ad account
- GET   /ad_accounts/{id}/{campaigns,ad_groups,ads}    bookmark-paged lists (entity_statuses,
                                                       default ACTIVE and PAUSED; page_size <= 250)
- GET   /ad_accounts/{id}/{campaigns,ad_groups,ads}/{entity_id}
- PATCH /ad_accounts/{id}/{campaigns,ad_groups,ads}    bulk update, 1-30 items; per-item `exceptions`
- GET   /ad_accounts/{id}/{campaigns,ad_groups}/analytics   daily rows (<= 250 ids, <= 90 days back)
- POST  /ad_accounts/{id}/reports                      an async report -> token (<= 186 days)
- GET   /ad_accounts/{id}/reports?token=               IN_PROGRESS `async_polls` times, then FINISHED
- GET   /files/{token}.json                            the report file (pre-signed: no auth header)

Every API request must carry `Authorization: Bearer <token>`. Scriptable faults:
`fail_next(kind, n)` with kind `auth` (401), `rate_limit` (429 with Retry-After), `spam`
(429 refusing the request as spam), `transient` (500) or `permanent` (400); `fail_page(n)`
(500 on the n-th request carrying a bookmark); `fail_item(id)` (that entity's item in a
bulk update comes back with an exception); `expire_token()` (the token is refused until
renewed with the refresh token); `revoke()` (both are refused); `report_file` set to bytes
(served instead of the report). `analytics_limit` (calls, seconds) answers 429 past that
many analytics calls in any window (`throttled` counts them). `requests` records
(method, path, query as lists, body); `updates` each applied change.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections import deque
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.base import HttpFakeServer

ACCOUNT = "549755885175"
TOKEN = "pina_AccessToken-abc123-SENTINEL"
REFRESH_TOKEN = "pinr_RefreshToken-def456-SENTINEL"
APP_ID = "1484362"
APP_SECRET = "app-secret-SENTINEL-789"
DAYS = 200
COLLECTIONS = {"campaigns": "campaign", "ad_groups": "ad_group", "ads": "ad"}
ANALYTICS_COLUMNS = {
    "SPEND_IN_MICRO_DOLLAR",
    "IMPRESSION_1",
    "CLICKTHROUGH_1",
    "OUTBOUND_CLICK_1",
    "TOTAL_CHECKOUT",
    "TOTAL_CHECKOUT_VALUE_IN_MICRO_DOLLAR",
    "VIDEO_MRC_VIEWS_1",
    "CAMPAIGN_ID",
    "AD_GROUP_ID",
}
STATUSES = ("ACTIVE", "PAUSED", "ARCHIVED", "DRAFT", "DELETED_DRAFT")
CREATED = 1767225600  # 2026-01-01T00:00:00Z
# the entities tests name
C_DAILY, C_CBO, C_PAUSED, C_LIFETIME = "626741580001", "626741580002", "626741580003", "626741580004"
G_MANUAL, G_AUTO, G_CBO, G_PAUSED, G_LIFETIME, G_ARCHIVED = (f"268006750000{n}" for n in range(1, 7))
A_FIRST, A_PAUSED = "687194760001", "687194769999"


def _campaign(cid: str, name: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "ad_account_id": ACCOUNT,
        "name": name,
        "status": status,
        "objective_type": "CONSIDERATION",
        "daily_spend_cap": None,
        "lifetime_spend_cap": None,
        "is_campaign_budget_optimization": False,
        "created_time": CREATED,
        "updated_time": CREATED,
        "type": "campaign",
        **extra,
    }


def _group(gid: str, campaign: str, name: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": gid,
        "ad_account_id": ACCOUNT,
        "campaign_id": campaign,
        "name": name,
        "status": status,
        "budget_type": "DAILY",
        "budget_in_micro_currency": None,
        "bid_in_micro_currency": None,
        "bid_strategy_type": "AUTOMATIC_BID",
        "billable_event": "CLICKTHROUGH",
        "conversion_learning_mode_type": "NOT_ACTIVE",
        "created_time": CREATED,
        "updated_time": CREATED,
        "type": "adgroup",
        **extra,
    }


def _ad(aid: str, group: dict[str, Any], status: str = "ACTIVE") -> dict[str, Any]:
    return {
        "id": aid,
        "ad_account_id": ACCOUNT,
        "campaign_id": group["campaign_id"],
        "ad_group_id": group["id"],
        "pin_id": "10" + aid,
        "name": f"Pin for {group['name']}",
        "status": status,
        "creative_type": "REGULAR",
        "created_time": CREATED,
        "updated_time": CREATED,
        "type": "pinpromotion",
    }


class PinterestFake(HttpFakeServer):
    def __init__(self, *, async_polls: int = 1, latency: float = 0.0, today: date | None = None) -> None:
        self.today = today or datetime.now(UTC).date()
        self.first_day = self.today - timedelta(days=DAYS)
        self.async_polls = async_polls
        self.currency = "USD"
        self.campaigns = {
            c["id"]: c
            for c in (
                _campaign("626741580001", "Bot-Consideration-Keyword-2026Q3", "ACTIVE", daily_spend_cap=200_000_000),
                _campaign(
                    "626741580002",
                    "Dot-Consideration-Interest-2026Q3",
                    "ACTIVE",
                    daily_spend_cap=150_000_000,
                    is_campaign_budget_optimization=True,
                ),
                _campaign("626741580003", "Brand-Awareness-Always-On", "PAUSED", daily_spend_cap=50_000_000),
                _campaign(
                    "626741580004",
                    "Board-Conversion-Shopping-2026Q3",
                    "ACTIVE",
                    lifetime_spend_cap=9 * 10**9,
                    objective_type="CATALOG_SALES",
                ),
            )
        }
        self.ad_groups = {
            g["id"]: g
            for g in (
                _group(
                    "2680067500001",
                    "626741580001",
                    "Desk-Setup-Ideas",
                    "ACTIVE",
                    budget_in_micro_currency=90_000_000,
                    bid_in_micro_currency=1_100_000,
                    bid_strategy_type="MAX_BID",
                ),
                _group(
                    "2680067500002", "626741580001", "Home-Office-Inspo", "ACTIVE", budget_in_micro_currency=120_000_000
                ),
                _group(
                    "2680067500003",
                    "626741580002",
                    "Smart-Home-Gadgets",
                    "ACTIVE",
                    budget_type="CBO_ADGROUP",
                    bid_in_micro_currency=950_000,
                    bid_strategy_type="MAX_BID",
                    conversion_learning_mode_type="ACTIVE",
                ),
                _group(
                    "2680067500004",
                    "626741580003",
                    "Brand-Core",
                    "PAUSED",
                    budget_in_micro_currency=40_000_000,
                    bid_in_micro_currency=500_000,
                    bid_strategy_type="MAX_BID",
                ),
                _group(
                    "2680067500005",
                    "626741580004",
                    "Catalog-All-Boards",
                    "ACTIVE",
                    budget_type="LIFETIME",
                    budget_in_micro_currency=3_000_000_000,
                ),
                _group("2680067500006", "626741580001", "Old-Test", "ARCHIVED", budget_in_micro_currency=10_000_000),
            )
        }
        self.ads: dict[str, dict[str, Any]] = {}
        for n, group in enumerate(self.ad_groups.values(), start=1):
            self.ads[f"68719476{n:04d}"] = _ad(f"68719476{n:04d}", group)
        self.ads["687194769999"] = _ad("687194769999", self.ad_groups["2680067500004"], "PAUSED")
        self.token = TOKEN
        self.refresh_token = REFRESH_TOKEN
        self.token_valid = True
        self.reports: dict[str, dict[str, Any]] = {}
        self.report_file: bytes | None = None
        self.requests: list[tuple[str, str, dict[str, list[str]], Any]] = []
        self.updates: list[tuple[str, dict[str, Any]]] = []
        self.failing_items: set[str] = set()
        self.analytics_limit: tuple[int, float] | None = None
        self.throttled = 0
        self._analytics_calls: deque[float] = deque()
        self._fail_page_at: int | None = None
        self._pages_seen = 0
        self._ids = itertools.count(1)
        self._renewals = itertools.count(1)
        super().__init__(latency=latency)

    # -- data

    def bulk(self, ad_groups: int, per_campaign: int = 10) -> None:
        """Replace the account with `ad_groups` generated ad groups (one ad each), `per_campaign` per campaign."""
        self.campaigns, self.ad_groups, self.ads = {}, {}, {}
        for n in range(ad_groups):
            cid = f"7{n // per_campaign:011d}"
            if cid not in self.campaigns:
                self.campaigns[cid] = _campaign(cid, f"Bot-Consideration-Keyword-{cid}", "ACTIVE")
            gid = f"8{n:012d}"
            self.ad_groups[gid] = _group(
                gid, cid, f"Group {n}", "ACTIVE", budget_in_micro_currency=50_000_000, bid_in_micro_currency=1_000_000
            )
            self.ads[f"9{n:012d}"] = _ad(f"9{n:012d}", self.ad_groups[gid])

    def daily(self, group_id: str, day: date) -> dict[str, int]:
        """One ad group's metrics on one day (zero outside the data window)."""
        if not (self.first_day <= day < self.today):
            return {}
        n = int(group_id[-4:])
        k = (day - self.first_day).days
        impressions = 4000 + 100 * (n % 7) + 10 * (k % 10)
        checkouts = (n + k) % 3
        row = {
            "SPEND_IN_MICRO_DOLLAR": (30 + n % 5) * 1_000_000 + k * 10_000,
            "IMPRESSION_1": impressions,
            "CLICKTHROUGH_1": impressions // 70,
            "OUTBOUND_CLICK_1": impressions // (400 if n % 2 else 150),
            "TOTAL_CHECKOUT": checkouts,
            "TOTAL_CHECKOUT_VALUE_IN_MICRO_DOLLAR": checkouts * 59_000_000,
        }
        if n % 3 == 0:
            row["VIDEO_MRC_VIEWS_1"] = impressions // 20
        return row

    def rows(self, level: str, ids: list[str], start: date, end: date) -> list[dict[str, Any]]:
        """Daily rows per entity (campaign rows sum their ad groups); days with no data are left out."""
        out = []
        groups_of: dict[str, list[str]] = {}
        for gid, g in self.ad_groups.items():
            groups_of.setdefault(g["campaign_id"], []).append(gid)
        id_key = "CAMPAIGN_ID" if level == "campaign" else "AD_GROUP_ID"
        day = start
        while day <= end:
            for entity in ids:
                parts = [self.daily(g, day) for g in (groups_of.get(entity, []) if level == "campaign" else [entity])]
                total: dict[str, int] = {}
                for part in parts:
                    for k, v in part.items():
                        total[k] = total.get(k, 0) + v
                if total:
                    out.append({id_key: entity, "DATE": day.isoformat(), **total})
            day += timedelta(days=1)
        return out

    # -- faults

    def fail_page(self, nth: int = 1) -> None:
        self._fail_page_at, self._pages_seen = nth, 0

    def fail_item(self, entity_id: str) -> None:
        self.failing_items.add(entity_id)

    def expire_token(self) -> None:
        self.token_valid = False

    def revoke(self) -> None:
        self.token_valid = False
        self.refresh_token = "revoked"

    # -- HTTP

    def handle(self, method, path, query, headers, body) -> tuple[int, bytes, dict[str, str]]:
        params = parse_qs(query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in headers.items()}  # a proxy may change their case
        try:
            payload = json.loads(body) if body and "json" in headers.get("content-type", "") else body.decode()
        except ValueError:
            payload = None
        with self.lock:
            self.requests.append((method, path, params, payload))
            status, answer, extra = self._answer(method, path.rstrip("/"), params, headers, payload)
        raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        return status, raw, {"Content-Type": "application/json", **extra}

    def _answer(self, method, path, params, headers, payload) -> tuple[int, Any, dict[str, str]]:
        if path.startswith("/files/"):
            return self._file(path, headers)
        if path == "/oauth/token" and method == "POST":
            return self._oauth(headers, payload)
        fault = self.record(method, path)
        if fault:
            return self._fault(fault)
        if headers.get("authorization") != f"Bearer {self.token}" or not self.token_valid:
            return _error(401, 2, "Authentication failed.")
        segs = path.split("/")[1:]
        if len(segs) < 2 or segs[0] != "ad_accounts":
            return _error(404, 404, f"Not found: {path}")
        if segs[1] != ACCOUNT:
            return _error(404, 2, "AdAccount not found.")
        rest = segs[2:]
        analytics = (rest[-1:] == ["analytics"]) or (rest == ["reports"])
        if analytics and self._over_limit():
            self.throttled += 1
            return _error(429, 8, "Too many requests: ads_analytics limit reached", {"Retry-After": "1"})
        if "bookmark" in params and self._fail_page_at is not None:
            self._pages_seen += 1
            if self._pages_seen == self._fail_page_at:
                self._fail_page_at = None
                return _error(500, 1, "Internal error, please retry.")
        if not rest and method == "GET":
            return 200, {"id": ACCOUNT, "name": "Acme Pinterest", "currency": self.currency, "country": "US"}, {}
        if rest == ["reports"]:
            return self._create_report(payload) if method == "POST" else self._get_report(params)
        if rest[0] not in COLLECTIONS:
            return _error(404, 404, f"Not found: {path}")
        objs = self._objects(rest[0])
        if len(rest) == 1 and method == "GET":
            return self._list(objs, params)
        if len(rest) == 1 and method == "PATCH":
            return self._update(rest[0], objs, payload)
        if rest[1:] == ["analytics"] and method == "GET" and rest[0] != "ads":
            return self._analytics(COLLECTIONS[rest[0]], params)
        if len(rest) == 2 and method == "GET":
            obj = objs.get(rest[1])
            if obj is None:
                return _error(404, 2, f"{COLLECTIONS[rest[0]].replace('_', ' ').capitalize()} not found.")
            return 200, obj, {}
        return _error(405, 405, f"{method} is not allowed on {path}")

    def _objects(self, collection: str) -> dict[str, dict[str, Any]]:
        return {"campaigns": self.campaigns, "ad_groups": self.ad_groups, "ads": self.ads}[collection]

    def _fault(self, kind: str) -> tuple[int, Any, dict[str, str]]:
        if kind == "auth":
            return _error(401, 2, "Authentication failed.")
        if kind == "rate_limit":
            return _error(429, 8, "You have exceeded your rate limit. Try again later.", {"Retry-After": "2"})
        if kind == "spam":
            return _error(429, 8, "Your request was blocked: it looks like spam.")
        if kind == "transient":
            return _error(500, 1, "Something went wrong on our end. Sorry about that.")
        return _error(400, 1, "Invalid parameters.")

    def _over_limit(self) -> bool:
        if self.analytics_limit is None:
            return False
        calls, period = self.analytics_limit
        now = time.monotonic()
        while self._analytics_calls and self._analytics_calls[0] <= now - period:
            self._analytics_calls.popleft()
        if len(self._analytics_calls) >= calls:
            return True
        self._analytics_calls.append(now)
        return False

    def _oauth(self, headers, payload) -> tuple[int, Any, dict[str, str]]:
        basic = base64.b64encode(f"{APP_ID}:{APP_SECRET}".encode()).decode()
        if headers.get("authorization") != f"Basic {basic}":
            return _error(401, 2, "Authentication failed.")
        form = {k: v[-1] for k, v in parse_qs(payload if isinstance(payload, str) else "").items()}
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token:
            return _error(400, 1, "Invalid refresh token.")
        self.token = f"pina_Renewed-{next(self._renewals)}-SENTINEL"
        self.token_valid = True
        answer = {
            "access_token": self.token,
            "token_type": "bearer",
            "expires_in": 2592000,
            "scope": "ads:read,ads:write",
            "response_type": "refresh_token",
        }
        return 200, answer, {}

    def _list(self, objs: dict[str, dict[str, Any]], params) -> tuple[int, Any, dict[str, str]]:
        statuses = params.get("entity_statuses") or ["ACTIVE", "PAUSED"]
        if any(s not in STATUSES for s in statuses):
            return _error(400, 400, "Invalid entity_statuses.")
        size = int((params.get("page_size") or ["25"])[-1])
        if not 1 <= size <= 250:
            return _error(400, 400, "page_size must be between 1 and 250.")
        start = int(base64.b64decode((params.get("bookmark") or ["MA=="])[-1]).decode())
        rows = [o for o in objs.values() if o["status"] in statuses]
        chunk = rows[start : start + size]
        bookmark = base64.b64encode(str(start + size).encode()).decode() if start + size < len(rows) else None
        return 200, {"items": chunk, "bookmark": bookmark}, {}

    def _analytics(self, level: str, params) -> tuple[int, Any, dict[str, str]]:
        ids = params.get(f"{level}_ids") or []
        columns = (params.get("columns") or [""])[-1].split(",")
        try:
            start, end = (date.fromisoformat(params[k][-1]) for k in ("start_date", "end_date"))
        except (KeyError, ValueError):
            return _error(400, 400, "start_date and end_date are required (YYYY-MM-DD).")
        if not 1 <= len(ids) <= 250:
            return _error(400, 400, f"between 1 and 250 {level}_ids are required.")
        if any(c not in ANALYTICS_COLUMNS for c in columns):
            return _error(400, 400, f"Invalid columns: {columns}")
        if (params.get("granularity") or [""])[-1] != "DAY":
            return _error(400, 400, "this fake serves granularity=DAY")
        if start < self.today - timedelta(days=90) or end < start or (end - start).days >= 90:
            return _error(400, 400, "Analytics are available for up to 90 days back, in ranges of up to 90 days.")
        rows = self.rows(level, ids, start, end)
        wanted = {*columns, "DATE", "CAMPAIGN_ID", "AD_GROUP_ID"}
        return 200, [{k: v for k, v in r.items() if k in wanted} for r in rows], {}

    def _create_report(self, body) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(body, dict):
            return _error(400, 400, "a JSON body is required")
        level = {"CAMPAIGN": "campaign", "AD_GROUP": "ad_group"}.get(body.get("level"))
        if level is None or body.get("granularity") != "DAY":
            return _error(400, 400, "this fake serves DAY reports at CAMPAIGN or AD_GROUP level")
        start, end = date.fromisoformat(body["start_date"]), date.fromisoformat(body["end_date"])
        if (end - start).days >= 186 or start < self.today - timedelta(days=914):
            return _error(400, 400, "Reports cover up to 186 days, up to 914 days back.")
        columns = body.get("columns") or []
        if any(c not in ANALYTICS_COLUMNS for c in columns):
            return _error(400, 400, f"Invalid columns: {columns}")
        objs = self.campaigns if level == "campaign" else self.ad_groups
        token = f"report-{next(self._ids)}"
        rows = self.rows(level, list(objs), start, end)
        by_date = body.get("primary_sort") == "BY_DATE"
        keyed: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            row = {k: v for k, v in r.items() if k in columns}  # async rows hold the columns asked for
            keyed.setdefault(r["DATE"] if by_date else r["CAMPAIGN_ID" if level == "campaign" else "AD_GROUP_ID"], [])
            keyed[r["DATE"] if by_date else r["CAMPAIGN_ID" if level == "campaign" else "AD_GROUP_ID"]].append(
                row if by_date else {**row, "DATE": r["DATE"]}
            )
        self.reports[token] = {"polls": 0, "file": json.dumps(keyed).encode()}
        return 200, {"report_status": "IN_PROGRESS", "token": token, "message": None}, {}

    def _get_report(self, params) -> tuple[int, Any, dict[str, str]]:
        token = (params.get("token") or [""])[-1]
        report = self.reports.get(token)
        if report is None:
            return 200, {"report_status": "DOES_NOT_EXIST", "url": None, "size": None}, {}
        report["polls"] += 1
        if report["polls"] <= self.async_polls:
            return 200, {"report_status": "IN_PROGRESS", "url": None, "size": None}, {}
        url = f"{self.url}/files/{token}.json?X-Amz-Signature=abc123"
        return 200, {"report_status": "FINISHED", "url": url, "size": len(report["file"])}, {}

    def _file(self, path: str, headers) -> tuple[int, Any, dict[str, str]]:
        if "authorization" in headers:
            return 400, b"<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism</Message></Error>", {}
        report = self.reports.get(path.removeprefix("/files/").removesuffix(".json"))
        if report is None:
            return 403, b"<Error><Code>AccessDenied</Code></Error>", {}
        return 200, self.report_file if self.report_file is not None else report["file"], {}

    def _update(self, collection: str, objs: dict[str, dict[str, Any]], items) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(items, list) or not 1 <= len(items) <= 30:
            return _error(400, 400, "between 1 and 30 items are required")
        out = []
        for item in items:
            problem = self._check_item(collection, objs, item)
            if problem:
                out.append({"exceptions": [{"code": 2, "message": problem}]})
                continue
            change = {k: v for k, v in item.items() if k not in ("id", "ad_account_id")}
            obj = objs[item["id"]]
            obj.update(change, updated_time=obj["updated_time"] + 1)
            self.updates.append((COLLECTIONS[collection], {"id": item["id"], **change}))
            out.append({"data": obj, "exceptions": []})
        return 200, {"items": out}, {}

    def _check_item(self, collection: str, objs: dict[str, dict[str, Any]], item: Any) -> str | None:
        level = COLLECTIONS[collection]
        if not isinstance(item, dict) or "id" not in item:
            return "every item needs an id"
        obj = objs.get(str(item["id"]))
        if obj is None:
            return f"{level.replace('_', ' ').capitalize()} not found."
        if item["id"] in self.failing_items:
            return f"The {level.replace('_', ' ')} cannot be changed right now (the fake was told to refuse it)."
        if level == "campaign" and item.get("ad_account_id") != ACCOUNT:
            return "ad_account_id is required and must be the campaign's ad account."
        allowed = {
            "campaign": {"status", "daily_spend_cap"},
            "ad_group": {"status", "budget_in_micro_currency", "bid_in_micro_currency"},
            "ad": {"status"},
        }[level]
        change = {k: v for k, v in item.items() if k not in ("id", "ad_account_id")}
        if not change or set(change) - allowed:
            return f"this fake updates only {sorted(allowed)} of a {level}"
        if "status" in change and change["status"] not in ("ACTIVE", "PAUSED", "ARCHIVED"):
            return f"Invalid status {change['status']!r}."
        for key in ("daily_spend_cap", "budget_in_micro_currency", "bid_in_micro_currency"):
            if key in change and (not isinstance(change[key], int) or change[key] <= 0):
                return f"{key} must be a positive integer (micro-currency)."
        if "budget_in_micro_currency" in change and obj.get("budget_type") == "CBO_ADGROUP":
            return "Ad group budget cannot be set under campaign budget optimization."
        return None


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> tuple:
    return status, {"code": code, "message": message}, headers or {}


class ContractHarness:
    """The contract suite's handle on this fake (tests/contract/__init__.py), through Prism when installed."""

    platform = "pinterest"
    via_prism = True  # its traffic is checked by the Prism proxy (tests/fakes/pinterest_prism.py)
    faults = ("auth", "rate_limit", "transient", "permanent")
    secrets = [TOKEN, APP_SECRET]

    def __init__(self, tmp_path, monkeypatch) -> None:
        from tests.fakes import pinterest_prism

        self.fake = PinterestFake()
        self.prism = pinterest_prism
        self.url = pinterest_prism.route(self.fake)
        for name, value in env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("PINTEREST_REFRESH_TOKEN", raising=False)
        self.sleeps: list[float] = []

    def adapter(self, currency: str = "USD") -> Any:
        from platforms.adapter import Account
        from platforms.pinterest.adapter import PinterestAdapter
        from platforms.ratelimit import CallWindow

        return PinterestAdapter(
            Account("pinterest", ACCOUNT, currency=currency, endpoint=self.url),
            sleep=self.sleeps.append,
            window=CallWindow(300, 60),
        )

    def _key(self, level: str, entity_id: str) -> Any:
        from engine.core.execution import EntityKey

        return EntityKey("pinterest", ACCOUNT, level, entity_id)

    def entity(self, action_type: str, level: str) -> Any:
        if action_type == "enable":  # the paused ones
            return self._key(level, {"campaign": C_PAUSED, "ad_group": G_PAUSED, "ad": A_PAUSED}[level])
        return self._key(level, {"campaign": C_DAILY, "ad_group": G_MANUAL, "ad": A_FIRST}[level])

    def negative(self, key: Any) -> dict[str, Any]:  # pragma: no cover - Pinterest ads have no negative keywords here
        raise NotImplementedError

    def writes(self) -> int:
        return len(self.fake.updates)

    def fail_next(self, kind: str) -> None:
        self.fake.fail_next(kind, n=1)  # the suite queues one per attempt of the retry policy

    def fail_in_batch(self, key: Any) -> None:
        self.fake.fail_item(key.entity_id)

    def use_jpy(self) -> tuple[Any, str]:
        self.fake.currency = "JPY"
        self.fake.ad_groups["2680067500001"]["budget_in_micro_currency"] = 5_000_000_000
        return self._key("ad_group", "2680067500001"), "daily_budget"

    def wire(self, key: Any, attribute: str) -> Any:
        return self.fake.ad_groups[key.entity_id]["budget_in_micro_currency"]

    def close(self) -> None:
        self.fake.close()
        self.prism.check()


def env(**overrides: str) -> dict[str, str]:
    """The credential variables for the fake's account."""
    return {
        "PINTEREST_APP_ID": APP_ID,
        "PINTEREST_APP_SECRET": APP_SECRET,
        "PINTEREST_ACCESS_TOKEN": TOKEN,
        "PINTEREST_AD_ACCOUNT_ID": ACCOUNT,
        **overrides,
    }
