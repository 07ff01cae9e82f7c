"""A local fake of LinkedIn's versioned Marketing API (Rest.li 2.0) for platforms/linkedin.

`LinkedInFake()` serves on 127.0.0.1 (port 0, in a thread); `url` is its address for
`Account.endpoint`. It holds ad account ACCOUNT (USD) with campaign groups, campaigns
(manual and automated bidding) and creatives, and daily analytics for DAYS days from
FIRST_DAY (or `days` from `first_day`). `LinkedInFake(groups=, campaigns=, creatives=)`
builds a large account instead (the benchmark). It serves, under /rest:

- GET  /adAccounts/{id}                                    the account
- GET  /adAccounts/{id}/adCampaignGroups?q=search&search=(status:(values:List(...)))
- GET  /adAccounts/{id}/adCampaigns?q=search&search=...    cursor pages (pageSize, pageToken ->
- GET  /adAccounts/{id}/creatives?q=criteria&intendedStatuses=List(...)   metadata.nextPageToken)
- GET  /adAccounts/{id}/{resource}/{key}                   one entity (a creative's key is its URN)
- POST /adAccounts/{id}/{resource}/{key}                   PARTIAL_UPDATE {"patch": {"$set": ...}} -> 204
- POST /adAccounts/{id}/{resource}?ids=List(...)           BATCH_PARTIAL_UPDATE {"entities": {...}}
                                                           -> {"results": {key: {"status": 204}}, "errors": {...}}
- GET  /adAnalytics?q=analytics&pivot=&timeGranularity=DAILY&dateRange=(...)&accounts=List(...)&fields=
                                                           one element per entity and day with activity
- POST /oauth/v2/accessToken                               refresh_token grant -> a new access token

Like LinkedIn it refuses: a missing `LinkedIn-Version` (400 VERSION_MISSING) or one not
active (426 NONEXISTENT_VERSION); a missing `X-RestLi-Protocol-Version: 2.0.0` or a
missing or wrong `X-RestLi-Method`; a query that does not parse as Rest.li 2.0 or whose
list and object parameters arrive as plain strings (their structure escaped, as httpx
`params=` would send it) (400); a URL longer than `max_url` (414; a POST with
`X-HTTP-Method-Override: GET` carries the query in its form body instead); a token it did
not issue (401 INVALID_ACCESS_TOKEN), one it was told is expired or revoked (401
EXPIRED_ACCESS_TOKEN / REVOKED_ACCESS_TOKEN). adAnalytics returns at most `row_cap`
elements, silently, as LinkedIn is reported to do. Error bodies are
`{"status", "serviceErrorCode", "code", "message"}`.

Faults: `fail_next(kind, n)` (or `fail_at(path_end, kind, n, after=)`: the calls to one path)
with kind `auth`, `expired`, `revoked`, `rate_limit` (429),
`transient` (500), `permanent` (400), `too_long` (414), `sunset` (426) or `malformed` (a 200
whose JSON is cut short);
`fail_page(resource, nth)` (500 on the nth request for a follow-up page of that finder);
`fail_entity(id)` (updates of that entity are refused, alone or in a batch).
`requests` records (http method, path, X-RestLi-Method, decoded params) and `updates`
(resource, id, patch) of every change applied. The scaffolding is tests/fakes/base.py.
"""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote

from tests.fakes.base import HttpFakeServer

ACCOUNT = "508923114"
TOKEN = "AQV-linkedin-access-TOKEN-4f9a1c"
REFRESH_TOKEN = "AQX-linkedin-refresh-TOKEN-77d2"
CLIENT_ID = "86clientid42"
CLIENT_SECRET = "LI-client-SECRET-e81b"
VERSION = "202601"
SUNSET_BEFORE = "202504"  # versions before this one are no longer active
FIRST_DAY = date(2026, 1, 1)
DAYS = 31
MAX_URL = 8_000

STATUSES = {"ACTIVE", "PAUSED", "ARCHIVED", "COMPLETED", "CANCELED", "DRAFT", "PENDING_DELETION", "REMOVED"}
PIVOTS = {"CAMPAIGN_GROUP", "CAMPAIGN", "CREATIVE"}
URN = {
    "adCampaignGroups": "sponsoredCampaignGroup",
    "adCampaigns": "sponsoredCampaign",
    "creatives": "sponsoredCreative",
}
STATUS_FIELD = {"adCampaignGroups": "status", "adCampaigns": "status", "creatives": "intendedStatus"}
READS = {"GET", "BATCH_GET", "FINDER", "GET_ALL"}
# the 20 metrics adAnalytics answers at most, and those the fake can compute
METRICS = (
    "costInLocalCurrency",
    "impressions",
    "clicks",
    "landingPageClicks",
    "externalWebsiteConversions",
    "conversionValueInLocalCurrency",
    "oneClickLeads",
    "videoViews",
)


# ---------------------------------------------------------------- the Rest.li 2.0 grammar


class RestliError(ValueError):
    """A string that is not Rest.li 2.0 URL encoding."""


def decode(text: str) -> Any:
    """A Rest.li 2.0 encoded value: lists, objects and leaf strings (only leaves are percent-decoded)."""
    value, end = _value(text, 0)
    if end != len(text):
        raise RestliError(f"unexpected {text[end]!r} at {end}")
    return value


def _value(s: str, i: int) -> tuple[Any, int]:
    if s.startswith("List(", i):
        items: list[Any] = []
        i += 5
        if s[i : i + 1] == ")":
            return items, i + 1
        while True:
            item, i = _value(s, i)
            items.append(item)
            i = _separator(s, i)
            if s[i - 1] == ")":
                return items, i
    if s.startswith("(", i):
        obj: dict[str, Any] = {}
        i += 1
        if s[i : i + 1] == ")":
            return obj, i + 1
        while True:
            key, i = _leaf(s, i)
            if s[i : i + 1] != ":":
                raise RestliError(f"expected ':' after key {key!r} at {i}")
            obj[key], i = _value(s, i + 1)
            i = _separator(s, i)
            if s[i - 1] == ")":
                return obj, i
    return _leaf(s, i)


def _separator(s: str, i: int) -> int:
    if i >= len(s) or s[i] not in ",)":
        raise RestliError(f"expected ',' or ')' at {i}" if i < len(s) else "unbalanced brackets")
    return i + 1


def _leaf(s: str, i: int) -> tuple[str, int]:
    end = i
    while end < len(s) and s[end] not in "(),:":
        end += 1
    if end < len(s) and s[end] == "(":
        raise RestliError(f"unexpected '(' at {end}")
    raw = s[i:end]
    return ("" if raw == "''" else unquote(raw)), end


def parse_query(query: str) -> dict[str, Any]:
    """A query string whose values are Rest.li encoded; `fields` is a projection, taken as one string."""
    out: dict[str, Any] = {}
    for part in filter(None, query.split("&")):
        name, _, raw = part.partition("=")
        name = unquote(name)
        out[name] = unquote(raw) if name == "fields" else decode(raw)
    return out


# ---------------------------------------------------------------- the fake


class _Refused(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, service: int | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.service = status, message, code, service


class LinkedInFake(HttpFakeServer):
    def __init__(
        self,
        *,
        groups: int | None = None,
        campaigns: int | None = None,
        creatives: int | None = None,
        days: int = DAYS,
        first_day: date = FIRST_DAY,
        latency: float = 0.0,
        max_url: int = MAX_URL,
        row_cap: int = 15_000,
    ) -> None:
        self.currency = "USD"
        self.days = days
        self.first_day = first_day
        self.max_url = max_url
        self.row_cap = row_cap
        self.tokens = {TOKEN}
        self.expired: set[str] = set()
        self.revoked: set[str] = set()
        self.issued: list[str] = []
        self.tunnelled = 0  # queries received in a POST body (X-HTTP-Method-Override: GET)
        self.requests: list[tuple[str, str, str, dict[str, Any]]] = []
        self.updates: list[tuple[str, str, dict[str, Any]]] = []
        self.failing: set[str] = set()
        self._page_faults: dict[str, int] = {}
        self._at: list[list[Any]] = []  # [path end, Rest.li method, calls to let pass, kind, calls to fail]
        self._pages_seen: dict[str, int] = {}
        self.data_lock = threading.Lock()
        if groups is None:
            self.groups, self.campaigns, self.creatives = _small_account()
        else:
            self.groups, self.campaigns, self.creatives = _large_account(groups, campaigns or 0, creatives or 0)
        self.store = {"adCampaignGroups": self.groups, "adCampaigns": self.campaigns, "creatives": self.creatives}
        super().__init__(latency=latency)

    # -- faults and scripting

    def fail_page(self, resource: str, nth: int = 1) -> None:
        """HTTP 500 on the nth request for a follow-up page (one with a pageToken) of `resource`."""
        self._page_faults[resource], self._pages_seen[resource] = nth, 0

    def fail_at(self, path_end: str, kind: str, n: int = 1, *, after: int = 0, method: str | None = None) -> None:
        """Calls to a path ending in `path_end` (of Rest.li `method`, or any) fail with `kind`: `n` of them,
        after `after` such calls that pass."""
        self._at.append([path_end, method, after, kind, n])

    def _fault_at(self, path: str, restli_method: str) -> str | None:
        for entry in self._at:
            end, method, after, kind, _ = entry
            if path.endswith(end) and method in (None, restli_method):
                if after > 0:
                    entry[2] -= 1
                    return None
                entry[4] -= 1
                if entry[4] <= 0:
                    self._at.remove(entry)
                return kind
        return None

    def fail_entity(self, entity_id: str) -> None:
        """Updates of this entity are refused (alone or in a batch); the others succeed."""
        self.failing.add(str(entity_id))

    def expire(self, token: str = TOKEN) -> None:
        self.expired.add(token)

    def revoke(self, token: str = TOKEN) -> None:
        self.revoked.add(token)

    def finder_pages(self, resource: str) -> list[str | None]:
        """The pageToken of every request for `resource`'s finder, in order (None: the first page)."""
        return [p.get("pageToken") for _, path, m, p in self.requests if m == "FINDER" and path.endswith(resource)]

    # -- data

    def daily(self, creative_id: str, day: date) -> dict[str, Any] | None:
        """One creative's activity on one day (None: no activity). Money in cents, counts as ints."""
        creative = self.creatives[creative_id]
        first = self.first_day
        if creative["intendedStatus"] == "DRAFT" or not (first <= day < first + timedelta(days=self.days)):
            return None
        n = int(creative_id) % 97
        k = (day - first).days
        impressions = 1500 + 40 * n + 13 * k
        clicks = max(1, impressions // (90 + (n % 7) * 60))
        return {
            "costInLocalCurrency": 2_500 + 31 * n + 7 * k,  # cents
            "impressions": impressions,
            "clicks": clicks,
            "landingPageClicks": clicks // 2,
            "externalWebsiteConversions": (n + k) % 3,
            "conversionValueInLocalCurrency": ((n + k) % 3) * 12_000,  # cents
            "oneClickLeads": (n + 2 * k) % 4,
            "videoViews": 0,
        }

    def analytics(self, pivot: str, start: date, end: date, fields: list[str]) -> list[dict[str, Any]]:
        owner = {
            "CREATIVE": lambda cid: (URN["creatives"], cid),
            "CAMPAIGN": lambda cid: (URN["adCampaigns"], self.creatives[cid]["_campaign"]),
            "CAMPAIGN_GROUP": lambda cid: (
                URN["adCampaignGroups"],
                self.campaigns[self.creatives[cid]["_campaign"]]["_group"],
            ),
        }[pivot]
        elements: list[dict[str, Any]] = []
        day = start
        while day <= end:
            sums: dict[tuple[str, str], dict[str, int]] = {}
            for cid in self.creatives:
                row = self.daily(cid, day)
                if row is None:
                    continue
                total = sums.setdefault(owner(cid), dict.fromkeys(METRICS, 0))
                for name in METRICS:
                    total[name] += row[name]
            stamp = {"year": day.year, "month": day.month, "day": day.day}
            for (kind, entity_id), total in sums.items():
                element: dict[str, Any] = {
                    "pivotValues": [f"urn:li:{kind}:{entity_id}"],
                    "dateRange": {"start": stamp, "end": stamp},
                }
                for name in METRICS:
                    value = total[name]
                    element[name] = f"{value / 100:.2f}" if name.endswith("LocalCurrency") else value
                elements.append({k: v for k, v in element.items() if k in fields or k in ("pivotValues", "dateRange")})
            day += timedelta(days=1)
        return elements

    # -- HTTP

    def handle(self, method, path, query, headers, body) -> tuple[int, bytes, dict[str, str]]:
        heads = {k.lower(): v for k, v in headers.items()}
        restli_method = heads.get("x-restli-method", "")
        with self.lock:
            fault = self.record(restli_method or method, path) or self._fault_at(path, restli_method)
        try:
            if fault == "malformed":
                return 200, b'{"elements": [', {"Content-Type": "application/json"}
            if fault:
                raise self._fault(fault)
            if path == "/oauth/v2/accessToken":
                return self._reply(200, self._token(method, body))
            if len(path) + 1 + len(query) > self.max_url:
                raise _Refused(414, "Request-URI Too Long")
            if method == "POST" and heads.get("x-http-method-override") == "GET":
                if "x-www-form-urlencoded" not in heads.get("content-type", ""):
                    raise _Refused(400, "a tunnelled query must be a form body")
                method, query, body = "GET", body.decode(), b""
                self.tunnelled += 1
            self._check_headers(heads, method, restli_method)
            try:
                params = parse_query(query)
            except RestliError as exc:
                raise _Refused(400, f"Invalid query string: {exc}", "ILLEGAL_ARGUMENT") from None
            with self.lock:
                self.requests.append((method, path, restli_method, params))
            with self.data_lock:
                status, answer = self._route(method, path, restli_method, params, body)
            return self._reply(status, answer)
        except _Refused as err:
            answer = {"status": err.status, "message": err.message}
            if err.code:
                answer["code"] = err.code
            if err.service:
                answer["serviceErrorCode"] = err.service
            return self._reply(err.status, answer)

    @staticmethod
    def _reply(status: int, answer: Any) -> tuple[int, bytes, dict[str, str]]:
        if answer is None:
            return status, b"", {}
        return status, json.dumps(answer).encode(), {"Content-Type": "application/json"}

    def _fault(self, kind: str) -> _Refused:
        return {
            "auth": _Refused(401, "Invalid access token", "INVALID_ACCESS_TOKEN", 65600),
            "expired": _Refused(401, "The token used in the request has expired", "EXPIRED_ACCESS_TOKEN", 65602),
            "revoked": _Refused(
                401, "The token used in the request has been revoked by the user", "REVOKED_ACCESS_TOKEN", 65601
            ),
            "rate_limit": _Refused(
                429,
                "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
                "TOO_MANY_REQUESTS",
                101,
            ),
            "transient": _Refused(500, "Internal Server Error", "INTERNAL_SERVER_ERROR"),
            "permanent": _Refused(400, "Invalid request: the fake was told to refuse it", "ILLEGAL_ARGUMENT", 100),
            "too_long": _Refused(414, "Request-URI Too Long"),
            "sunset": _Refused(426, f"Requested version {VERSION} is not active", "NONEXISTENT_VERSION"),
        }[kind]

    def _check_headers(self, heads: dict[str, str], method: str, restli_method: str) -> None:
        auth = heads.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        if token in self.revoked:
            raise self._fault("revoked")
        if token in self.expired:
            raise self._fault("expired")
        if token not in self.tokens:
            raise self._fault("auth")
        version = heads.get("linkedin-version")
        if not version:
            raise _Refused(
                400,
                "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
                "VERSION_MISSING",
            )
        if not version[:6].isdigit() or version[:6] < SUNSET_BEFORE:
            raise _Refused(426, f"Requested version {version} is not active", "NONEXISTENT_VERSION")
        if heads.get("x-restli-protocol-version") != "2.0.0":
            raise _Refused(400, "This resource is served by Rest.li protocol 2.0.0 only", "ILLEGAL_ARGUMENT")
        if not restli_method:
            raise _Refused(400, "X-RestLi-Method is required", "ILLEGAL_ARGUMENT")
        if (restli_method in READS) != (method == "GET"):
            raise _Refused(400, f"X-RestLi-Method {restli_method} does not go with HTTP {method}", "ILLEGAL_ARGUMENT")

    def _token(self, method: str, body: bytes) -> dict[str, Any]:
        form = dict(parse_qsl(body.decode()))
        if method != "POST" or form.get("grant_type") != "refresh_token":
            raise _Refused(400, "unsupported_grant_type")
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            raise _Refused(401, "invalid_client")
        if form.get("refresh_token") != REFRESH_TOKEN or REFRESH_TOKEN in self.revoked:
            raise _Refused(400, "invalid_request: The provided refresh token is invalid, expired or revoked")
        token = f"AQV-refreshed-{len(self.issued) + 1}-access"
        self.issued.append(token)
        self.tokens.add(token)
        return {"access_token": token, "expires_in": 5_184_000, "refresh_token": REFRESH_TOKEN}

    def _route(self, method, path, restli_method, params, body) -> tuple[int, Any]:
        segs = [unquote(s) for s in path.split("/")[1:]]
        if segs[:1] != ["rest"]:
            raise _Refused(404, f"No resource at {path}")
        segs = segs[1:]
        if segs == ["adAnalytics"]:
            return 200, self._analytics(restli_method, params)
        if len(segs) < 2 or segs[0] != "adAccounts":
            raise _Refused(404, f"No resource at {path}")
        if segs[1] != ACCOUNT:
            raise _Refused(404, f"Not found: urn:li:sponsoredAccount:{segs[1]}", "NOT_FOUND")
        if len(segs) == 2:
            self._expect(restli_method, "GET")
            return 200, {"id": int(ACCOUNT), "name": "Acme Robotics B2B", "currency": self.currency, "status": "ACTIVE"}
        resource = segs[2]
        if resource not in self.store:
            raise _Refused(404, f"No resource {resource}")
        if len(segs) == 3:
            if restli_method == "FINDER":
                return 200, self._find(resource, params)
            if restli_method == "BATCH_PARTIAL_UPDATE":
                return 200, self._batch_update(resource, params, body)
            raise _Refused(400, f"{restli_method} is not supported on {resource}", "ILLEGAL_ARGUMENT")
        entity_id = self._entity_id(resource, segs[3])
        if restli_method == "GET":
            return 200, self._public(self.store[resource][entity_id])
        self._expect(restli_method, "PARTIAL_UPDATE")
        self._update(resource, entity_id, _patch_of(_json(body)))
        return 204, None

    @staticmethod
    def _expect(restli_method: str, wanted: str) -> None:
        if restli_method != wanted:
            raise _Refused(400, f"expected X-RestLi-Method {wanted}, got {restli_method}", "ILLEGAL_ARGUMENT")

    def _entity_id(self, resource: str, key: str) -> str:
        """A path or batch key -> the entity id: a number, or a creative's URN."""
        if resource == "creatives":
            prefix = f"urn:li:{URN['creatives']}:"
            if not key.startswith(prefix):
                raise _Refused(400, f"creative keys are URNs ({prefix}<id>), got {key!r}", "ILLEGAL_ARGUMENT")
            key = key.removeprefix(prefix)
        if key not in self.store[resource]:
            raise _Refused(404, f"Not found: urn:li:{URN[resource]}:{key}", "NOT_FOUND")
        return key

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _find(self, resource: str, params: dict[str, Any]) -> dict[str, Any]:
        if resource == "creatives":
            _require(params, "q", str, "criteria")
            wanted = _require(params, "intendedStatuses", list)
        else:
            _require(params, "q", str, "search")
            search = _require(params, "search", dict)
            status = search.get("status")
            if not isinstance(status, dict) or not isinstance(status.get("values"), list):
                raise _Refused(400, "Invalid value for param: search.status.values must be a list", "ILLEGAL_ARGUMENT")
            wanted = status["values"]
        unknown = set(wanted) - STATUSES
        if unknown:
            raise _Refused(400, f"Unknown status {sorted(unknown)[0]}", "ILLEGAL_ARGUMENT")
        size = int(_require(params, "pageSize", str))
        if not 1 <= size <= (100 if resource == "creatives" else 1000):
            raise _Refused(400, f"pageSize {size} is out of range", "ILLEGAL_ARGUMENT")
        token = params.get("pageToken")
        if token is not None and resource in self._page_faults:
            self._pages_seen[resource] += 1
            if self._pages_seen[resource] == self._page_faults[resource]:
                del self._page_faults[resource]
                raise _Refused(500, "Internal Server Error", "INTERNAL_SERVER_ERROR")
        start = int(token.removeprefix("tok-")) if token else 0
        rows = [o for o in self.store[resource].values() if o[STATUS_FIELD[resource]] in wanted]
        answer: dict[str, Any] = {
            "elements": [self._public(o) for o in rows[start : start + size]],
            "paging": {"start": 0, "count": size, "links": []},
            "metadata": {},
        }
        if start + size < len(rows):
            answer["metadata"]["nextPageToken"] = f"tok-{start + size}"
        return answer

    def _analytics(self, restli_method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._expect(restli_method, "FINDER")
        _require(params, "q", str, "analytics")
        pivot = _require(params, "pivot", str)
        if pivot not in PIVOTS:
            raise _Refused(400, f"this fake serves the pivots {sorted(PIVOTS)}", "ILLEGAL_ARGUMENT")
        _require(params, "timeGranularity", str, "DAILY")
        accounts = _require(params, "accounts", list)
        if accounts != [f"urn:li:sponsoredAccount:{ACCOUNT}"]:
            return {"elements": [], "paging": {"start": 0, "count": 10, "links": []}}
        rng = _require(params, "dateRange", dict)
        try:
            start, end = (date(int(rng[e]["year"]), int(rng[e]["month"]), int(rng[e]["day"])) for e in ("start", "end"))
        except (KeyError, TypeError, ValueError):
            raise _Refused(400, "Invalid value for param: dateRange", "ILLEGAL_ARGUMENT") from None
        fields = [f for f in str(params.get("fields") or "").split(",") if f]
        metrics = [f for f in fields if f not in ("dateRange", "pivotValues")]
        if len(metrics) > 20:
            raise _Refused(400, "at most 20 metrics may be requested", "ILLEGAL_ARGUMENT")
        elements = self.analytics(pivot, start, end, fields)[: self.row_cap]  # silently, like LinkedIn
        return {"elements": elements, "paging": {"start": 0, "count": 10, "links": []}}

    def _batch_update(self, resource: str, params: dict[str, Any], body: bytes) -> dict[str, Any]:
        ids = _require(params, "ids", list)
        entities = _json(body).get("entities")
        if not isinstance(entities, dict):
            raise _Refused(400, 'the body must be {"entities": {key: {"patch": ...}}}', "ILLEGAL_ARGUMENT")
        keys = {unquote(k): k for k in entities}
        if sorted(keys) != sorted(str(i) for i in ids):
            raise _Refused(400, "the body's entities do not match the ids parameter", "ILLEGAL_ARGUMENT")
        results: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for key, sent in keys.items():
            try:
                entity_id = self._entity_id(resource, key)
                self._update(resource, entity_id, _patch_of(entities[sent]))
                results[sent] = {"status": 204}
            except _Refused as err:
                errors[sent] = {"status": err.status, "message": err.message, "code": err.code}
        return {"results": results, "errors": errors}

    def _update(self, resource: str, entity_id: str, patch: dict[str, Any]) -> None:
        obj = self.store[resource][entity_id]
        if entity_id in self.failing:
            raise _Refused(400, f"The fake was told to refuse updates of {entity_id}", "ILLEGAL_ARGUMENT")
        allowed = {STATUS_FIELD[resource]} | ({"dailyBudget", "unitCost"} if resource == "adCampaigns" else set())
        unknown = set(patch) - allowed
        if unknown:
            raise _Refused(400, f"Field {sorted(unknown)[0]} cannot be updated on {resource}", "ILLEGAL_ARGUMENT")
        status = patch.get(STATUS_FIELD[resource])
        if status is not None and status not in STATUSES:
            raise _Refused(400, f"Invalid status {status!r}", "ILLEGAL_ARGUMENT")
        for name in ("dailyBudget", "unitCost"):
            if name in patch:
                self._check_amount(name, patch[name])
        if "unitCost" in patch and obj.get("optimizationTargetType", "NONE") != "NONE":
            raise _Refused(400, "unitCost cannot be set under automated bidding", "ILLEGAL_ARGUMENT")
        obj.update(patch)
        self.updates.append((resource, entity_id, patch))

    def _check_amount(self, name: str, value: Any) -> None:
        if not isinstance(value, dict) or set(value) != {"amount", "currencyCode"}:
            raise _Refused(400, f"{name} must be a CurrencyAmount {{amount, currencyCode}}", "ILLEGAL_ARGUMENT")
        if not isinstance(value["amount"], str):
            raise _Refused(400, f"{name}.amount must be a decimal string", "ILLEGAL_ARGUMENT")
        try:
            amount = float(value["amount"])
        except ValueError:
            raise _Refused(400, f"{name}.amount {value['amount']!r} is not a number", "ILLEGAL_ARGUMENT") from None
        if value["currencyCode"] != self.currency:
            raise _Refused(400, f"{name} must be in the account currency {self.currency}", "ILLEGAL_ARGUMENT")
        if amount <= 0:
            raise _Refused(400, f"{name} must be positive", "ILLEGAL_ARGUMENT")

    # -- scripting the account

    def use_currency(self, currency: str, budget: str, bid: str) -> None:
        """The account is in `currency` from now on; every campaign's money too (C1 gets `budget`, `bid`)."""
        self.currency = currency
        for obj in self.campaigns.values():
            for name in ("dailyBudget", "unitCost"):
                if name in obj:
                    obj[name] = {"amount": obj[name]["amount"], "currencyCode": currency}
        self.campaigns["700000001"]["dailyBudget"]["amount"] = budget
        self.campaigns["700000001"]["unitCost"]["amount"] = bid


def _require(params: dict[str, Any], name: str, kind: type, value: Any = None) -> Any:
    if name not in params:
        raise _Refused(400, f"Missing required param: {name}", "ILLEGAL_ARGUMENT")
    got = params[name]
    if not isinstance(got, kind):
        # e.g. List(...) or (...) sent percent-encoded: it decodes to a plain string
        raise _Refused(400, f"Invalid value for param: {name}", "ILLEGAL_ARGUMENT")
    if value is not None and got != value:
        raise _Refused(400, f"Invalid value {got!r} for param: {name}", "ILLEGAL_ARGUMENT")
    return got


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise _Refused(400, "The body is not JSON", "ILLEGAL_ARGUMENT") from None
    if not isinstance(data, dict):
        raise _Refused(400, "The body must be a JSON object", "ILLEGAL_ARGUMENT")
    return data


def _patch_of(update: Any) -> dict[str, Any]:
    patch = update.get("patch") if isinstance(update, dict) else None
    fields = patch.get("$set") if isinstance(patch, dict) else None
    if not isinstance(fields, dict) or set(patch) != {"$set"} or not fields:
        raise _Refused(400, 'a partial update is {"patch": {"$set": {...}}}', "ILLEGAL_ARGUMENT")
    return fields


def _amount(value: str, currency: str = "USD") -> dict[str, str]:
    return {"amount": value, "currencyCode": currency}


_CREATED = {"changeAuditStamps": {"created": {"time": 1764547200000}, "lastModified": {"time": 1764547200000}}}


def _group(gid: str, name: str, status: str) -> dict[str, Any]:
    return {"id": int(gid), "name": name, "status": status, "account": f"urn:li:sponsoredAccount:{ACCOUNT}", **_CREATED}


def _campaign(cid: str, gid: str, name: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": int(cid),
        "name": name,
        "status": status,
        "account": f"urn:li:sponsoredAccount:{ACCOUNT}",
        "campaignGroup": f"urn:li:sponsoredCampaignGroup:{gid}",
        "costType": "CPC",
        "optimizationTargetType": "NONE",
        "_group": gid,
        **_CREATED,
        **extra,
    }


def _creative(crid: str, cid: str, name: str, status: str) -> dict[str, Any]:
    return {
        "id": f"urn:li:sponsoredCreative:{crid}",
        "name": name,
        "campaign": f"urn:li:sponsoredCampaign:{cid}",
        "account": f"urn:li:sponsoredAccount:{ACCOUNT}",
        "intendedStatus": status,
        "isServing": status == "ACTIVE",
        "createdAt": 1764633600000,
        "_campaign": cid,
    }


def _small_account() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Three groups, five campaigns (manual and automated bidding), ten creatives."""
    groups = {
        "600000001": _group("600000001", "Board-Leads-Education", "ACTIVE"),
        "600000002": _group("600000002", "Brand-Awareness-2026", "ACTIVE"),
        "600000003": _group("600000003", "Retired-Webinars", "PAUSED"),
    }
    campaigns = {
        "700000001": _campaign(
            "700000001",
            "600000001",
            "Edu-Decision-Makers",
            "ACTIVE",
            dailyBudget=_amount("100.00"),
            unitCost=_amount("8.50"),
        ),
        "700000002": _campaign(
            "700000002",
            "600000001",
            "Edu-IT-Admins",
            "ACTIVE",
            dailyBudget=_amount("50.00"),
            unitCost=_amount("6.00"),
            optimizationTargetType="MAX_LEAD",
        ),
        "700000003": _campaign(
            "700000003",
            "600000003",
            "Webinar-Retarget",
            "PAUSED",
            dailyBudget=_amount("30.00"),
            unitCost=_amount("5.00"),
        ),
        "700000004": _campaign(
            "700000004",
            "600000002",
            "Brand-Followers",
            "ACTIVE",
            dailyBudget=_amount("40.00"),
            costType="CPM",
            unitCost=_amount("25.00"),
        ),
        "700000005": _campaign("700000005", "600000001", "Edu-Draft", "DRAFT", dailyBudget=_amount("20.00")),
    }
    creatives: dict[str, Any] = {}
    plan = [
        ("700000001", "ACTIVE"),
        ("700000001", "ACTIVE"),
        ("700000001", "ACTIVE"),
        ("700000002", "ACTIVE"),
        ("700000002", "ACTIVE"),
        ("700000003", "PAUSED"),
        ("700000003", "PAUSED"),
        ("700000004", "ACTIVE"),
        ("700000001", "PAUSED"),
        ("700000005", "DRAFT"),
    ]
    for i, (cid, status) in enumerate(plan, start=1):
        crid = str(800000000 + i)
        creatives[crid] = _creative(crid, cid, f"Creative-{i}", status)
    return groups, campaigns, creatives


def _large_account(
    groups: int, campaigns: int, creatives: int
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """`groups` groups, `campaigns` campaigns and `creatives` creatives, parented round-robin."""
    g = {str(600000001 + i): _group(str(600000001 + i), f"Group-{i}", "ACTIVE") for i in range(groups)}
    gids = list(g)
    c = {}
    for i in range(campaigns):
        cid = str(700000001 + i)
        c[cid] = _campaign(
            cid, gids[i % groups], f"Campaign-{i}", "ACTIVE", dailyBudget=_amount("80.00"), unitCost=_amount("7.25")
        )
    cids = list(c)
    cr = {}
    for i in range(creatives):
        crid = str(800000001 + i)
        cr[crid] = _creative(crid, cids[i % campaigns], f"Creative-{i}", "ACTIVE")
    return g, c, cr


class ContractHarness:
    """The contract suite's handle on this fake (tests/contract/__init__.py)."""

    platform = "linkedin"
    faults = ("auth", "rate_limit", "transient", "permanent")
    secrets = [TOKEN, CLIENT_SECRET, REFRESH_TOKEN]

    def __init__(self, tmp_path, monkeypatch) -> None:
        self.fake = LinkedInFake()
        set_env(monkeypatch)

    def adapter(self, currency: str = "USD") -> Any:
        return make_adapter(self.fake, currency=currency)

    def _key(self, level: str, entity_id: str) -> Any:
        from engine.core.execution import EntityKey

        return EntityKey("linkedin", ACCOUNT, level, entity_id)

    def entity(self, action_type: str, level: str) -> Any:
        if action_type == "enable":
            return self._key(level, {"campaign": "600000003", "ad_group": "700000003", "ad": "800000006"}[level])
        return self._key(level, {"campaign": "600000001", "ad_group": "700000001", "ad": "800000001"}[level])

    def negative(self, key: Any) -> dict[str, Any]:  # pragma: no cover - LinkedIn has no negative keywords
        raise NotImplementedError

    def writes(self) -> int:
        return len(self.fake.updates)

    def fail_next(self, kind: str) -> None:
        # the suite queues one failure per attempt of the retry policy, for the write it makes
        self.fake.fail_next(kind, n=1, method="PARTIAL_UPDATE")

    def fail_in_batch(self, key: Any) -> None:
        self.fake.fail_entity(key.entity_id)

    def use_jpy(self) -> tuple[Any, str]:
        self.fake.use_currency("JPY", "5000", "900")
        return self._key("ad_group", "700000001"), "daily_budget"

    def wire(self, key: Any, attribute: str) -> Any:
        return float(self.fake.campaigns[key.entity_id]["dailyBudget"]["amount"])

    def close(self) -> None:
        self.fake.close()


def set_env(monkeypatch) -> None:
    monkeypatch.setenv("LINKEDIN_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("LINKEDIN_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("LINKEDIN_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("LINKEDIN_AD_ACCOUNT_ID", ACCOUNT)
    monkeypatch.delenv("LINKEDIN_REFRESH_TOKEN", raising=False)


def make_adapter(fake: LinkedInFake, *, currency: str = "USD", version: str = VERSION, sleeps: list | None = None):
    """A new adapter on the fake's account; waits between retries are recorded in `sleeps`, never slept."""
    from platforms.adapter import Account
    from platforms.linkedin.adapter import LinkedInAdsAdapter

    adapter = LinkedInAdsAdapter(
        Account("linkedin", ACCOUNT, currency=currency, endpoint=fake.url, api_version=version)
    )
    adapter.sleep = (sleeps if sleeps is not None else []).append
    return adapter
