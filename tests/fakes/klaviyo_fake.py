"""A local fake of the Klaviyo API (JSON:API) for testing platforms/klaviyo/adapter.py through the official SDK.

`KlaviyoFake()` starts an HTTP server on 127.0.0.1; `url` is its address for
`Account.endpoint`. It holds one account (`ACCOUNT`, USD) with email campaigns (sent ones,
a scheduled one, a draft with a large audience and a draft with a small one), flows (live,
manual, draft), segments with profiles, and values and series statistics. It serves:

- GET   /api/accounts                                the account
- GET   /api/metrics                                 metrics (the "Placed Order" conversion metric)
- GET   /api/campaigns?filter=equals(messages.channel,'email')   cursor-paged (links.next)
- GET   /api/campaigns/{id}, GET /api/campaigns/{id}/campaign-messages, DELETE /api/campaigns/{id}
- GET   /api/campaign-recipient-estimations/{id}     a draft's estimated recipients
- POST  /api/campaign-clone, PATCH /api/campaign-messages/{id}   (subject of a cloned draft)
- GET   /api/flows (page[size] <= 50), GET /api/flows/{id}, PATCH /api/flows/{id} (status)
- GET   /api/segments (page[size] <= 10), GET /api/segments/{id}?additional-fields[segment]=profile_count
- GET   /api/segments/{id}/profiles (page[size] <= 100; subscriptions with suppression)
- POST  /api/profile-suppression-bulk-{create,delete}-jobs (<= 100 emails), GET .../{job_id}
- POST  /api/campaign-values-reports, /api/flow-values-reports, /api/flow-series-reports

Every request must carry `Authorization: Klaviyo-API-Key <key>` and a `revision` header
(any date). Report endpoints answer 429 past `report_limit` (calls, seconds) per report
kind, and past `daily_quota` calls a day with a Retry-After up to the next UTC midnight.
Scriptable faults: `fail_next(kind, n)` with `auth` (401), `rate_limit` (429, Retry-After),
`transient` (503), `permanent` (400); `fail_job(n)` (the n-th suppression job from now ends
`cancelled`); `fail_item(flow id)` (that flow's next update answers 400). `requests` records
(method, path, query, body); `updates` every applied change.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

from tests.fakes.base import HttpFakeServer

ACCOUNT = "XkP9Lm"
API_KEY = "pk_SENTINEL_klaviyo_private_key_0123456789"
PLACED_ORDER = "RESQ6t"
DAYS = 120
STATISTICS = (
    "recipients",
    "delivered",
    "opens_unique",
    "open_rate",
    "clicks_unique",
    "click_rate",
    "conversions",
    "conversion_value",
    "revenue_per_recipient",
    "unsubscribes",
    "spam_complaints",
    "bounced",
)
# the entities tests name
F_WELCOME, F_CART, F_SUNSET, F_DRAFT = "WeLc01", "CaRt02", "SuNs03", "DrFt04"
C_SENT, C_SCHEDULED, C_DRAFT_BIG, C_DRAFT_SMALL = (
    "01JBSENT000000000000000001",
    "01JBSCHD000000000000000002",
    "01JBDRFT000000000000000003",
    "01JBDRFT000000000000000004",
)
S_UNENGAGED, S_VIP = "UnEn12", "VipSeg"
L_NEWSLETTER = "Y6nRLr"


def _today() -> date:
    return datetime.now(UTC).date()


class KlaviyoFake(HttpFakeServer):
    """The Klaviyo API for one account; see the module docstring."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        campaigns: int = 0,
        flows: int = 0,
        profiles: int = 250,
        report_limit: tuple[int, float] | None = (2, 60.0),
        daily_quota: int = 225,
    ) -> None:
        super().__init__(latency=latency)
        self.requests: list[tuple[str, str, dict[str, list[str]], Any]] = []
        self.updates: list[tuple[str, str, Any]] = []
        self.revisions: list[str] = []  # the revision header of each request
        self.report_limit = report_limit
        self.clock: Callable[[], float] = time.time  # what the per-minute report limit reads (a test's clock)
        self.daily_quota = daily_quota
        self.report_calls: dict[str, deque[float]] = {}
        self.report_day: dict[str, int] = {}
        self.throttled = 0
        self.job_failures: list[int] = []
        self.failing_flows: set[str] = set()
        self.jobs: dict[str, dict[str, Any]] = {}
        today = _today()
        self.flows: dict[str, dict[str, Any]] = {
            F_WELCOME: _flow("Welcome Series", "live", "Added to List", 420, 0.061, 0.045),
            F_CART: _flow("Abandoned Cart", "live", "Metric", 260, 0.083, 0.03),  # recovery 3% < 5%
            F_SUNSET: _flow("Sunset Unengaged", "manual", "Added to List", 150, 0.006, 0.01),
            F_DRAFT: _flow("Post-Purchase (draft)", "draft", "Metric", 0, 0.0, 0.0),
        }
        for i in range(flows):
            self.flows[f"Fl{i:04d}"] = _flow(f"Flow {i}", "live", "Metric", 100 + i, 0.05, 0.02)
        self.campaigns: dict[str, dict[str, Any]] = {
            C_SENT: _campaign("Newsletter: Board Black Friday", "Sent", today - timedelta(days=3), 88_000, spam=0.0018),
            C_SCHEDULED: _campaign("Dot launch", "Scheduled", today + timedelta(days=2), 40_000),
            C_DRAFT_BIG: _campaign("Bot spring promo", "Draft", None, 5_000),
            C_DRAFT_SMALL: _campaign("VIP preview", "Draft", None, 1_500),
        }
        for i in range(campaigns):
            sent = today - timedelta(days=1 + i % 90)
            self.campaigns[f"01JBBULK{i:018d}"] = _campaign(f"Bulk {i}", "Sent", sent, 20_000 + i)
        self.messages: dict[str, dict[str, Any]] = {}
        for cid, c in self.campaigns.items():
            self.messages[f"M{cid}"] = {"campaign_id": cid, "subject": f"{c['name']}: news"}
        self.profiles: dict[str, dict[str, Any]] = {
            f"01PRF{i:08d}": {"email": f"person{i}@example.com", "suppressed": False} for i in range(profiles)
        }
        ids = list(self.profiles)
        self.segments: dict[str, dict[str, Any]] = {
            S_UNENGAGED: {"name": "Unengaged 120d (sunset done)", "members": ids[: profiles - 20]},
            S_VIP: {"name": "VIP 3+ orders", "members": ids[profiles - 20 :]},
        }
        self.lists: dict[str, dict[str, Any]] = {L_NEWSLETTER: {"name": "Newsletter", "members": list(ids)}}

    # ------------------------------------------------------------------ faults and views

    def fail_job(self, nth: int = 1) -> None:
        """The `nth` suppression job from now ends cancelled."""
        self.job_failures.append(nth)

    def fail_item(self, flow_id: str) -> None:
        self.failing_flows.add(flow_id)

    def report_requests(self, kind: str | None = None) -> list[Any]:
        return [b for m, p, _, b in self.requests if p.endswith("-reports") and (kind is None or kind in p)]

    def suppressed(self) -> int:
        return sum(1 for p in self.profiles.values() if p["suppressed"])

    # ------------------------------------------------------------------ HTTP

    def handle(self, method, path, query, headers, body):
        params = parse_qs(query)
        payload = json.loads(body) if body else None
        revision = headers.get("revision") or headers.get("Revision") or ""
        with self.lock:
            self.requests.append((method, path, params, payload))
            self.revisions.append(revision)
        fault = self.record(method, path)
        if fault:
            return self._fault(fault)
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        if auth != f"Klaviyo-API-Key {API_KEY}":
            return _error(401, "not_authenticated", "Incorrect authentication credentials.")
        try:
            date.fromisoformat(revision[:10])
        except ValueError:
            return _error(400, "invalid", "A valid revision header is required.")
        try:
            return self._route(method, path.rstrip("/"), params, payload)
        except KeyError as exc:
            return _error(404, "not_found", f"Not found: {exc}")

    def _fault(self, kind: str) -> tuple[int, bytes, dict[str, str]]:
        if kind == "auth":
            return _error(401, "not_authenticated", "Incorrect authentication credentials.")
        if kind == "rate_limit":
            return _error(
                429, "throttled", "Request was throttled. Expected available in 1 second.", {"Retry-After": "1"}
            )
        if kind == "transient":
            return _error(503, "service_unavailable", "Service unavailable.")
        return _error(400, "invalid", "Invalid input.")

    def _route(self, method: str, path: str, params: dict[str, list[str]], body: Any):
        one = lambda name: (params.get(name) or [None])[0]  # noqa: E731
        parts = path.split("/")[2:]  # after /api
        if method == "GET" and parts == ["accounts"]:
            return _ok({"data": [self._account()], "links": {"self": f"{self.url}/api/accounts"}})
        if method == "GET" and parts == ["metrics"]:
            metric = {
                "type": "metric",
                "id": PLACED_ORDER,
                "attributes": {"name": "Placed Order", "created": "2024-01-01T00:00:00+00:00"},
                "links": {"self": f"{self.url}/api/metrics/{PLACED_ORDER}"},
            }
            return _ok({"data": [metric], "links": {"self": f"{self.url}/api/metrics"}})
        if parts and parts[0].endswith("-reports") and method == "POST":
            return self._report(parts[0], body, one("page_cursor"))
        if parts[:1] == ["campaigns"]:
            return self._campaigns(method, parts[1:], params, body)
        if parts[:1] == ["campaign-messages"] and method == "PATCH":
            msg = self.messages[parts[1]]
            subject = body["data"]["attributes"]["definition"]["content"]["subject"]
            msg["subject"] = subject
            self.updates.append(("campaign-message", parts[1], subject))
            return _ok({"data": self._message(parts[1]), "links": {"self": f"{self.url}/api/campaign-messages"}})
        if parts[:1] == ["campaign-recipient-estimations"]:
            c = self.campaigns[parts[1]]
            data = {
                "type": "campaign-recipient-estimation",
                "id": parts[1],
                "attributes": {"estimated_recipient_count": c["audience"]},
                "links": {"self": f"{self.url}/api/campaign-recipient-estimations/{parts[1]}"},
            }
            return _ok({"data": data, "links": {"self": data["links"]["self"]}})
        if parts == ["campaign-clone"] and method == "POST":
            src = self.campaigns[body["data"]["id"]]
            new_id = f"01JBCLON{len(self.campaigns):018d}"
            name = body["data"].get("attributes", {}).get("new_name") or f"{src['name']} (clone)"
            self.campaigns[new_id] = {**src, "name": name, "status": "Draft", "send": None}
            self.messages[f"M{new_id}"] = {
                "campaign_id": new_id,
                "subject": self.messages[f"M{body['data']['id']}"]["subject"],
            }
            self.updates.append(("campaign-clone", new_id, name))
            return _ok({"data": self._campaign(new_id), "links": {"self": f"{self.url}/api/campaign-clone"}}, 201)
        if parts[:1] == ["flows"]:
            return self._flows(method, parts[1:], one, body)
        if parts[:1] == ["segments"]:
            return self._segments(parts[1:], one, self.segments, "segment")
        if parts[:1] == ["lists"]:
            return self._segments(parts[1:], one, self.lists, "list")
        if parts[:1] in (["profile-suppression-bulk-create-jobs"], ["profile-suppression-bulk-delete-jobs"]):
            return self._jobs(method, parts, body)
        return _error(404, "not_found", f"no route {method} {path}")

    # ------------------------------------------------------------------ resources

    def _account(self) -> dict[str, Any]:
        return {
            "type": "account",
            "id": ACCOUNT,
            "attributes": {
                "test_account": False,
                "contact_information": {
                    "default_sender_name": "Vibe",
                    "default_sender_email": "hello@example.com",
                    "website_url": "https://example.com",
                    "organization_name": "Vibe Inc",
                    "street_address": {
                        "address1": "1 Main St",
                        "address2": "",
                        "city": "Oakland",
                        "region": "CA",
                        "country": "US",
                        "zip": "94607",
                    },
                },
                "industry": "Electronics",
                "timezone": "America/Los_Angeles",
                "preferred_currency": "USD",
                "public_api_key": ACCOUNT,
                "locale": "en-US",
            },
            "links": {"self": f"{self.url}/api/accounts/{ACCOUNT}"},
        }

    def _campaign(self, cid: str) -> dict[str, Any]:
        c = self.campaigns[cid]
        send = c["send"]
        return {
            "type": "campaign",
            "id": cid,
            "attributes": {
                "name": c["name"],
                "status": c["status"],
                "archived": False,
                "audiences": {"included": ["Y6nRLr"], "excluded": []},
                "send_options": {"use_smart_sending": True, "ignore_unsubscribes": False},
                "send_strategy": {"method": "static", "datetime": f"{send}T16:00:00+00:00"}
                if send
                else {"method": "immediate"},
                "created_at": "2026-01-05T10:00:00+00:00",
                "scheduled_at": f"{send}T15:00:00+00:00" if send else None,
                "updated_at": "2026-01-05T10:00:00+00:00",
                "send_time": f"{send}T16:00:00+00:00" if send else None,
            },
            "links": {"self": f"{self.url}/api/campaigns/{cid}"},
        }

    def _message(self, mid: str) -> dict[str, Any]:
        m = self.messages[mid]
        return {
            "type": "campaign-message",
            "id": mid,
            "attributes": {
                "definition": {"channel": "email", "label": "Email", "content": {"subject": m["subject"]}},
                "send_times": [],
                "created_at": "2026-01-05T10:00:00+00:00",
                "updated_at": "2026-01-05T10:00:00+00:00",
            },
            "links": {"self": f"{self.url}/api/campaign-messages/{mid}"},
        }

    def _campaigns(self, method: str, rest: list[str], params: dict[str, list[str]], body: Any):
        if not rest:
            flt = (params.get("filter") or [""])[0]
            if "messages.channel" not in flt:
                return _error(400, "invalid", "A channel filter is required: filter=equals(messages.channel,'email').")
            ids = sorted(self.campaigns)
            size = int((params.get("page[size]") or ["10"])[0])
            return self._page("campaigns", [self._campaign(i) for i in ids], params, size, 100)
        cid = rest[0]
        if cid not in self.campaigns:
            return _error(404, "not_found", f"campaign {cid} not found")
        if method == "DELETE":
            del self.campaigns[cid]
            self.messages.pop(f"M{cid}", None)
            self.updates.append(("campaign-delete", cid, None))
            return 204, b"", {}
        if rest[1:] == ["campaign-messages"]:
            data = [self._message(m) for m, v in self.messages.items() if v["campaign_id"] == cid]
            return _ok({"data": data, "links": {"self": f"{self.url}/api/campaigns/{cid}/campaign-messages"}})
        return _ok({"data": self._campaign(cid), "links": {"self": f"{self.url}/api/campaigns/{cid}"}})

    def _flow(self, fid: str) -> dict[str, Any]:
        f = self.flows[fid]
        return {
            "type": "flow",
            "id": fid,
            "attributes": {
                "name": f["name"],
                "status": f["status"],
                "archived": False,
                "created": "2025-11-03T10:00:00+00:00",
                "updated": "2026-01-05T10:00:00+00:00",
                "trigger_type": f["trigger"],
            },
            "links": {"self": f"{self.url}/api/flows/{fid}"},
        }

    def _flows(self, method: str, rest: list[str], one, body: Any):
        if not rest:
            size = int(one("page[size]") or 50)
            return self._page(
                "flows", [self._flow(f) for f in self.flows], {"page[cursor]": [one("page[cursor]")]}, size, 50
            )
        fid = rest[0]
        if fid not in self.flows:
            return _error(404, "not_found", f"flow {fid} not found")
        if method == "PATCH":
            if fid in self.failing_flows:
                self.failing_flows.discard(fid)
                return _error(400, "invalid", f"flow {fid} cannot be updated now")
            status = (body or {}).get("data", {}).get("attributes", {}).get("status")
            if status not in ("live", "manual", "draft"):
                return _error(400, "invalid", f"invalid status {status!r}")
            self.flows[fid]["status"] = status
            self.updates.append(("flow", fid, status))
        return _ok({"data": self._flow(fid), "links": {"self": f"{self.url}/api/flows/{fid}"}})

    def _segments(self, rest: list[str], one, groups: dict[str, dict[str, Any]], kind: str):
        plural = f"{kind}s"
        if not rest:
            size = int(one("page[size]") or 10)
            data = [self._segment(groups, kind, s, with_count=False) for s in groups]
            return self._page(plural, data, {"page[cursor]": [one("page[cursor]")]}, size, 10)
        sid = rest[0]
        if sid not in groups:
            return _error(404, "not_found", f"{kind} {sid} not found")
        if rest[1:] == ["profiles"]:
            size = int(one("page[size]") or 20)
            members = [self._profile(p) for p in groups[sid]["members"]]
            return self._page(f"{plural}/{sid}/profiles", members, {"page[cursor]": [one("page[cursor]")]}, size, 100)
        counted = one(f"additional-fields[{kind}]") == "profile_count"
        doc = {
            "data": self._segment(groups, kind, sid, with_count=counted),
            "links": {"self": f"{self.url}/api/{plural}/{sid}"},
        }
        return _ok(doc)

    def _segment(self, groups: dict[str, dict[str, Any]], kind: str, sid: str, *, with_count: bool) -> dict[str, Any]:
        s = groups[sid]
        attrs: dict[str, Any] = {
            "name": s["name"],
            "created": "2025-10-01T10:00:00+00:00",
            "updated": "2026-01-05T10:00:00+00:00",
        }
        if kind == "segment":
            attrs.update({"is_active": True, "is_processing": False, "is_starred": False})
        else:
            attrs["opt_in_process"] = "single_opt_in"
        if with_count:
            attrs["profile_count"] = len(s["members"])
        return {"type": kind, "id": sid, "attributes": attrs, "links": {"self": f"{self.url}/api/{kind}s/{sid}"}}

    def _profile(self, pid: str) -> dict[str, Any]:
        p = self.profiles[pid]
        suppression = (
            [{"reason": p.get("reason", "USER_SUPPRESSED"), "timestamp": "2026-01-05T10:00:00+00:00"}]
            if p["suppressed"]
            else []
        )
        return {
            "type": "profile",
            "id": pid,
            "attributes": {
                "email": p["email"],
                "joined_group_at": "2025-10-01T10:00:00+00:00",
                "subscriptions": {
                    "email": {
                        "marketing": {
                            "can_receive_email_marketing": not p["suppressed"],
                            "consent": "SUBSCRIBED",
                            "suppression": suppression,
                        }
                    }
                },
            },
            "links": {"self": f"{self.url}/api/profiles/{pid}"},
        }

    def _jobs(self, method: str, parts: list[str], body: Any):
        kind = parts[0]
        if method == "GET" and len(parts) == 2:
            job = self.jobs[parts[1]]
            return (
                _ok({"data": self._job(parts[1]), "links": {"self": f"{self.url}/api/{kind}/{parts[1]}"}})
                if job
                else None
            )
        emails = [p["attributes"]["email"] for p in body["data"]["attributes"]["profiles"]["data"]]
        if not 1 <= len(emails) <= 100:
            return _error(400, "invalid", "between 1 and 100 profiles per request")
        job_id = f"JOB{len(self.jobs) + 1:05d}"
        failed = False
        self.job_failures = [n - 1 for n in self.job_failures]
        if 0 in self.job_failures:
            self.job_failures.remove(0)
            failed = True
        self.jobs[job_id] = {"kind": kind, "emails": emails, "polls": 0, "failed": failed}
        return _ok({"data": self._job(job_id), "links": {"self": f"{self.url}/api/{kind}"}}, 202)

    def _job(self, job_id: str) -> dict[str, Any]:
        job = self.jobs[job_id]
        status = "queued" if job["polls"] == 0 else "processing" if job["polls"] == 1 else "complete"
        if job["failed"] and job["polls"] >= 1:
            status = "cancelled"
        if status == "complete" and not job.get("applied"):
            job["applied"] = True
            on = job["kind"].endswith("create-jobs")
            by_email = {p["email"]: p for p in self.profiles.values()}
            for email in job["emails"]:
                profile = by_email.get(email)
                if profile is None:
                    continue
                if on and not profile["suppressed"]:
                    profile.update(suppressed=True, reason="USER_SUPPRESSED")
                elif not on and profile.get("reason", "USER_SUPPRESSED") == "USER_SUPPRESSED":
                    profile["suppressed"] = False  # only manual suppressions are lifted
            self.updates.append(("suppression" if on else "unsuppression", job_id, len(job["emails"])))
        job["polls"] += 1
        kind = (
            "profile-suppression-bulk-create-job"
            if job["kind"].endswith("create-jobs")
            else "profile-suppression-bulk-delete-job"
        )
        return {
            "type": kind,
            "id": job_id,
            "attributes": {
                "status": status,
                "created_at": "2026-01-05T10:00:00+00:00",
                "total_count": len(job["emails"]),
                "completed_count": len(job["emails"]) if status == "complete" else 0,
                "completed_at": "2026-01-05T10:00:05+00:00" if status == "complete" else None,
            },
            "links": {"self": f"{self.url}/api/{job['kind']}/{job_id}"},
        }

    # ------------------------------------------------------------------ reports

    def _report(self, kind: str, body: Any, cursor: str | None):
        now = self.clock()
        with self.lock:
            day = self.report_day.get(kind, 0)
            if day >= self.daily_quota:
                self.throttled += 1
                midnight = datetime.combine(_today() + timedelta(days=1), datetime.min.time(), UTC)
                wait = int((midnight - datetime.now(UTC)).total_seconds()) + 1
                return _error(429, "throttled", "Daily request limit reached.", {"Retry-After": str(wait)})
            window = self.report_calls.setdefault(kind, deque())
            if self.report_limit:
                limit, period = self.report_limit
                while window and now - window[0] >= period:
                    window.popleft()
                if len(window) >= limit:
                    self.throttled += 1
                    wait = max(1, int(period - (now - window[0]) + 0.999))
                    return _error(
                        429,
                        "throttled",
                        f"Request was throttled. Expected available in {wait} seconds.",
                        {"Retry-After": str(wait)},
                    )
            window.append(now)
            self.report_day[kind] = day + 1
        attrs = body["data"]["attributes"]
        if not attrs.get("conversion_metric_id"):
            return _error(400, "invalid", "conversion_metric_id is required")
        start, end = _timeframe(attrs["timeframe"])
        stats = attrs["statistics"]
        rtype = body["data"]["type"]
        if kind == "campaign-values-reports":
            results = []
            for cid, c in sorted(self.campaigns.items()):
                if c["send"] and start <= c["send"] <= end and c["status"] == "Sent":
                    results.append(
                        {
                            "groupings": {
                                "campaign_id": cid,
                                "send_channel": "email",
                                "campaign_message_id": f"M{cid}",
                            },
                            "statistics": _values(c, stats),
                        }
                    )
            return self._report_page(rtype, {"results": results}, cursor)
        if kind == "flow-values-reports":
            results = []
            for fid, f in self.flows.items():
                total = _flow_day(f, 1.0)
                scaled = {k: v * ((end - start).days + 1) for k, v in total.items()}
                for n in (1, 2):
                    results.append(
                        {
                            "groupings": {
                                "flow_id": fid,
                                "flow_message_id": f"{fid}m{n}",
                                "flow_message_name": f"{f['name']} #{n}",
                                "send_channel": "email",
                            },
                            "statistics": _values(
                                {"recipients": scaled["recipients"] / n, **{k: v / n for k, v in scaled.items()}}, stats
                            ),
                        }
                    )
            return self._report_page(rtype, {"results": results}, cursor)
        if (end - start).days + 1 > 60:
            return _error(400, "invalid", "If daily is used, the timeframe cannot be longer than 60 days.")
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        results = []
        for fid, f in self.flows.items():
            for n, share in ((1, 0.6), (2, 0.4)):
                series = [_flow_day(f, share * (1.0 + 0.1 * ((d.toordinal() + len(fid)) % 3 - 1))) for d in days]
                results.append(
                    {
                        "groupings": {"flow_id": fid, "flow_message_id": f"{fid}m{n}", "send_channel": "email"},
                        "statistics": {s: [_stat(day, s) for day in series] for s in stats},
                    }
                )
        date_times = [f"{d}T00:00:00+00:00" for d in days]
        return self._report_page(rtype, {"results": results, "date_times": date_times}, cursor)

    def _report_page(self, rtype: str, attributes: dict[str, Any], cursor: str | None, size: int = 500):
        start = int(cursor or 0)
        results = attributes["results"]
        page = {**attributes, "results": results[start : start + size]}
        links: dict[str, Any] = {"self": f"{self.url}/api/{rtype}s"}
        if start + size < len(results):
            links["next"] = f"{self.url}/api/{rtype}s?page_cursor={start + size}"
        return _ok({"data": {"type": rtype, "attributes": page}, "links": links})

    def _page(self, path: str, items: list[Any], params: dict[str, list[Any]], size: int, most: int):
        if not 1 <= size <= most:
            return _error(400, "invalid", f"page[size] must be between 1 and {most}")
        cursor = (params.get("page[cursor]") or [None])[0]
        start = int(cursor) if cursor else 0
        links: dict[str, Any] = {"self": f"{self.url}/api/{path}"}  # next only when there is a next page
        if start + size < len(items):
            links["next"] = f"{self.url}/api/{path}?" + urlencode({"page[size]": size, "page[cursor]": start + size})
        return _ok({"data": items[start : start + size], "links": links})


def _flow(name: str, status: str, trigger: str, daily: float, click: float, conv: float) -> dict[str, Any]:
    return {"name": name, "status": status, "trigger": trigger, "daily": daily, "click": click, "conv": conv}


def _campaign(name: str, status: str, send: date | None, audience: int, spam: float = 0.0004) -> dict[str, Any]:
    return {"name": name, "status": status, "send": send, "audience": audience, "spam": spam}


def _flow_day(f: dict[str, Any], factor: float) -> dict[str, float]:
    recipients = round(f["daily"] * factor)
    delivered = round(recipients * 0.99)
    clicks = round(delivered * f["click"])
    conversions = round(recipients * f["conv"])
    return {
        "recipients": recipients,
        "delivered": delivered,
        "opens_unique": round(delivered * 0.45),
        "clicks_unique": clicks,
        "conversions": conversions,
        "conversion_value": round(conversions * 120.0, 2),
        "unsubscribes": round(delivered * 0.002),
        "spam_complaints": round(delivered * 0.0002),
        "bounced": recipients - delivered,
    }


def _stat(day: dict[str, float], name: str) -> float:
    if name in day:
        return day[name]
    delivered = day["delivered"] or 0
    rates = {
        "open_rate": day["opens_unique"] / delivered if delivered else 0.0,
        "click_rate": day["clicks_unique"] / delivered if delivered else 0.0,
        "revenue_per_recipient": day["conversion_value"] / day["recipients"] if day["recipients"] else 0.0,
    }
    return round(rates.get(name, 0.0), 6)


def _values(c: dict[str, Any], stats: list[str]) -> dict[str, float]:
    if "audience" in c:
        recipients = c["audience"]
        delivered = round(recipients * 0.985)
        day = {
            "recipients": recipients,
            "delivered": delivered,
            "opens_unique": round(delivered * 0.38),
            "clicks_unique": round(delivered * 0.021),
            "conversions": round(delivered * 0.021 * 0.012 * 10),
            "conversion_value": round(delivered * 0.021 * 0.12 * 100, 2),
            "unsubscribes": round(delivered * 0.002),
            "spam_complaints": round(delivered * c["spam"]),
            "bounced": recipients - delivered,
        }
    else:
        day = {k: round(v) if k != "conversion_value" else v for k, v in c.items()}
    return {s: _stat(day, s) for s in stats}


def _timeframe(tf: dict[str, Any]) -> tuple[date, date]:
    """The days a timeframe covers (a custom one: from its start's day to its end's day, inclusive)."""
    if "start" in tf:
        return datetime.fromisoformat(tf["start"]).date(), datetime.fromisoformat(tf["end"]).date()
    today = _today()
    return today - timedelta(days=30), today - timedelta(days=1)


def _ok(doc: Any, status: int = 200) -> tuple[int, bytes, dict[str, str]]:
    return status, json.dumps(doc).encode(), {"Content-Type": "application/vnd.api+json"}


def _error(status: int, code: str, detail: str, headers: dict[str, str] | None = None):
    body = {
        "errors": [
            {
                "id": "e1",
                "status": status,
                "code": code,
                "title": detail.split(".")[0],
                "detail": detail,
                "source": {"pointer": "/data/"},
            }
        ]
    }
    return status, json.dumps(body).encode(), {"Content-Type": "application/vnd.api+json", **(headers or {})}


def env(**overrides: str) -> dict[str, str]:
    """The credential variables for the fake's account."""
    return {"KLAVIYO_PRIVATE_API_KEY": API_KEY, **overrides}


class ContractHarness:
    """The contract suite's handle on this fake (tests/contract/__init__.py), through Prism when installed."""

    platform = "klaviyo"
    via_prism = True  # its traffic is checked by the Prism proxy (tests/fakes/klaviyo_prism.py)
    faults = ("auth", "rate_limit", "transient", "permanent")
    secrets = [API_KEY]

    def __init__(self, tmp_path, monkeypatch) -> None:
        from tests.fakes import klaviyo_prism

        self.fake = KlaviyoFake(profiles=150)
        self.prism = klaviyo_prism
        self.url = klaviyo_prism.route(self.fake)
        for name, value in env().items():
            monkeypatch.setenv(name, value)
        self.sleeps: list[float] = []

    def adapter(self, currency: str = "USD") -> Any:
        from platforms.adapter import Account
        from platforms.klaviyo.adapter import KlaviyoAdapter
        from platforms.ratelimit import CallWindow

        windows = {kind: CallWindow(1000, 60) for kind in ("campaign-values", "flow-values", "flow-series")}
        return KlaviyoAdapter(
            Account("klaviyo", ACCOUNT, currency=currency, endpoint=self.url),
            sleep=self.sleeps.append,
            windows=windows,
            poll_interval=0.01,
        )

    def _key(self, level: str, entity_id: str) -> Any:
        from engine.core.execution import EntityKey

        return EntityKey("klaviyo", ACCOUNT, level, entity_id)

    def entity(self, action_type: str, level: str) -> Any:
        if action_type == "suppress_profiles":
            return self._key("segment", S_UNENGAGED)
        if action_type == "create_ab_test":
            return self._key("email_campaign", C_DRAFT_BIG)
        # pause, enable and set_flow_status act on flows (the suite asks for a "campaign" to pause)
        return self._key("flow", F_SUNSET if action_type == "enable" else F_WELCOME)

    def another(self, action_type: str, level: str) -> Any:
        return self._key("flow", F_CART)

    def request(self, action_type: str, key: Any, state: dict, action_id: str) -> Any:
        from engine.core.execution import ActionRequest

        if action_type == "set_flow_status":
            target = "manual" if state["flow_status"] == "live" else "live"
            return ActionRequest(action_id, key, action_type, {"status": target}, state, {"flow_status": target})
        if action_type == "suppress_profiles":
            before, after = {"suppressed_profiles": 0}, {"suppressed_profiles": int(state["profile_count"])}
            return ActionRequest(action_id, key, action_type, {}, before, after)
        if action_type == "create_ab_test":
            subject = "Last chance: 20% off ends tonight"
            params = {"subject": subject}
            return ActionRequest(
                action_id, key, action_type, params, {"ab_test_subject": None}, {"ab_test_subject": subject}
            )
        return None

    def negative(self, key: Any) -> dict[str, Any]:  # pragma: no cover - Klaviyo has no keywords
        raise NotImplementedError

    def writes(self) -> int:
        return len(self.fake.updates)

    def fail_next(self, kind: str) -> None:
        self.fake.fail_next(kind, n=1)

    def fail_in_batch(self, key: Any) -> None:
        self.fake.fail_item(key.entity_id)

    # No use_jpy/wire: Klaviyo changes no amounts of money, so the JPY check does not apply.

    def close(self) -> None:
        self.fake.close()
        self.prism.check()
