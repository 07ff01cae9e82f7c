"""A local fake of the TikTok Business API v1.3 for testing platforms/tiktok/adapter.py over HTTP.

`TikTokFake()` serves one advertiser (`ADVERTISER`, token `TOKEN`) on 127.0.0.1 with the wire
facts of PLATFORM-FACTS section 2: paths under `/open_api/v1.3/` ending with a slash (else
HTTP 404), the `Access-Token` header, list and object GET parameters as JSON text (else
code 40002), and the envelope `{code, message, request_id, data}` on HTTP 200 for errors
too. Its data: four campaigns (daily, total, unlimited and campaign-optimized budgets), six
ad groups (custom and automatic bids; two still learning by TikTok's criterion, one past
it) and their ads, with a row per entity and day from `first_day` for `days` days (metric
values as strings, conversions in `conversion` and `complete_payment`). `ad_groups=N`
replaces them with N generated ad groups in campaigns of 20 (for benchmarks).

Endpoints: GET `advertiser/info`, `campaign/get`, `adgroup/get`, `ad/get` (filtering by
ids), `report/integrated/get` (BASIC, AUCTION_CAMPAIGN or AUCTION_ADGROUP by day, at most
30 days, `IN` filtering by ad group ids, paged); POST `{campaign,adgroup,ad}/status/update`
(at most 20 ids, all or nothing) and `{campaign,adgroup}/update` (a budget only on a daily
budget, a bid only on a custom one). Lists hold at most `page_cap` rows per page.

Faults: `fail_next(kind, n=1, endpoint=None)` (endpoint e.g. "report/integrated/get") with
kind `auth` (40105), `expired` (40102), `no_permission` (40001), `rate_limit` (40100),
`frequency` (40132), `transient` (50000), `timeout` (50002), `permanent` (40002), `http500`
(HTTP 500), `malformed` (a body that is not JSON), `short_page` (one row of the page
dropped); `fail_page(n, kind)` for the n-th report page; `fail_object(id)` (its updates are
refused with 40002); ids in `unconfirmed` are changed by a status update but left out of its
answer. `requests` records (method, endpoint, params or body) and `updates` the
changes made. The server scaffolding is tests/fakes/base.py.
"""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta
from typing import Any

from tests.fakes.base import HttpFakeServer

API = "/open_api/v1.3/"
ADVERTISER = "7000000000001"
TOKEN = "tt-access-token-5f1c9a7e3b2d4c60"
FIRST_DAY = date(2026, 1, 1)
DAYS = 31
MAX_REPORT_DAYS = 30

OK, PARAM_ERROR, NO_PERMISSION = 0, 40002, 40001
FAULT_CODES = {
    "auth": (40105, "Access token is invalid or has been revoked."),
    "expired": (40102, "Access token has expired."),
    "no_permission": (40001, "No permission to operate advertiser."),
    "rate_limit": (40100, "Requests made too frequently."),
    "frequency": (40132, "Request frequency limited."),
    "transient": (50000, "System error."),
    "timeout": (50002, "System timeout, please retry."),
    "permanent": (40002, "Invalid parameter."),
}
_JSON_PARAMS = ("advertiser_ids", "fields", "filtering", "dimensions", "metrics")
_LIST_PATHS = {"campaign/get": "campaign", "adgroup/get": "adgroup", "ad/get": "ad"}
_STATUSES = ("ENABLE", "DISABLE", "DELETE")


def _stamp(day: date, hour: int = 10) -> str:
    return f"{day.isoformat()} {hour:02d}:00:00"


class TikTokFake(HttpFakeServer):
    def __init__(
        self,
        *,
        first_day: date = FIRST_DAY,
        days: int = DAYS,
        page_cap: int = 1000,
        ad_groups: int | None = None,
        latency: float = 0.0,
    ) -> None:
        self.first_day, self.days, self.page_cap = first_day, days, page_cap
        self.last_day = first_day + timedelta(days=days - 1)
        self.currency = "USD"
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.adgroups: dict[str, dict[str, Any]] = {}
        self.ads: dict[str, dict[str, Any]] = {}
        self.conversions_per_day: dict[str, int] = {}  # ad group -> `conversion` per day (else a small pattern)
        if ad_groups is None:
            self._fixture()
        else:
            self._bulk(ad_groups)
        self.requests: list[tuple[str, str, Any]] = []
        self.paths: list[str] = []  # each request's path as sent
        self.updates: list[tuple[str, dict[str, Any]]] = []
        self.failing_objects: set[str] = set()
        self.unconfirmed: set[str] = set()  # ids a status update applies but leaves out of its answer
        self.page_faults: dict[int, str] = {}
        self._report_pages = 0
        self._ids = iter(range(10**6))
        self._reports: dict[tuple[str, date, date], list[tuple[str, date, dict[str, Any]]]] = {}
        self._reports_lock = threading.Lock()
        self._data_lock = threading.Lock()
        super().__init__(latency=latency)

    # -- data

    def _campaign(self, cid: str, name: str, status: str, mode: str, budget: float, **extra: Any) -> None:
        created = self.first_day - timedelta(days=60)
        self.campaigns[cid] = {
            "campaign_id": cid,
            "advertiser_id": ADVERTISER,
            "campaign_name": name,
            "operation_status": status,
            "secondary_status": "CAMPAIGN_STATUS_ENABLE" if status == "ENABLE" else "CAMPAIGN_STATUS_DISABLE",
            "budget": budget,
            "budget_mode": mode,
            "budget_optimize_on": False,
            "objective_type": "WEB_CONVERSIONS",
            "create_time": _stamp(created),
            "modify_time": _stamp(created),
            **extra,
        }

    def _adgroup(self, gid: str, cid: str, name: str, status: str, mode: str, budget: float, **extra: Any) -> None:
        created = self.first_day - timedelta(days=30)
        self.adgroups[gid] = {
            "adgroup_id": gid,
            "campaign_id": cid,
            "advertiser_id": ADVERTISER,
            "adgroup_name": name,
            "operation_status": status,
            "secondary_status": "ADGROUP_STATUS_DELIVERY_OK" if status == "ENABLE" else "ADGROUP_STATUS_DISABLE",
            "budget": budget,
            "budget_mode": mode,
            "bid_type": "BID_TYPE_NO_BID",
            "bid_price": 0,
            "conversion_bid_price": 0,
            "optimization_goal": "CONVERT",
            "create_time": _stamp(created),
            "modify_time": _stamp(created),
            **extra,
        }

    def _fixture(self) -> None:
        last = self.last_day
        self._campaign("1800000000001", "Prospecting-Broad", "ENABLE", "BUDGET_MODE_DAY", 500.0)
        self._campaign("1800000000002", "Retargeting-Launch", "ENABLE", "BUDGET_MODE_TOTAL", 3000.0)
        self._campaign("1800000000003", "Brand-Awareness", "DISABLE", "BUDGET_MODE_INFINITE", 0.0)
        self._campaign("1800000000004", "Conversions-CBO", "ENABLE", "BUDGET_MODE_DAY", 800.0, budget_optimize_on=True)
        custom = {"bid_type": "BID_TYPE_CUSTOM"}
        self._adgroup("1810000000001", "1800000000001", "Broad-18-34", "ENABLE", "BUDGET_MODE_DAY", 150.0, **custom)
        self.adgroups["1810000000001"]["bid_price"] = 2.5
        # launched three days before the end with few conversions: learning
        self._adgroup(
            "1810000000002",
            "1800000000001",
            "Broad-New",
            "ENABLE",
            "BUDGET_MODE_DAY",
            80.0,
            create_time=_stamp(last - timedelta(days=3)),
            modify_time=_stamp(last - timedelta(days=3)),
        )
        self._adgroup("1810000000003", "1800000000002", "Visitors-30d", "ENABLE", "BUDGET_MODE_TOTAL", 1000.0, **custom)
        self.adgroups["1810000000003"]["conversion_bid_price"] = 30.0
        self._adgroup("1810000000004", "1800000000003", "Brand-Video", "DISABLE", "BUDGET_MODE_DAY", 40.0)
        # launched five days before the end and 12 conversions a day: past 50, out of learning
        self._adgroup(
            "1810000000005",
            "1800000000004",
            "CBO-Interest",
            "ENABLE",
            "BUDGET_MODE_INFINITE",
            0.0,
            create_time=_stamp(last - timedelta(days=5)),
            modify_time=_stamp(last - timedelta(days=5)),
        )
        self.conversions_per_day["1810000000005"] = 12
        # old, but edited two days before the end: learning again
        self._adgroup(
            "1810000000006",
            "1800000000001",
            "Broad-Edited",
            "ENABLE",
            "BUDGET_MODE_DAY",
            60.0,
            modify_time=_stamp(last - timedelta(days=2), 15),
        )
        for n, gid in enumerate(self.adgroups, start=1):
            for k in (1, 2):
                aid = f"182000000{n:02d}{k:02d}"
                self.ads[aid] = {
                    "ad_id": aid,
                    "adgroup_id": gid,
                    "campaign_id": self.adgroups[gid]["campaign_id"],
                    "advertiser_id": ADVERTISER,
                    "ad_name": f"Video-{n}-{k}",
                    "operation_status": "ENABLE",
                    "secondary_status": "AD_STATUS_DELIVERY_OK",
                }

    def _bulk(self, n: int) -> None:
        for c in range((n + 19) // 20):
            self._campaign(f"18{c:011d}", f"Bulk-Campaign-{c}", "ENABLE", "BUDGET_MODE_DAY", 1000.0)
        for g in range(n):
            gid, cid = f"19{g:011d}", f"18{g // 20:011d}"
            self._adgroup(gid, cid, f"Bulk-Group-{g}", "ENABLE", "BUDGET_MODE_DAY", 50.0 + g % 50)

    def created(self, record: dict[str, Any]) -> date:
        """When the entity was created (long ago when its record says something unreadable)."""
        try:
            return datetime.strptime(record["create_time"], "%Y-%m-%d %H:%M:%S").date()
        except (TypeError, ValueError):
            return date.min

    def daily(self, gid: str, day: date) -> dict[str, float]:
        """An ad group's numbers of one day (zero before it was created)."""
        if day < self.created(self.adgroups[gid]):
            return {}
        return self._numbers(gid, day)

    def _numbers(self, gid: str, day: date) -> dict[str, float]:
        n, k = int(gid[-4:]), (day - self.first_day).days
        conversions = self.conversions_per_day.get(gid, (n + k) % 3)
        spend = 10.0 * (n % 50 + 1) + 0.5 * k
        return {
            "spend": round(spend, 2),
            "impressions": 1000 * (n % 50 + 1) + 10 * k,
            "clicks": 20 * (n % 50 + 1) + k,
            "conversion": conversions,
            "complete_payment": conversions,
            "total_complete_payment_rate": round(conversions * 45.5, 2),
            "video_play_actions": 300 + k,
        }

    def report_rows(self, level: str, start: date, end: date) -> list[tuple[str, date, dict[str, Any]]]:
        """(entity id, day, numbers) of a report, computed once per level and range."""
        with self._reports_lock:
            if (level, start, end) not in self._reports:
                self._reports[(level, start, end)] = self._compute(level, start, end)
            return self._reports[(level, start, end)]

    def _compute(self, level: str, start: date, end: date) -> list[tuple[str, date, dict[str, Any]]]:
        rows = []
        born = {gid: self.created(group) for gid, group in self.adgroups.items()}
        day = start
        while day <= end:
            if self.first_day <= day <= self.last_day:
                totals: dict[str, dict[str, float]] = {}
                for gid, group in self.adgroups.items():
                    owner = gid if level == "AUCTION_ADGROUP" else group["campaign_id"]
                    numbers = self._numbers(gid, day) if day >= born[gid] else {}
                    if numbers:
                        bucket = totals.setdefault(owner, {})
                        for name, value in numbers.items():
                            bucket[name] = bucket.get(name, 0) + value
                rows += [(owner, day, bucket) for owner, bucket in totals.items()]
            day += timedelta(days=1)
        return rows

    # -- faults

    def fail_next(self, kind: str, n: int = 1, endpoint: str | None = None) -> None:
        """The next `n` calls (of `endpoint`, e.g. "report/integrated/get", or any) answer with the fault `kind`."""
        super().fail_next(kind, n, endpoint)

    def fail_object(self, object_id: str) -> None:
        self.failing_objects.add(object_id)

    def fail_page(self, page: int, kind: str = "http500") -> None:
        """The next request for report page `page` answers with the fault `kind`."""
        self.page_faults[page] = kind

    # -- HTTP

    def respond(self, method, path, params, headers) -> tuple[int, bytes, dict[str, str]]:
        raw = self.current.path
        endpoint = path.removeprefix(API.rstrip("/")).strip("/")
        body = self.json_body() if method == "POST" else None
        with self.lock:
            self.requests.append((method, endpoint, body if method == "POST" else dict(params)))
            self.paths.append(raw)
            fault = self.record(endpoint, raw)
            if fault is None and endpoint == "report/integrated/get" and str(params.get("page", "1")).isdigit():
                fault = self.page_faults.pop(int(params.get("page", "1")), None)
        if not raw.startswith(API) or not raw.endswith("/"):
            return 404, b"404 page not found", {"Content-Type": "text/plain"}
        if fault == "http500":
            return 500, b"<html>Internal Server Error</html>", {"Content-Type": "text/html"}
        if fault == "malformed":
            return 200, b'{"code": 0, "message": "OK", "data": {"list": [', {"Content-Type": "application/json"}
        if fault in FAULT_CODES:
            return self._envelope(*FAULT_CODES[fault])
        token = headers.get("Access-Token")
        if not token:
            return self._envelope(40104, "Access token is empty.")
        if token != TOKEN:
            return self._envelope(40105, "Access token is invalid or has been revoked.")
        try:
            if method == "GET":
                decoded = self._decode(params)
                code, message, data = self._get(endpoint, decoded, short=fault == "short_page")
            else:
                code, message, data = self._post(endpoint, body if isinstance(body, dict) else {})
        except _Refused as refused:
            code, message, data = refused.code, refused.message, None
        return self._envelope(code, message, data)

    def _envelope(self, code: int, message: str, data: Any = None) -> tuple[int, bytes, dict[str, str]]:
        envelope = {"code": code, "message": message, "request_id": f"2026{next(self._ids):010d}", "data": data or {}}
        return 200, json.dumps(envelope).encode(), {"Content-Type": "application/json"}

    @staticmethod
    def _decode(params: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = dict(params)
        for name in _JSON_PARAMS:
            if name in params:
                try:
                    out[name] = json.loads(params[name])
                except ValueError:
                    raise _Refused(PARAM_ERROR, f"{name}: must be JSON, got {params[name][:30]!r}") from None
        return out

    def _advertiser(self, value: Any) -> None:
        if str(value) != ADVERTISER:
            raise _Refused(NO_PERMISSION, f"No permission to operate advertiser {value}.")

    def _get(self, endpoint: str, p: dict[str, Any], *, short: bool) -> tuple[int, str, Any]:
        if endpoint == "advertiser/info":
            ids = p.get("advertiser_ids")
            if not isinstance(ids, list):
                raise _Refused(PARAM_ERROR, "advertiser_ids: a JSON array is required")
            for advertiser in ids:
                self._advertiser(advertiser)
            info = {"advertiser_id": ADVERTISER, "name": "Acme TikTok", "currency": self.currency, "timezone": "UTC"}
            return OK, "OK", {"list": [info]}
        self._advertiser(p.get("advertiser_id"))
        if endpoint in _LIST_PATHS:
            kind = _LIST_PATHS[endpoint]
            store = {"campaign": self.campaigns, "adgroup": self.adgroups, "ad": self.ads}[kind]
            filtering = p.get("filtering") or {}
            if not isinstance(filtering, dict):
                raise _Refused(PARAM_ERROR, "filtering: a JSON object is required")
            wanted = filtering.get(f"{kind}_ids")
            with self._data_lock:
                rows = [dict(r) for i, r in store.items() if wanted is None or i in {str(w) for w in wanted}]
            fields = p.get("fields")
            if fields is not None:
                if not isinstance(fields, list):
                    raise _Refused(PARAM_ERROR, "fields: a JSON array is required")
                rows = [{f: r[f] for f in fields if f in r} for r in rows]
            return OK, "OK", self._page(rows, p, short=False)
        if endpoint == "report/integrated/get":
            return OK, "OK", self._report(p, short=short)
        raise _Refused(40400, f"Route {endpoint} not found.")

    def _report(self, p: dict[str, Any], *, short: bool) -> dict[str, Any]:
        if p.get("report_type") != "BASIC":
            raise _Refused(PARAM_ERROR, "report_type: this fake serves BASIC reports")
        level = p.get("data_level")
        id_field = {"AUCTION_ADGROUP": "adgroup_id", "AUCTION_CAMPAIGN": "campaign_id"}.get(level)
        if id_field is None:
            raise _Refused(PARAM_ERROR, f"data_level {level}: this fake serves AUCTION_ADGROUP and AUCTION_CAMPAIGN")
        if p.get("dimensions") != [id_field, "stat_time_day"]:
            raise _Refused(PARAM_ERROR, f"data_level {level} and dimensions {p.get('dimensions')} do not match")
        metrics = p.get("metrics")
        if not isinstance(metrics, list) or not metrics:
            raise _Refused(PARAM_ERROR, "metrics: a JSON array is required")
        try:
            start, end = date.fromisoformat(p["start_date"]), date.fromisoformat(p["end_date"])
        except (KeyError, ValueError):
            raise _Refused(PARAM_ERROR, "start_date and end_date: YYYY-MM-DD") from None
        if end < start or (end - start).days >= MAX_REPORT_DAYS:
            raise _Refused(PARAM_ERROR, "The time range can not exceed 30 days when stat_time_day is a dimension.")
        rows = self.report_rows(level, start, end)
        for rule in p.get("filtering") or []:
            if rule.get("field_name") != "adgroup_ids" or rule.get("filter_type") != "IN":
                raise _Refused(PARAM_ERROR, f"filtering: unsupported {rule}")
            value = rule.get("filter_value")
            ids = set(json.loads(value) if isinstance(value, str) else value)
            rows = [r for r in rows if r[0] in ids]

        def render(row: tuple[str, date, dict[str, Any]]) -> dict[str, Any]:
            owner, day, numbers = row
            return {
                "dimensions": {id_field: owner, "stat_time_day": _stamp(day, 0)},
                "metrics": {m: _text(numbers.get(m, 0)) for m in metrics},
            }

        return self._page(rows, p, short=short, render=render)

    def _page(self, rows: list[Any], p: dict[str, Any], *, short: bool, render: Any = dict) -> dict[str, Any]:
        try:
            page, size = int(p.get("page") or 1), int(p.get("page_size") or 10)
        except ValueError:
            raise _Refused(PARAM_ERROR, "page and page_size must be integers") from None
        if page < 1 or not 1 <= size <= 1000:
            raise _Refused(PARAM_ERROR, "page_size: between 1 and 1000")
        size = min(size, self.page_cap)
        chunk = rows[(page - 1) * size : page * size]
        if short and chunk:
            chunk = chunk[:-1]
        info = {"page": page, "page_size": size, "total_number": len(rows), "total_page": -(-len(rows) // size)}
        return {"list": [render(r) for r in chunk], "page_info": info}

    # -- writes

    def _post(self, endpoint: str, body: dict[str, Any]) -> tuple[int, str, Any]:
        self._advertiser(body.get("advertiser_id"))
        kind, _, action = endpoint.partition("/")
        store = {"campaign": self.campaigns, "adgroup": self.adgroups, "ad": self.ads}.get(kind)
        if store is None or action not in ("status/update", "update") or (kind == "ad" and action == "update"):
            raise _Refused(40400, f"Route {endpoint} not found.")
        with self._data_lock:
            if action == "status/update":
                return self._status(kind, store, body)
            return self._update(kind, store, body)

    def _status(self, kind: str, store: dict[str, dict[str, Any]], body: dict[str, Any]) -> tuple[int, str, Any]:
        ids, status = body.get(f"{kind}_ids"), body.get("operation_status")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 20:
            raise _Refused(PARAM_ERROR, f"{kind}_ids: between 1 and 20 ids")
        if status not in _STATUSES:
            raise _Refused(PARAM_ERROR, f"operation_status: one of {', '.join(_STATUSES)}")
        for oid in ids:
            if str(oid) not in store:
                raise _Refused(PARAM_ERROR, f"{kind} {oid} does not exist.")
            if str(oid) in self.failing_objects:
                raise _Refused(PARAM_ERROR, f"{kind} {oid} cannot be updated now.")
        for oid in ids:
            self._change(kind, store[str(oid)], {"operation_status": status})
        return OK, "OK", {f"{kind}_ids": [str(i) for i in ids if str(i) not in self.unconfirmed]}

    def _update(self, kind: str, store: dict[str, dict[str, Any]], body: dict[str, Any]) -> tuple[int, str, Any]:
        oid = str(body.get(f"{kind}_id"))
        record = store.get(oid)
        if record is None:
            raise _Refused(PARAM_ERROR, f"{kind} {oid} does not exist.")
        if oid in self.failing_objects:
            raise _Refused(PARAM_ERROR, f"{kind} {oid} cannot be updated now.")
        change = {k: body[k] for k in ("budget", "bid_price", "conversion_bid_price") if k in body}
        if not change:
            raise _Refused(PARAM_ERROR, "nothing to update")
        for name, value in change.items():
            if not isinstance(value, int | float) or value <= 0:
                raise _Refused(PARAM_ERROR, f"{name}: a positive number is required")
        if "budget" in change and record.get("budget_mode") != "BUDGET_MODE_DAY":
            raise _Refused(PARAM_ERROR, f"The budget of a {record.get('budget_mode')} {kind} cannot be changed.")
        if {"bid_price", "conversion_bid_price"} & set(change) and record.get("bid_type") != "BID_TYPE_CUSTOM":
            raise _Refused(PARAM_ERROR, "A bid can only be set with bid_type BID_TYPE_CUSTOM.")
        self._change(kind, record, change)
        return OK, "OK", {f"{kind}_id": oid}

    def _change(self, kind: str, record: dict[str, Any], change: dict[str, Any]) -> None:
        record.update(change)
        record["modify_time"] = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        self.updates.append((record[f"{kind}_id"], change))


class _Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _text(value: Any) -> str:
    """TikTok's report values are strings: "12.34", "1000"."""
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


class ContractHarness:
    """The contract suite's handle on this fake (tests/contract/__init__.py)."""

    platform = "tiktok"
    faults = ("auth", "rate_limit", "transient", "permanent")
    secrets = [TOKEN]
    ATTEMPTS = 3  # attempts per call of this harness's adapters (a short retry policy)

    def __init__(self, tmp_path, monkeypatch) -> None:
        self.fake = TikTokFake(page_cap=3)
        monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("TIKTOK_ADVERTISER_ID", ADVERTISER)

    def adapter(self, currency: str = "USD") -> Any:
        from platforms.adapter import Account
        from platforms.tiktok.adapter import TikTokAdsAdapter

        self.fake.currency = currency
        account = Account("tiktok", ADVERTISER, currency=currency, endpoint=self.fake.url)
        return TikTokAdsAdapter(account, sleep=lambda _: None, max_attempts=self.ATTEMPTS, max_qps=1e6)

    def _key(self, level: str, entity_id: str) -> Any:
        from engine.core.execution import EntityKey

        return EntityKey("tiktok", ADVERTISER, level, entity_id)

    def entity(self, action_type: str, level: str) -> Any:
        if action_type == "enable":
            self.fake.ads["1820000000401"]["operation_status"] = "DISABLE"
            return self._key(
                level, {"campaign": "1800000000003", "ad_group": "1810000000004", "ad": "1820000000401"}[level]
            )
        return self._key(
            level, {"campaign": "1800000000001", "ad_group": "1810000000001", "ad": "1820000000101"}[level]
        )

    def negative(self, key: Any) -> dict[str, Any]:  # pragma: no cover - TikTok has no negative keywords
        raise NotImplementedError

    def writes(self) -> int:
        return len(self.fake.updates)

    def fail_next(self, kind: str) -> None:
        # the suite pauses a campaign and queues one failure per attempt of the retry policy: fail the write
        self.fake.fail_next(kind, n=1, endpoint="campaign/status/update")

    def fail_in_batch(self, key: Any) -> None:
        self.fake.fail_object(key.entity_id)

    def use_jpy(self) -> tuple[Any, str]:
        self.fake.adgroups["1810000000001"]["budget"] = 5000
        return self._key("ad_group", "1810000000001"), "daily_budget"

    def wire(self, key: Any, attribute: str) -> Any:
        return self.fake.adgroups[key.entity_id]["budget"]

    def close(self) -> None:
        self.fake.close()
