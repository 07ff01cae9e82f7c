"""A local fake of the Meta Graph API (v26.0) for testing platforms/meta_ads.py through the real SDK.

`MetaGraphFake()` starts an HTTP server on 127.0.0.1 (port 0, in a thread); `url` is its
address for `FacebookSession.GRAPH` / `Account.endpoint`. It holds one ad account
(`act_123`, token `TOKEN`, app secret `SECRET`) with a CBO campaign, a non-CBO campaign, a
brand campaign, ad sets (one in learning, one with a manual bid), ads and daily insights
for January 2026. It serves:

- GET  /v26.0/act_<id>?fields=...                      the account (name, currency)
- GET  /v26.0/act_<id>/{campaigns,adsets,ads}          cursor-paged lists (`page_size` rows)
- GET  /v26.0/act_<id>/insights?level=&time_range=     daily rows (time_increment=1), paged
- POST /v26.0/act_<id>/insights                        an async report run -> {"report_run_id"}
- GET  /v26.0/<report_run_id>                          "Job Running" for `async_polls` polls, then completed
- GET  /v26.0/<report_run_id>/insights                 the report's rows, paged
- GET  /v26.0/<object_id>?fields=...                   a campaign, ad set or ad
- POST /v26.0/<object_id>  status|daily_budget|bid_amount   an update -> {"success": true}

Every request must carry `access_token=TOKEN` and its `appsecret_proof`. Scriptable faults:
`rate_limit(n, minutes)` (error 17 with `X-Business-Use-Case-Usage` for the next n calls),
`fail_page(n, times=1)` (HTTP 500 on the n-th follow-up page request, i.e. one with `after`,
and on its next `times - 1` requests),
`fail_next(kind)` with kind `auth` (error 190), `rate_limit` (error 17), `transient`
(HTTP 500, error 2) or `permanent` (error 100), and `fail_object(id)` (updates of that
object fail with error 100). An unknown account or object answers error 100
(GraphMethodException). `requests` records (method, path, params) and `updates` records
the POSTed changes. The server scaffolding is tests/fakes/base.py.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from datetime import date, timedelta
from typing import Any

from tests.fakes.base import HttpFakeServer

VERSION = "v26.0"
ACCOUNT = "123"
TOKEN = "TOKEN-abc-SECRET-VALUE"
APP_SECRET = "SECRET"
APP_ID = "APPID"
FIRST_DAY = date(2026, 1, 1)
DAYS = 31

_LIST_FIELDS = ("actions", "action_values", "outbound_clicks", "video_p100_watched_actions")


def _campaigns() -> dict[str, dict[str, Any]]:
    return {
        "c1": {"name": "Prospecting CBO", "status": "ACTIVE", "daily_budget": "15000", "bid_strategy": "COST_CAP"},
        "c2": {"name": "Retargeting", "status": "ACTIVE"},
        "c3": {"name": "Brand Search Defence", "status": "PAUSED"},
    }


def _adsets() -> dict[str, dict[str, Any]]:
    return {
        "s1": {"name": "Lookalike 1%", "status": "ACTIVE", "campaign_id": "c1", "bid_strategy": "COST_CAP"},
        "s2": {
            "name": "Site visitors 30d",
            "status": "ACTIVE",
            "campaign_id": "c2",
            "daily_budget": "5050",
            "bid_amount": "125",
            "bid_strategy": "LOWEST_COST_WITH_BID_CAP",
            "learning_stage_info": {"status": "LEARNING", "conversions": 12},
        },
        "s3": {
            "name": "Cart abandoners",
            "status": "PAUSED",
            "campaign_id": "c2",
            "daily_budget": "2000",
            "bid_strategy": "LOWEST_COST_WITHOUT_CAP",
            "learning_stage_info": {"status": "SUCCESS"},
        },
        "s4": {"name": "Brand core", "status": "ACTIVE", "campaign_id": "c3", "daily_budget": "1000"},
    }


def _ads() -> dict[str, dict[str, Any]]:
    ads = {}
    for i, adset in enumerate(["s1", "s1", "s2", "s3", "s4"], start=1):
        ads[f"a{i}"] = {"name": f"Ad {i}", "status": "ACTIVE", "adset_id": adset}
    return ads


class MetaGraphFake(HttpFakeServer):
    def __init__(self, *, page_size: int = 2, async_polls: int = 2, latency: float = 0.0):
        self.page_size = page_size
        self.app_usage: int | None = None  # when set, every response carries X-App-Usage at this percent
        self.extra_headers: dict[str, str] = {}  # sent with every response (usage headers, ...)
        self.async_polls = async_polls
        self.campaigns = _campaigns()
        self.adsets = _adsets()
        self.ads = _ads()
        for objs in (self.campaigns, self.adsets, self.ads):
            for oid, obj in objs.items():
                obj.update(id=oid, account_id=ACCOUNT, created_time="2025-12-01T10:00:00+0000")
        for ad in self.ads.values():
            ad["campaign_id"] = self.adsets[ad["adset_id"]]["campaign_id"]
        self.reports: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.updates: list[tuple[str, dict[str, str]]] = []
        self._rate_limited = 0
        self._rate_minutes = 0
        self._fail_page_at: int | None = None
        self._fail_page_times = 0
        self._pages_seen = 0
        self._ids = itertools.count(1)
        self.failing_objects: set[str] = set()
        super().__init__(latency=latency)

    # -- faults

    def rate_limit(self, calls: int, minutes: int | None = 5) -> None:
        self._rate_limited, self._rate_minutes = calls, minutes

    def fail_object(self, object_id: str) -> None:
        """Updates of this object fail (error 100), the others succeed."""
        self.failing_objects.add(object_id)

    def fail_page(self, nth: int = 1, times: int = 1) -> None:
        """HTTP 500 on the nth request for a follow-up page (one with an `after` cursor), `times` times in a row."""
        self._fail_page_at, self._pages_seen, self._fail_page_times = nth, 0, times

    # -- data

    def daily(self, ad_id: str, day: date) -> dict[str, Any]:
        n = int(ad_id[1:])
        k = (day - FIRST_DAY).days
        purchases = (n + k) % 4
        return {
            "spend": f"{10 * n + k * 0.5:.2f}",
            "impressions": str(1000 * n + 10 * k),
            "clicks": str(20 * n + k),
            "outbound_clicks": [{"action_type": "outbound_click", "value": str(10 * n + k)}],
            "actions": [
                {"action_type": "link_click", "value": str(20 * n + k)},
                {"action_type": "offsite_conversion.fb_pixel_purchase", "value": str(purchases)},
            ],
            "action_values": [
                {"action_type": "offsite_conversion.fb_pixel_purchase", "value": f"{purchases * 49.5:.2f}"}
            ],
        }

    def insight_rows(self, level: str, since: date, until: date) -> list[dict[str, Any]]:
        rows = []
        day = since
        while day <= until:
            if FIRST_DAY <= day < FIRST_DAY + timedelta(days=DAYS):
                groups: dict[str, list[str]] = {}
                for ad_id, ad in self.ads.items():
                    owner = {"campaign": ad["campaign_id"], "adset": ad["adset_id"], "ad": ad_id}[level]
                    groups.setdefault(owner, []).append(ad_id)
                for owner, ad_ids in groups.items():
                    rows.append(self._sum_rows(level, owner, [self.daily(a, day) for a in ad_ids], day))
            day += timedelta(days=1)
        return rows

    def _sum_rows(self, level: str, owner: str, parts: list[dict[str, Any]], day: date) -> dict[str, Any]:
        row: dict[str, Any] = {"account_id": ACCOUNT, "date_start": day.isoformat(), "date_stop": day.isoformat()}
        for name in ("spend", "impressions", "clicks"):
            total = sum(float(p[name]) for p in parts)
            row[name] = f"{total:.2f}" if name == "spend" else str(int(total))
        for name in _LIST_FIELDS:
            sums: dict[str, float] = {}
            for p in parts:
                for item in p.get(name, []):
                    sums[item["action_type"]] = sums.get(item["action_type"], 0.0) + float(item["value"])
            if sums:
                row[name] = [{"action_type": t, "value": f"{v:g}"} for t, v in sums.items()]
        if level == "campaign":
            row["campaign_id"] = owner
        elif level == "adset":
            row["adset_id"] = owner
            row["campaign_id"] = self.adsets[owner]["campaign_id"]
        else:
            row["ad_id"] = owner
            row["adset_id"] = self.ads[owner]["adset_id"]
            row["campaign_id"] = self.ads[owner]["campaign_id"]
        return row

    # -- HTTP

    def respond(self, method, path, params, headers) -> tuple[int, bytes, dict[str, str]]:
        with self.lock:
            self.requests.append((method, path, {k: v for k, v in params.items() if k != "access_token"}))
            fault = self.record(method, path)
            status, body, out = self._fault(fault) if fault else self._route(method, path, params)
        out = {"Content-Type": "application/json", **out}
        if self.app_usage is not None:
            out["X-App-Usage"] = json.dumps({"call_count": self.app_usage, "total_time": 10, "total_cputime": 10})
        return status, json.dumps(body).encode(), {**out, **self.extra_headers}

    def _fault(self, kind: str) -> tuple[int, Any, dict[str, str]]:
        if kind == "auth":
            return self._error(400, "Error validating access token: Session has expired", 190)
        if kind == "rate_limit":
            return self._error(400, "(#17) User request limit reached", 17, is_transient=True)
        if kind == "transient":
            return self._error(500, "An unexpected error has occurred. Please retry your request later.", 2)
        return self._error(400, "(#100) Invalid parameter", 100, "GraphMethodException")

    @staticmethod
    def _error(status: int, message: str, code: int, kind: str = "OAuthException", **extra: Any) -> tuple:
        err = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEf123", **extra}
        return status, {"error": err}, {}

    def _usage(self) -> dict[str, str]:
        return {"X-App-Usage": json.dumps({"call_count": 3, "total_cputime": 1, "total_time": 2})}

    def _route(self, method: str, path: str, params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if params.get("access_token") != TOKEN:
            return self._error(400, "Invalid OAuth access token - Cannot parse access token", 190)
        proof = hmac.new(APP_SECRET.encode(), TOKEN.encode(), hashlib.sha256).hexdigest()
        if params.get("appsecret_proof") != proof:
            return self._error(400, "Invalid appsecret_proof provided in the API argument", 100, "GraphMethodException")
        if self._rate_limited > 0:
            self._rate_limited -= 1
            buc = [{"type": "ads_management", "call_count": 100, "total_cputime": 30, "total_time": 40}]
            if self._rate_minutes is not None:
                buc[0]["estimated_time_to_regain_access"] = self._rate_minutes
            status, body, _ = self._error(400, "(#17) User request limit reached", 17, is_transient=True)
            return status, body, {"X-Business-Use-Case-Usage": json.dumps({ACCOUNT: buc})}
        if "after" in params and self._fail_page_at is not None:
            self._pages_seen += 1
            if self._pages_seen >= self._fail_page_at:
                self._fail_page_times -= 1
                if self._fail_page_times <= 0:
                    self._fail_page_at = None
                return self._error(500, "An unknown error occurred", 1, is_transient=True)
        segs = path.split("/")[1:]
        if not segs or segs[0] != VERSION:
            return self._error(400, f"Unknown version {segs[:1]}", 2635)
        segs = segs[1:]
        node = segs[0] if segs else ""
        edge = segs[1] if len(segs) > 1 else None
        if node.startswith("act_"):
            if node != f"act_{ACCOUNT}":
                return self._unknown(node)
            return self._account(method, edge, params)
        if node in self.reports:
            return self._report(method, node, edge, params)
        obj = self.campaigns.get(node) or self.adsets.get(node) or self.ads.get(node)
        if obj is None or edge is not None:
            return self._unknown(node)
        if method == "GET":
            return 200, self._select(obj, params), self._usage()
        return self._update(node, obj, params)

    def _unknown(self, node: str) -> tuple:
        return self._error(
            400,
            f"Unsupported get request. Object with ID '{node}' does not exist, cannot be loaded due to missing "
            "permissions, or does not support this operation.",
            100,
            "GraphMethodException",
            error_subcode=33,
        )

    @staticmethod
    def _select(obj: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        fields = [f for f in params.get("fields", "").split(",") if f] or ["id", "name"]
        return {f: obj[f] for f in ["id", *fields] if f in obj}

    def _account(self, method: str, edge: str | None, params: dict[str, str]) -> tuple:
        if edge is None and method == "GET":
            acct = {"id": f"act_{ACCOUNT}", "account_id": ACCOUNT, "name": "Acme D2C", "currency": "USD"}
            return 200, self._select(acct, params), self._usage()
        lists = {"campaigns": self.campaigns, "adsets": self.adsets, "ads": self.ads}
        if method == "GET" and edge in lists:
            rows = [self._select(o, params) for o in lists[edge].values()]
            return self._page(f"act_{ACCOUNT}/{edge}", rows, params)
        if edge == "insights":
            level = params.get("level", "account")
            if level not in ("campaign", "adset", "ad"):
                return self._error(400, "(#100) level must be one of campaign, adset, ad here", 100)
            if params.get("time_increment") != "1":
                return self._error(400, "(#100) this fake only serves time_increment=1", 100)
            rng = json.loads(params["time_range"])
            rows = self.insight_rows(level, date.fromisoformat(rng["since"]), date.fromisoformat(rng["until"]))
            if method == "POST":
                rid = str(900000 + next(self._ids))
                self.reports[rid] = {"rows": rows, "polls": 0, "level": level}
                return 200, {"report_run_id": rid}, self._usage()
            return self._page(f"act_{ACCOUNT}/insights", rows, params)
        return self._error(400, f"(#100) Unsupported {method} on edge {edge}", 100)

    def _report(self, method: str, rid: str, edge: str | None, params: dict[str, str]) -> tuple:
        report = self.reports[rid]
        if edge == "insights" and method == "GET":
            if report["polls"] <= self.async_polls:
                return self._error(400, "(#100) report is not ready", 100)
            return self._page(f"{rid}/insights", report["rows"], params)
        if edge is None and method == "GET":
            report["polls"] += 1
            done = report["polls"] > self.async_polls
            body = {
                "id": rid,
                "report_run_id": rid,
                "account_id": ACCOUNT,
                "async_status": "Job Completed" if done else "Job Running",
                "async_percent_completion": 100 if done else 50,
            }
            return 200, body, self._usage()
        return self._unknown(f"{rid}/{edge}")

    def _page(self, where: str, rows: list[dict[str, Any]], params: dict[str, str]) -> tuple:
        start = int(params.get("after") or 0)
        size = min(int(params.get("limit") or self.page_size), self.page_size)
        chunk = rows[start : start + size]
        body: dict[str, Any] = {"data": chunk, "paging": {"cursors": {"before": str(start), "after": str(start)}}}
        if start + size < len(rows):
            body["paging"]["cursors"]["after"] = str(start + size)
            body["paging"]["next"] = f"{self.url}/{VERSION}/{where}?after={start + size}"
        return 200, body, self._usage()

    def _update(self, node: str, obj: dict[str, Any], params: dict[str, str]) -> tuple:
        if node in self.failing_objects:
            return self._error(400, f"(#100) the fake was told to refuse updates of {node}", 100)
        change = {k: params[k] for k in ("status", "daily_budget", "bid_amount") if k in params}
        if not change:
            return self._error(400, "(#100) nothing to update", 100)
        if "status" in change and change["status"] not in ("ACTIVE", "PAUSED", "ARCHIVED", "DELETED"):
            return self._error(400, "(#100) Param status must be one of {ACTIVE, PAUSED, DELETED, ARCHIVED}", 100)
        if "daily_budget" in change and node in self.adsets:
            campaign = self.campaigns[obj["campaign_id"]]
            if campaign.get("daily_budget"):
                return self._error(
                    400,
                    "Invalid parameter: the campaign uses campaign budget optimization",
                    100,
                    error_subcode=1885621,
                )
        if "bid_amount" in change and node not in self.adsets:
            return self._error(400, "(#100) bid_amount is an ad set field", 100)
        obj.update(change)
        self.updates.append((node, change))
        return 200, {"success": True}, self._usage()


class ContractHarness:
    """The contract suite's handle on this fake (tests/contract/__init__.py)."""

    platform = "meta"
    faults = ("auth", "rate_limit", "transient", "permanent")
    secrets = [TOKEN, APP_SECRET]

    def __init__(self, tmp_path, monkeypatch) -> None:
        self.fake = MetaGraphFake(page_size=50, async_polls=1)
        monkeypatch.setenv("META_APP_ID", APP_ID)
        monkeypatch.setenv("META_APP_SECRET", APP_SECRET)
        monkeypatch.setenv("META_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("META_AD_ACCOUNT_ID", f"act_{ACCOUNT}")

    def adapter(self, currency: str = "USD") -> Any:
        from platforms.adapter import Account
        from platforms.meta.adapter import MetaAdsAdapter

        return MetaAdsAdapter(
            Account("meta", f"act_{ACCOUNT}", currency=currency, endpoint=self.fake.url), poll_interval=0
        )

    def _key(self, level: str, entity_id: str) -> Any:
        from engine.core.execution import EntityKey

        return EntityKey("meta", f"act_{ACCOUNT}", level, entity_id)

    def entity(self, action_type: str, level: str) -> Any:
        if action_type == "enable":
            self.fake.ads["a5"]["status"] = "PAUSED"
            return self._key(level, {"campaign": "c3", "ad_group": "s3", "ad": "a5"}[level])
        if action_type in ("set_budget", "change_budget"):
            return self._key(level, {"campaign": "c1", "ad_group": "s2"}[level])
        return self._key(level, {"campaign": "c1", "ad_group": "s2", "ad": "a2"}[level])

    def negative(self, key: Any) -> dict[str, Any]:  # pragma: no cover - Meta has no negative keywords
        raise NotImplementedError

    def writes(self) -> int:
        return len(self.fake.updates)

    def fail_next(self, kind: str) -> None:
        self.fake.fail_next(kind)

    def fail_in_batch(self, key: Any) -> None:
        self.fake.fail_object(key.entity_id)

    def use_jpy(self) -> tuple[Any, str]:
        self.fake.adsets["s2"]["daily_budget"] = "5000"
        return self._key("ad_group", "s2"), "daily_budget"

    def wire(self, key: Any, attribute: str) -> Any:
        return int(self.fake.adsets[key.entity_id]["daily_budget"])

    def close(self) -> None:
        self.fake.close()
