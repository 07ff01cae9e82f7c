"""Meta Ads live adapter: one ad account through the Graph API (facebook-business SDK).

Reads (`fetch`): campaigns, ad sets (level `ad_group`) and ads, and their daily insights
(`time_increment=1`) per level, all with cursor paging. Ranges longer than
`ASYNC_AFTER_DAYS` days go through an async report job: POST `act_<id>/insights`, poll the
report run until "Job Completed" (bounded by `max_polls`), then page its insights. Metrics
and money attributes are normalized through the field mapping in platforms/meta/catalog.yaml: list fields
(`actions`, `action_values`, `outbound_clicks`, ...) are flattened to
`<field>.<action_type>` keys first, and budgets and bids come in the currency's minimum
denomination (Meta's "offset": cents for USD, whole yen for JPY; converted by the template).

Writes (the template, platforms/template.py, calls `write`): pause/enable a campaign, ad
set or ad (`status`); set or change the daily budget (`daily_budget`) of a campaign under
campaign budget optimization (CBO) or of an ad set of a non-CBO campaign (anything else is
refused with PermanentError, naming where the budget lives); set or change the bid of an
ad set (`bid_amount`).

Errors: rate limit codes (4, 17, 32, 613, 80000-80014) -> RateLimited, with `retry_after`
from `estimated_time_to_regain_access` (minutes) in `X-Business-Use-Case-Usage`; invalid
or expired credentials (190, 102, 10, 200-299, OAuthException) -> AuthError; 5xx,
transient errors and dropped connections -> TransientError; the rest -> PermanentError.
Messages name the platform and account, never a credential. The last usage headers seen
(`X-App-Usage`, `X-Ad-Account-Usage`, `X-Business-Use-Case-Usage`) are kept in `usage`;
near any budget in them (a percentage), calls slow down (a pause through the retry policy).

Every Graph call goes through the retry policy (engine/core/retry.py) on its own: each
page of a list or of insights is one call, so a read that fails on a page retries that
page with its cursor and never starts over.

Credentials come from META_APP_ID, META_APP_SECRET, META_ACCESS_TOKEN (and
META_AD_ACCOUNT_ID, declared by platforms/meta/__init__.py); `Account.endpoint` replaces the Graph
address (a test server).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date
from typing import Any

from engine.core.execution import AdapterError, AuthError, EntityKey, PermanentError, RateLimited, TransientError
from engine.core.status import EntityStatus
from platforms.adapter import Fetched
from platforms.template import Change, LiveAdapter, Written

PLATFORM = "meta"
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
AUTH_CODES = frozenset({10, 102, 190})
USAGE_HEADERS = ("x-business-use-case-usage", "x-app-usage", "x-ad-account-usage")
SLOW_DOWN_AT = 90.0  # percent of any usage budget in the headers
SLOW_DOWN_PAUSE = 2.0  # seconds between calls while that high


# The percentages of a budget in the usage headers: X-App-Usage and X-Business-Use-Case-Usage
# (call_count, total_cputime, total_time) and X-Ad-Account-Usage (acc_id_util_pct). Their
# other fields are not percentages: reset_time_duration (seconds), ads_api_access_tier,
# estimated_time_to_regain_access (minutes), type.
PERCENT_FIELDS = frozenset({"call_count", "total_cputime", "total_time", "acc_id_util_pct"})


def usage_percent(usage: Any) -> float:
    """The highest percentage of any budget in the usage headers."""
    if isinstance(usage, dict):
        values = [
            float(v)
            for k, v in usage.items()
            if k in PERCENT_FIELDS and isinstance(v, int | float | str) and not isinstance(v, bool) and _number(v)
        ]
        return max([*values, *(usage_percent(v) for v in usage.values() if isinstance(v, dict | list))], default=0.0)
    if isinstance(usage, list):
        return max((usage_percent(v) for v in usage), default=0.0)
    return 0.0


def _number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


_STATUS = {
    "ACTIVE": EntityStatus.ACTIVE,
    "PAUSED": EntityStatus.PAUSED,
    "DELETED": EntityStatus.REMOVED,
    "ARCHIVED": EntityStatus.REMOVED,
}
_BID_STRATEGY = {
    "LOWEST_COST_WITHOUT_CAP": "lowest_cost",
    "LOWEST_COST_WITH_BID_CAP": "bid_cap",
    "COST_CAP": "cost_cap",
    "LOWEST_COST_WITH_MIN_ROAS": "min_roas",
}
_INSIGHT_LEVEL = {"campaign": "campaign", "ad_group": "adset", "ad": "ad"}
_INSIGHT_ID = {"campaign": "campaign_id", "ad_group": "adset_id", "ad": "ad_id"}
_INSIGHT_FIELDS = [
    "account_id",
    "campaign_id",
    "adset_id",
    "ad_id",
    "date_start",
    "date_stop",
    "spend",
    "impressions",
    "clicks",
    "outbound_clicks",
    "actions",
    "action_values",
    "video_p100_watched_actions",
]


def canonical_status(status: str | None) -> str | None:
    if status is None:
        return None
    return _STATUS.get(status.upper(), status.lower())


def flatten_insight(row: dict[str, Any]) -> dict[str, Any]:
    """Insights row -> flat fields: list fields of {action_type, value} become `<field>.<action_type>`."""
    flat: dict[str, Any] = {}
    for name, value in row.items():
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and "action_type" in item:
                    flat[f"{name}.{item['action_type']}"] = item.get("value")
        else:
            flat[name] = value
    return flat


def buc_retry_after(headers: Any) -> float | None:
    """Seconds until access is regained, from `X-Business-Use-Case-Usage` (minutes); None when not said."""
    raw = _header(headers, "x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = [
        float(entry.get("estimated_time_to_regain_access") or 0)
        for entries in (usage.values() if isinstance(usage, dict) else [])
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, dict)
    ]
    longest = max(minutes, default=0.0)
    return longest * 60.0 if longest > 0 else None


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if key.lower() == name:
            return value
    return None


def _day(timestamp: str | None) -> str | None:
    return timestamp[:10] if timestamp else None


class MetaAdsAdapter(LiveAdapter):
    """Meta Ads: one ad account (`act_<id>` or `<id>`) over the Graph API; see the module docstring."""

    ASYNC_AFTER_DAYS = 14
    PAGE_LIMIT = 500
    # the SDK sends the access token in GET query strings, which urllib3 logs at DEBUG
    transport_loggers = ("urllib3.connectionpool",)

    def __init__(self, account, catalog=None, *, poll_interval: float | None = None, max_polls: int = 150):
        super().__init__(account, catalog)
        digits = str(account.account_id).removeprefix("act_")
        self.act_id = f"act_{digits}"
        # seconds between polls of an async report (RULERUN_META_POLL_INTERVAL overrides the 2 s default)
        self.poll_interval = (
            poll_interval if poll_interval is not None else float(os.environ.get("RULERUN_META_POLL_INTERVAL", "2"))
        )
        self.max_polls = max_polls
        self.usage: dict[str, Any] = {}
        self.throttled = 0  # pauses taken because a usage header neared its budget
        self._sdk_api: Any = None

    # -- plumbing

    def _api(self) -> Any:
        if self._sdk_api is None:
            from facebook_business.api import FacebookAdsApi
            from facebook_business.session import FacebookSession

            self.check_credentials()
            session = FacebookSession(
                os.environ["META_APP_ID"], os.environ["META_APP_SECRET"], os.environ["META_ACCESS_TOKEN"], timeout=60
            )
            if self.account.endpoint:
                session.GRAPH = self.account.endpoint.rstrip("/")  # this session only, not the class default
            # every response's usage headers, errors included, whatever SDK call made it
            session.requests.hooks["response"].append(
                lambda response, *args, **kwargs: self._note_usage(response.headers, ok=response.status_code < 400)
            )
            self._sdk_api = FacebookAdsApi(session)
        return self._sdk_api

    def _note_usage(self, headers: Any, *, ok: bool = True) -> None:
        seen: dict[str, Any] = {}
        for name in USAGE_HEADERS:
            raw = _header(headers, name)
            if raw:
                try:
                    seen[name] = json.loads(raw)
                except ValueError:
                    seen[name] = raw
        self.usage.update(seen)
        # Slow down before Meta refuses: near a usage budget in this response, pause before the next call
        # (bounded). A refusal says how long itself (retry_after): no pause on top of it.
        percent = usage_percent(seen)
        if ok and percent >= SLOW_DOWN_AT:
            self.throttled += 1
            self.pause(SLOW_DOWN_PAUSE, f"usage at {percent:g}% of a budget")

    def map_error(self, exc: Exception) -> AdapterError | None:
        import requests
        from facebook_business.exceptions import FacebookError, FacebookRequestError

        if isinstance(exc, FacebookRequestError):
            return self._translate(exc)
        if isinstance(exc, requests.RequestException):
            # the exception text holds the request URL, whose query has the token: name the type only
            return TransientError(f"connection failed ({type(exc).__name__})")
        if isinstance(exc, FacebookError):
            return PermanentError(str(exc))
        return None

    def _translate(self, exc: Any) -> AdapterError:
        code = exc.api_error_code()
        status = exc.http_status() or 0
        kind = exc.api_error_type() or ""
        text = exc.api_error_message() or f"HTTP {status}"
        body = exc.body()
        details = {
            "http_status": status,
            "code": code,
            "subcode": exc.api_error_subcode(),
            "type": kind,
            "fbtrace_id": body.get("error", {}).get("fbtrace_id") if isinstance(body, dict) else None,
        }
        message = f"{text} (code {code})"
        if code in RATE_LIMIT_CODES or status == 429:
            retry = buc_retry_after(exc.http_headers())
            return RateLimited(f"rate limited: {message}", retry_after=retry, details=details)
        if code in AUTH_CODES or (isinstance(code, int) and 200 <= code < 300):
            return AuthError(message, details=details)
        if status >= 500 or exc.api_transient_error() or code in (1, 2):
            return TransientError(message, details=details)
        if kind == "OAuthException" and code != 100:
            return AuthError(message, details=details)
        return PermanentError(message, details=details)

    def _pages(self, first_page: Callable[[], Any]) -> list[dict[str, Any]]:
        """Every row of a cursor-paged edge, each page one retried call (a failed page is asked again)."""
        cursor = self.call(first_page)  # the SDK reads the first page when it makes the cursor
        rows = [cursor[i].export_all_data() for i in range(len(cursor))]
        while self.call(cursor.load_next_page):  # keeps its `after` cursor until a page succeeds
            rows.extend(cursor[i].export_all_data() for i in range(len(cursor)))
        return rows

    # -- reads

    def probe(self) -> str:
        from facebook_business.adobjects.adaccount import AdAccount

        with self.calling(f"reading ad account {self.act_id}"):
            acct = self.call(AdAccount(self.act_id, api=self._api()).api_get, fields=["name"])
        return acct.get("name") or self.act_id

    def read(self, date_from: date, date_to: date) -> Fetched:
        api = self._api()
        before = api.get_num_requests_attempted()
        entities = self._entities()
        metrics: list[dict[str, Any]] = []
        use_async = (date_to - date_from).days + 1 > self.ASYNC_AFTER_DAYS
        for level in ("campaign", "ad_group", "ad"):
            rows = self._insights(level, date_from, date_to, use_async)
            for row in rows:
                entity_id = row.get(_INSIGHT_ID[level])
                if entity_id is None:
                    continue
                metrics.append(
                    {
                        "date": row["date_start"],
                        "platform": PLATFORM,
                        "account_id": self.account.account_id,
                        "level": level,
                        "entity_id": str(entity_id),
                        **self.metrics(flatten_insight(row)),
                    }
                )
        return Fetched(entities=entities, metrics=metrics, api_calls=api.get_num_requests_attempted() - before)

    def _entities(self) -> list[dict[str, Any]]:
        from facebook_business.adobjects.adaccount import AdAccount

        acct = AdAccount(self.act_id, api=self._api())
        params = {"limit": self.PAGE_LIMIT}
        with self.calling(f"listing campaigns of {self.act_id}"):
            campaigns = self._pages(
                lambda: acct.get_campaigns(
                    fields=["id", "name", "status", "daily_budget", "lifetime_budget", "bid_strategy", "created_time"],
                    params=params,
                )
            )
        with self.calling(f"listing ad sets of {self.act_id}"):
            adsets = self._pages(
                lambda: acct.get_ad_sets(
                    fields=[
                        "id",
                        "name",
                        "status",
                        "campaign_id",
                        "daily_budget",
                        "lifetime_budget",
                        "bid_amount",
                        "bid_strategy",
                        "learning_stage_info",
                        "created_time",
                    ],
                    params=params,
                )
            )
        with self.calling(f"listing ads of {self.act_id}"):
            ads = self._pages(
                lambda: acct.get_ads(
                    fields=["id", "name", "status", "adset_id", "campaign_id", "created_time"], params=params
                )
            )

        out: list[dict[str, Any]] = []
        by_campaign: dict[str, dict[str, Any]] = {}
        for c in campaigns:
            cbo = bool(c.get("daily_budget") or c.get("lifetime_budget"))
            row = self._entity("campaign", c, parent_id=None)
            row["daily_budget"] = self.money("daily_budget", c.get("daily_budget"))
            row["bid"] = None
            row["is_brand"] = "brand" in (c.get("name") or "").lower()
            row["learning_phase"] = None
            row["bidding_strategy"] = _BID_STRATEGY.get(c.get("bid_strategy") or "") if cbo else None
            row["cbo"] = cbo
            by_campaign[str(c["id"])] = row
            out.append(row)
        brand_adsets: set[str] = set()
        for s in adsets:
            parent = by_campaign.get(str(s.get("campaign_id")), {})
            row = self._entity("ad_group", s, parent_id=s.get("campaign_id"))
            row["daily_budget"] = None if parent.get("cbo") else self.money("daily_budget", s.get("daily_budget"))
            row["bid"] = self.money("bid_amount", s.get("bid_amount"))
            row["is_brand"] = bool(parent.get("is_brand")) or "brand" in (s.get("name") or "").lower()
            stage = s.get("learning_stage_info") or {}
            row["learning_phase"] = (stage.get("status") == "LEARNING") if stage else None
            strategy = s.get("bid_strategy")
            row["bidding_strategy"] = _BID_STRATEGY.get(strategy) if strategy else parent.get("bidding_strategy")
            if row["is_brand"]:
                brand_adsets.add(row["entity_id"])
            out.append(row)
        for a in ads:
            row = self._entity("ad", a, parent_id=a.get("adset_id"))
            row["is_brand"] = str(a.get("adset_id")) in brand_adsets or "brand" in (a.get("name") or "").lower()
            out.append(row)
        for row in out:
            row.pop("cbo", None)
        return out

    def _entity(self, level: str, obj: dict[str, Any], *, parent_id: Any) -> dict[str, Any]:
        return {
            "platform": PLATFORM,
            "account_id": self.account.account_id,
            "level": level,
            "entity_id": str(obj["id"]),
            "parent_id": str(parent_id) if parent_id is not None else None,
            "name": obj.get("name"),
            "status": canonical_status(obj.get("status")),
            "created_at": _day(obj.get("created_time")),
            "currency": self.account.currency,
        }

    def _insights(self, level: str, date_from: date, date_to: date, use_async: bool) -> list[dict[str, Any]]:
        from facebook_business.adobjects.adaccount import AdAccount

        acct = AdAccount(self.act_id, api=self._api())
        params = {
            "level": _INSIGHT_LEVEL[level],
            "time_increment": 1,
            "time_range": {"since": date_from.isoformat(), "until": date_to.isoformat()},
            "limit": self.PAGE_LIMIT,
        }
        what = f"reading {_INSIGHT_LEVEL[level]} insights of {self.act_id}"
        if not use_async:
            with self.calling(what):
                return self._pages(lambda: acct.get_insights(fields=_INSIGHT_FIELDS, params=params))
        with self.calling(f"{what} (starting an async report)"):
            job = self.call(acct.get_insights, fields=_INSIGHT_FIELDS, params=params, is_async=True)
        for attempt in range(self.max_polls):
            with self.calling(f"{what} (polling report {job.get_id()})"):
                job = self.call(job.api_get, fields=["async_status", "async_percent_completion"])
            status = job.get("async_status")
            if status == "Job Completed":
                break
            if status in ("Job Failed", "Job Skipped"):
                raise self.error(TransientError, f"{what}: report {job.get_id()} ended with {status!r}")
            if attempt + 1 < self.max_polls:
                self.sleep(self.poll_interval)
        else:
            raise self.error(TransientError, f"{what}: report {job.get_id()} not complete after {self.max_polls} polls")
        with self.calling(f"{what} (reading report {job.get_id()})"):
            return self._pages(lambda: job.get_insights(params={"limit": self.PAGE_LIMIT}))

    # -- writes

    def _node(self, key: EntityKey) -> Any:
        from facebook_business.adobjects.ad import Ad
        from facebook_business.adobjects.adset import AdSet
        from facebook_business.adobjects.campaign import Campaign

        cls = {"campaign": Campaign, "ad_group": AdSet, "ad": Ad}.get(key.level)
        if cls is None:
            raise self.error(PermanentError, f"Meta has no {key.level!r} entities to change")
        return cls(key.entity_id, api=self._api())

    def _get(self, key: EntityKey) -> dict[str, Any]:
        """The entity's Graph fields (status, budgets, bid, campaign), checked to belong to this account."""
        node = self._node(key)
        fields = {
            "campaign": ["id", "account_id", "status", "daily_budget", "lifetime_budget"],
            "ad_group": ["id", "account_id", "status", "campaign_id", "daily_budget", "lifetime_budget", "bid_amount"],
            "ad": ["id", "account_id", "status"],
        }[key.level]
        with self.calling(f"reading {key.level} {key.entity_id}"):
            data = self.call(node.api_get, fields=fields).export_all_data()
        owner = str(data.get("account_id") or "").removeprefix("act_")
        if owner and owner != self.act_id.removeprefix("act_"):
            raise self.error(PermanentError, f"{key.level} {key.entity_id} belongs to another ad account")
        return data

    def state(self, key: EntityKey) -> dict[str, Any]:
        data = self._get(key)
        state: dict[str, Any] = {"status": canonical_status(data.get("status"))}
        if key.level in ("campaign", "ad_group"):
            state["daily_budget"] = self.money("daily_budget", data.get("daily_budget"))
        if key.level == "ad_group":
            state["bid"] = self.money("bid_amount", data.get("bid_amount"))
        return state

    def write(self, change: Change) -> Written:
        value = change.wire
        if change.attribute == "status":
            value = "PAUSED" if change.value == EntityStatus.PAUSED else "ACTIVE"
        key = change.key
        with self.calling(f"updating {change.attribute} of {key.level} {key.entity_id}"):
            self.call(self._node(key).api_update, params={change.wire_field: value})
        return Written({"id": key.entity_id})

    def check_change(self, key: EntityKey, attribute: str, state: dict[str, Any]) -> None:
        """CBO-aware: the budget lives on a CBO campaign, or on the ad sets of a non-CBO campaign."""
        if attribute != "daily_budget":
            return
        from facebook_business.adobjects.campaign import Campaign

        data = self._get(key)
        if key.level == "campaign":
            if not (data.get("daily_budget") or data.get("lifetime_budget")):
                raise self.error(
                    PermanentError,
                    f"campaign {key.entity_id} does not use campaign budget optimization (CBO): "
                    "its budget lives on its ad sets; change an ad set's budget instead",
                )
            return
        campaign_id = data.get("campaign_id")
        if campaign_id is None:
            return
        with self.calling(f"reading campaign {campaign_id}"):
            campaign = Campaign(str(campaign_id), api=self._api())
            camp = self.call(campaign.api_get, fields=["daily_budget", "lifetime_budget"])
        if camp.get("daily_budget") or camp.get("lifetime_budget"):
            raise self.error(
                PermanentError,
                f"ad set {key.entity_id} is in campaign {campaign_id}, which uses campaign budget optimization "
                "(CBO): the budget lives on the campaign; change the campaign's budget instead",
            )
