"""A local fake of the ActiveCampaign API v3 for testing platforms/activecampaign/adapter.py over HTTP.

`ActiveCampaignFake()` starts an HTTP server on 127.0.0.1 (port 0, in a thread); `url` is
the account URL for `Account.endpoint` (the API lives under `/api/3`). It holds one
account with campaigns (a completed newsletter, one sending, one paused, one scheduled,
one with a high unsubscribe rate, a draft, and the emails of an automation), automations
(a win-back, a trial activation, an inactive one), lists with contacts (a small win-back
list, one of `BIG_LIST_SIZE` trial users) and contact automations. It serves, as
PLATFORM-FACTS section 7 describes (counters as strings, `meta.total` as a string,
`limit` at most 100, default 20):

- GET    /api/3/campaigns[?filters[type]=]          limit/offset paged
- GET    /api/3/campaigns/{id}, PUT (status), DELETE; POST /api/3/campaigns (a draft)
- GET    /api/3/automations[/{id}], PUT /api/3/automations/{id} (status 1 | 2)
- GET    /api/3/lists[/{id}]
- GET    /api/3/contacts?listid=&seriesid=          paged; both filters combine
- POST   /api/3/contactAutomations, DELETE /api/3/contactAutomations/{id}

Every request must carry `Api-Token: <TOKEN>` (else 403 with `{"message": ...}`). Faults:
`fail_next(kind, n)` with kind `auth` (403), `rate_limit` (429 with Retry-After),
`transient` (500) or `permanent` (422 with the `{"errors": [...]}` body); `fail_item(id)`
(writes to that entity, or enrollments of that contact, answer 422);
`rate_limit=(calls, seconds)` answers 429 past that many calls in any window (`throttled`
counts them); `latency` seconds per call. `requests` records (method, path, query, body);
`updates` each applied change.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import deque
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.base import HttpFakeServer

ACCOUNT = "vibe"
TOKEN = "ac-token-0123456789abcdef-SENTINEL"
BIG_LIST_SIZE = 1200
# the entities tests name
C_NEWSLETTER, C_SENDING, C_PAUSED, C_SCHEDULED, C_NOISY, C_DRAFT, C_WINBACK_EMAIL = "1", "2", "3", "4", "5", "6", "7"
A_WINBACK, A_TRIAL, A_OFF = "11", "12", "13"
L_WINBACK, L_TRIAL = "21", "22"
PRE_ENROLLED = "1003"  # a contact of the win-back list already in the win-back automation


def _stamp(day: date, hour: int = 10) -> str:
    return f"{day.isoformat()}T{hour:02d}:00:00-05:00"


class ActiveCampaignFake(HttpFakeServer):
    def __init__(
        self,
        *,
        latency: float = 0.0,
        today: date | None = None,
        campaigns: int = 0,
        lists: int = 0,
        rate_limit: tuple[int, float] | None = None,
    ) -> None:
        super().__init__(latency=latency)
        self.today = today or date.today()
        self.requests: list[tuple[str, str, dict[str, list[str]], Any]] = []
        self.updates: list[tuple[str, str, Any]] = []
        self.failing: set[str] = set()
        self.rate_limit = rate_limit
        self.throttled = 0
        self._starts: deque[float] = deque()
        self._ids = itertools.count(5000)
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.automations: dict[str, dict[str, Any]] = {}
        self.lists: dict[str, dict[str, Any]] = {}
        self.members: dict[str, list[str]] = {}  # list id -> contact ids
        self.enrollments: dict[str, dict[str, str]] = {}  # contactAutomation id -> {contact, automation}
        self._seed(campaigns, lists)

    # ------------------------------------------------------------------ data

    def _campaign(self, cid: str, name: str, status: str, sent_days_ago: int | None, sends: int, **extra: Any) -> None:
        sent = self.today - timedelta(days=sent_days_ago) if sent_days_ago is not None else None
        opens, clicks = int(sends * 0.34), int(sends * 0.03)
        self.campaigns[cid] = {
            "id": cid,
            "type": "single",
            "name": name,
            "subject": name,
            "status": status,
            "cdate": _stamp(sent - timedelta(days=2) if sent else self.today),
            "sdate": _stamp(sent) if sent else None,
            "ldate": _stamp(sent, 11) if sent else None,
            "send_amt": str(sends),
            "total_amt": str(sends),
            "opens": str(int(opens * 1.6)),
            "uniqueopens": str(opens),
            "linkclicks": str(int(clicks * 1.4)),
            "uniquelinkclicks": str(clicks),
            "subscriberclicks": str(clicks),
            "forwards": "0",
            "hardbounces": str(sends // 400),
            "softbounces": str(sends // 250),
            "unsubscribes": str(sends // 1000),
            "automation": None,
            "links": {},
            **extra,
        }

    def _seed(self, campaigns: int, lists: int) -> None:
        self._campaign(C_NEWSLETTER, "May newsletter", "5", 3, 12000)
        self._campaign(C_SENDING, "Spring sale", "2", 1, 8000)
        self._campaign(C_PAUSED, "Teacher week", "3", 2, 3000)
        self._campaign(C_SCHEDULED, "Product launch", "1", None, 0)
        self._campaign(C_NOISY, "Board early access", "5", 4, 20000, unsubscribes="160")  # 0.8% unsubscribes
        self._campaign(C_DRAFT, "Holiday draft", "0", None, 0, total_amt="5000")  # its audience, counted
        self._campaign(C_WINBACK_EMAIL, "We miss you", "5", 2, 900, type="responder", automation=A_WINBACK)
        for i in range(campaigns):  # bulk campaigns for benchmarks, one a day going back
            self._campaign(str(100 + i), f"Newsletter {i}", "5", 1 + i % 60, 5000 + i)
        self.automations = {
            A_WINBACK: {"id": A_WINBACK, "name": "Win-back 90d", "status": "1", "entered": "410", "exited": "380"},
            A_TRIAL: {"id": A_TRIAL, "name": "Trial activation", "status": "1", "entered": "95", "exited": "40"},
            A_OFF: {"id": A_OFF, "name": "Old onboarding", "status": "2", "entered": "1000", "exited": "1000"},
        }
        for a in self.automations.values():
            a["cdate"] = _stamp(self.today - timedelta(days=200))
        self._list(L_WINBACK, "Lapsed 90 days", [str(1001 + i) for i in range(40)])
        self._list(L_TRIAL, "Trial users", [str(2001 + i) for i in range(BIG_LIST_SIZE)])
        for i in range(lists):
            self._list(str(100 + i), f"Segment {i}", [str(10_000 + 100 * i + j) for j in range(i % 7)])
        self.enrollments["900"] = {"contact": PRE_ENROLLED, "automation": A_WINBACK}

    def _list(self, lid: str, name: str, contacts: list[str]) -> None:
        self.lists[lid] = {
            "id": lid,
            "name": name,
            "stringid": name.lower().replace(" ", "-"),
            "cdate": "2026-01-05T09:00:00-05:00",
        }
        self.members[lid] = contacts

    def fail_item(self, entity_id: str) -> None:
        self.failing.add(str(entity_id))

    # ------------------------------------------------------------------ protocol

    def handle(self, method, path, query, headers, body):
        params = parse_qs(query)
        try:
            decoded = json.loads(body) if body else None
        except ValueError:
            decoded = None
        with self.lock:
            self.requests.append((method, path, params, decoded))
        fault = self.record(method, path)
        if headers.get("Api-Token") != TOKEN:
            return _json(403, {"message": "You are not authorized to access this resource"})
        if self._over_rate():
            return _json(429, {"message": "Too Many Requests"}, {"Retry-After": "1"})
        if fault == "auth":
            return _json(403, {"message": "You are not authorized to access this resource"})
        if fault == "rate_limit":
            return _json(429, {"message": "Too Many Requests"}, {"Retry-After": "2"})
        if fault == "transient":
            return _json(500, {"message": "Internal Server Error"})
        if fault == "permanent":
            return _unprocessable("The request could not be processed", "/data")
        if not path.startswith("/api/3/"):
            return _json(404, {"message": "No Result found"})
        parts = path[len("/api/3/") :].strip("/").split("/")
        with self.lock:
            return self._route(method, parts, {k: v[-1] for k, v in params.items()}, decoded)

    def _over_rate(self) -> bool:
        if self.rate_limit is None:
            return False
        calls, seconds = self.rate_limit
        now = time.monotonic()
        with self.lock:
            while self._starts and now - self._starts[0] >= seconds:
                self._starts.popleft()
            if len(self._starts) >= calls:
                self.throttled += 1
                return True
            self._starts.append(now)
        return False

    def _route(self, method: str, parts: list[str], q: dict[str, str], body: Any):
        collection, rest = parts[0], parts[1:]
        stores = {"campaigns": self.campaigns, "automations": self.automations, "lists": self.lists}
        singular = {"campaigns": "campaign", "automations": "automation", "lists": "list"}
        if collection in stores and not rest and method == "GET":
            items = list(stores[collection].values())
            if collection == "campaigns" and q.get("filters[type]"):
                items = [c for c in items if c.get("type") == q["filters[type]"]]
            if q.get("orders[sdate]") == "DESC":
                items.sort(key=lambda c: c.get("sdate") or "", reverse=True)
            return self._page(collection, items, q)
        if collection == "campaigns" and not rest and method == "POST":
            given = (body or {}).get("campaign") if isinstance(body, dict) else None
            if not isinstance(given, dict) or not given.get("name"):
                return _unprocessable("Campaign name is required", "/data/attributes/name")
            cid = str(next(self._ids))
            self.campaigns[cid] = {**given, "id": cid, "status": str(given.get("status", "0")), "send_amt": "0"}
            self.updates.append(("campaign", cid, "created"))
            return _json(201, {"campaign": self.campaigns[cid]})
        if collection in stores and len(rest) == 1:
            obj = stores[collection].get(rest[0])
            if obj is None:
                return _json(404, {"message": f"No Result found for {singular[collection].title()} with id {rest[0]}"})
            if method == "GET":
                return _json(200, {singular[collection]: obj})
            if rest[0] in self.failing and method in ("PUT", "DELETE"):
                return _unprocessable(f"{singular[collection].title()} {rest[0]} cannot be changed now", "/data")
            if method == "PUT" and collection in ("campaigns", "automations"):
                change = (body or {}).get(singular[collection]) if isinstance(body, dict) else None
                status = str((change or {}).get("status", ""))
                allowed = ("0", "1", "2", "3", "4", "5") if collection == "campaigns" else ("1", "2")
                if status not in allowed:
                    return _unprocessable(f"Invalid status {status!r}", "/data/attributes/status")
                obj["status"] = status
                self.updates.append((singular[collection], rest[0], status))
                return _json(200, {singular[collection]: obj})
            if method == "DELETE" and collection == "campaigns":
                del self.campaigns[rest[0]]
                self.updates.append(("campaign", rest[0], "deleted"))
                return _json(200, {})
        if collection == "contacts" and not rest and method == "GET":
            contacts = self._contacts(q.get("listid"), q.get("seriesid"))
            return self._page("contacts", [{"id": c, "email": f"c{c}@example.com"} for c in contacts], q)
        if collection == "contactAutomations" and not rest and method == "POST":
            given = (body or {}).get("contactAutomation") if isinstance(body, dict) else None
            if not isinstance(given, dict) or not given.get("contact") or not given.get("automation"):
                return _unprocessable("contact and automation are required", "/data/attributes")
            if str(given["automation"]) not in self.automations:
                return _unprocessable(f"No automation {given['automation']}", "/data/attributes/automation")
            if str(given["automation"]) in self.failing or str(given["contact"]) in self.failing:
                return _unprocessable(f"Automation {given['automation']} cannot take contacts now", "/data")
            eid = str(next(self._ids))
            self.enrollments[eid] = {"contact": str(given["contact"]), "automation": str(given["automation"])}
            self.updates.append(("contactAutomation", eid, "created"))
            row = {"id": eid, "contact": str(given["contact"]), "seriesid": str(given["automation"]), "status": "1"}
            return _json(201, {"contactAutomation": row, "contacts": []})
        if collection == "contactAutomations" and len(rest) == 1 and method == "DELETE":
            if self.enrollments.pop(rest[0], None) is None:
                return _json(404, {"message": f"No Result found for ContactAutomation with id {rest[0]}"})
            self.updates.append(("contactAutomation", rest[0], "deleted"))
            return _json(200, {})
        return _json(404, {"message": "No Result found"})

    def _contacts(self, list_id: str | None, automation: str | None) -> list[str]:
        if list_id is not None:
            contacts = list(self.members.get(list_id, []))
        else:
            contacts = sorted({c for m in self.members.values() for c in m})
        if automation is not None:
            inside = {e["contact"] for e in self.enrollments.values() if e["automation"] == automation}
            contacts = [c for c in contacts if c in inside]
        return contacts

    def _page(self, key: str, items: list[dict[str, Any]], q: dict[str, str]):
        try:
            limit, offset = int(q.get("limit", 20)), int(q.get("offset", 0))
        except ValueError:
            return _unprocessable("limit and offset must be numbers", "/query")
        limit = max(1, min(limit, 100))  # AC caps a page at 100
        return _json(200, {key: items[offset : offset + limit], "meta": {"total": str(len(items))}})

    def in_automation(self, list_id: str, automation: str) -> int:
        return len(self._contacts(list_id, automation))


def _json(status: int, payload: Any, headers: dict[str, str] | None = None):
    extra = {"Content-Type": "application/json", "RateLimit-Limit": "5", "RateLimit-Remaining": "4", **(headers or {})}
    return status, json.dumps(payload).encode(), extra


def _unprocessable(detail: str, pointer: str):
    return _json(
        422,
        {"errors": [{"title": "Unprocessable", "detail": detail, "code": "invalid", "source": {"pointer": pointer}}]},
    )


class ContractHarness:
    """The contract suite's handle on this fake (tests/contract/__init__.py)."""

    platform = "activecampaign"
    faults = ("auth", "rate_limit", "transient", "permanent")
    secrets = [TOKEN]

    def __init__(self, tmp_path, monkeypatch) -> None:
        self.fake = ActiveCampaignFake()
        for name, value in env().items():
            monkeypatch.setenv(name, value)
        self.sleeps: list[float] = []

    def adapter(self, currency: str = "USD") -> Any:
        from platforms.activecampaign.adapter import ActiveCampaignAdapter
        from platforms.adapter import Account
        from platforms.ratelimit import CallWindow

        adapter = ActiveCampaignAdapter(
            Account("activecampaign", ACCOUNT, currency=currency, endpoint=self.fake.url), window=CallWindow(5, 1.1)
        )
        adapter.sleep = self.sleeps.append
        return adapter

    def _key(self, level: str, entity_id: str) -> Any:
        from engine.core.execution import EntityKey

        return EntityKey("activecampaign", ACCOUNT, level, entity_id)

    def entity(self, action_type: str, level: str) -> Any:
        if action_type == "add_to_automation":
            return self._key("segment", L_WINBACK)
        if level == "flow":
            return self._key("flow", A_OFF if action_type == "enable" else A_TRIAL)
        return self._key("email_campaign", C_PAUSED if action_type == "enable" else C_SENDING)

    def item(self, action_type: str, key: Any) -> dict[str, Any]:
        """The item a collection action adds (an automation enrollment)."""
        return {"automation": A_WINBACK, "contacts": 40}

    def request(self, action_type: str, key: Any, state: dict, action_id: str) -> Any:
        """A subject-line test: the subject to test (a text attribute)."""
        if action_type != "create_ab_test":
            return None
        from engine.core.execution import ActionRequest

        subject = {"ab_test_subject": "Last chance: the spring sale ends tonight"}
        return ActionRequest(action_id, key, action_type, {}, {"ab_test_subject": None}, subject)

    def negative(self, key: Any) -> dict[str, Any]:  # pragma: no cover - no negative keywords in email
        raise NotImplementedError

    def writes(self) -> int:
        return len(self.fake.updates)

    def fail_next(self, kind: str) -> None:
        self.fake.fail_next(kind, n=1)

    def fail_in_batch(self, key: Any) -> None:
        self.fake.fail_item(key.entity_id)

    # No use_jpy/wire: ActiveCampaign changes no amounts of money, so the JPY check does not apply.

    def close(self) -> None:
        self.fake.close()


def env(**overrides: str) -> dict[str, str]:
    """The credential variables for the fake's account."""
    return {"ACTIVECAMPAIGN_API_TOKEN": TOKEN, **overrides}
