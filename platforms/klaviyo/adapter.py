"""Klaviyo live adapter: one Klaviyo account through the official `klaviyo-api` SDK.

Reads (`fetch`): the account (its public id must be the one in rulerun.yaml), the
"Placed Order" metric (the conversion metric of the reports), email campaigns (a draft's
estimated recipients as its `profile_count`), flows (`flow_status`: live, manual, draft),
segments and lists with their profile counts, then three reports, each ONE grouped call
per sync (more only when a report pages or a range is longer than the series allow):

- campaign values (`/api/campaign-values-reports`, grouped by campaign): recipients,
  delivered, opens, clicks, conversions, conversion value, unsubscribes, spam complaints,
  bounces per campaign, stored on the campaign's send date (a campaign is one send);
- flow values (`/api/flow-values-reports`, grouped by flow and message): the flows'
  messages, as `flow_message` entities under their flow;
- flow series (`/api/flow-series-reports`, daily, at most `SERIES_MAX_DAYS` a call): the
  daily numbers of every flow message, and their sum per flow.

The report endpoints allow 2 calls a minute and 225 a day each: calls are paced with a
`CallWindow` per report kind, shared by every adapter of the account in the process, so a
sync waits only when a third call of a kind would break the minute. A report refused for
its daily quota (a 429 asking to wait longer than a minute) is left out:
the sync's warnings say which and when to retry, the rest of the sync lands, and the
rows stored earlier for that report's level are kept (`Fetched.kept_levels`).

Writes: a flow's status (`pause` -> manual, `enable` -> live, `set_flow_status`) through
the template (platforms/template.py) with `PATCH /api/flows/{id}`. `suppress_profiles`
(and its undo `unsuppress_profiles`) and `create_ab_test` (undo `remove_ab_test`) are
carried out here (`execute` below): a suppression reads the segment's (or list's)
profiles and sends bulk jobs of at most `SUPPRESS_BATCH` emails, polling each until it
completes; a job that does not complete stops the action, which then fails naming how
many profiles were confirmed suppressed. A subject-line test clones the draft campaign
(`POST /api/campaign-clone`) and sets variant B's subject on the clone's message; the API
has no endpoint that adds a variation to a campaign, so variant B is a draft a person
sends against the original; rollback deletes it.

SDK notes: the SDK's own retries are switched off (`max_retries=0`, urllib3 retries
off) so that the one retry policy (engine/core/retry.py) owns retrying, through
`self.call`. Its revision header is replaced by `REVISION`, the revision this adapter
and its tests are written against. Its paging helper only recognises `https://` links,
so the cursor is taken from `links.next` here. `Account.endpoint` replaces
https://a.klaviyo.com (a test server).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
from platforms.adapter import Account, Fetched
from platforms.ratelimit import CallWindow, shared
from platforms.template import Change, LiveAdapter, Written

PLATFORM = "klaviyo"
BASE_URL = "https://a.klaviyo.com"
REVISION = "2026-07-15"  # the API revision every request asks for (one place)
CONVERSION_METRIC = "Placed Order"
# values-report statistics -> what the catalog's field mapping reads
STATISTICS = (
    "recipients",
    "delivered",
    "opens_unique",
    "clicks_unique",
    "conversions",
    "conversion_value",
    "unsubscribes",
    "spam_complaints",
    "bounced",
)
REPORTS = ("campaign-values", "flow-values", "flow-series")
# the levels whose daily rows each report brings (the flow values report brings entities only)
_REPORT_LEVELS = {"campaign-values": ("email_campaign",), "flow-values": (), "flow-series": ("flow", "flow_message")}
_OWN_TYPES = ("suppress_profiles", "unsuppress_profiles", "create_ab_test", "remove_ab_test")
_JOB_DONE, _JOB_FAILED = "complete", ("cancelled",)


class KlaviyoAdapter(LiveAdapter):
    """One Klaviyo account over the API; see the module docstring."""

    transport_loggers = ("urllib3", "openapi_client", "klaviyo_api")
    REPORTS_PER_MINUTE = 2  # each report endpoint's steady limit
    REPORTS_PER_DAY = 225  # each report endpoint's daily limit
    # Klaviyo counts a call when it arrives: a call booked exactly a minute after another may
    # land a few milliseconds early, so the window is this much longer than the minute
    REPORT_MARGIN = 0.5
    SERIES_MAX_DAYS = 60  # the longest daily series one call returns
    SUPPRESS_BATCH = 100  # emails in one bulk suppression job
    PAGE_SIZE = {"campaigns": 100, "flows": 50, "segments": 10, "lists": 10, "profiles": 100}

    sleep: Callable[[float], None] = staticmethod(time.sleep)

    def __init__(
        self,
        account: Account,
        catalog: Catalog | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
        windows: dict[str, CallWindow] | None = None,
        poll_interval: float = 1.0,
        job_timeout: float = 600.0,
    ) -> None:
        super().__init__(account, catalog)
        if sleep is not None:
            self.sleep = sleep
        self._windows = windows or {}
        self.poll_interval = poll_interval
        self.job_timeout = job_timeout
        self.calls = 0
        self.report_calls: dict[str, int] = {}
        self._lock = threading.Lock()
        self._api: Any = None
        self._metric: str | None = None

    # ------------------------------------------------------------------ plumbing

    def sdk(self) -> Any:
        """The SDK client (made on first use: `rulerun --help` never imports it)."""
        if self._api is None:
            import openapi_client
            from klaviyo_api import KlaviyoAPI
            from openapi_client.api_arg_options import USE_DICTIONARY_FOR_RESPONSE_DATA

            self.check_credentials()
            options = {USE_DICTIONARY_FOR_RESPONSE_DATA: True}
            api = KlaviyoAPI(
                os.environ["KLAVIYO_PRIVATE_API_KEY"],
                max_retries=0,
                test_host=(self.account.endpoint or "").rstrip("/"),
                options=options,
            )
            # urllib3 would retry a 429 with Retry-After by itself: the retry policy does it
            api.configuration.retries = False
            api.api_client = openapi_client.ApiClient(api.configuration, options=options)
            api.api_client.default_headers["revision"] = REVISION
            self._api = api
        return self._api

    def _call(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """One API call under the retry policy; what it finally raises is a typed AdapterError."""
        with self._lock:
            self.calls += 1
        try:
            return self.call(fn, *args, **kw)
        except AdapterError:
            raise
        except Exception as exc:
            typed = self._typed(exc)
            if typed is None:
                raise
            raise typed from None

    def _raw(self, method: str, path: str, path_params: dict[str, str], body: dict[str, Any]) -> Any:
        """One call through the SDK's own client (key, revision, transport) with the body the API documents.

        SDK 25's models of a campaign clone and of a campaign message update belong to a later
        revision and drop `new_name` and the email content: those two calls are sent this way.
        """
        import json

        from openapi_client.exceptions import ApiException

        client = self.sdk().api_client
        headers = {"Content-Type": "application/vnd.api+json", "Accept": "application/vnd.api+json"}
        serialized = client.param_serialize(
            method, path, path_params=path_params, header_params=headers, body=body, auth_settings=["Klaviyo-API-Key"]
        )
        response = client.call_api(*serialized)
        raw = response.read()
        text = raw.decode() if isinstance(raw, bytes) else str(raw or "")
        if response.status >= 400:
            raise ApiException.from_response(http_resp=response, body=text, data=None)
        return json.loads(text) if text else None

    def map_error(self, exc: Exception) -> AdapterError | None:
        from openapi_client.exceptions import ApiException

        if isinstance(exc, ApiException):
            status = exc.status
            detail = _detail(exc.body) or exc.reason or "no detail"
            details = {"status": status}
            if status in (401, 403):
                return AuthError(
                    f"the API key was refused ({status}: {detail}): set a valid KLAVIYO_PRIVATE_API_KEY "
                    "(a private key with the read and write scopes rulerun needs)",
                    details=details,
                )
            if status == 429:
                after = _retry_after(exc.headers)
                return RateLimited(f"rate limited (429: {detail})", details=details, retry_after=after)
            if status >= 500:
                return TransientError(f"server error ({status}: {detail})", details=details)
            return PermanentError(f"refused ({status}: {detail})", details=details)
        name = type(exc).__module__
        if name.startswith("urllib3") or isinstance(exc, ConnectionError | TimeoutError):
            return TransientError(f"connection failed ({type(exc).__name__})")
        return None

    def _window(self, report: str) -> CallWindow:
        if report not in self._windows:
            key = (PLATFORM, self.account.account_id, report)
            self._windows[report] = shared(key, self.REPORTS_PER_MINUTE, 60.0 + self.REPORT_MARGIN)
        return self._windows[report]

    def _pages(self, fn: Callable[..., Any], what: str, *args: Any, **kw: Any) -> Iterator[dict[str, Any]]:
        """Every resource of a collection, following `links.next` (its `page[cursor]`)."""
        cursor: str | None = None
        while True:
            body = self._call(fn, *args, **kw, **({"page_cursor": cursor} if cursor else {}))
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise self.error(PermanentError, f"malformed {what} list: no data")
            yield from data
            cursor = _cursor((body.get("links") or {}).get("next"), "page[cursor]")
            if not cursor:
                return

    # ------------------------------------------------------------------ reads

    def probe(self) -> str:
        found = self._account_info()
        name = ((found.get("attributes") or {}).get("contact_information") or {}).get("organization_name")
        return f"{name or 'account'} ({found.get('id')})"

    def notes(self) -> list[str]:
        series = -(-90 // self.SERIES_MAX_DAYS)  # a first sync reads 90 days
        per_sync = 2 + series
        return [
            "the campaign values, flow values and flow series reports allow "
            f"{self.REPORTS_PER_MINUTE} calls a minute and {self.REPORTS_PER_DAY} a day each; a sync uses one "
            f"call of each values report and one flow series call per {self.SERIES_MAX_DAYS} days "
            f"({per_sync} calls for a first sync of 90 days, 3 for a daily sync): "
            f"{1 / self.REPORTS_PER_DAY:.1%} of each report's daily budget per daily sync"
        ]

    def _account_info(self) -> dict[str, Any]:
        body = self._call(self.sdk().Accounts.get_accounts)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or not data:
            raise self.error(PermanentError, "malformed answer reading the account")
        found = data[0]
        if found.get("id") != self.account.account_id:
            raise self.error(
                PermanentError,
                f"the API key belongs to Klaviyo account {found.get('id')}, not {self.account.account_id}: "
                "set the account id in rulerun.yaml to the account's public id, or use that account's key",
            )
        currency = (found.get("attributes") or {}).get("preferred_currency")
        if currency and currency.upper() != self.account.currency.upper():
            raise self.error(
                PermanentError,
                f"account {found.get('id')} is in {currency} but rulerun.yaml says {self.account.currency}: "
                f"set `currency: {currency}` for this account",
            )
        return found

    def conversion_metric(self) -> str:
        if self._metric is None:
            body = self._call(self.sdk().Metrics.get_metrics, filter=f'equals(name,"{CONVERSION_METRIC}")')
            data = body.get("data") if isinstance(body, dict) else None
            found = [m for m in data or [] if (m.get("attributes") or {}).get("name") == CONVERSION_METRIC]
            if not found:
                raise self.error(
                    PermanentError,
                    f"the account has no {CONVERSION_METRIC!r} metric: connect the store to Klaviyo so that "
                    "reports can count conversions",
                )
            self._metric = str(found[0]["id"])
        return self._metric

    def read(self, date_from: date, date_to: date) -> Fetched:
        before = self.calls
        self._account_info()
        api = self.sdk()
        campaigns = list(
            self._pages(
                api.Campaigns.get_campaigns,
                "campaign",
                filter="equals(messages.channel,'email')",
                page_size=self.PAGE_SIZE["campaigns"],
            )
        )
        flows = list(self._pages(api.Flows.get_flows, "flow", page_size=self.PAGE_SIZE["flows"]))
        entities = [self._campaign(c) for c in campaigns] + [self._flow(f) for f in flows]
        entities += self._groups()
        fetched = Fetched(entities=entities)
        sent = {row["entity_id"]: row for row in entities if row["level"] == "email_campaign"}
        send_dates = {str(c["id"]): _day((c.get("attributes") or {}).get("send_time")) for c in campaigns}
        flow_rows = {row["entity_id"]: row for row in entities if row["level"] == "flow"}
        flow_ids = set(flow_rows)
        for report, run in (
            ("campaign-values", lambda: self._campaign_rows(date_from, date_to, send_dates, sent)),
            ("flow-values", lambda: self._flow_messages(date_from, date_to, flow_rows)),
            ("flow-series", lambda: self._flow_rows(date_from, date_to, flow_ids)),
        ):
            try:
                kind, rows = run()
            except RateLimited as exc:
                # the per-minute limit never asks for more than a minute: a longer wait is the daily quota
                if exc.retry_after is None or exc.retry_after <= 60.0:
                    raise
                fetched.warnings.append(self._quota_message(report, exc.retry_after, date_from))
                fetched.kept_levels += _REPORT_LEVELS[report]
                continue
            (fetched.entities if kind == "entities" else fetched.metrics).extend(rows)
        fetched.api_calls = self.calls - before
        return fetched

    def _quota_message(self, report: str, seconds: float, date_from: date) -> str:
        when = datetime.now(UTC) + timedelta(seconds=seconds)
        return (
            f"the {report} report is over its daily quota ({self.REPORTS_PER_DAY} calls a day): its numbers were "
            f"not read and what was stored before is kept; retry after {when:%Y-%m-%d %H:%M} UTC with "
            f"`rulerun sync --since {date_from}`"
        )

    def _campaign(self, c: dict[str, Any]) -> dict[str, Any]:
        attrs = c.get("attributes") or {}
        row = self._entity("email_campaign", c, None)
        row["status"] = self._status(
            "Cancelled" if attrs.get("archived") and not attrs.get("status") else attrs.get("status")
        )
        row["created_at"] = _day(attrs.get("created_at"))
        if row["status"] == "paused" and str(attrs.get("status", "")).lower() == "draft":
            row["profile_count"] = self._estimate(row["entity_id"])
        return row

    def _estimate(self, campaign_id: str) -> float | None:
        """A draft's estimated recipients (None when the platform has no estimate yet)."""
        try:
            body = self._call(self.sdk().Campaigns.get_campaign_recipient_estimation, campaign_id)
        except PermanentError:
            return None
        count = ((body.get("data") or {}).get("attributes") or {}).get("estimated_recipient_count")
        return float(count) if isinstance(count, int | float) else None

    def _flow(self, f: dict[str, Any]) -> dict[str, Any]:
        attrs = f.get("attributes") or {}
        row = self._entity("flow", f, None)
        status = attrs.get("status")
        row["status"] = "archived" if attrs.get("archived") else self._status(status)
        row["flow_status"] = status if status in ("live", "manual", "draft") else None
        row["created_at"] = _day(attrs.get("created"))
        trigger = attrs.get("trigger_type")
        row["labels"] = [str(trigger).lower().replace(" ", "_")] if trigger else []
        return row

    def _groups(self) -> list[dict[str, Any]]:
        """Segments and lists with their profile counts (level `segment`; lists labelled `list`)."""
        api = self.sdk()
        out: list[dict[str, Any]] = []
        for kind, lister, getter, extra in (
            ("segment", api.Segments.get_segments, api.Segments.get_segment, "additional_fields_segment"),
            ("list", api.Lists.get_lists, api.Lists.get_list, "additional_fields_list"),
        ):
            for g in list(self._pages(lister, kind)):
                row = self._entity("segment", g, None)
                attrs = g.get("attributes") or {}
                row["status"] = "paused" if attrs.get("is_active") is False else "active"
                row["created_at"] = _day(attrs.get("created"))
                row["labels"] = [kind]
                body = self._call(getter, row["entity_id"], **{extra: ["profile_count"]})
                count = ((body.get("data") or {}).get("attributes") or {}).get("profile_count")
                row["profile_count"] = float(count) if isinstance(count, int | float) else None
                out.append(row)
        return out

    def _entity(self, level: str, obj: dict[str, Any], parent_id: str | None) -> dict[str, Any]:
        if not isinstance(obj, dict) or not obj.get("id"):
            raise self.error(PermanentError, f"malformed {level} in the list: {str(obj)[:80]}")
        return {
            "platform": PLATFORM,
            "account_id": self.account.account_id,
            "level": level,
            "entity_id": str(obj["id"]),
            "parent_id": parent_id,
            "name": (obj.get("attributes") or {}).get("name"),
            "currency": self.account.currency,
        }

    def _status(self, status: Any) -> str | None:
        vocabulary = self.catalog.status_vocabulary(PLATFORM)
        return vocabulary.get(status) if isinstance(status, str) else None

    def _report(self, report: str, fn: Callable[..., Any], body: dict[str, Any]) -> list[tuple[dict, Any]]:
        """Every page of one report; (attributes, result) pairs. Each call waits its turn in the report's window."""
        out: list[tuple[dict, Any]] = []
        cursor: str | None = None
        while True:
            self._window(report).wait(self.sleep)
            with self._lock:
                self.report_calls[report] = self.report_calls.get(report, 0) + 1
            answer = self._call(fn, body, **({"page_cursor": cursor} if cursor else {}))
            attrs = ((answer or {}).get("data") or {}).get("attributes") if isinstance(answer, dict) else None
            if not isinstance(attrs, dict) or not isinstance(attrs.get("results"), list):
                raise self.error(PermanentError, f"malformed {report} report: no results")
            out += [(attrs, r) for r in attrs["results"]]
            cursor = _cursor(((answer.get("links") or {}).get("next")), "page_cursor")
            if not cursor:
                return out

    def _report_body(self, kind: str, start: date, end: date, group_by: list[str], **extra: Any) -> dict[str, Any]:
        return {
            "data": {
                "type": kind,
                "attributes": {
                    "statistics": list(STATISTICS),
                    "timeframe": {"start": f"{start}T00:00:00+00:00", "end": f"{end}T23:59:59+00:00"},
                    "conversion_metric_id": self.conversion_metric(),
                    "group_by": group_by,
                    "filter": 'equals(send_channel,"email")',
                    **extra,
                },
            }
        }

    def _campaign_rows(self, date_from: date, date_to: date, sends: dict[str, date | None], known: dict) -> tuple:
        body = self._report_body("campaign-values-report", date_from, date_to, ["campaign_id", "send_channel"])
        rows: dict[str, dict[str, Any]] = {}
        for _, result in self._report("campaign-values", self.sdk().Reporting.query_campaign_values, body):
            cid = str((result.get("groupings") or {}).get("campaign_id") or "")
            if not cid or cid not in known:
                continue
            day = sends.get(cid) or date_to
            day = min(max(day, date_from), date_to)  # a campaign is one send: its numbers go on its send date
            stats = self._stats(result, f"campaign {cid}")
            row = rows.setdefault(cid, self._metric_row("email_campaign", cid, day))
            for name, value in self.metrics(stats).items():
                row[name] = (row.get(name) or 0.0) + (value or 0.0)
        return "metrics", list(rows.values())

    def _flow_messages(self, date_from: date, date_to: date, flows: dict[str, dict[str, Any]]) -> tuple:
        """The flows' messages (entities under their flow), and each flow's completion rate.

        A flow's `completion_rate` is the recipients of its least-received email over those of
        its most-received one: in a series that every recipient enters at its first email,
        the share that reaches its last.
        """
        body = self._report_body(
            "flow-values-report", date_from, date_to, ["flow_id", "flow_message_id", "flow_message_name"]
        )
        out: dict[str, dict[str, Any]] = {}
        reached: dict[str, list[float]] = {}
        for _, result in self._report("flow-values", self.sdk().Reporting.query_flow_values, body):
            g = result.get("groupings") or {}
            fid, mid = str(g.get("flow_id") or ""), str(g.get("flow_message_id") or "")
            if fid in flows and mid:
                row = self._entity("flow_message", {"id": mid, "attributes": {}}, fid)
                row["name"] = g.get("flow_message_name") or mid
                row["status"] = "active"
                out[mid] = row
                recipients = self._stats(result, f"flow message {mid}").get("recipients")
                if recipients is not None:
                    reached.setdefault(fid, []).append(float(recipients))
        for fid, counts in reached.items():
            if len(counts) > 1 and max(counts) > 0:
                flows[fid]["completion_rate"] = round(min(counts) / max(counts), 4)
        return "entities", list(out.values())

    def _flow_rows(self, date_from: date, date_to: date, flows: set[str]) -> tuple:
        rows: dict[tuple[str, str, date], dict[str, Any]] = {}
        start = date_from
        while start <= date_to:
            end = min(date_to, start + timedelta(days=self.SERIES_MAX_DAYS - 1))
            body = self._report_body("flow-series-report", start, end, ["flow_id", "flow_message_id"], interval="daily")
            for attrs, result in self._report("flow-series", self.sdk().Reporting.query_flow_series, body):
                g = result.get("groupings") or {}
                fid, mid = str(g.get("flow_id") or ""), str(g.get("flow_message_id") or "")
                if fid not in flows:
                    continue
                days = [_day(d) for d in attrs.get("date_times") or []]
                stats = result.get("statistics") or {}
                for i, day in enumerate(days):
                    if day is None or not start <= day <= end:
                        continue
                    point = {k: v[i] for k, v in stats.items() if isinstance(v, list) and i < len(v)}
                    values = self.metrics(self._checked(point, f"flow {fid} on {day}"))
                    for level, eid in (("flow", fid), ("flow_message", mid)):
                        if not eid:
                            continue
                        row = rows.setdefault((level, eid, day), self._metric_row(level, eid, day))
                        for name, value in values.items():
                            row[name] = (row.get(name) or 0.0) + (value or 0.0)
            start = end + timedelta(days=1)
        return "metrics", list(rows.values())

    def _stats(self, result: dict[str, Any], what: str) -> dict[str, Any]:
        stats = result.get("statistics")
        if not isinstance(stats, dict):
            raise self.error(PermanentError, f"malformed report row for {what}: no statistics")
        return self._checked(stats, what)

    def _checked(self, stats: dict[str, Any], what: str) -> dict[str, Any]:
        for name in STATISTICS:
            value = stats.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise self.error(PermanentError, f"malformed report: {name} of {what} is {value!r}")
        return stats

    def _metric_row(self, level: str, entity_id: str, day: date) -> dict[str, Any]:
        return {
            "date": day,
            "platform": PLATFORM,
            "account_id": self.account.account_id,
            "level": level,
            "entity_id": entity_id,
        }

    # ------------------------------------------------------------------ state

    def state(self, key: EntityKey) -> dict[str, Any]:
        api = self.sdk()
        if key.level == "flow":
            f = self._get(api.Flows.get_flow, key)
            attrs = f.get("attributes") or {}
            status = attrs.get("status")
            return {
                "status": "archived" if attrs.get("archived") else self._status(status),
                "flow_status": status,
            }
        if key.level == "segment":
            members = self._members(key)
            suppressed = sum(1 for p in members if _suppressed(p))
            return {"profile_count": float(len(members)), "suppressed_profiles": suppressed}
        if key.level == "email_campaign":
            c = self._get(api.Campaigns.get_campaign, key)
            status = (c.get("attributes") or {}).get("status")
            variant = self._variant(key.entity_id, (c.get("attributes") or {}).get("name") or "")
            return {"status": self._status(status), "ab_test_subject": variant[1] if variant else None}
        raise self.error(PermanentError, f"Klaviyo has no {key.level!r} entities rulerun changes")

    def _get(self, fn: Callable[..., Any], key: EntityKey) -> dict[str, Any]:
        try:
            body = self._call(fn, key.entity_id)
        except PermanentError as exc:
            if not isinstance(exc, AuthError) and _status_of(exc) == 404:
                raise self.error(PermanentError, f"unknown {key.level} {key.entity_id} in this account") from None
            raise
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or str(data.get("id")) != key.entity_id:
            raise self.error(PermanentError, f"malformed answer reading {key.level} {key.entity_id}")
        return data

    def _members(self, key: EntityKey) -> list[dict[str, Any]]:
        """The profiles of a segment, or of a list when no segment has the id."""
        api = self.sdk()
        fields = {"page_size": self.PAGE_SIZE["profiles"]}
        try:
            return list(self._pages(api.Segments.get_profiles_for_segment, "profile", key.entity_id, **fields))
        except PermanentError as exc:
            if isinstance(exc, AuthError) or _status_of(exc) != 404:
                raise
        try:
            return list(self._pages(api.Lists.get_profiles_for_list, "profile", key.entity_id, **fields))
        except PermanentError as exc:
            if not isinstance(exc, AuthError) and _status_of(exc) == 404:
                raise self.error(PermanentError, f"unknown segment or list {key.entity_id} in this account") from None
            raise

    # ------------------------------------------------------------------ writes through the template

    def write(self, change: Change) -> Written:
        if change.key.level != "flow" or change.attribute not in ("status", "flow_status"):
            raise self.error(PermanentError, f"Klaviyo cannot change {change.attribute} of a {change.key.level}")
        wire = {"active": "live", "paused": "manual"}.get(change.value, change.value)
        body = {"data": {"type": "flow", "id": change.key.entity_id, "attributes": {"status": wire}}}
        answer = self._call(self.sdk().Flows.update_flow, change.key.entity_id, body)
        got = (
            ((answer or {}).get("data") or {}).get("attributes", {}).get("status") if isinstance(answer, dict) else None
        )
        if got != wire:
            raise self.error(
                PermanentError, f"flow {change.key.entity_id}: the update was not confirmed (status {got!r})"
            )
        return Written({"id": change.key.entity_id, "flow_status": wire})

    def check_change(self, key: EntityKey, attribute: str, state: dict[str, Any]) -> None:
        """A draft flow is not switched on by `enable`: it was never reviewed as live."""
        if attribute == "status" and state.get("flow_status") == "draft":
            raise self.error(
                PermanentError,
                f"flow {key.entity_id} is a draft: set it live with set_flow_status after reviewing it",
            )

    # ------------------------------------------------------------------ suppression and A/B tests

    def execute(self, req: ActionRequest) -> ExecResult:
        if req.type not in _OWN_TYPES:
            return super().execute(req)
        with self.calling(f"{req.type} on {req.entity.level} {req.entity.entity_id}"):
            done = self._done.get(req.action_id) if req.action_id else None
            if done is not None:
                return done
            self._check_own(req)
            result = self._own_action(req)
        if req.action_id:
            self._done[req.action_id] = result
        return result

    def execute_batch(self, reqs: list[ActionRequest]) -> dict[str, ExecResult]:
        own = [r for r in reqs if r.type in _OWN_TYPES]
        if not own:
            return super().execute_batch(reqs)
        if len(reqs) == 1:
            return {reqs[0].action_id: self.execute(reqs[0])}
        return super(LiveAdapter, self).execute_batch(reqs)  # one by one (Adapter's default)

    def _check_own(self, req: ActionRequest) -> None:
        from platforms import get_platform

        key = req.entity
        if key.account_id and key.account_id != self.account.account_id:
            raise self.error(PermanentError, f"entity belongs to account {key.account_id}")
        name = {"unsuppress_profiles": "suppress_profiles", "remove_ab_test": "create_ab_test"}.get(req.type, req.type)
        if not get_platform(PLATFORM).supports(name, key.level):
            raise self.error(PermanentError, f"{req.type} is not supported on {PLATFORM} {key.level}s")

    def _own_action(self, req: ActionRequest) -> ExecResult:
        if req.type in ("suppress_profiles", "unsuppress_profiles"):
            return self._suppression(req, on=req.type == "suppress_profiles")
        return self._ab_test(req, create=req.type == "create_ab_test")

    def _suppression(self, req: ActionRequest, *, on: bool) -> ExecResult:
        """Suppress (or unsuppress) profiles in jobs of `SUPPRESS_BATCH`, each polled until it completes."""
        key = req.entity
        members = self._members(key)
        if on:
            emails: list[str] = [e for p in members if not _suppressed(p) and (e := _email(p))]
        else:
            # only a suppression made through the API (USER_SUPPRESSED) can be lifted; bounces and complaints stay
            wanted = set(req.params.get("emails") or [])
            emails = [e for p in members if _lifts(p) and (e := _email(p)) is not None and e in wanted]
        before = sum(1 for p in members if _suppressed(p))
        if on and not emails and before:
            # already done (a retry, another process): the plan lifts what this action suppressed
            restore = req.before.get("suppressed_profiles", 0)
            plan = {
                "type": "unsuppress_profiles",
                "params": {"emails": [e for p in members if _lifts(p) and (e := _email(p))]},
                "before": {"suppressed_profiles": before},
                "after": {"suppressed_profiles": restore},
            }
            return ExecResult({"suppressed": 0, "suppressed_profiles": before, "already": True}, plan)
        confirmed: list[str] = []
        batches = [emails[i : i + self.SUPPRESS_BATCH] for i in range(0, len(emails), self.SUPPRESS_BATCH)]
        for n, batch in enumerate(batches, 1):
            try:
                self._job(batch, on=on)
            except AdapterError as exc:
                verb = "suppressed" if on else "unsuppressed"
                raise self.error(
                    type(exc) if isinstance(exc, AuthError) else PermanentError,
                    f"{len(confirmed)} of {len(emails)} profiles {verb} ({n - 1} of {len(batches)} jobs confirmed); "
                    f"job {n} failed: {exc.message}. The confirmed profiles stay {verb}: run the action again "
                    f"to finish, or review them in Klaviyo",
                ) from None
            confirmed += batch
        after = before + len(confirmed) if on else before - len(confirmed)
        undo = "unsuppress_profiles" if on else "suppress_profiles"
        plan = {
            "type": undo,
            "params": {"emails": confirmed},
            "before": {"suppressed_profiles": after},
            "after": {"suppressed_profiles": before},
        }
        verb = "suppressed" if on else "unsuppressed"
        return ExecResult({verb: len(confirmed), "suppressed_profiles": after, "jobs": len(batches)}, plan)

    def _job(self, emails: list[str], *, on: bool) -> None:
        api = self.sdk().Profiles
        kind = "profile-suppression-bulk-create-job" if on else "profile-suppression-bulk-delete-job"
        profiles = {"data": [{"type": "profile", "attributes": {"email": e}} for e in emails]}
        body = {"data": {"type": kind, "attributes": {"profiles": profiles}}}
        created = self._call(api.bulk_suppress_profiles if on else api.bulk_unsuppress_profiles, body)
        job_id = ((created or {}).get("data") or {}).get("id") if isinstance(created, dict) else None
        if not job_id:
            raise self.error(PermanentError, "malformed answer creating the job: no id")
        getter = api.get_bulk_suppress_profiles_job if on else api.get_bulk_unsuppress_profiles_job
        waited, pause = 0.0, self.poll_interval
        while True:
            answer = self._call(getter, job_id)
            status = (((answer or {}).get("data") or {}).get("attributes") or {}).get("status")
            if status == _JOB_DONE:
                return
            if status in _JOB_FAILED:
                raise self.error(PermanentError, f"job {job_id} ended {status}")
            if waited + pause > self.job_timeout:
                raise self.error(TransientError, f"job {job_id} still {status} after {waited:.0f} s")
            self.sleep(pause)
            waited += pause
            pause = min(pause * 2, 30.0)

    def _variant(self, campaign_id: str, name: str) -> tuple[str, str] | None:
        """Variant B of a campaign's subject-line test: (campaign id, subject), found by its name."""
        marker = _variant_name(campaign_id)
        found = self._pages(
            self.sdk().Campaigns.get_campaigns,
            "campaign",
            filter=f"and(equals(messages.channel,'email'),contains(name,\"{marker}\"))",
        )
        for c in found:
            if marker in ((c.get("attributes") or {}).get("name") or ""):
                message = self._message(str(c["id"]))
                return str(c["id"]), message[1]
        return None

    def _message(self, campaign_id: str) -> tuple[str, str]:
        body = self._call(self.sdk().Campaigns.get_messages_for_campaign, campaign_id)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or not data:
            raise self.error(PermanentError, f"campaign {campaign_id} has no message")
        content = ((data[0].get("attributes") or {}).get("definition") or {}).get("content") or {}
        return str(data[0]["id"]), str(content.get("subject") or "")

    def _ab_test(self, req: ActionRequest, *, create: bool) -> ExecResult:
        key = req.entity
        campaign = self._get(self.sdk().Campaigns.get_campaign, key)
        attrs = campaign.get("attributes") or {}
        subject = req.after.get("ab_test_subject") if create else None
        variant = self._variant(key.entity_id, attrs.get("name") or "")
        current = variant[1] if variant else None
        if create:
            if not subject:
                raise self.error(PermanentError, "create_ab_test without a subject")
            if str(attrs.get("status", "")).lower() != "draft":
                raise self.error(PermanentError, f"campaign {key.entity_id} is {attrs.get('status')}, not a draft")
            if variant is None:
                name = f"{attrs.get('name') or key.entity_id} {_variant_name(key.entity_id)}"
                body = {"data": {"type": "campaign", "id": key.entity_id, "attributes": {"new_name": name}}}
                clone = self._call(self._raw, "POST", "/api/campaign-clone", {}, body)
                clone_id = ((clone or {}).get("data") or {}).get("id")
                if not clone_id:
                    raise self.error(PermanentError, "malformed answer cloning the campaign: no id")
                variant = (str(clone_id), "")
            if variant[1] != subject:
                message_id, _ = self._message(variant[0])
                patch = {
                    "data": {
                        "type": "campaign-message",
                        "id": message_id,
                        "attributes": {"definition": {"channel": "email", "content": {"subject": subject}}},
                    }
                }
                self._call(self._raw, "PATCH", "/api/campaign-messages/{id}", {"id": message_id}, patch)
            plan = {
                "type": "remove_ab_test",
                "params": {"subject": subject, "variant_campaign_id": variant[0]},
                "before": {"ab_test_subject": subject},
                "after": {"ab_test_subject": current if current != subject else None},
            }
            return ExecResult({"ab_test_subject": subject, "variant_campaign_id": variant[0]}, plan)
        if variant is not None:
            self._call(self.sdk().Campaigns.delete_campaign, variant[0])
        restore = req.params.get("subject") or current
        plan = {
            "type": "create_ab_test",
            "params": {"subject": restore},
            "before": {"ab_test_subject": None},
            "after": {"ab_test_subject": restore},
        }
        return ExecResult({"ab_test_subject": None, "removed": variant[0] if variant else None}, plan)


def _variant_name(campaign_id: str) -> str:
    return f"[subject test B of {campaign_id}]"


def _email(profile: dict[str, Any]) -> str | None:
    return (profile.get("attributes") or {}).get("email")


def _suppressed(profile: dict[str, Any]) -> bool:
    subs = ((profile.get("attributes") or {}).get("subscriptions") or {}).get("email") or {}
    return bool((subs.get("marketing") or {}).get("suppression"))


def _lifts(profile: dict[str, Any]) -> bool:
    """Suppressed by an API or a person (USER_SUPPRESSED), which unsuppressing may lift."""
    subs = ((profile.get("attributes") or {}).get("subscriptions") or {}).get("email") or {}
    reasons = [s.get("reason") for s in (subs.get("marketing") or {}).get("suppression") or [] if isinstance(s, dict)]
    return bool(reasons) and all(r == "USER_SUPPRESSED" for r in reasons)


def _cursor(link: Any, name: str) -> str | None:
    if not isinstance(link, str) or not link:
        return None
    values = parse_qs(urlsplit(link).query).get(name)
    return values[0] if values else None


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _detail(body: Any) -> str:
    import json

    try:
        doc = json.loads(body) if isinstance(body, str | bytes) else body
        errors = doc.get("errors") if isinstance(doc, dict) else None
        if errors and isinstance(errors[0], dict):
            return str(errors[0].get("detail") or errors[0].get("title") or "")[:300]
    except ValueError:
        pass
    return ""


def _retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("Retry-After") if headers is not None else None
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _status_of(exc: AdapterError) -> int | None:
    return exc.details.get("status") if isinstance(exc.details, dict) else None
