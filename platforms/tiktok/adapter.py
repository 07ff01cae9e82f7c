"""TikTok Ads live adapter: one advertiser through the TikTok Business API v1.3 (httpx).

Transport (platforms/http.py): every path ends with a slash, the token travels in the
`Access-Token` header, list and object parameters of a GET go as JSON text in the query,
POST bodies are JSON. Every answer is the envelope `{code, message, request_id, data}`,
errors included, usually with HTTP 200: `envelope_error` turns a non-zero `code` into the
typed error, so the shared client's per-call retries decide on it like on a status code.
Requests are paced to the app's rate limit (`RULERUN_TIKTOK_MAX_QPS`, default 10: the Basic
tier), shared by every account the process reads.

Reads (`fetch`): campaigns and ad groups (`/campaign/get/`, `/adgroup/get/`), then the
integrated report (`BASIC`, levels `AUCTION_CAMPAIGN` and `AUCTION_ADGROUP`, one row per
entity and day) in windows of at most 30 days; every list is paged to `total_page`, pages
after the first read in parallel. Metric values arrive as strings and are parsed; the
fields read are the ones platforms/tiktok/catalog.yaml maps. A report whose rows do not add
up to its `total_number` is refused rather than stored in part.

Learning phase: the API reports no learning status, so it is derived by TikTok's exit
criterion (`learning_phase`): an ad group learns until it has about 50 conversions (the
report's `conversion`, its optimization event) within the 7 days after its creation or its
last edit (`modify_time`: any edit, which errs on the safe side). An ad group whose dates or
conversions cannot be read counts as learning, and so does a campaign with an ad group
learning (pausing or re-budgeting it would disturb that ad group).

Writes (the template, platforms/template.py, calls `write_batch`): status of campaigns, ad
groups and ads (`/<level>/status/update/`, `ENABLE`/`DISABLE`, up to 20 ids per call, all
or nothing: when one id is refused each change is retried alone, so each is settled on its
own); daily budgets of campaigns and ad groups whose `budget_mode` is `BUDGET_MODE_DAY`
(`/campaign/update/`, `/adgroup/update/`: a total or unlimited budget is not a daily one and
is refused with that reason); bids of ad groups with `bid_type` `BID_TYPE_CUSTOM`
(`bid_price`, or `conversion_bid_price` for a cost cap on conversions). An id the platform
does not echo back in a status update is not counted as changed.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import orjson

from engine.core.catalog import Catalog
from engine.core.execution import (
    ActionRequest,
    AdapterError,
    AuthError,
    EntityKey,
    ExecResult,
    PermanentError,
    RateLimited,
    TransientError,
)
from engine.core.status import EntityStatus
from platforms.adapter import Account, Fetched
from platforms.ratelimit import CallWindow, shared
from platforms.template import Change, LiveAdapter, Written

API = "/open_api/v1.3"
HOST = "https://business-api.tiktok.com"
TOKEN_VARIABLE = "TIKTOK_ACCESS_TOKEN"
PAGE_SIZE = 1000  # the most a list or report page holds
MAX_PAGES = 10_000  # a paged read longer than this is refused, not followed
REPORT_DAYS = 30  # days per report call with `stat_time_day` (PLATFORM-FACTS 2.2: UNVERIFIED, 3P)
STATUS_BATCH = 20  # ids per status update (maxItems in the SDK's status-update descriptions)
FILTER_IDS = 100  # ids per `IN` filter of a report
DEFAULT_MAX_QPS = 10.0  # TikTok's Basic tier: 10 requests per second, 600 per minute, per app
LEARNING_CONVERSIONS = 50  # TikTok's exit criterion: about 50 conversions ...
LEARNING_DAYS = 7  # ... within 7 days of the creation or the last significant edit

# Envelope codes (SDK `tiktok_business/tiktok_code.py`, NumericErrorCodes)
OK_CODES = frozenset({0})
RATE_LIMIT_CODES = frozenset({40100, 40132})
EXPIRED_TOKEN_CODES = frozenset({40102})
BAD_TOKEN_CODES = frozenset({40104, 40105, 40106})
NO_PERMISSION_CODES = frozenset({40001})
UNKNOWN_ADVERTISER_CODES = frozenset({40300, 40302})
RETRY_CODES = frozenset({40201, 40202})  # report task not ready, write conflict

_LEVEL_PATH = {"campaign": "campaign", "ad_group": "adgroup", "ad": "ad"}
_ID_FIELD = {"campaign": "campaign_id", "ad_group": "adgroup_id", "ad": "ad_id"}
_DATA_LEVEL = {"campaign": "AUCTION_CAMPAIGN", "ad_group": "AUCTION_ADGROUP"}
_BUDGET_MODE = {"BUDGET_MODE_DAY": "daily", "BUDGET_MODE_TOTAL": "lifetime", "BUDGET_MODE_INFINITE": "unlimited"}
_CUSTOM_BID = "BID_TYPE_CUSTOM"
_BID_FIELDS = ("bid_price", "conversion_bid_price")  # the first one set is the ad group's bid
_CAMPAIGN_FIELDS = [
    "campaign_id",
    "campaign_name",
    "operation_status",
    "secondary_status",
    "budget",
    "budget_mode",
    "budget_optimize_on",
    "create_time",
    "modify_time",
]
_ADGROUP_FIELDS = [
    "adgroup_id",
    "campaign_id",
    "adgroup_name",
    "operation_status",
    "secondary_status",
    "budget",
    "budget_mode",
    "bid_type",
    *_BID_FIELDS,
    "create_time",
    "modify_time",
]
_AD_FIELDS = ["ad_id", "adgroup_id", "campaign_id", "ad_name", "operation_status", "secondary_status"]
_LEARNING_METRIC = "conversion"


def _pacer(rate: float) -> CallWindow:
    """The process-wide window for `rate` requests per second (TikTok limits the app, not one account)."""
    limit = max(1, round(rate))
    return shared(("tiktok", rate), limit, limit / rate)


def envelope_error(response: Any) -> AdapterError | None:
    """The typed error a response's envelope stands for; None when its `code` is 0 (or absent)."""
    try:
        body = orjson.loads(response.content)  # a report page is large: the fast parser
    except orjson.JSONDecodeError:
        return None  # HttpClient.json names a body that is not JSON
    if not isinstance(body, dict):
        return None
    code = body.get("code")
    if code is None or code in OK_CODES:
        return None
    try:
        code = int(code)
    except (TypeError, ValueError):
        return PermanentError(f"malformed response: code {code!r}")
    text = str(body.get("message") or "no message")
    details = {"code": code, "message": text, "request_id": body.get("request_id")}
    said = f"{text} (code {code})"
    if code in RATE_LIMIT_CODES:
        return RateLimited(f"rate limited: {said}", details=details)
    if code in EXPIRED_TOKEN_CODES:
        return AuthError(
            f"the access token has expired: {said}; authorize the app again and set {TOKEN_VARIABLE} "
            "to the new long-term token",
            details=details,
        )
    if code in BAD_TOKEN_CODES:
        return AuthError(
            f"the access token is missing, invalid or revoked: {said}; set {TOKEN_VARIABLE} to a valid long-term token",
            details=details,
        )
    if code in NO_PERMISSION_CODES:
        return AuthError(
            f"no permission: {said}; check the advertiser id in rulerun.yaml and that {TOKEN_VARIABLE} "
            "was authorized for it",
            details=details,
        )
    if code in UNKNOWN_ADVERTISER_CODES:
        return PermanentError(f"unknown advertiser: {said}; check the advertiser id in rulerun.yaml", details=details)
    if code >= 50000 or code in RETRY_CODES:
        return TransientError(f"{said}", details=details)
    return PermanentError(said, details=details)


def _number(value: Any, what: str) -> float | None:
    """A report value (a numeric string) as a float; None when TikTok leaves it empty."""
    if value is None or value in ("", "-", "--"):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise PermanentError(f"malformed report: {what} is {str(value)[:40]!r}, not a number") from None


def _moment(value: Any) -> datetime | None:
    """A `create_time`/`modify_time`: "YYYY-MM-DD HH:MM:SS", ISO 8601 or epoch seconds; None when unreadable."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        try:
            return datetime.fromtimestamp(int(value), UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return None


def _windows(date_from: date, date_to: date) -> list[tuple[date, date]]:
    out, start = [], date_from
    while start <= date_to:
        end = min(date_to, start + timedelta(days=REPORT_DAYS - 1))
        out.append((start, end))
        start = end + timedelta(days=1)
    return out


@dataclass(frozen=True)
class _Query:
    """One paged GET: its path, its parameters (lists and objects as Python values) and what it reads."""

    path: str
    params: dict[str, Any]
    what: str
    level: str = ""
    exact: bool = False  # a report: its rows must add up to its `page_info.total_number`


def _all(pool: ThreadPoolExecutor, jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run the jobs in the pool; their results in order. The first failure cancels the jobs not started."""
    futures = [pool.submit(job) for job in jobs]
    try:
        return [f.result() for f in futures]
    except BaseException:
        for f in futures:
            f.cancel()
        raise


class TikTokAdsAdapter(LiveAdapter):
    """TikTok Ads: one advertiser over the Business API v1.3; see the module docstring."""

    max_batch = STATUS_BATCH  # changes the executor hands over at once

    def __init__(
        self,
        account: Account,
        catalog: Catalog | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
        max_attempts: int | None = None,
        page_workers: int = 5,
        max_qps: float | None = None,
    ) -> None:
        super().__init__(account, catalog)
        if sleep is not None:
            self.sleep = sleep
        if max_attempts is not None:
            self.retry_policy = replace(self.retry_policy, max_attempts=max_attempts)
        self.page_workers = max(1, page_workers)
        self.max_qps = max_qps or float(os.environ.get("RULERUN_TIKTOK_MAX_QPS") or DEFAULT_MAX_QPS)
        self._client: Any = None
        self._records: dict[EntityKey, dict[str, Any]] = {}  # the raw entity each `state` read last
        self._fresh: set[EntityKey] = set()  # records read at the start of the running batch, not used yet

    # -- plumbing

    def http(self) -> Any:
        if self._client is None:
            self.check_credentials()
            self._client = self.http_client(
                (self.account.endpoint or HOST).rstrip("/"),
                headers={"Access-Token": os.environ[TOKEN_VARIABLE]},
                error_from=envelope_error,
                pacer=_pacer(self.max_qps),
            )
        return self._client

    @contextmanager
    def _doing(self, what: str) -> Iterator[None]:
        """The template's `calling`, also naming `what` in the typed errors raised inside (HTTP's, the envelope's)."""
        try:
            with self.calling(what):
                yield
        except AdapterError as exc:
            if not exc.message.startswith(what):
                exc.message = f"{what}: {exc.message}"
                exc.args = (exc.message,)
            raise

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """GET an endpoint; its `data`. Lists and objects go as JSON text, as the API reads them."""
        query = {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in params.items()}
        return self._data(self.http().json("GET", f"{API}{path}", params=query), path)

    def _post(self, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """POST a JSON body; its `data` (empty when none) and the request id."""
        envelope = self.http().json("POST", f"{API}{path}", json=body)
        data = self._data(envelope, path, required=False)
        return data, envelope.get("request_id")

    def _data(self, envelope: Any, path: str, *, required: bool = True) -> dict[str, Any]:
        if not isinstance(envelope, dict):
            raise self.error(PermanentError, f"{path}: malformed response: not a TikTok envelope")
        data = envelope.get("data")
        if data is None and not required:
            return {}
        if not isinstance(data, dict):
            raise self.error(PermanentError, f"{path}: malformed response: no `data` object")
        return data

    def _page(self, query: _Query, page: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        with self._doing(query.what + (f" (page {page})" if page > 1 else "")):
            data = self._get(query.path, {**query.params, "page": page, "page_size": PAGE_SIZE})
            rows, info = data.get("list"), data.get("page_info")
            if not isinstance(rows, list) or not isinstance(info, dict):
                raise PermanentError("malformed response: no `list` and `page_info`")
            if not all(isinstance(r, dict) for r in rows):
                raise PermanentError("malformed response: a `list` item is not an object")
        return rows, info

    def _page_rows(self, query: _Query, page: int) -> list[dict[str, Any]]:
        return self._page(query, page)[0]

    def _paged(self, queries: list[_Query]) -> list[list[dict[str, Any]]]:
        """Every page of every query (first pages, then the rest, in parallel); rows per query.

        The rows of an `exact` query must add up to its `page_info.total_number`, or the read is refused.
        """
        if not queries:
            return []
        with ThreadPoolExecutor(max_workers=self.page_workers) as pool:
            firsts = _all(pool, [partial(self._page, q, 1) for q in queries])
            rest: list[tuple[int, int]] = []
            for i, (_, info) in enumerate(firsts):
                total = info.get("total_page") or 1
                if not isinstance(total, int) or total < 1 or total > MAX_PAGES:
                    raise self.error(PermanentError, f"{queries[i].what}: malformed page_info {info!r}")
                rest += [(i, page) for page in range(2, total + 1)]
            later = _all(pool, [partial(self._page_rows, queries[i], page) for i, page in rest])
        rows = [list(first[0]) for first in firsts]
        for (i, _), page_rows in zip(rest, later, strict=True):
            rows[i].extend(page_rows)
        for query, (_, info), got in zip(queries, firsts, rows, strict=True):
            expected = info.get("total_number")
            if query.exact and isinstance(expected, int) and expected != len(got):
                raise self.error(
                    TransientError,
                    f"{query.what}: incomplete report: {len(got)} of {expected} rows came back; nothing was stored",
                )
        return rows

    # -- reads

    def probe(self) -> str:
        with self._doing(f"reading advertiser {self.account.account_id}"):
            data = self._get(
                "/advertiser/info/",
                {"advertiser_ids": [self.account.account_id], "fields": ["advertiser_id", "name", "currency"]},
            )
        found = [a for a in data.get("list") or [] if str(a.get("advertiser_id")) == self.account.account_id]
        if not found:
            raise self.error(PermanentError, "unknown advertiser: check the advertiser id in rulerun.yaml")
        currency = found[0].get("currency")
        if currency and str(currency).upper() != self.account.currency.upper():
            raise self.error(
                PermanentError,
                f"the advertiser's currency is {currency}, rulerun.yaml says {self.account.currency}: "
                f"set `currency: {currency}` on the account",
            )
        return str(found[0].get("name") or self.account.account_id)

    def read(self, date_from: date, date_to: date) -> Fetched:
        http = self.http()
        sent = http.sent
        advertiser = {"advertiser_id": self.account.account_id}
        fields = sorted({*self.catalog.field_mapping.get(self.platform, {}), _LEARNING_METRIC})
        queries = [
            self._report(level, start, end, fields)
            for level in _DATA_LEVEL
            for start, end in _windows(date_from, date_to)
        ]
        campaigns, groups, *reports = self._paged(
            [
                _Query("/campaign/get/", {**advertiser, "fields": _CAMPAIGN_FIELDS}, "listing campaigns"),
                _Query("/adgroup/get/", {**advertiser, "fields": _ADGROUP_FIELDS}, "listing ad groups"),
                *queries,
            ]
        )
        metrics: list[dict[str, Any]] = []
        learned: dict[str, dict[date, float]] = defaultdict(dict)  # ad group -> day -> conversions
        for query, rows in zip(queries, reports, strict=True):
            level = query.level
            for entity_id, day, values in self._report_rows(query, rows):
                if level == "ad_group" and values.get(_LEARNING_METRIC) is not None:
                    learned[entity_id][day] = values[_LEARNING_METRIC]
                metrics.append(
                    {
                        "date": day,
                        "platform": self.platform,
                        "account_id": self.account.account_id,
                        "level": level,
                        "entity_id": entity_id,
                        **self.metrics(values),
                    }
                )
        entities = self._entities(campaigns, groups, learned, date_from, date_to)
        return Fetched(entities=entities, metrics=metrics, api_calls=http.sent - sent)

    def _report(self, level: str, start: date, end: date, fields: list[str], ids: list[str] | None = None) -> _Query:
        params: dict[str, Any] = {
            "advertiser_id": self.account.account_id,
            "report_type": "BASIC",
            "service_type": "AUCTION",
            "data_level": _DATA_LEVEL[level],
            "dimensions": [_ID_FIELD[level], "stat_time_day"],
            "metrics": fields,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
        }
        if ids:
            params["filtering"] = [
                {"field_name": "adgroup_ids", "filter_type": "IN", "filter_value": json.dumps(ids)},
            ]
        what = f"reading the {_DATA_LEVEL[level]} report {start}..{end}"
        return _Query("/report/integrated/get/", params, what, level, exact=True)

    def _report_rows(self, query: _Query, rows: list[dict[str, Any]]) -> list[tuple[str, date, dict[str, Any]]]:
        """A report's rows as (entity id, day, numbers); a malformed row refuses the whole read."""
        id_field, days, out = _ID_FIELD[query.level], {}, []
        with self._doing(query.what):
            for row in rows:
                dims, values = row.get("dimensions"), row.get("metrics")
                if not isinstance(dims, dict) or not isinstance(values, dict):
                    raise PermanentError("malformed report row: no `dimensions` and `metrics`")
                entity_id, stamp = dims.get(id_field), str(dims.get("stat_time_day") or "")
                if entity_id in (None, ""):
                    raise PermanentError(f"malformed report row: no {id_field}")
                if stamp not in days:
                    try:
                        days[stamp] = date.fromisoformat(stamp[:10])
                    except ValueError:
                        raise PermanentError(f"malformed report row: stat_time_day {stamp[:40]!r}") from None
                numbers = {name: _number(value, name) for name, value in values.items()}
                out.append((str(entity_id), days[stamp], numbers))
        return out

    def _entities(
        self,
        campaigns: list[dict[str, Any]],
        groups: list[dict[str, Any]],
        learned: dict[str, dict[date, float]],
        date_from: date,
        date_to: date,
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        by_campaign: dict[str, dict[str, Any]] = {}
        learning = self._learning(groups, learned, date_from, date_to)
        # Learning is an ad group's, but pausing or re-budgeting its campaign disturbs it too
        learning_campaigns = {str(g.get("campaign_id")) for g in groups if learning[str(g.get("adgroup_id"))]}
        for c in campaigns:
            row = self._entity("campaign", c, name=c.get("campaign_name"), parent_id=None)
            row["is_brand"] = "brand" in str(c.get("campaign_name") or "").lower()
            row["learning_phase"] = row["entity_id"] in learning_campaigns
            by_campaign[row["entity_id"]] = {**c, **row}
            out.append(row)
        for g in groups:
            parent = by_campaign.get(str(g.get("campaign_id")), {})
            row = self._entity("ad_group", g, name=g.get("adgroup_name"), parent_id=g.get("campaign_id"), parent=parent)
            row["is_brand"] = bool(parent.get("is_brand")) or "brand" in str(g.get("adgroup_name") or "").lower()
            row["learning_phase"] = learning[row["entity_id"]]
            out.append(row)
        return out

    def _entity(
        self,
        level: str,
        record: dict[str, Any],
        *,
        name: Any,
        parent_id: Any,
        parent: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        entity_id = record.get(_ID_FIELD[level])
        if entity_id in (None, ""):
            raise self.error(PermanentError, f"malformed {level} record: no {_ID_FIELD[level]}")
        created = _moment(record.get("create_time"))
        return {
            "platform": self.platform,
            "account_id": self.account.account_id,
            "level": level,
            "entity_id": str(entity_id),
            "parent_id": str(parent_id) if parent_id not in (None, "") else None,
            "name": name,
            "status": self._status(record),
            "created_at": created.date() if created else None,
            "currency": self.account.currency,
            **self._amounts(level, record, parent),
        }

    def _amounts(self, level: str, record: dict[str, Any], parent: dict[str, Any] | None = None) -> dict[str, Any]:
        """daily_budget, budget_mode, bid and bidding_strategy of a campaign or ad group."""
        if level == "ad":
            return {}
        mode = _BUDGET_MODE.get(str(record.get("budget_mode") or ""))
        if level == "ad_group" and parent and parent.get("budget_optimize_on") in (True, "ON", "true"):
            mode = "parent"  # campaign budget optimization: the campaign's budget serves its ad groups
        out: dict[str, Any] = {
            "daily_budget": self.money("budget", record.get("budget")) if mode == "daily" else None,
            "budget_mode": mode,
        }
        if level == "ad_group":
            field = self._bid_field(record)
            out["bid"] = self.money(field, record.get(field)) if field else None
            out["bidding_strategy"] = {"bid_price": "bid_cap", "conversion_bid_price": "cost_cap", None: None}[field]
            if record.get("bid_type") == "BID_TYPE_NO_BID":
                out["bidding_strategy"] = "lowest_cost"
        return out

    @staticmethod
    def _bid_field(record: dict[str, Any]) -> str | None:
        """The field holding a custom-bid ad group's bid; None under automatic bidding."""
        if record.get("bid_type") != _CUSTOM_BID:
            return None
        return next((f for f in _BID_FIELDS if record.get(f) not in (None, "", 0, "0")), None)

    def _status(self, record: dict[str, Any]) -> str | None:
        """The canonical status: `operation_status` through the catalog, "removed" once deleted."""
        if str(record.get("secondary_status") or "").endswith("_STATUS_DELETE"):
            return EntityStatus.REMOVED
        status = record.get("operation_status")
        if status in (None, ""):
            return None
        return self.catalog.status_vocabulary(self.platform).get(str(status), str(status).lower())

    def _learning(
        self,
        groups: list[dict[str, Any]],
        learned: dict[str, dict[date, float]],
        date_from: date,
        date_to: date,
    ) -> dict[str, bool]:
        """Whether each ad group is still learning at the end of `date_to` (derived: see the module docstring)."""
        out: dict[str, bool] = {}
        counting: dict[str, date] = {}  # ad group -> first day whose conversions count
        for g in groups:
            gid = str(g.get("adgroup_id"))
            created, modified = _moment(g.get("create_time")), _moment(g.get("modify_time"))
            if created is None:
                out[gid] = True  # unknown: fail safe
                continue
            start = max(created, modified or created)
            if (date_to - start.date()).days >= LEARNING_DAYS:
                out[gid] = False  # its 7 days are over: it left learning, with or without 50 conversions
                continue
            # conversions of the start's day came before an edit; on the day of creation they are its own
            counting[gid] = start.date() + timedelta(days=0 if start == created else 1)
        earlier = self._earlier_conversions(counting, date_from)
        for gid, first in counting.items():
            read = sum(v for day, v in learned.get(gid, {}).items() if day >= first)
            total = earlier.get(gid, 0.0) + read
            out[gid] = total < LEARNING_CONVERSIONS
        return out

    def _earlier_conversions(self, counting: dict[str, date], date_from: date) -> dict[str, float]:
        """Conversions before `date_from` of the ad groups whose counting starts earlier (one filtered report)."""
        need = sorted(gid for gid, first in counting.items() if first < date_from)
        if not need:
            return {}
        start, end = min(counting[g] for g in need), date_from - timedelta(days=1)
        chunks = [need[i : i + FILTER_IDS] for i in range(0, len(need), FILTER_IDS)]
        queries = [self._report("ad_group", start, end, [_LEARNING_METRIC], chunk) for chunk in chunks]
        totals: dict[str, float] = dict.fromkeys(need, 0.0)
        for query, rows in zip(queries, self._paged(queries), strict=True):
            for gid, day, values in self._report_rows(query, rows):
                if gid in totals and day >= counting[gid]:
                    totals[gid] += values.get(_LEARNING_METRIC) or 0.0
        return totals

    # -- state

    def _read_records(self, level: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The records of some entities of one level (one filtered, paged list call per 100 ids)."""
        if level not in _LEVEL_PATH:
            raise self.error(PermanentError, f"TikTok has no {level!r} entities to change")
        path = _LEVEL_PATH[level]
        fields = {"campaign": _CAMPAIGN_FIELDS, "ad_group": _ADGROUP_FIELDS, "ad": _AD_FIELDS}[level]
        advertiser = self.account.account_id
        queries = [
            _Query(
                f"/{path}/get/",
                {"advertiser_id": advertiser, "filtering": {f"{path}_ids": chunk}, "fields": fields},
                f"reading {level} {chunk[0]}" if len(chunk) == 1 else f"reading {len(chunk)} {level}s",
            )
            for chunk in (ids[i : i + FILTER_IDS] for i in range(0, len(ids), FILTER_IDS))
        ]
        wanted = set(ids)
        return {
            str(r.get(_ID_FIELD[level])): r
            for rows in self._paged(queries)
            for r in rows
            if str(r.get(_ID_FIELD[level])) in wanted
        }

    def _record(self, key: EntityKey) -> dict[str, Any]:
        """The entity's record, checked to be the one asked for."""
        found = self._read_records(key.level, [key.entity_id]).get(key.entity_id)
        if found is None:
            raise self.error(PermanentError, f"unknown {key.level} {key.entity_id} in advertiser {key.account_id}")
        self._records[key] = found
        return found

    def execute_batch(self, reqs: list[ActionRequest]) -> dict[str, ExecResult]:
        """The template's batch, with the live state of every entity read up front (one call per level and 100 ids)."""
        by_level: dict[str, list[str]] = defaultdict(list)
        for req in reqs:
            if req.entity.level in _LEVEL_PATH and req.entity.account_id in ("", self.account.account_id):
                by_level[req.entity.level].append(req.entity.entity_id)
        for level, ids in by_level.items():
            for entity_id, record in self._read_records(level, sorted(set(ids))).items():
                key = EntityKey(self.platform, self.account.account_id, level, entity_id)
                self._records[key] = record
                self._fresh.add(key)
        try:
            return super().execute_batch(reqs)
        finally:
            self._fresh.clear()

    def state(self, key: EntityKey) -> dict[str, Any]:
        if key in self._fresh:  # read at the start of this batch: still the live state
            self._fresh.discard(key)
            record = self._records[key]
        else:
            record = self._record(key)
        state: dict[str, Any] = {"status": self._status(record)}
        amounts = self._amounts(key.level, record)
        state.update({k: amounts[k] for k in ("daily_budget", "bid") if k in amounts})
        return state

    def check_change(self, key: EntityKey, attribute: str, state: dict[str, Any]) -> None:
        """A budget must be a daily one and a bid a custom one: anything else is refused with its reason."""
        record = self._records.get(key) or self._record(key)
        what = f"{key.level} {key.entity_id}"
        if attribute == "daily_budget" and state.get("daily_budget") is None:
            mode = record.get("budget_mode") or "not set"
            kind = {"lifetime": "a total budget", "unlimited": "an unlimited budget"}.get(
                _BUDGET_MODE.get(mode, ""), "no budget of its own"
            )
            raise self.error(PermanentError, f"{what} has {kind} (budget_mode {mode}), not a daily one: left alone")
        if attribute == "bid" and state.get("bid") is None:
            raise self.error(
                PermanentError,
                f"{what} bids automatically (bid_type {record.get('bid_type') or 'not set'}): "
                f"only a {_CUSTOM_BID} bid is changed",
            )

    # -- writes

    def write(self, change: Change) -> Written:
        (out,) = self.write_batch([change])
        if isinstance(out, AdapterError):
            raise out
        return out

    def write_batch(self, changes: list[Change]) -> list[Written | AdapterError]:
        """Status changes of one level share calls of up to 20 ids; budgets and bids go one by one.

        A refused call of several ids is retried id by id, so each change is settled on its own.
        An error of the whole call (auth, rate limit, transient) is raised while nothing was
        changed yet, and returned for the changes left once something was.
        """
        units: list[list[int]] = []
        filling: dict[tuple[str, Any], list[int]] = {}  # the status call being filled, per level and status
        for i, change in enumerate(changes):
            if change.attribute != "status":
                units.append([i])
                continue
            unit = filling.get((change.key.level, change.value))
            if unit is None or len(unit) == STATUS_BATCH:
                unit = filling[(change.key.level, change.value)] = []
                units.append(unit)
            unit.append(i)
        out: dict[int, Written | AdapterError] = {}
        for n, unit in enumerate(units):
            try:
                out.update(self._settle(unit, changes))
            except AdapterError as exc:
                if not out:
                    raise
                for left in units[n:]:
                    out.update(dict.fromkeys(left, exc))
                break
        return [out[i] for i in range(len(changes))]

    def _settle(self, unit: list[int], changes: list[Change]) -> dict[int, Written | AdapterError]:
        try:
            return self._send(unit, changes)
        except PermanentError as exc:
            if isinstance(exc, AuthError):
                raise
            if len(unit) == 1:
                return {unit[0]: exc}
        settled: dict[int, Written | AdapterError] = {}
        for i in unit:
            settled.update(self._settle([i], changes))
        return settled

    def _send(self, unit: list[int], changes: list[Change]) -> dict[int, Written | AdapterError]:
        first = changes[unit[0]]
        level, path = first.key.level, _LEVEL_PATH[first.key.level]
        advertiser = {"advertiser_id": self.account.account_id}
        if first.attribute == "status":
            ids = [changes[i].key.entity_id for i in unit]
            wire = self._wire_status(first.value)
            body = {**advertiser, f"{path}_ids": ids, "operation_status": wire}
            with self._doing(f"setting {len(ids)} {level}(s) {wire}"):
                data, request_id = self._post(f"/{path}/status/update/", body)
            echoed = data.get(f"{path}_ids")
            confirmed = {str(x) for x in echoed} if isinstance(echoed, list) else set(ids)
            return {
                i: Written({"id": changes[i].key.entity_id, "request_id": request_id})
                if changes[i].key.entity_id in confirmed
                else self.error(PermanentError, f"{level} {changes[i].key.entity_id}: the update was not confirmed")
                for i in unit
            }
        field = first.wire_field if first.attribute == "daily_budget" else self._bid_field(self._writing(first))
        body = {**advertiser, _ID_FIELD[level]: first.key.entity_id, field or "bid_price": first.wire}
        with self._doing(f"updating {first.attribute} of {level} {first.key.entity_id}"):
            _, request_id = self._post(f"/{path}/update/", body)
        return {unit[0]: Written({"id": first.key.entity_id, "request_id": request_id})}

    def _writing(self, change: Change) -> dict[str, Any]:
        return self._records.get(change.key) or self._record(change.key)

    def _wire_status(self, status: str) -> str:
        """The platform's status value for a canonical one (the catalog's vocabulary read backwards)."""
        vocabulary = self.catalog.status_vocabulary(self.platform)
        for wire in vocabulary:
            if vocabulary[wire] == status:
                return wire
        raise self.error(PermanentError, f"TikTok has no status for {status!r}")
