"""Amazon Ads: one advertising profile read and changed over the Amazon Ads API (httpx).

Plain httpx through the shared client rather than python-amazon-ad-api: the API needs a
versioned media type per resource and answers writes with 207 Multi-Status, both easier to
get exactly right by hand (PLATFORM-FACTS 4.7, 11). The client retries each request under
the template's policy, honouring Retry-After; inside a write step a request is sent once
and the template retries the step after reading the live state again.

Every call carries an access token from Login with Amazon (platforms/amazon/auth.py; a
401 renews it once and repeats the call), `Amazon-Advertising-API-ClientId` and, for
profile-scoped calls, `Amazon-Advertising-API-Scope` (the profile id: the account id in
rulerun.yaml). The profile's currency and timezone come from `GET /v2/profiles`.

Reads (`fetch`): the daily reports are requested first (platforms/amazon/reports.py) and
generate while the Sponsored Products v3 campaigns, ad groups, keywords and product targets
are listed (platforms/amazon/resources.py); then the reports are awaited and downloaded.
Entity ids are Amazon's; a search term's is ``"{ad_group_id}~{search term}"``.

Writes (`write_batch`): one PUT per resource (campaigns, ad groups, keywords, targets) for
state, budget and bid changes, one POST per negative-keyword scope (campaign or ad group);
each item is settled by the 207 answer on its own. Negative keywords are created in their
scope's endpoint and removed through its `/delete`.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import httpx

from engine.core.catalog import Catalog
from engine.core.execution import (
    ActionRequest,
    AdapterError,
    AuthError,
    EntityKey,
    ExecResult,
    PermanentError,
)
from platforms.adapter import Account, Fetched
from platforms.amazon.auth import CLIENT_ID, REFRESH_TOKEN, AccessTokens, region_for
from platforms.amazon.reports import REPORTS, Reports, ReportType
from platforms.amazon.resources import (
    AD_GROUPS,
    ANY_STATE,
    BY_LEVEL,
    CAMPAIGNS,
    KEYWORDS,
    LISTED,
    MATCH_IN,
    NEGATIVE_MATCH_IN,
    NEGATIVE_MATCH_OUT,
    NEGATIVES,
    STATE_OUT,
    STRATEGY_IN,
    TARGETS,
    Negatives,
    Resource,
    target_name,
)
from platforms.http import HttpClient
from platforms.template import Change, LiveAdapter, Written

PLATFORM = "amazon"
PAGE_SIZE = 100  # maxResults of a v3 list: 10 to 100
BUDGET_RULES_PAGE = 30
MAX_WRITE_ITEMS = 1000  # items in one create, update or delete call
SEARCH_TERM_DAYS = 31  # the search terms a sync knows: those of the last 31 days (one report)


@dataclass
class _Op:
    """One item of a write call, and how its success item becomes the change's confirmation."""

    method: str
    path: str
    media: str
    key: str  # the resource key of the request's items and of the 207 answer
    item: Any  # an item, or the id to delete
    finish: Callable[[dict[str, Any]], Written]
    delete_filter: str | None = None  # deletes send `{<filter>: {"include": [ids]}}`

    @property
    def group(self) -> tuple[str, str, str, str, str | None]:
        return self.method, self.path, self.media, self.key, self.delete_filter


class AmazonAdsAdapter(LiveAdapter):
    """Amazon Ads profile over the Amazon Ads API (Sponsored Products v3, Reporting v3); see the module docstring."""

    max_batch = 100  # changes per execute_batch: each resource's share goes in one call

    def __init__(
        self,
        account: Account,
        catalog: Catalog | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        poll_interval: float = 2.0,
        max_report_wait: float = 900.0,
    ):
        super().__init__(account, catalog)
        self.profile_id = str(account.account_id).strip()
        self.sleep = sleep  # retries (the template's policy) and report polls wait through it
        self.clock = clock
        self.poll_interval = poll_interval
        self.max_report_wait = max_report_wait
        self.api_calls = 0
        self._http: HttpClient | None = None
        self._tokens: AccessTokens | None = None
        self._profile: dict[str, Any] | None = None
        self._campaign_of: dict[str, str] = {}  # ad group id -> campaign id

    # ------------------------------------------------------------------ plumbing

    def _client(self) -> tuple[HttpClient, AccessTokens]:
        if self._http is None or self._tokens is None:
            self.check_credentials()
            hosts = region_for(self.account.region, self.account.endpoint)
            self._http = self.http_client(hosts.api)
            self._tokens = AccessTokens(self._http, hosts.token, clock=self.clock)
        return self._http, self._tokens

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def secrets(self) -> list[str]:
        tokens = getattr(self, "_tokens", None)  # also asked while the template initializes
        token = tokens.current if tokens is not None else None
        return [*super().secrets(), *([token] if token else [])]

    def _call(
        self,
        method: str,
        path: str,
        *,
        accept: str | None = None,
        media: str | None = None,
        body: Any = None,
        params: dict[str, Any] | None = None,
        scoped: bool = True,
    ) -> httpx.Response:
        """One API call with the account's headers; a 401 renews the access token and repeats it once."""
        http, tokens = self._client()

        def send(token: str) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}", "Amazon-Advertising-API-ClientId": os.environ[CLIENT_ID]}
            if scoped:
                headers["Amazon-Advertising-API-Scope"] = self.profile_id
            if accept:
                headers["Accept"] = accept
            kw: dict[str, Any] = {"headers": headers}
            if body is not None:
                headers["Content-Type"] = media or "application/json"
                kw["content"] = json.dumps(body).encode()
            if params:
                kw["params"] = params
            self.api_calls += 1
            return http.request(method, path, **kw)

        try:
            return send(tokens.token())
        except AuthError as exc:
            if _status(exc) != 401:
                raise self._not_allowed(exc) from None
        try:
            return send(tokens.renew())  # expired early, or revoked and reissued: one new token, one retry
        except AuthError as again:
            if _status(again) != 401:
                raise self._not_allowed(again) from None
            raise AuthError(
                f"{again.message}; a new access token was refused too: check that {CLIENT_ID} is the client "
                f"{REFRESH_TOKEN} was issued to, or set a new refresh token if access was revoked"
            ) from None

    def _not_allowed(self, exc: AdapterError) -> AdapterError:
        if isinstance(exc, AuthError) and _status(exc) == 403:
            exc.message += (
                f"; the user of {REFRESH_TOKEN} may not manage profile {self.profile_id}: "
                "check the account id in rulerun.yaml"
            )
        return exc

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        response = self._call(method, path, **kw)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise PermanentError(f"{method} {path}: the response is not JSON") from None

    def _download(self, url: str) -> bytes:
        http, _ = self._client()
        self.api_calls += 1
        # a pre-signed address: Amazon's headers must not go with it (its query string is the credential)
        return http.request("GET", url).content

    def _profile_info(self) -> dict[str, Any]:
        """The profile (GET /v2/profiles); the account takes its currency and timezone."""
        if self._profile is None:
            profiles = self._json("GET", "/v2/profiles", scoped=False)
            if not isinstance(profiles, list):
                raise PermanentError("malformed response: GET /v2/profiles is not a list of profiles")
            found = next(
                (p for p in profiles if isinstance(p, dict) and str(p.get("profileId")) == self.profile_id), None
            )
            if found is None:
                known = ", ".join(
                    f"{p.get('profileId')} ({p.get('countryCode', '?')})" for p in profiles[:10] if isinstance(p, dict)
                )
                raise PermanentError(
                    f"unknown profile {self.profile_id}: these credentials reach {known or 'no profile'}; "
                    "set the account id in rulerun.yaml to one of them"
                )
            self.account = replace(
                self.account,
                currency=str(found.get("currencyCode") or self.account.currency),
                timezone=str(found.get("timezone") or self.account.timezone),
            )
            self._profile = found
        return self._profile

    def _ready(self) -> None:
        with self.calling(f"reading profile {self.profile_id}"):
            self._profile_info()

    def _pages(self, path: str, media: str, key: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item of a v3 list (`POST <path>/list`), page by page with `nextToken`."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        seen: set[str] = set()
        while True:
            page = self._json(
                "POST",
                f"{path}/list",
                accept=media,
                media=media,
                body={**body, "maxResults": PAGE_SIZE, **({"nextToken": token} if token else {})},
            )
            got = page.get(key) if isinstance(page, dict) else None
            if not isinstance(got, list) or not all(isinstance(i, dict) for i in got):
                raise PermanentError(f"malformed response: POST {path}/list without a list of {key}")
            items.extend(got)
            token = page.get("nextToken")
            if not token:
                return items
            if token in seen:
                raise PermanentError(f"malformed response: POST {path}/list returned the same nextToken twice")
            seen.add(token)

    def _list(self, res: Resource, states: list[str], **filters: list[str]) -> list[dict[str, Any]]:
        """Every item of `res` in one of `states`, and with the ids of each `<id>Filter` given."""
        body: dict[str, Any] = {name: {"include": ids} for name, ids in filters.items()}
        if res.state_filter:
            body["stateFilter"] = {"include": states}
        items = self._pages(res.path, res.media, res.key, body)
        for item in items:
            if item.get(res.id) in (None, ""):
                raise PermanentError(f"malformed response: a {res.level} without {res.id}")
        return [i for i in items if str(i.get("state", "")).upper() in states]

    def _get_pages(self, path: str, key: str) -> list[dict[str, Any]]:
        """Every item of a GET list paged with `pageSize` and `nextToken` (budget rules)."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"pageSize": BUDGET_RULES_PAGE}
        while True:
            page = self._json("GET", path, accept="application/json", params=params)
            got = page.get(key) if isinstance(page, dict) else None
            if not isinstance(got, list):
                raise PermanentError(f"malformed response: GET {path} without {key}")
            items.extend(i for i in got if isinstance(i, dict))
            token = page.get("nextToken")
            if not token or token == params.get("nextToken"):
                return items
            params = {"pageSize": BUDGET_RULES_PAGE, "nextToken": token}

    # ------------------------------------------------------------------ connection

    def probe(self) -> str:
        profile = self._profile_info()
        name = (profile.get("accountInfo") or {}).get("name") or f"profile {self.profile_id}"
        return f"{name}: {profile.get('countryCode', '?')}, {self.account.currency}, {self.account.timezone}"

    def notes(self) -> list[str]:
        """Amazon's own budget rules: they raise budgets by themselves, on top of rulerun's changes."""
        out = []
        for rule in self._get_pages("/sp/budgetRules", "budgetRulesForAdvertiserResponse"):
            if str(rule.get("ruleState", "")).upper() != "ACTIVE" or not rule.get("ruleId"):
                continue
            details = rule.get("ruleDetails") or {}
            raise_by = details.get("budgetIncreaseBy") or {}
            amount = raise_by.get("value")
            how = f"+{amount:g}%" if raise_by.get("type") == "PERCENT" and isinstance(amount, int | float) else "raise"
            campaigns = [
                str(c.get("campaignId"))
                for c in self._get_pages(f"/sp/budgetRules/{rule['ruleId']}/campaigns", "associatedCampaigns")
            ]
            out.append(
                f"platform-side automation present: Amazon budget rule {details.get('name') or rule['ruleId']!r} "
                f"({how} budget) on campaign(s) {', '.join(campaigns) or 'none yet'}; it stacks with rulerun's "
                "budget changes without a cap, and rulerun never edits it"
            )
        return out

    # ------------------------------------------------------------------ reads

    def read(self, date_from: date, date_to: date) -> Fetched:
        _, tokens = self._client()
        issued, self.api_calls = tokens.issued, 0
        self._profile_info()
        columns = tuple(self.catalog.field_mapping.get(PLATFORM, {}))
        reports = Reports(
            self._json,
            self._download,
            columns,
            self.sleep,
            poll_interval=self.poll_interval,
            max_wait=self.max_report_wait,
        )
        # Search terms have no list of their own: they are the terms in the last SEARCH_TERM_DAYS days'
        # report (a daily sync reads only a few days), whose older rows name entities, not metrics.
        terms_from = min(date_from, date_to - timedelta(days=SEARCH_TERM_DAYS - 1))
        jobs = [  # Amazon generates them while the entities are listed
            *reports.start(date_from, date_to, [r for r in REPORTS if r.level != "search_term"]),
            *reports.start(terms_from, date_to, [r for r in REPORTS if r.level == "search_term"]),
        ]
        campaigns = self._list(CAMPAIGNS, LISTED)
        ad_groups = self._list(AD_GROUPS, LISTED)
        keywords = self._list(KEYWORDS, LISTED)
        targets = self._list(TARGETS, LISTED)
        entities = _Entities(self, campaigns, ad_groups, keywords, targets)
        metrics = entities.metrics(reports.rows(jobs), date_from)
        return Fetched(entities.rows(), metrics, api_calls=self.api_calls + tokens.issued - issued)

    def _status(self, state: Any) -> str | None:
        if state is None:
            return None
        vocabulary = self.catalog.status_vocabulary(PLATFORM)
        return vocabulary[state] if state in vocabulary else str(state).lower()

    # ------------------------------------------------------------------ state

    def state(self, key: EntityKey) -> dict[str, Any]:
        self._profile_info()
        res = BY_LEVEL.get(key.level)
        if res is not None:
            item = self._one(res, key.entity_id)
            default = None
            if res in (KEYWORDS, TARGETS) and item.get("bid") is None:  # no bid of its own: the ad group's default
                default = self._one(AD_GROUPS, str(item.get("adGroupId"))).get("defaultBid")
            return self._state_of(res, item, default)
        if key.level == "search_term":
            ad_group_id, _ = _split(key)
            negatives = self._negatives(self._campaign_for(ad_group_id), ad_group_id)
            return {"negative_keywords": [{k: n[k] for k in ("text", "match_type", "scope")} for n in negatives]}
        raise PermanentError(f"amazon has no {key.level!r} entities to read")

    def states(self, keys: list[EntityKey]) -> list[dict[str, Any] | AdapterError]:
        """Campaigns, ad groups, keywords and targets a page of ids per call; search terms one by one."""
        self._profile_info()
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for res in BY_LEVEL.values():
            ids = sorted({k.entity_id for k in keys if k.level == res.level and k.entity_id.isdigit()})
            for start in range(0, len(ids), PAGE_SIZE):
                chunk = ids[start : start + PAGE_SIZE]
                for item in self._list(res, ANY_STATE, **{res.id_filter: chunk}):
                    found[(res.level, str(item[res.id]))] = item
        defaults = sorted(
            {
                str(item.get("adGroupId"))
                for (level, _), item in found.items()
                if level in ("keyword", "target") and item.get("bid") is None
            }
            - {eid for level, eid in found if level == "ad_group"}
        )
        for start in range(0, len(defaults), PAGE_SIZE):
            for item in self._list(AD_GROUPS, ANY_STATE, **{AD_GROUPS.id_filter: defaults[start : start + PAGE_SIZE]}):
                found[("ad_group", str(item["adGroupId"]))] = item
        out: list[dict[str, Any] | AdapterError] = []
        for key in keys:
            resource = BY_LEVEL.get(key.level)
            raw = found.get((key.level, key.entity_id))
            if resource is None:
                out.extend(super().states([key]))  # search terms: their negatives, one by one
            elif raw is None:
                out.append(PermanentError(f"unknown {key.level} {key.entity_id} in profile {self.profile_id}"))
            else:
                group = found.get(("ad_group", str(raw.get("adGroupId"))), {})
                out.append(self._state_of(resource, raw, group.get("defaultBid")))
        return out

    def _state_of(self, res: Resource, item: dict[str, Any], default_bid: Any) -> dict[str, Any]:
        state: dict[str, Any] = {"status": self._status(item.get("state"))}
        if res is CAMPAIGNS:
            state["daily_budget"] = self._daily_budget(item)
        else:
            bid = item.get(res.bid) if res.bid else None
            state["bid"] = self.money("bid", bid if bid is not None else default_bid)
        return state

    def _one(self, res: Resource, entity_id: str) -> dict[str, Any]:
        if not entity_id.isdigit():
            raise PermanentError(f"bad {res.level} id {entity_id!r}: Amazon ids are numbers")
        items = self._list(res, ANY_STATE, **{res.id_filter: [entity_id]})
        found = next((i for i in items if str(i.get(res.id)) == entity_id), None)
        if found is None:
            raise PermanentError(f"unknown {res.level} {entity_id} in profile {self.profile_id}")
        if res is AD_GROUPS and found.get("campaignId") is not None:
            self._campaign_of[entity_id] = str(found["campaignId"])
        return found

    def _campaign_for(self, ad_group_id: str) -> str:
        if ad_group_id not in self._campaign_of:
            self._one(AD_GROUPS, ad_group_id)
        if ad_group_id not in self._campaign_of:
            raise PermanentError(f"malformed response: ad group {ad_group_id} without a campaignId")
        return self._campaign_of[ad_group_id]

    def _daily_budget(self, campaign: dict[str, Any]) -> float | None:
        budget = campaign.get("budget") or {}
        if not isinstance(budget, dict) or budget.get("budgetType", "DAILY") != "DAILY":
            return None
        return self.money("budget", budget.get("budget"))

    def _negatives(self, campaign_id: str, ad_group_id: str) -> list[dict[str, Any]]:
        """The live negative keywords over a search term: its campaign's and its ad group's."""
        out = []
        for neg in NEGATIVES.values():
            for item in self._pages(neg.path, neg.media, neg.key, {"campaignIdFilter": {"include": [campaign_id]}}):
                if str(item.get("state", "")).upper() == "ARCHIVED":
                    continue
                if neg.scope == "ad_group" and str(item.get("adGroupId")) != ad_group_id:
                    continue
                match = NEGATIVE_MATCH_IN.get(str(item.get("matchType")))
                ident = item.get("keywordId") or item.get(neg.id)
                if match is None or not item.get("keywordText") or ident is None:
                    continue
                out.append({"text": item["keywordText"], "match_type": match, "scope": neg.scope, "id": str(ident)})
        return out

    # ------------------------------------------------------------------ writes

    def execute(self, req: ActionRequest) -> ExecResult:
        self._ready()  # the currency the template rounds amounts in comes with the profile
        return super().execute(req)

    def execute_batch(self, reqs: list[ActionRequest]) -> dict[str, ExecResult]:
        self._ready()
        return super().execute_batch(reqs)

    def write(self, change: Change) -> Written:
        out = self.write_batch([change])[0]
        if isinstance(out, AdapterError):
            raise out
        return out

    def write_batch(self, changes: list[Change]) -> list[Written | AdapterError]:
        """One call per resource and kind of write (chunks of MAX_WRITE_ITEMS); each item settled by the 207."""
        out: list[Written | AdapterError | None] = [None] * len(changes)
        groups: dict[tuple, list[tuple[int, _Op]]] = defaultdict(list)
        for i, change in enumerate(changes):
            try:
                op = self._operation(change)
            except PermanentError as exc:
                if isinstance(exc, AuthError):
                    raise
                out[i] = exc
                continue
            groups[op.group].append((i, op))
        for entries in groups.values():
            for start in range(0, len(entries), MAX_WRITE_ITEMS):
                chunk = entries[start : start + MAX_WRITE_ITEMS]
                settled = self._multi_status([op for _, op in chunk])
                for (i, op), result in zip(chunk, settled, strict=True):
                    out[i] = result if isinstance(result, AdapterError) else op.finish(result)
        return [o for o in out if o is not None]

    def _multi_status(self, ops: list[_Op]) -> list[dict[str, Any] | AdapterError]:
        first = ops[0]
        if first.delete_filter:
            body: dict[str, Any] = {first.delete_filter: {"include": [op.item for op in ops]}}
        else:
            body = {first.key: [op.item for op in ops]}
        answer = self._json(first.method, first.path, accept=first.media, media=first.media, body=body)
        section = answer.get(first.key) if isinstance(answer, dict) else None
        if not isinstance(section, dict):
            raise PermanentError(f"malformed response: {first.method} {first.path} answered without {first.key}")
        results: list[dict[str, Any] | AdapterError | None] = [None] * len(ops)
        for item in section.get("success") or []:
            index = item.get("index") if isinstance(item, dict) else None
            if isinstance(index, int) and 0 <= index < len(ops):
                results[index] = item
        for item in section.get("error") or []:
            index = item.get("index") if isinstance(item, dict) else None
            if isinstance(index, int) and 0 <= index < len(ops):
                results[index] = self.error(PermanentError, f"Amazon refused the change: {_reasons(item)}")
        return [
            r if r is not None else self.error(PermanentError, "Amazon did not confirm this change (no item for it)")
            for r in results
        ]

    def _operation(self, change: Change) -> _Op:
        key = change.key
        if change.attribute == "negative_keyword":
            return self._negative_operation(change)
        res = BY_LEVEL.get(key.level)
        if res is None or not key.entity_id.isdigit():
            raise self.error(PermanentError, f"cannot change {change.attribute} of amazon {key.level} {key.entity_id}")
        item: dict[str, Any] = {res.id: key.entity_id}
        if change.attribute == "status":
            item["state"] = STATE_OUT[change.value]
        elif change.attribute == "bid" and res.bid:
            item[res.bid] = change.wire
        elif change.attribute == "daily_budget" and res is CAMPAIGNS:
            item["budget"] = {"budget": change.wire, "budgetType": "DAILY"}
        else:
            raise self.error(PermanentError, f"amazon {key.level}s have no {change.attribute} to change")
        return _Op("PUT", res.path, res.media, res.key, item, lambda ok: Written({res.id: key.entity_id}))

    def _negative_operation(self, change: Change) -> _Op:
        key = change.key
        if key.level != "search_term":
            raise self.error(PermanentError, f"negative keywords come from search terms, not a {key.level}")
        spec = change.value if change.value is not None else change.current
        neg = NEGATIVES.get(spec.get("scope") or "campaign")
        match = NEGATIVE_MATCH_OUT.get(spec.get("match_type"))
        if neg is None or match is None:
            raise self.error(
                PermanentError,
                f"negative keyword {spec.get('match_type')!r} at {spec.get('scope')!r} level: "
                "Amazon takes exact or phrase, at campaign or ad_group level",
            )
        ad_group_id, _ = _split(key)
        campaign_id = self._campaign_for(ad_group_id)
        if change.value is None:
            return self._removal(neg, spec, campaign_id, ad_group_id)
        item = {"campaignId": campaign_id, "matchType": match, "state": "ENABLED", "keywordText": spec["text"]}
        if neg.scope == "ad_group":
            item["adGroupId"] = ad_group_id

        def finish(ok: dict[str, Any]) -> Written:
            if ok.get(neg.id) in (None, ""):
                raise self.error(PermanentError, f"malformed response: no {neg.id} for the new negative keyword")
            return Written({neg.id: str(ok[neg.id]), "campaign_id": campaign_id, "scope": neg.scope})

        return _Op("POST", neg.path, neg.media, neg.key, item, finish)

    def _removal(self, neg: Negatives, spec: dict[str, Any], campaign_id: str, ad_group_id: str) -> _Op:
        found = next(
            (
                n
                for n in self._negatives(campaign_id, ad_group_id)
                if n["scope"] == neg.scope
                and n["text"].lower() == str(spec["text"]).lower()
                and n["match_type"] == spec["match_type"]
            ),
            None,
        )
        if found is None:
            raise self.error(PermanentError, f"negative keyword {spec['text']!r} is not on that {neg.scope}")
        return _Op(
            "POST",
            f"{neg.path}/delete",
            neg.media,
            neg.key,
            found["id"],
            lambda ok: Written({"removed": found["id"], "scope": neg.scope}),
            delete_filter=f"{neg.id}Filter",
        )


class _Entities:
    """One sync's entity rows, and its report rows as metrics of those entities."""

    def __init__(self, adapter: AmazonAdsAdapter, campaigns: list, ad_groups: list, keywords: list, targets: list):
        self.adapter = adapter
        self.out: dict[tuple[str, str], dict[str, Any]] = {}
        self.brand: dict[str, bool] = {}  # campaign id -> brand
        self.keywords = {str(k["keywordId"]) for k in keywords}
        self.targets = {str(t["targetId"]) for t in targets}
        strategy: dict[str, str | None] = {}
        default_bid: dict[str, Any] = {}
        for c in campaigns:
            cid = str(c["campaignId"])
            name = c.get("name") or ""
            self.brand[cid] = "brand" in name.lower()
            strategy[cid] = STRATEGY_IN.get(str((c.get("dynamicBidding") or {}).get("strategy")))
            kind = str(c.get("targetingType") or "").lower()
            self._add(
                "campaign",
                cid,
                None,
                name,
                c.get("state"),
                is_brand=self.brand[cid],
                daily_budget=adapter._daily_budget(c),
                bidding_strategy=strategy[cid],
                labels=["sponsored-products", *([kind] if kind else [])],
                created_at=_day(c.get("startDate")),
            )
        for g in ad_groups:
            gid, cid = str(g["adGroupId"]), str(g.get("campaignId"))
            adapter._campaign_of[gid] = cid
            default_bid[gid] = g.get("defaultBid")
            self.brand[gid] = self.brand.get(cid, False) or "brand" in (g.get("name") or "").lower()
            self._add(
                "ad_group",
                gid,
                cid,
                g.get("name"),
                g.get("state"),
                is_brand=self.brand[gid],
                bid=adapter.money("defaultBid", g.get("defaultBid")),
                bidding_strategy=strategy.get(cid),
            )
        for level, items, ident in (("keyword", keywords, "keywordId"), ("target", targets, "targetId")):
            for k in items:
                gid = str(k.get("adGroupId"))
                own = k.get("bid")
                self._add(
                    level,
                    str(k[ident]),
                    gid,
                    k.get("keywordText") if level == "keyword" else target_name(k.get("expression")),
                    k.get("state"),
                    is_brand=self.brand.get(gid, False),
                    bid=adapter.money("bid", own if own is not None else default_bid.get(gid)),
                    match_type=MATCH_IN.get(str(k.get("matchType"))) if level == "keyword" else None,
                    bidding_strategy=strategy.get(adapter._campaign_of.get(gid, "")),
                )

    def _add(self, level: str, entity_id: str, parent: str | None, name: Any, state: Any, **attrs: Any) -> None:
        self.out[(level, entity_id)] = {
            "platform": PLATFORM,
            "account_id": self.adapter.account.account_id,
            "level": level,
            "entity_id": entity_id,
            "parent_id": parent,
            "name": name,
            "status": self.adapter._status(state),
            "currency": self.adapter.account.currency,
            **attrs,
        }

    def rows(self) -> list[dict[str, Any]]:
        return list(self.out.values())

    def metrics(self, rows: Iterable[tuple[ReportType, dict[str, Any]]], since: date) -> list[dict[str, Any]]:
        """Report rows from `since` on -> one metrics row per entity and day (a search term reached by
        several targets summed); older rows only name entities."""
        sums: dict[tuple[str, str, str], dict[str, Any]] = {}
        first = since.isoformat()
        for report, row in rows:
            level, entity_id = self._entity_of(report, row)
            day = str(row["date"])[:10]
            if day < first:
                continue
            values = self.adapter.metrics(row)
            got = sums.get((level, entity_id, day))
            if got is None:
                sums[(level, entity_id, day)] = {
                    "date": day,
                    "platform": PLATFORM,
                    "account_id": self.adapter.account.account_id,
                    "level": level,
                    "entity_id": entity_id,
                    **values,
                }
            else:
                for name, value in values.items():
                    got[name] = (got.get(name) or 0.0) + (value or 0.0)
        return list(sums.values())

    def _entity_of(self, report: ReportType, row: dict[str, Any]) -> tuple[str, str]:
        if report.level == "campaign":
            return "campaign", str(row["campaignId"])
        if report.level == "ad_group":
            return "ad_group", str(row["adGroupId"])
        if report.level == "keyword":
            # the targeting report holds keywords and product targets alike
            eid = str(row["keywordId"])
            if eid in self.keywords or (eid not in self.targets and row.get("matchType") in MATCH_IN):
                return "keyword", eid
            return "target", eid
        gid, term = str(row["adGroupId"]), str(row["searchTerm"])
        eid = f"{gid}~{term}"
        if ("search_term", eid) not in self.out:
            self._add("search_term", eid, gid, term, None, is_brand=self.brand.get(gid, False))
        return "search_term", eid


def _split(key: EntityKey) -> tuple[str, str]:
    ad_group_id, sep, term = key.entity_id.partition("~")
    if not sep or not ad_group_id.isdigit() or not term:
        raise PermanentError(f"bad search term id {key.entity_id!r}: expected '<ad_group_id>~<search term>'")
    return ad_group_id, term


def _status(exc: AdapterError) -> int | None:
    return exc.details.get("status") if isinstance(exc.details, dict) else None


def _reasons(item: dict[str, Any]) -> str:
    """The messages of a 207 error item: `{"index", "errors": [{"errorType", "errorValue": {...}}]}`."""
    found: list[str] = []
    for error in item.get("errors") or []:
        if not isinstance(error, dict):
            continue
        kind = error.get("errorType") or "error"
        messages = [m for m in _strings(error.get("errorValue"), "message")] or [
            m for m in _strings(error.get("errorValue"), "reason")
        ]
        found.append(f"{kind}: {'; '.join(messages)}" if messages else str(kind))
    return "; ".join(found) or json.dumps(item, default=str)[:300]


def _strings(value: Any, name: str) -> list[str]:
    if isinstance(value, dict):
        return [
            *([str(value[name])] if isinstance(value.get(name), str) else []),
            *(s for v in value.values() if isinstance(v, dict | list) for s in _strings(v, name)),
        ]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, name)]
    return []


def _day(value: Any) -> str | None:
    """v3 dates are YYYY-MM-DD (older answers YYYYMMDD)."""
    text = str(value or "")
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text[:10] or None
