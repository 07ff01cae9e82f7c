"""LinkedIn Ads live adapter: one ad account over the versioned Marketing API (Rest.li 2.0).

Transport: httpx through the shared client (platforms/http.py: each call retried on 429,
5xx and dropped connections, typed errors) on `https://api.linkedin.com/rest`
(`Account.endpoint` replaces the host). Every call sends `LinkedIn-Version` (rulerun.yaml
`platforms.linkedin.api_version`, else DEFAULT_VERSION), `X-RestLi-Protocol-Version: 2.0.0`
and its `X-RestLi-Method`. Query strings are Rest.li-encoded (platforms/linkedin/restli.py)
and sent in the URL; one longer than MAX_QUERY characters, or one the server answers with
414, is tunnelled: POST with `X-HTTP-Method-Override: GET` and the query as a form body.

Reads (`read`): the ad account (its currency must be the one rulerun.yaml gives it),
campaign groups, campaigns and creatives (search / criteria finders, cursor-paged by
`pageToken`), then daily metrics from the `adAnalytics` finder (`q=analytics`,
`timeGranularity=DAILY`) with the pivots CAMPAIGN_GROUP, CAMPAIGN and CREATIVE, asking for
the fields the catalog maps (platforms/linkedin/catalog.yaml). The finder does not page
and is reported to truncate silently at ROW_CAP elements, so each pivot's range is cut
into slices of at most ROWS_PER_CALL entity-days; a slice that still comes back at the
cap is halved and read again, and a single day at the cap fails the read (nothing is
stored) rather than losing rows.

Writes (the template calls `write` / `write_batch`): the status of a campaign group or
campaign (`status`) or creative (`intendedStatus`); a campaign's daily budget
(`dailyBudget`) and, under manual bidding only (`optimizationTargetType` NONE), its bid
(`unitCost`), as CurrencyAmount strings in the account currency. One change is a
PARTIAL_UPDATE `{"patch": {"$set": ...}}`; several of one resource go in one
BATCH_PARTIAL_UPDATE (ids kept short enough for the URL), each change settled on its own.

Errors: 401 -> AuthError naming LINKEDIN_ACCESS_TOKEN (an expired token is refreshed once
with LINKEDIN_REFRESH_TOKEN when that is set, then the call is tried once more); 403 ->
AuthError; 404 -> PermanentError naming the entity; 426 (the version is sunset) ->
PermanentError naming the setting to change; 429 -> RateLimited (LinkedIn's limits are
daily); 5xx and dropped connections -> TransientError. No credential appears in a message.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from engine.core.execution import AdapterError, AuthError, EntityKey, PermanentError, RateLimited
from platforms.adapter import Account, Fetched
from platforms.http import HttpClient
from platforms.linkedin import restli
from platforms.template import Change, LiveAdapter, Written

PLATFORM = "linkedin"
API = "https://api.linkedin.com"
OAUTH = "https://www.linkedin.com"
DEFAULT_VERSION = "202601"
VERSION_PATTERN = re.compile(r"^\d{6}(\.\d{2})?$")

# level -> (resource under /adAccounts/{id}, its URN type, its status field, what users call it)
RESOURCES = {
    "campaign": ("adCampaignGroups", "sponsoredCampaignGroup", "status", "campaign group"),
    "ad_group": ("adCampaigns", "sponsoredCampaign", "status", "campaign"),
    "ad": ("creatives", "sponsoredCreative", "intendedStatus", "creative"),
}
PIVOTS = {"campaign": "CAMPAIGN_GROUP", "ad_group": "CAMPAIGN", "ad": "CREATIVE"}
# Every status, so that metrics of a paused or finished entity still find their parent.
STATUSES = ("ACTIVE", "PAUSED", "ARCHIVED", "COMPLETED", "CANCELED", "DRAFT", "PENDING_DELETION", "REMOVED")
CREATIVE_STATUSES = ("ACTIVE", "PAUSED", "DRAFT", "ARCHIVED", "CANCELED", "PENDING_DELETION", "REMOVED")
FINDERS = {
    "adCampaignGroups": {"q": "search", "search": {"status": {"values": list(STATUSES)}}},
    "adCampaigns": {"q": "search", "search": {"status": {"values": list(STATUSES)}}},
    "creatives": {"q": "criteria", "intendedStatuses": list(CREATIVE_STATUSES)},
}
MAX_METRICS = 20  # adAnalytics answers at most 20 metric fields per call
# optimizationTargetType -> bidding strategy; NONE (or none given) is manual bidding on costType.
_AUTOMATED = (("MAX_", "maximum_delivery"), ("TARGET_COST_", "target_cost"), ("CAP_COST_", "cost_cap"))
_READ_METHODS = ("GET", "BATCH_GET", "FINDER", "GET_ALL")


class LinkedInAdsAdapter(LiveAdapter):
    """LinkedIn Ads: one ad account (`508923114` or `urn:li:sponsoredAccount:508923114`); see the module docstring."""

    max_batch = 100  # changes per execute_batch; write_batch cuts them further to keep the URL short
    ATTEMPTS = LiveAdapter.retry_policy.max_attempts  # tries of one call (the template's policy)
    PAGE_SIZE = {"adCampaignGroups": 1000, "adCampaigns": 1000, "creatives": 100}
    ROW_CAP = 15_000  # adAnalytics elements in one answer, beyond which it truncates (reported, not documented)
    ROWS_PER_CALL = 10_000  # entity-days asked for in one adAnalytics call, well under the cap
    MAX_QUERY = 4_000  # longer query strings are tunnelled (the official client's limit)

    def __init__(self, account: Account, catalog: Any = None):
        super().__init__(account, catalog)
        raw = str(account.account_id).strip()
        self.number = raw.rsplit(":", 1)[-1] if raw.startswith("urn:li:sponsoredAccount:") else raw
        self.account_urn = f"urn:li:sponsoredAccount:{self.number}"
        self.version = str(account.api_version or DEFAULT_VERSION)
        self.sleep: Callable[[float], None] = time.sleep  # what waits between retries (tests record instead)
        self._http: HttpClient | None = None
        self._token: str | None = None
        self._refreshed = False
        self._oauth_calls = 0
        self._raw: dict[tuple[str, str], dict[str, Any]] = {}  # the last entity read per key (bidding details)

    # ------------------------------------------------------------------ transport

    def _client(self) -> HttpClient:
        if self._http is None:
            self.check_credentials()
            if not self.number.isdigit():
                raise self.error(
                    PermanentError,
                    f"{self.account.account_id!r} is not a LinkedIn ad account id: use its number "
                    "(urn:li:sponsoredAccount:<number>) in rulerun.yaml",
                )
            if not VERSION_PATTERN.match(self.version):
                raise self.error(
                    PermanentError,
                    f"api_version {self.version!r} is not a LinkedIn API version: set platforms.linkedin.api_version "
                    "in rulerun.yaml to YYYYMM (e.g. 202601)",
                )
            self._token = os.environ["LINKEDIN_ACCESS_TOKEN"]
            self._http = self.http_client(
                (self.account.endpoint or API).rstrip("/") + "/rest",
                headers={"LinkedIn-Version": self.version, "X-RestLi-Protocol-Version": "2.0.0"},
            )
        return self._http

    def calls(self) -> int:
        """Requests sent so far (retries and token refreshes included)."""
        return (self._http.sent if self._http else 0) + self._oauth_calls

    def _call(self, method: str, path: str, params: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        """One Rest.li call (`method`: FINDER, GET, PARTIAL_UPDATE, ...); its decoded JSON body."""
        http = self._client()
        query = restli.query(params) if params else ""
        verb = "GET" if method in _READ_METHODS else "POST"
        tunnel = verb == "GET" and len(query) > self.MAX_QUERY
        while True:
            headers = {"Authorization": f"Bearer {self._token}", "X-RestLi-Method": method}
            try:
                if tunnel:
                    headers |= {"X-HTTP-Method-Override": "GET", "Content-Type": "application/x-www-form-urlencoded"}
                    return http.json("POST", path, headers=headers, content=query)
                url = f"{path}?{query}" if query else path
                if body is None:
                    return http.json(verb, url, headers=headers)
                return http.json(verb, url, headers=headers, json=body)
            except AuthError as exc:
                if _error_code(exc) == "EXPIRED_ACCESS_TOKEN" and self._refresh():
                    continue  # once: _refresh says no the second time
                raise self._explained(exc) from None
            except PermanentError as exc:
                if _detail(exc, "status") == 414 and verb == "GET" and not tunnel:
                    tunnel = True  # the server found the URL too long: send the query in the body
                    continue
                raise self._explained(exc) from None
            except RateLimited as exc:
                raise self._explained(exc) from None

    def _explained(self, error: AdapterError) -> AdapterError:
        """The error with what to fix in front: LinkedIn's error body says more than its status."""
        status, code = _detail(error, "status"), _error_code(error)
        hint = None
        if status == 401:
            hint = {
                "EXPIRED_ACCESS_TOKEN": "the access token has expired: set LINKEDIN_ACCESS_TOKEN to a new one "
                "(or LINKEDIN_REFRESH_TOKEN, and it is refreshed when it expires)",
                "REVOKED_ACCESS_TOKEN": "the access token was revoked: authorize the app again and set "
                "LINKEDIN_ACCESS_TOKEN to the new token",
            }.get(code or "", "LinkedIn refused the access token: check LINKEDIN_ACCESS_TOKEN")
        elif status == 403:
            hint = (
                "the token may not do this on the ad account (it needs the r_ads / rw_ads scopes and a role "
                "on the account): check LINKEDIN_ACCESS_TOKEN"
            )
        elif status == 426:
            hint = (
                f"LinkedIn API version {self.version} is no longer active (sunset): set "
                "platforms.linkedin.api_version in rulerun.yaml to a current version, YYYYMM"
            )
        elif status == 429:
            hint = "rate limited by LinkedIn (its limits are per day, reset at 00:00 UTC)"
        if hint:
            error.message = f"{hint} ({error.message})"
            error.args = (error.message,)
        return error

    def _refresh(self) -> bool:
        """A new access token from LINKEDIN_REFRESH_TOKEN; False when there is none or it was already used."""
        refresh = os.environ.get("LINKEDIN_REFRESH_TOKEN")
        if not refresh or self._refreshed:
            return False
        self._refreshed = True
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "client_id": os.environ.get("LINKEDIN_CLIENT_ID", ""),
            "client_secret": os.environ.get("LINKEDIN_CLIENT_SECRET", ""),
        }
        oauth = self.http_client((self.account.endpoint or OAUTH).rstrip("/"))
        try:
            answer = oauth.json("POST", "/oauth/v2/accessToken", data=form)
        except AuthError:
            raise self._refused_refresh() from None
        except PermanentError as exc:
            if _detail(exc, "status") in (400, 401):
                raise self._refused_refresh() from None
            raise
        finally:
            self._oauth_calls += oauth.sent
            oauth.close()
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise self.error(PermanentError, "refreshing the access token: the answer holds no access_token")
        self._token = token
        return True

    def _refused_refresh(self) -> AuthError:
        return self.error(
            AuthError,
            "the access token has expired and LinkedIn refused the refresh token (expired or revoked): "
            "authorize the app again and set LINKEDIN_ACCESS_TOKEN and LINKEDIN_REFRESH_TOKEN",
        )

    def secrets(self) -> list[str]:
        """The credentials to mask: the declared ones but the account id (it names the account in every
        message), the optional refresh token and a refreshed access token."""
        account = os.environ.get("LINKEDIN_AD_ACCOUNT_ID")
        extra = [os.environ.get("LINKEDIN_REFRESH_TOKEN") or "", getattr(self, "_token", None) or ""]
        return [v for v in super().secrets() if v != account] + [v for v in extra if len(v) >= 4]

    # ------------------------------------------------------------------ reads

    def probe(self) -> str:
        info = self._account_info()
        return f"{info.get('name') or self.account_urn} ({info.get('currency') or self.account.currency})"

    def _account_info(self) -> dict[str, Any]:
        """The ad account; refused when it is unknown or its currency is not the one rulerun.yaml gives it."""
        try:
            info = self._call("GET", f"/adAccounts/{self.number}")
        except PermanentError as exc:
            if _detail(exc, "status") == 404:
                raise self.error(
                    PermanentError,
                    f"LinkedIn has no ad account {self.number} (or the token cannot see it): check its id in "
                    "rulerun.yaml and LINKEDIN_AD_ACCOUNT_ID",
                ) from None
            raise
        if not isinstance(info, dict):
            raise self.error(PermanentError, f"malformed answer for ad account {self.number}")
        currency = info.get("currency")
        if currency and currency != self.account.currency:
            raise self._currency_mismatch(currency)
        return info

    def _currency_mismatch(self, currency: str) -> PermanentError:
        return self.error(
            PermanentError,
            f"ad account {self.number} is in {currency} but rulerun.yaml gives it {self.account.currency}: "
            f"set `currency: {currency}` on the account",
        )

    def read(self, date_from: date, date_to: date) -> Fetched:
        before = self.calls()
        self._account_info()
        found = {level: self._search(RESOURCES[level][0]) for level in RESOURCES}
        entities = self._entities(found)
        metrics: list[dict[str, Any]] = []
        for level, pivot in PIVOTS.items():
            for element in self._analytics(pivot, len(found[level]), date_from, date_to):
                metrics.append(self._metric_row(level, element))
        return Fetched(entities=entities, metrics=metrics, api_calls=self.calls() - before)

    def _search(self, resource: str) -> list[dict[str, Any]]:
        """Every element of a finder, page by page (`pageToken`; a failed page is retried, not restarted)."""
        out: list[dict[str, Any]] = []
        token: str | None = None
        seen: set[str] = set()
        while True:
            params = {**FINDERS[resource], "pageSize": self.PAGE_SIZE[resource], "pageToken": token}
            answer = self._call("FINDER", f"/adAccounts/{self.number}/{resource}", params)
            elements = answer.get("elements") if isinstance(answer, dict) else None
            if not isinstance(elements, list) or not all(isinstance(e, dict) for e in elements):
                raise self.error(PermanentError, f"malformed {resource} page: no list of elements")
            out += elements
            token = (answer.get("metadata") or {}).get("nextPageToken")
            if not token or not elements:
                return out
            if token in seen:
                raise self.error(PermanentError, f"{resource} paging repeats the page token {token!r}")
            seen.add(token)

    def _entities(self, found: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        brand: set[str] = set()
        for level, parent_field in (("campaign", None), ("ad_group", "campaignGroup"), ("ad", "campaign")):
            for obj in found[level]:
                parent = _id(obj.get(parent_field)) if parent_field else None
                row = self._entity(level, obj, parent)
                row["is_brand"] = parent in brand or "brand" in (row["name"] or "").lower()
                if row["is_brand"]:
                    brand.add(row["entity_id"])
                out.append(row)
        return out

    def _entity(self, level: str, obj: dict[str, Any], parent: str | None) -> dict[str, Any]:
        entity_id = _id(obj.get("id"))
        if not entity_id:
            raise self.error(PermanentError, f"malformed {RESOURCES[level][3]}: no id")
        row: dict[str, Any] = {
            "platform": PLATFORM,
            "account_id": self.account.account_id,
            "level": level,
            "entity_id": entity_id,
            "parent_id": parent,
            "name": obj.get("name"),
            "status": self._status(obj.get(RESOURCES[level][2])),
            "created_at": _created(obj),
            "currency": self.account.currency,
            "learning_phase": None,  # LinkedIn reports no learning phase
        }
        if level == "ad_group":
            row.update(self._money_state(obj))
            row["bidding_strategy"] = _bidding_strategy(obj)
        return row

    def _status(self, value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        vocabulary = self.catalog.status_vocabulary(PLATFORM)
        return vocabulary[value] if value in vocabulary else value.lower()

    def _money_state(self, campaign: dict[str, Any]) -> dict[str, float | None]:
        """A campaign's daily budget and manual bid in the account currency (None when it has none)."""
        return {
            "daily_budget": self._amount(campaign, "dailyBudget"),
            "bid": self._amount(campaign, "unitCost") if _manual(campaign) else None,
        }

    def _amount(self, obj: dict[str, Any], name: str) -> float | None:
        value = obj.get(name)
        if not isinstance(value, dict) or value.get("amount") in (None, ""):
            return None
        currency = value.get("currencyCode")
        if currency and currency != self.account.currency:
            raise self._currency_mismatch(currency)
        try:
            return self.money(f"{name}.amount", value["amount"])
        except ArithmeticError:
            raise self.error(PermanentError, f"malformed {name} amount {value['amount']!r}") from None

    def _analytics(self, pivot: str, entities: int, date_from: date, date_to: date) -> list[dict[str, Any]]:
        """Daily rows of one pivot over the range, in slices of at most ROWS_PER_CALL entity-days."""
        days = max(1, self.ROWS_PER_CALL // max(1, entities))
        out: list[dict[str, Any]] = []
        start = date_from
        while start <= date_to:
            end = min(date_to, start + timedelta(days=days - 1))
            out += self._analytics_slice(pivot, start, end)
            start = end + timedelta(days=1)
        return out

    def _analytics_slice(self, pivot: str, start: date, end: date) -> list[dict[str, Any]]:
        params = {
            "q": "analytics",
            "pivot": pivot,
            "timeGranularity": "DAILY",
            "dateRange": restli.date_range(start, end),
            "accounts": [self.account_urn],
            "fields": ",".join(("dateRange", "pivotValues", *self._metric_fields())),
        }
        answer = self._call("FINDER", "/adAnalytics", params)
        elements = answer.get("elements") if isinstance(answer, dict) else None
        if not isinstance(elements, list):
            raise self.error(PermanentError, f"malformed adAnalytics answer for {pivot} {start}..{end}: no elements")
        if len(elements) < self.ROW_CAP:
            return elements
        if start == end:
            raise self.error(
                PermanentError,
                f"adAnalytics returned {len(elements):,} {pivot} rows for {start}, as many as it ever returns: "
                "some may be missing, so nothing was stored",
            )
        middle = start + (end - start) // 2  # the answer may be truncated: read each half again
        return self._analytics_slice(pivot, start, middle) + self._analytics_slice(
            pivot, middle + timedelta(days=1), end
        )

    def _metric_fields(self) -> list[str]:
        fields = list(self.catalog.field_mapping.get(PLATFORM, {}))
        if len(fields) > MAX_METRICS:
            raise self.error(PermanentError, f"the catalog maps {len(fields)} LinkedIn metrics; adAnalytics takes 20")
        return fields

    def _metric_row(self, level: str, element: Any) -> dict[str, Any]:
        try:
            pivot = element["pivotValues"][0]
            start = element["dateRange"]["start"]
            day = date(int(start["year"]), int(start["month"]), int(start["day"]))
            values = self.metrics(element)
        except (KeyError, IndexError, TypeError, ValueError, ArithmeticError):
            raise self.error(PermanentError, f"malformed adAnalytics element for {PIVOTS[level]}") from None
        return {
            "date": day,
            "platform": PLATFORM,
            "account_id": self.account.account_id,
            "level": level,
            "entity_id": _id(pivot),
            **values,
        }

    # ------------------------------------------------------------------ state and writes

    def _path(self, key: EntityKey) -> str:
        return f"/adAccounts/{self.number}/{self._resource(key)}/{restli.encode(self._key(key))}"

    def _resource(self, key: EntityKey) -> str:
        if key.level not in RESOURCES:
            raise self.error(PermanentError, f"LinkedIn has no {key.level!r} entities to change")
        return RESOURCES[key.level][0]

    def _key(self, key: EntityKey) -> str:
        """The entity's key in its resource: a creative's URN, a campaign (group)'s number."""
        return f"urn:li:sponsoredCreative:{key.entity_id}" if key.level == "ad" else key.entity_id

    def _get(self, key: EntityKey) -> dict[str, Any]:
        try:
            data = self._call("GET", self._path(key))
        except PermanentError as exc:
            if _detail(exc, "status") == 404:
                raise self.error(
                    PermanentError, f"no {RESOURCES[key.level][3]} {key.entity_id} in ad account {self.number}"
                ) from None
            raise
        if not isinstance(data, dict):
            raise self.error(PermanentError, f"malformed answer for {key.level} {key.entity_id}")
        self._raw[(key.level, key.entity_id)] = data
        return data

    def state(self, key: EntityKey) -> dict[str, Any]:
        self._resource(key)
        data = self._get(key)
        state: dict[str, Any] = {"status": self._status(data.get(RESOURCES[key.level][2]))}
        if key.level == "ad_group":
            state.update(self._money_state(data))
        return state

    def check_change(self, key: EntityKey, attribute: str, state: dict[str, Any]) -> None:
        """Bids only under manual bidding (an automated campaign's bids are LinkedIn's); drafts are not launched."""
        data = self._raw.get((key.level, key.entity_id)) or self._get(key)
        if attribute == "status" and data.get(RESOURCES[key.level][2]) == "DRAFT":
            raise self.error(
                PermanentError,
                f"{RESOURCES[key.level][3]} {key.entity_id} is a draft: finish and launch it in Campaign Manager",
            )
        if attribute == "bid" and key.level == "ad_group" and not _manual(data):
            raise self.error(
                PermanentError,
                f"campaign {key.entity_id} uses automated bidding ({data.get('optimizationTargetType')}): "
                "LinkedIn sets its bids, there is no manual bid to change",
            )

    def _patch(self, change: Change) -> dict[str, Any]:
        """The `$set` of one change, in LinkedIn's field names and units."""
        if change.attribute == "status":
            return {RESOURCES[change.key.level][2]: "PAUSED" if change.value == "paused" else "ACTIVE"}
        if change.attribute in ("daily_budget", "bid") and change.key.level == "ad_group":
            fm = self._wire(change.attribute)
            digits = fm.money.minor_digits(self.account.currency) if fm else 2
            amount = Decimal(repr(float(change.wire))).quantize(Decimal(1).scaleb(-digits))
            return {change.wire_field.split(".")[0]: {"amount": f"{amount:f}", "currencyCode": self.account.currency}}
        raise self.error(PermanentError, f"LinkedIn cannot change {change.attribute} of a {change.key.level}")

    def write(self, change: Change) -> Written:
        patch = self._patch(change)
        self._call("PARTIAL_UPDATE", self._path(change.key), body={"patch": {"$set": patch}})
        return Written({"id": self._urn(change.key)})

    def write_batch(self, changes: list[Change]) -> list[Written | AdapterError]:
        """BATCH_PARTIAL_UPDATE per resource, in chunks whose ids fit the URL; each change settled on its own.

        A failure of a whole call is raised while nothing has been written. After that it
        becomes the result of the changes it concerned, so that what was written is still
        reported; a retryable one (a rate limit) also of every change not sent yet, which
        are then left for a later attempt.
        """
        out: list[Written | AdapterError | None] = [None] * len(changes)
        chunks = self._chunks(changes)
        for n, chunk in enumerate(chunks):
            try:
                if len(chunk) == 1:
                    i = chunk[0]
                    try:
                        out[i] = self.write(changes[i])
                    except PermanentError as exc:
                        if isinstance(exc, AuthError):
                            raise
                        out[i] = exc
                else:
                    for i, result in zip(chunk, self._batch([changes[i] for i in chunk]), strict=True):
                        out[i] = result
            except AdapterError as exc:
                if not any(isinstance(o, Written) for o in out):
                    raise
                unsent = [i for later in chunks[n:] for i in later] if exc.retryable else chunk
                for i in unsent:
                    out[i] = exc
                if exc.retryable:
                    break
        return [o if o is not None else self.error(PermanentError, "not written") for o in out]

    def _chunks(self, changes: list[Change]) -> list[list[int]]:
        """Indexes of `changes` per call: one resource each, no entity twice, ids within MAX_QUERY."""
        chunks: list[_Chunk] = []
        for i, change in enumerate(changes):
            resource = self._resource(change.key)
            size = len(restli.encode(self._key(change.key))) + 1
            chunk = next((c for c in chunks if c.takes(resource, change.key.entity_id, size, self)), None)
            if chunk is None:
                chunk = _Chunk(resource)
                chunks.append(chunk)
            chunk.add(i, change.key.entity_id, size)
        return [c.indexes for c in chunks]

    def _batch(self, changes: list[Change]) -> list[Written | AdapterError]:
        resource = self._resource(changes[0].key)
        keys = [self._key(c.key) for c in changes]
        entities = {restli.encode(k): {"patch": {"$set": self._patch(c)}} for k, c in zip(keys, changes, strict=True)}
        answer = self._call(
            "BATCH_PARTIAL_UPDATE", f"/adAccounts/{self.number}/{resource}", {"ids": keys}, {"entities": entities}
        )
        if not isinstance(answer, dict):
            raise self.error(PermanentError, f"malformed BATCH_PARTIAL_UPDATE answer for {resource}")
        results = {unquote(str(k)): v for k, v in (answer.get("results") or {}).items()}
        errors = {unquote(str(k)): v for k, v in (answer.get("errors") or {}).items()}
        out: list[Written | AdapterError] = []
        for key, change in zip(keys, changes, strict=True):
            result, error = results.get(key), errors.get(key)
            status = result.get("status") if isinstance(result, dict) else None
            if error is not None or (isinstance(status, int) and status >= 400):
                detail = error if isinstance(error, dict) else result if isinstance(result, dict) else {}
                what = f"{RESOURCES[change.key.level][3]} {change.key.entity_id}"
                said = f"{detail.get('message') or 'refused'} (HTTP {detail.get('status', status)})"
                out.append(self.error(PermanentError, f"{what}: {said}", details=detail))
            elif result is None:
                out.append(self.error(PermanentError, f"LinkedIn did not confirm the change of {key}"))
            else:
                out.append(Written({"id": self._urn(change.key)}))
        return out

    def _urn(self, key: EntityKey) -> str:
        return f"urn:li:{RESOURCES[key.level][1]}:{key.entity_id}"


class _Chunk:
    """The changes of one batch call."""

    def __init__(self, resource: str) -> None:
        self.resource = resource
        self.indexes: list[int] = []
        self.ids: set[str] = set()
        self.length = len("ids=List()")

    def takes(self, resource: str, entity_id: str, size: int, adapter: LinkedInAdsAdapter) -> bool:
        return (
            resource == self.resource
            and entity_id not in self.ids
            and len(self.indexes) < adapter.max_batch
            and self.length + size <= adapter.MAX_QUERY
        )

    def add(self, index: int, entity_id: str, size: int) -> None:
        self.indexes.append(index)
        self.ids.add(entity_id)
        self.length += size


def _id(value: Any) -> str | None:
    """An entity id from a number or a URN (`urn:li:sponsoredCampaign:123` -> "123")."""
    if value is None or value == "":
        return None
    return str(value).rsplit(":", 1)[-1]


def _manual(campaign: dict[str, Any]) -> bool:
    return (campaign.get("optimizationTargetType") or "NONE") == "NONE"


def _bidding_strategy(campaign: dict[str, Any]) -> str | None:
    target = campaign.get("optimizationTargetType") or "NONE"
    if target == "NONE":
        cost = campaign.get("costType")
        return f"manual_{cost.lower()}" if isinstance(cost, str) else "manual"
    return next((name for prefix, name in _AUTOMATED if target.startswith(prefix)), target.lower())


def _created(obj: dict[str, Any]) -> str | None:
    """The creation day: `createdAt` (creatives) or `changeAuditStamps.created.time`, epoch milliseconds."""
    millis = obj.get("createdAt")
    if millis is None:
        millis = ((obj.get("changeAuditStamps") or {}).get("created") or {}).get("time")
    if not isinstance(millis, int | float):
        return None
    return datetime.fromtimestamp(millis / 1000, UTC).date().isoformat()


def _error_code(error: AdapterError) -> str | None:
    """The `code` of LinkedIn's error body ({"status", "serviceErrorCode", "code", "message"}), from its excerpt."""
    body = _detail(error, "body")
    if not isinstance(body, str):
        return None
    found = re.search(r'"code"\s*:\s*"([A-Z_]+)"', body)
    if found:
        return found.group(1)
    text = body.lower()  # older answers carry only a message
    return "EXPIRED_ACCESS_TOKEN" if "expired" in text else "REVOKED_ACCESS_TOKEN" if "revoked" in text else None


def _detail(exc: AdapterError, name: str) -> Any:
    return exc.details.get(name) if isinstance(exc.details, dict) else None
