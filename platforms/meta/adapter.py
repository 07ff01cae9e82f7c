"""Meta Ads live adapter: one ad account through the Graph API (facebook-business SDK).

Reads (`fetch`): campaigns, ad sets (level `ad_group`) and ads, and their daily insights
(`time_increment=1`) per level, all with cursor paging. Ranges longer than
`ASYNC_AFTER_DAYS` days go through an async report job: POST `act_<id>/insights`, poll the
report run until "Job Completed" (bounded by `max_polls`), then page its insights. Metrics
and money attributes are normalized through catalog/field_mapping.yaml: list fields
(`actions`, `action_values`, `outbound_clicks`, ...) are flattened to
`<field>.<action_type>` keys first, and budgets and bids come in cents.

Writes (`execute`, `rollback`): pause/enable a campaign, ad set or ad (`status`); set or
change the daily budget (`daily_budget`, in cents) of a campaign under campaign budget
optimization (CBO) or of an ad set of a non-CBO campaign (anything else is refused with
PermanentError, naming where the budget lives); set or change the bid of an ad set
(`bid_amount`, in cents). Every change is an absolute value, so repeating an action_id
changes nothing twice; its rollback plan restores the state before the first attempt.

Errors: rate limit codes (4, 17, 32, 613, 80000-80014) -> RateLimited, with `retry_after`
from `estimated_time_to_regain_access` (minutes) in `X-Business-Use-Case-Usage`; invalid
or expired credentials (190, 102, 10, 200-299, OAuthException) -> AuthError; 5xx,
transient errors and dropped connections -> TransientError; the rest -> PermanentError.
Messages name the platform and account, never a credential. The last usage headers seen
(`X-App-Usage`, `X-Ad-Account-Usage`, `X-Business-Use-Case-Usage`) are kept in `usage`.

Credentials come from META_APP_ID, META_APP_SECRET, META_ACCESS_TOKEN (and
META_AD_ACCOUNT_ID, declared by platforms/meta.py); `Account.endpoint` replaces the Graph
address (a test server).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from engine.core.execution import (
    ActionRequest,
    AuthError,
    EntityKey,
    ExecResult,
    PermanentError,
    RateLimited,
    TransientError,
)
from platforms.live import Fetched, LiveAdapter, normalize_attribute, normalize_metrics

PLATFORM = "meta"
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
AUTH_CODES = frozenset({10, 102, 190})
USAGE_HEADERS = ("x-business-use-case-usage", "x-app-usage", "x-ad-account-usage")
SLOW_DOWN_AT = 90.0  # percent of any usage budget in the headers
SLOW_DOWN_PAUSE = 2.0  # seconds between calls while that high


def usage_percent(usage: Any) -> float:
    """The highest percentage in the usage headers (call_count, total_cputime, total_time, acc_id_util_pct...)."""
    if isinstance(usage, dict):
        values = [
            float(v)
            for k, v in usage.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and k != "estimated_time_to_regain_access"
        ]
        return max([*values, *(usage_percent(v) for v in usage.values() if isinstance(v, dict | list))], default=0.0)
    if isinstance(usage, list):
        return max((usage_percent(v) for v in usage), default=0.0)
    return 0.0


_STATUS = {"ACTIVE": "active", "PAUSED": "paused", "DELETED": "removed", "ARCHIVED": "removed"}
_BID_STRATEGY = {
    "LOWEST_COST_WITHOUT_CAP": "lowest_cost",
    "LOWEST_COST_WITH_BID_CAP": "bid_cap",
    "COST_CAP": "cost_cap",
    "LOWEST_COST_WITH_MIN_ROAS": "min_roas",
}
# action type -> the state attribute it changes
_ATTRIBUTE = {
    "pause": "status",
    "enable": "status",
    "set_budget": "daily_budget",
    "change_budget": "daily_budget",
    "set_bid": "bid",
    "change_bid": "bid",
}
_GRAPH_FIELD = {"status": "status", "daily_budget": "daily_budget", "bid": "bid_amount"}
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


def _cents(amount: Any) -> int:
    return round(float(amount) * 100)


class MetaAdsAdapter(LiveAdapter):
    """Meta Ads: one ad account (`act_<id>` or `<id>`) over the Graph API; see the module docstring."""

    ASYNC_AFTER_DAYS = 14
    PAGE_LIMIT = 500

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
        self.sleep = time.sleep
        self._sdk_api: Any = None
        self._done: dict[str, ExecResult] = {}  # action_id -> result, for retries within this instance

    # -- plumbing

    def _where(self) -> dict[str, str]:
        return {"platform": PLATFORM, "account_id": self.account.account_id}

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
            self._sdk_api = FacebookAdsApi(session)
        return self._sdk_api

    def _scrub(self, text: str) -> str:
        for name in ("META_ACCESS_TOKEN", "META_APP_SECRET"):
            secret = os.environ.get(name)
            if secret:
                text = text.replace(secret, "***")
        return text

    def _note_usage(self, headers: Any) -> None:
        for name in USAGE_HEADERS:
            raw = _header(headers, name)
            if raw:
                try:
                    self.usage[name] = json.loads(raw)
                except ValueError:
                    self.usage[name] = raw
        # Slow down before Meta refuses: near a usage budget, pause between calls (bounded).
        if usage_percent(self.usage) >= SLOW_DOWN_AT:
            self.throttled += 1
            self.sleep(SLOW_DOWN_PAUSE)

    @contextmanager
    def _calls(self, what: str) -> Iterator[None]:
        """Translate SDK and transport errors raised inside into the engine's typed errors."""
        import requests
        from facebook_business.exceptions import FacebookError, FacebookRequestError

        where = self._where()
        try:
            yield
        except FacebookRequestError as exc:
            self._note_usage(exc.http_headers())
            raise self._translate(what, exc) from None
        except requests.RequestException as exc:
            # the exception text holds the request URL, whose query has the token: name the type only
            raise TransientError(f"{what}: connection failed ({type(exc).__name__})", **where) from None
        except FacebookError as exc:
            raise PermanentError(f"{what}: {self._scrub(str(exc))}", **where) from None

    def _translate(self, what: str, exc: Any) -> Exception:
        where = self._where()
        code = exc.api_error_code()
        status = exc.http_status() or 0
        kind = exc.api_error_type() or ""
        text = self._scrub(exc.api_error_message() or f"HTTP {status}")
        body = exc.body()
        details = {
            "http_status": status,
            "code": code,
            "subcode": exc.api_error_subcode(),
            "type": kind,
            "fbtrace_id": body.get("error", {}).get("fbtrace_id") if isinstance(body, dict) else None,
        }
        message = f"{what}: {text} (code {code})"
        if code in RATE_LIMIT_CODES or status == 429:
            retry = buc_retry_after(exc.http_headers())
            return RateLimited(
                f"{what}: rate limited: {text} (code {code})", retry_after=retry, details=details, **where
            )
        if code in AUTH_CODES or (isinstance(code, int) and 200 <= code < 300):
            return AuthError(message, details=details, **where)
        if status >= 500 or exc.api_transient_error() or code in (1, 2):
            return TransientError(message, details=details, **where)
        if kind == "OAuthException" and code != 100:
            return AuthError(message, details=details, **where)
        return PermanentError(message, details=details, **where)

    def _list(self, cursor: Any) -> list[dict[str, Any]]:
        rows = [obj.export_all_data() for obj in cursor]
        self._note_usage(cursor.headers())
        return rows

    # -- reads

    def check_connection(self) -> str:
        from facebook_business.adobjects.adaccount import AdAccount

        with self._calls(f"reading ad account {self.act_id}"):
            acct = AdAccount(self.act_id, api=self._api()).api_get(fields=["name"])
        return acct.get("name") or self.act_id

    def fetch(self, date_from: date, date_to: date) -> Fetched:
        if date_to < date_from:
            raise PermanentError(f"empty date range {date_from}..{date_to}", **self._where())
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
                        **normalize_metrics(PLATFORM, flatten_insight(row), self.catalog),
                    }
                )
        return Fetched(entities=entities, metrics=metrics, api_calls=api.get_num_requests_attempted() - before)

    def _entities(self) -> list[dict[str, Any]]:
        from facebook_business.adobjects.adaccount import AdAccount

        acct = AdAccount(self.act_id, api=self._api())
        params = {"limit": self.PAGE_LIMIT}
        with self._calls(f"listing campaigns of {self.act_id}"):
            campaigns = self._list(
                acct.get_campaigns(
                    fields=["id", "name", "status", "daily_budget", "lifetime_budget", "bid_strategy", "created_time"],
                    params=params,
                )
            )
        with self._calls(f"listing ad sets of {self.act_id}"):
            adsets = self._list(
                acct.get_ad_sets(
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
        with self._calls(f"listing ads of {self.act_id}"):
            ads = self._list(
                acct.get_ads(fields=["id", "name", "status", "adset_id", "campaign_id", "created_time"], params=params)
            )

        out: list[dict[str, Any]] = []
        by_campaign: dict[str, dict[str, Any]] = {}
        for c in campaigns:
            cbo = bool(c.get("daily_budget") or c.get("lifetime_budget"))
            row = self._entity("campaign", c, parent_id=None)
            row["daily_budget"] = self._money("daily_budget", c.get("daily_budget"))
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
            row["daily_budget"] = None if parent.get("cbo") else self._money("daily_budget", s.get("daily_budget"))
            row["bid"] = self._money("bid_amount", s.get("bid_amount"))
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

    def _money(self, field: str, value: Any) -> float | None:
        if value in (None, "", "0", 0):
            return None
        return normalize_attribute(PLATFORM, field, float(value), self.catalog)[1]

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
            with self._calls(what):
                return self._list(acct.get_insights(fields=_INSIGHT_FIELDS, params=params))
        with self._calls(f"{what} (starting an async report)"):
            job = acct.get_insights(fields=_INSIGHT_FIELDS, params=params, is_async=True)
        for attempt in range(self.max_polls):
            with self._calls(f"{what} (polling report {job.get_id()})"):
                job = job.api_get(fields=["async_status", "async_percent_completion"])
            status = job.get("async_status")
            if status == "Job Completed":
                break
            if status in ("Job Failed", "Job Skipped"):
                raise TransientError(f"{what}: report {job.get_id()} ended with {status!r}", **self._where())
            if attempt + 1 < self.max_polls:
                time.sleep(self.poll_interval)
        else:
            raise TransientError(
                f"{what}: report {job.get_id()} not complete after {self.max_polls} polls", **self._where()
            )
        with self._calls(f"{what} (reading report {job.get_id()})"):
            return self._list(job.get_insights(params={"limit": self.PAGE_LIMIT}))

    # -- writes

    def _node(self, key: EntityKey) -> Any:
        from facebook_business.adobjects.ad import Ad
        from facebook_business.adobjects.adset import AdSet
        from facebook_business.adobjects.campaign import Campaign

        cls = {"campaign": Campaign, "ad_group": AdSet, "ad": Ad}.get(key.level)
        if cls is None:
            raise PermanentError(f"Meta has no {key.level!r} entities to change", **self._where())
        return cls(key.entity_id, api=self._api())

    def _get(self, key: EntityKey) -> dict[str, Any]:
        """The entity's Graph fields (status, budgets, bid, campaign), checked to belong to this account."""
        node = self._node(key)
        fields = {
            "campaign": ["id", "account_id", "status", "daily_budget", "lifetime_budget"],
            "ad_group": ["id", "account_id", "status", "campaign_id", "daily_budget", "lifetime_budget", "bid_amount"],
            "ad": ["id", "account_id", "status"],
        }[key.level]
        with self._calls(f"reading {key.level} {key.entity_id}"):
            data = node.api_get(fields=fields).export_all_data()
        owner = str(data.get("account_id") or "").removeprefix("act_")
        if owner and owner != self.act_id.removeprefix("act_"):
            raise PermanentError(f"{key.level} {key.entity_id} belongs to another ad account", **self._where())
        return data

    def read_state(self, key: EntityKey) -> dict[str, Any]:
        data = self._get(key)
        state: dict[str, Any] = {"status": canonical_status(data.get("status"))}
        if key.level in ("campaign", "ad_group"):
            state["daily_budget"] = self._money("daily_budget", data.get("daily_budget"))
        if key.level == "ad_group":
            state["bid"] = self._money("bid_amount", data.get("bid_amount"))
        return state

    def execute(self, req: ActionRequest) -> ExecResult:
        key = req.entity
        if req.type == "notify":
            return ExecResult({"notified": True}, None)
        if req.action_id in self._done:
            return self._done[req.action_id]
        attr = _ATTRIBUTE.get(req.type)
        if attr is None:
            raise PermanentError(f"unsupported action type {req.type!r} on Meta", **self._where())
        self._check_supported(req.type, key)
        if attr == "status":
            target: Any = "paused" if req.type == "pause" else "active"
        elif req.after.get(attr) is not None:
            target = float(req.after[attr])
        else:
            raise PermanentError(f"{req.type} without a new {attr}", **self._where())
        result = self._change(key, attr, target, fallback=req.before.get(attr))
        self._done[req.action_id] = result
        return result

    def rollback(self, plan: dict[str, Any], key: EntityKey) -> ExecResult:
        attr = _ATTRIBUTE.get(plan.get("type", ""))
        if attr is None or attr not in (plan.get("after") or {}) or attr not in (plan.get("before") or {}):
            raise PermanentError(f"not a rollback plan: {plan!r}", **self._where())
        self._check_supported(plan["type"], key)
        return self._change(key, attr, plan["after"][attr], fallback=plan["before"][attr])

    def _check_supported(self, action_type: str, key: EntityKey) -> None:
        from platforms.meta import Meta

        if action_type not in Meta.actions.get(key.level, ()):
            raise PermanentError(f"{action_type} is not supported on a Meta {key.level}", **self._where())

    def _change(self, key: EntityKey, attr: str, target: Any, *, fallback: Any) -> ExecResult:
        """Set `attr` of `key` to `target`; the undo plan restores the value before (or `fallback` if already set)."""
        data = self._get(key)
        label = f"{key.level} {key.entity_id}"
        if attr == "status":
            current: Any = canonical_status(data.get("status"))
            if current not in ("active", "paused"):
                raise PermanentError(f"{label} is {current}: it cannot be paused or enabled", **self._where())
            value: Any = "PAUSED" if target == "paused" else "ACTIVE"
        else:
            if float(target) <= 0:
                raise PermanentError(f"{label}: the new {attr} must be above zero, not {target}", **self._where())
            if attr == "daily_budget":
                self._check_budget_owner(key, data)
            field = _GRAPH_FIELD[attr]
            current = self._money(field, data.get(field))
            if current is None:
                what = "daily budget" if attr == "daily_budget" else "manual bid (bid_amount) under its bid strategy"
                raise PermanentError(f"{label} has no {what} to change", **self._where())
            value = _cents(target)
            target = value / 100.0
        if current == target:
            restore = fallback if fallback is not None else current
            return ExecResult({attr: target, "id": key.entity_id, "already": True}, _undo(attr, restore, target))
        with self._calls(f"updating {attr} of {label}"):
            self._node(key).api_update(params={_GRAPH_FIELD[attr]: value})
        return ExecResult({attr: target, "id": key.entity_id}, _undo(attr, current, target))

    def _check_budget_owner(self, key: EntityKey, data: dict[str, Any]) -> None:
        """CBO-aware: the budget lives on a CBO campaign, or on the ad sets of a non-CBO campaign."""
        from facebook_business.adobjects.campaign import Campaign

        if key.level == "campaign":
            if not (data.get("daily_budget") or data.get("lifetime_budget")):
                raise PermanentError(
                    f"campaign {key.entity_id} does not use campaign budget optimization (CBO): "
                    "its budget lives on its ad sets; change an ad set's budget instead",
                    **self._where(),
                )
            return
        campaign_id = data.get("campaign_id")
        if campaign_id is None:
            return
        with self._calls(f"reading campaign {campaign_id}"):
            camp = Campaign(str(campaign_id), api=self._api()).api_get(fields=["daily_budget", "lifetime_budget"])
        if camp.get("daily_budget") or camp.get("lifetime_budget"):
            raise PermanentError(
                f"ad set {key.entity_id} is in campaign {campaign_id}, which uses campaign budget optimization "
                "(CBO): the budget lives on the campaign; change the campaign's budget instead",
                **self._where(),
            )


def _undo(attr: str, restore: Any, now: Any) -> dict[str, Any]:
    """The rollback plan that takes `attr` from `now` back to `restore` (platforms/adapter.py)."""
    if attr == "status":
        kind, params = ("enable" if restore == "active" else "pause"), {}
    elif attr == "daily_budget":
        kind, params = "set_budget", {"amount": restore}
    else:
        kind, params = "set_bid", {"amount": restore}
    return {"type": kind, "params": params, "before": {attr: now}, "after": {attr: restore}}
