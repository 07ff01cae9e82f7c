"""Pinterest Ads live adapter: one ad account through the Pinterest API v5 (httpx, no SDK).

Reads (`fetch`): the ad account (its currency must be the one rulerun.yaml says), then
campaigns, ad groups and ads (active, paused and archived) with bookmark paging, and
daily metrics per campaign and per ad group. Ranges the synchronous analytics endpoints
serve (no day older than `SYNC_DAYS_BACK`) are read there, 250 ids a call, several calls
at once; older ranges through asynchronous reports (create, poll with growing pauses up
to `report_timeout` seconds, download the JSON file, parse), one per level and
`REPORT_MAX_DAYS` days. Columns and their units come from platforms/pinterest/catalog.yaml.

Writes (`write_batch`, called by the template, platforms/template.py): status of
campaigns, ad groups and ads; the daily budget of a campaign (`daily_spend_cap`) or of an
ad group with a DAILY budget; the bid of an ad group. One bulk PATCH per level and at most
`max_batch` (30) items; the 200 answer carries each item's data or exceptions, and each
change is settled on its own.

Rate limits: analytics calls (the `ads_analytics` category, Pinterest's tightest
documented limit, 300 a minute per user and app) are paced under that limit, shared by
every adapter of the app in the process; a 429 waits its Retry-After in the HTTP client
(platforms/http.py, the one retry layer), except a 429 that refuses a request as spam,
which is final.

Credentials: PINTEREST_ACCESS_TOKEN (Bearer), PINTEREST_APP_ID, PINTEREST_APP_SECRET and
PINTEREST_AD_ACCOUNT_ID, declared by platforms/pinterest/__init__.py. With
PINTEREST_REFRESH_TOKEN set, a refused access token is renewed once per process through
POST /oauth/token (Basic auth with the app id and secret) and the call is made again;
the renewed token lives in memory only. `Account.endpoint` replaces
https://api.pinterest.com/v5 (a test server).
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

from engine.core.catalog import Catalog
from engine.core.execution import AdapterError, AuthError, EntityKey, PermanentError, TransientError
from engine.core.status import EntityStatus
from platforms.adapter import Account, Fetched
from platforms.ratelimit import CallWindow, shared
from platforms.template import Change, LiveAdapter, Written

PLATFORM = "pinterest"
BASE_URL = "https://api.pinterest.com/v5"
REFRESH_VARIABLE = "PINTEREST_REFRESH_TOKEN"

# level -> the API's collection, the id column of its reports, its report level
_COLLECTION = {"campaign": "campaigns", "ad_group": "ad_groups", "ad": "ads"}
_ID_COLUMN = {"campaign": "CAMPAIGN_ID", "ad_group": "AD_GROUP_ID"}
_REPORT_LEVEL = {"campaign": "CAMPAIGN", "ad_group": "AD_GROUP"}
_BIDDING = {"AUTOMATIC_BID": "automatic", "MAX_BID": "custom", "TARGET_AVG": "target_avg"}
_OBJECTIVE_LABEL = {
    "AWARENESS": "awareness",
    "CONSIDERATION": "consideration",
    "WEB_CONVERSION": "conversion",
    "CATALOG_SALES": "shopping",
    "VIDEO_COMPLETION": "video",
}
_STATUS_OUT = {EntityStatus.PAUSED: "PAUSED", EntityStatus.ACTIVE: "ACTIVE"}
_REPORT_FAILED = ("FAILED", "CANCELLED", "EXPIRED", "DOES_NOT_EXIST")


class PinterestAdapter(LiveAdapter):
    """One Pinterest ad account over the API v5; see the module docstring."""

    PAGE_SIZE = 250  # the most a list page holds
    IDS_PER_CALL = 250  # the most ids a synchronous analytics call takes
    SYNC_DAYS_BACK = 90  # synchronous analytics serve days up to 90 days back
    REPORT_MAX_DAYS = 186  # the longest range of one async report
    ANALYTICS_PER_MINUTE = 300  # the documented ads_analytics limit (Standard access)
    max_batch = 30  # items in one bulk PATCH

    # class attributes so that a test can make every adapter of a run wait on its clock
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    def __init__(
        self,
        account: Account,
        catalog: Catalog | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
        window: CallWindow | None = None,
        workers: int = 4,
        poll_interval: float = 2.0,
        report_timeout: float = 900.0,
        today: date | None = None,
    ) -> None:
        super().__init__(account, catalog)
        if sleep is not None:
            self.sleep = sleep
        self._window = window
        self.workers = workers
        self.poll_interval = poll_interval
        self.report_timeout = report_timeout
        self.today = today
        self.calls = 0  # API calls made (the report file downloads are not API calls)
        self._lock = threading.Lock()
        self._client: Any = None
        self._token: str | None = None
        self._refreshed = False
        self._raw: dict[EntityKey, dict[str, Any]] = {}

    # ------------------------------------------------------------------ plumbing

    def secrets(self) -> list[str]:
        # the ad account id is declared with the credentials but is no secret: errors name it
        account = os.environ.get("PINTEREST_AD_ACCOUNT_ID")
        extra = [v for v in (os.environ.get(REFRESH_VARIABLE), self._token_if_set()) if v and len(v) >= 4]
        return [v for v in super().secrets() if v != account] + extra

    def _token_if_set(self) -> str | None:
        return getattr(self, "_token", None)

    def _http(self) -> Any:
        if self._client is None:
            from platforms.http import HttpClient

            self.check_credentials()
            self._token = os.environ["PINTEREST_ACCESS_TOKEN"]
            self._client = HttpClient(
                (self.account.endpoint or BASE_URL).rstrip("/"),
                platform=PLATFORM,
                account_id=self.account.account_id,
                timeout=60,
                sleep=lambda seconds: self.sleep(seconds),
                refine=_refine,
            )
        return self._client

    def window(self) -> CallWindow:
        """The pacing of analytics calls: shared by every adapter of this app in the process."""
        if self._window is None:
            app = os.environ.get("PINTEREST_APP_ID", "")
            self._window = shared((PLATFORM, "ads_analytics", app), self.ANALYTICS_PER_MINUTE, 60.0)
        return self._window

    def _call(self, method: str, path: str, *, analytics: bool = False, **kw: Any) -> Any:
        """One API call (the JSON answer), renewing a refused access token once when a refresh token is set."""
        http = self._http()
        if analytics:
            self.window().wait(self.sleep)
        with self._lock:
            self.calls += 1
        token = self._token
        try:
            return http.json(method, path, headers={"Authorization": f"Bearer {token}"}, **kw)
        except AuthError as exc:
            if _status(exc) != 401:
                raise
            if not self._renew(token):
                raise self._refused(exc) from None
        with self._lock:
            self.calls += 1
        try:
            return http.json(method, path, headers={"Authorization": f"Bearer {self._token}"}, **kw)
        except AuthError as exc:
            raise self._refused(exc) from None

    def _renew(self, refused: str | None) -> bool:
        """A new access token from the refresh token (once per adapter); False when there is none to use."""
        refresh = os.environ.get(REFRESH_VARIABLE)
        with self._lock:
            if self._token != refused:
                return True  # another thread renewed it meanwhile
            if not refresh or self._refreshed:
                return False
            self._refreshed = True
            app = f"{os.environ.get('PINTEREST_APP_ID', '')}:{os.environ.get('PINTEREST_APP_SECRET', '')}"
            basic = base64.b64encode(app.encode()).decode()
            self.calls += 1
            try:
                body = self._http().json(
                    "POST",
                    "/oauth/token",
                    headers={"Authorization": f"Basic {basic}"},
                    data={"grant_type": "refresh_token", "refresh_token": refresh},
                )
            except PermanentError as exc:
                raise self.error(
                    AuthError,
                    f"renewing the access token failed ({exc.message}): set a valid {REFRESH_VARIABLE} "
                    "(and PINTEREST_APP_ID, PINTEREST_APP_SECRET), or a fresh PINTEREST_ACCESS_TOKEN",
                ) from None
            token = body.get("access_token") if isinstance(body, dict) else None
            if not isinstance(token, str) or not token:
                raise self.error(AuthError, "renewing the access token failed: the answer holds no access_token")
            self._token = token
            return True

    def _refused(self, exc: AdapterError) -> AdapterError:
        hint = "" if os.environ.get(REFRESH_VARIABLE) else f" (or set {REFRESH_VARIABLE} to renew it)"
        return self.error(
            AuthError,
            f"the access token was refused ({exc.message}): set a valid PINTEREST_ACCESS_TOKEN{hint}",
            details=exc.details,
        )

    def _path(self, *parts: str) -> str:
        return "/".join(["/ad_accounts", self.account.account_id, *parts])

    def _pages(self, level: str) -> Iterator[dict[str, Any]]:
        """Every entity of a level, page by page (bookmark paging)."""
        params: dict[str, Any] = {
            "page_size": self.PAGE_SIZE,
            "entity_statuses": ["ACTIVE", "PAUSED", "ARCHIVED"],
        }
        while True:
            body = self._call("GET", self._path(_COLLECTION[level]), params=params)
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                raise self.error(PermanentError, f"malformed {level} list: no items")
            yield from body["items"]
            bookmark = body.get("bookmark")
            if not bookmark:
                return
            params = {**params, "bookmark": bookmark}

    # ------------------------------------------------------------------ reads

    def probe(self) -> str:
        return self._account_info().get("name") or self.account.account_id

    def _account_info(self) -> dict[str, Any]:
        acct_id = self.account.account_id
        if not acct_id.isdigit():
            raise self.error(PermanentError, f"ad account id {acct_id!r} is not a Pinterest ad account id (digits)")
        try:
            info = self._call("GET", self._path())
        except PermanentError as exc:
            if isinstance(exc, AuthError) and _status(exc) == 401:
                raise
            if _status(exc) in (403, 404):
                raise self.error(
                    PermanentError,
                    f"unknown ad account {acct_id}, or not shared with this token ({exc.message}): "
                    "check the account id in rulerun.yaml and PINTEREST_AD_ACCOUNT_ID",
                ) from None
            raise
        if not isinstance(info, dict):
            raise self.error(PermanentError, "malformed ad account answer")
        currency = info.get("currency")
        if currency and currency != "UNK" and currency.upper() != self.account.currency.upper():
            raise self.error(
                PermanentError,
                f"ad account {acct_id} is in {currency} but rulerun.yaml says {self.account.currency}: "
                f"set `currency: {currency}` for this account",
            )
        return info

    def read(self, date_from: date, date_to: date) -> Fetched:
        before = self.calls
        self._account_info()
        with ThreadPoolExecutor(max_workers=3) as pool:
            lists = dict(zip(_COLLECTION, pool.map(lambda lvl: list(self._pages(lvl)), _COLLECTION), strict=True))
        entities = self._entities(lists["campaign"], lists["ad_group"], lists["ad"])
        ids = {lvl: [str(o["id"]) for o in lists[lvl]] for lvl in _ID_COLUMN}
        today = self.today or datetime.now(UTC).date()
        if date_from >= today - timedelta(days=self.SYNC_DAYS_BACK):
            metrics = self._analytics(ids, date_from, date_to)
        else:
            metrics = self._reports(date_from, date_to)
        return Fetched(entities=entities, metrics=metrics, api_calls=self.calls - before)

    def _entities(self, campaigns: list[dict], ad_groups: list[dict], ads: list[dict]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        by_id: dict[str, dict[str, Any]] = {}
        for c in campaigns:
            row = self._entity("campaign", c, None)
            row["daily_budget"] = self.money("daily_spend_cap", c.get("daily_spend_cap"))
            row["bid"] = None
            row["is_brand"] = "brand" in (c.get("name") or "").lower()
            # the objective as a label: rules tell shopping campaigns apart
            objective = _OBJECTIVE_LABEL.get(c.get("objective_type") or "")
            row["labels"] = [objective] if objective else []
            by_id[row["entity_id"]] = row
            out.append(row)
        for g in ad_groups:
            parent = by_id.get(str(g.get("campaign_id")), {})
            row = self._entity("ad_group", g, g.get("campaign_id"))
            row["daily_budget"] = self._group_budget(g)
            row["bid"] = self.money("bid_in_micro_currency", g.get("bid_in_micro_currency"))
            row["is_brand"] = bool(parent.get("is_brand")) or "brand" in (g.get("name") or "").lower()
            row["bidding_strategy"] = _BIDDING.get(g.get("bid_strategy_type") or "")
            learning = g.get("conversion_learning_mode_type")
            row["learning_phase"] = None if learning is None else learning == "ACTIVE"
            by_id[row["entity_id"]] = row
            out.append(row)
        for a in ads:
            parent = by_id.get(str(a.get("ad_group_id")), {})
            row = self._entity("ad", a, a.get("ad_group_id"))
            row["is_brand"] = bool(parent.get("is_brand")) or "brand" in (a.get("name") or "").lower()
            out.append(row)
        return out

    def _entity(self, level: str, obj: dict[str, Any], parent_id: Any) -> dict[str, Any]:
        if not isinstance(obj, dict) or not obj.get("id"):
            raise self.error(PermanentError, f"malformed {level} in the list: {str(obj)[:80]}")
        created = obj.get("created_time")
        return {
            "platform": PLATFORM,
            "account_id": self.account.account_id,
            "level": level,
            "entity_id": str(obj["id"]),
            "parent_id": str(parent_id) if parent_id is not None else None,
            "name": obj.get("name"),
            "status": self._status(obj.get("status")),
            "created_at": datetime.fromtimestamp(created, UTC).date() if isinstance(created, int) else None,
            "currency": self.account.currency,
        }

    def _status(self, status: Any) -> str | None:
        vocabulary = self.catalog.status_vocabulary(PLATFORM)
        return vocabulary[status] if isinstance(status, str) and status in vocabulary else None

    def _group_budget(self, group: dict[str, Any]) -> float | None:
        if group.get("budget_type", "DAILY") != "DAILY":
            return None  # a lifetime budget, or the campaign's (CBO)
        return self.money("budget_in_micro_currency", group.get("budget_in_micro_currency"))

    def _columns(self) -> list[str]:
        return list(self.catalog.field_mapping.get(PLATFORM, {}))

    def _analytics(self, ids: dict[str, list[str]], date_from: date, date_to: date) -> list[dict[str, Any]]:
        """Daily rows from the synchronous analytics endpoints, `IDS_PER_CALL` ids a call, `workers` at once."""
        jobs = [(level, chunk) for level, all_ids in ids.items() for chunk in _chunks(all_ids, self.IDS_PER_CALL)]
        columns = ",".join(self._columns())

        def one(job: tuple[str, list[str]]) -> list[dict[str, Any]]:
            level, chunk = job
            body = self._call(
                "GET",
                self._path(_COLLECTION[level], "analytics"),
                analytics=True,
                params={
                    "start_date": date_from.isoformat(),
                    "end_date": date_to.isoformat(),
                    f"{_COLLECTION[level][:-1]}_ids": chunk,
                    "columns": columns,
                    "granularity": "DAY",
                },
            )
            if not isinstance(body, list):
                raise self.error(PermanentError, f"malformed {level} analytics: not a list of rows")
            return [self._metric_row(level, row, None, None) for row in body]

        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            return [row for rows in pool.map(one, jobs) for row in rows]

    def _reports(self, date_from: date, date_to: date) -> list[dict[str, Any]]:
        """Daily rows from async reports: one per level and `REPORT_MAX_DAYS` days, created together, then polled."""
        rows: list[dict[str, Any]] = []
        start = date_from
        while start <= date_to:
            end = min(date_to, start + timedelta(days=self.REPORT_MAX_DAYS - 1))
            tokens = {level: self._create_report(level, start, end) for level in _REPORT_LEVEL}
            for level, token in tokens.items():
                url = self._await_report(level, token, start, end)
                rows += self._download(level, url)
            start = end + timedelta(days=1)
        return rows

    def _create_report(self, level: str, start: date, end: date) -> str:
        body = self._call(
            "POST",
            self._path("reports"),
            analytics=True,
            json={
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
                "granularity": "DAY",
                "level": _REPORT_LEVEL[level],
                "columns": [_ID_COLUMN[level], *self._columns()],
                "report_format": "JSON",
                "primary_sort": "BY_DATE",
            },
        )
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise self.error(PermanentError, f"malformed answer creating the {level} report: no token")
        return token

    def _await_report(self, level: str, token: str, start: date, end: date) -> str:
        """Poll until the report is ready (pauses growing from `poll_interval` to 30 s); its file's URL."""
        waited, pause, polls = 0.0, self.poll_interval, 0
        while True:
            body = self._call("GET", self._path("reports"), analytics=True, params={"token": token})
            polls += 1
            status = body.get("report_status") if isinstance(body, dict) else None
            if status == "FINISHED":
                url = body.get("url")
                if not isinstance(url, str) or not url:
                    raise self.error(PermanentError, f"the {level} report finished without a download URL")
                return url
            if status in _REPORT_FAILED:
                raise self.error(TransientError, f"the {level} report for {start}..{end} ended {status}")
            if status != "IN_PROGRESS":
                raise self.error(PermanentError, f"malformed report status {str(status)[:40]!r}")
            if waited + pause > self.report_timeout:
                raise self.error(
                    TransientError,
                    f"the {level} report for {start}..{end} was not ready after {waited:.0f} s ({polls} polls); "
                    "nothing was stored for this range: sync again later",
                )
            self.sleep(pause)
            waited += pause
            pause = min(pause * 1.5, 30.0)

    def _download(self, level: str, url: str) -> list[dict[str, Any]]:
        # a pre-signed link: no Authorization header goes to it
        response = self._http().request("GET", url)
        try:
            report = json.loads(response.content)
        except ValueError:
            raise self.error(PermanentError, f"malformed {level} report: not JSON") from None
        if not isinstance(report, dict):
            raise self.error(PermanentError, f"malformed {level} report: not an object keyed by date or id")
        rows: list[dict[str, Any]] = []
        for top, items in report.items():
            if not isinstance(items, list):
                raise self.error(PermanentError, f"malformed {level} report: {str(top)[:40]!r} holds no rows")
            day = top if _is_day(top) else None
            entity = None if day else str(top)
            rows += [self._metric_row(level, item, day, entity) for item in items]
        return rows

    def _metric_row(self, level: str, row: Any, day: str | None, entity: str | None) -> dict[str, Any]:
        """A report row (sync or async) in the metrics store's shape; malformed rows fail the whole read."""
        if not isinstance(row, dict):
            raise self.error(PermanentError, f"malformed {level} report row: {str(row)[:80]}")
        day = row.get("DATE") or day
        entity = row.get(_ID_COLUMN[level]) or entity
        if not _is_day(day) or entity in (None, ""):
            raise self.error(PermanentError, f"malformed {level} report row (no date or id): {str(row)[:80]}")
        for name in self._columns():
            value = row.get(name)
            if value is not None and not _is_number(value):
                raise self.error(PermanentError, f"malformed {level} report: {name} of {entity} on {day} is {value!r}")
        return {
            "date": str(day)[:10],
            "platform": PLATFORM,
            "account_id": self.account.account_id,
            "level": level,
            "entity_id": str(entity),
            **self.metrics(row),
        }

    # ------------------------------------------------------------------ state and writes

    def state(self, key: EntityKey) -> dict[str, Any]:
        if key.level not in _COLLECTION:
            raise self.error(PermanentError, f"Pinterest has no {key.level!r} entities")
        try:
            obj = self._call("GET", self._path(_COLLECTION[key.level], key.entity_id))
        except PermanentError as exc:
            if not isinstance(exc, AuthError) and _status(exc) == 404:
                raise self.error(PermanentError, f"unknown {key.level} {key.entity_id} in this ad account") from None
            raise
        if not isinstance(obj, dict) or str(obj.get("id")) != key.entity_id:
            raise self.error(PermanentError, f"malformed answer reading {key.level} {key.entity_id}")
        self._raw[key] = obj
        state: dict[str, Any] = {"status": self._status(obj.get("status"))}
        if key.level == "campaign":
            state["daily_budget"] = self.money("daily_spend_cap", obj.get("daily_spend_cap"))
        if key.level == "ad_group":
            state["daily_budget"] = self._group_budget(obj)
            state["bid"] = self.money("bid_in_micro_currency", obj.get("bid_in_micro_currency"))
        return state

    def check_change(self, key: EntityKey, attribute: str, state: dict[str, Any]) -> None:
        """An ad group's budget is refused where it is not a daily budget of its own (CBO, lifetime)."""
        obj = self._raw.get(key) or {}
        if key.level == "ad_group" and attribute == "daily_budget":
            kind = obj.get("budget_type", "DAILY")
            if kind == "CBO_ADGROUP":
                raise self.error(
                    PermanentError,
                    f"ad group {key.entity_id} is in campaign {obj.get('campaign_id')}, which uses campaign budget "
                    "optimization (CBO): the budget lives on the campaign; change the campaign's budget instead",
                )
            if kind != "DAILY":
                what = f"ad group {key.entity_id} has a {str(kind).lower()} budget"
                raise self.error(PermanentError, f"{what}, not a daily one: rulerun changes daily budgets")
        if key.level == "campaign" and attribute == "daily_budget" and state.get("daily_budget") is None:
            cap = "a lifetime spend cap" if obj.get("lifetime_spend_cap") else "no daily spend cap"
            raise self.error(PermanentError, f"campaign {key.entity_id} has {cap}: its budget lives on its ad groups")

    def write(self, change: Change) -> Written:
        out = self.write_batch([change])[0]
        if isinstance(out, AdapterError):
            raise out
        return out

    def write_batch(self, changes: list[Change]) -> list[Written | AdapterError]:
        """One bulk PATCH per level and `max_batch` items (an entity at most once a call); each item settled alone."""
        results: list[Written | AdapterError] = [
            self.error(PermanentError, f"Pinterest has no {c.key.level!r} entities") for c in changes
        ]
        calls = [
            (level, call)
            for level in _COLLECTION
            for call in _batches(
                [i for i, c in enumerate(changes) if c.key.level == level],
                lambda i: changes[i].key.entity_id,
                self.max_batch,
            )
        ]
        for n, (level, call) in enumerate(calls):
            items = [self._item(changes[i]) for i in call]
            try:
                body = self._call("PATCH", self._path(_COLLECTION[level]), json=items)
            except AdapterError as exc:
                if n == 0:
                    raise  # nothing written yet: the whole batch failed
                # earlier calls were confirmed and stay settled; this call and the rest failed
                for _, rest in calls[n:]:
                    for i in rest:
                        results[i] = exc
                return results
            answers = body.get("items") if isinstance(body, dict) else None
            if not isinstance(answers, list) or len(answers) != len(call):
                malformed = self.error(PermanentError, f"malformed answer to the {level} update: one item per change")
                for i in call:
                    results[i] = malformed
                continue
            for i, item, answer in zip(call, items, answers, strict=True):
                results[i] = self._settle(changes[i], item, answer)
        return results

    def _item(self, change: Change) -> dict[str, Any]:
        item: dict[str, Any] = {"id": change.key.entity_id}
        if change.key.level == "campaign":
            item["ad_account_id"] = self.account.account_id
        item[_wire_field(change)] = _STATUS_OUT[change.value] if change.attribute == "status" else int(change.wire)
        return item

    def _settle(self, change: Change, item: dict[str, Any], answer: Any) -> Written | AdapterError:
        what = f"{change.key.level} {change.key.entity_id}"
        if not isinstance(answer, dict):
            return self.error(PermanentError, f"{what}: malformed item in the update answer")
        problems = [e for e in answer.get("exceptions") or [] if isinstance(e, dict)]
        if problems:
            text = "; ".join(f"{p.get('message') or 'refused'} (code {p.get('code')})" for p in problems)
            return self.error(PermanentError, f"{what}: {text}")
        data = answer.get("data")
        field = _wire_field(change)
        if not isinstance(data, dict) or str(data.get("id")) != change.key.entity_id:
            return self.error(PermanentError, f"{what}: the update was not confirmed (no data for it)")
        if field in data and data[field] != item[field]:
            return self.error(PermanentError, f"{what}: the platform holds {field}={data[field]!r} after the update")
        return Written({"id": change.key.entity_id})


def _wire_field(change: Change) -> str:
    if change.attribute == "status":
        return "status"
    if change.attribute == "bid":
        return "bid_in_micro_currency"
    return "daily_spend_cap" if change.key.level == "campaign" else "budget_in_micro_currency"


def _refine(response: Any, error: AdapterError) -> AdapterError:
    """A 429 that blocks a request as spam is a refusal, not a quota: retrying makes it worse."""
    if response.status_code == 429 and "spam" in response.text.lower():
        return PermanentError(
            f"Pinterest refused the request as spam; not retried: {error.message}",
            platform=error.platform,
            account_id=error.account_id,
            details=error.details,
        )
    return error


def _status(exc: AdapterError) -> int | None:
    return exc.details.get("status") if isinstance(exc.details, dict) else None


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _batches(indexes: Iterable[int], entity: Callable[[int], str], size: int) -> Iterator[list[int]]:
    """Groups of at most `size`, an entity at most once in each (two changes of one entity go in two calls)."""
    call: list[int] = []
    seen: set[str] = set()
    for i in indexes:
        if len(call) == size or entity(i) in seen:
            yield call
            call, seen = [], set()
        call.append(i)
        seen.add(entity(i))
    if call:
        yield call


def _is_day(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
