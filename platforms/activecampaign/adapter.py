"""ActiveCampaign live adapter: one account through the API v3 (httpx, no SDK).

The account is named by its `id` in rulerun.yaml and reached at its `endpoint`, the API
URL Settings > Developer shows (https://<account>.api-us1.com, with or without `/api/3`):
ActiveCampaign warns against building it from the account name, so it is required. The
`Api-Token` header carries ACTIVECAMPAIGN_API_TOKEN.

Reads (`read`): campaigns, automations and lists, `limit`/`offset` paging (100 a page,
until a short page or `meta.total`). A campaign's counters are totals since its send: they
become one metric row on the send date (`sdate`, in the account's timezone) when that
date is in the range, and its automation's row on that date adds them up; the account
(level `account`) gets a row for every day of the range, the sum of that day's sends or
zeros, so that a day without sends still counts as fresh data. A list's
contact count (`meta.total` of its contacts, one call each) is its `profile_count`; an
automation's is the contacts in it now (`entered` minus `exited`). Counters arrive as
strings; missing or malformed ones fail the read rather than store a wrong number.

Writes (`write`, one change per call, called by the template, platforms/template.py):

- status of a campaign (`PUT /campaigns/{id}`, 3 pauses it; resuming restores the code it
  had, scheduled or sending) or of an automation (`PUT /automations/{id}`, 1 active,
  2 inactive);
- `add_to_automation` of a list: every contact of the list not yet in the automation gets
  `POST /contactAutomations`; the rollback plan keeps the enrollment ids, and the undo
  deletes exactly those (`DELETE /contactAutomations/{id}`; one already gone is fine). A
  list that holds more contacts than the plan counted (on which its approval, or its
  running without one, was decided) is refused before anything is added. A retry in the
  same run adds only the contacts still missing and keeps every id made;
- `create_ab_test` of a (draft) campaign: `POST /campaigns` makes a draft split campaign
  named "Subject test of #<id>: <subject>" (the name is how the draft is found again),
  half the audience for each subject; the campaign's state holds the tested subject
  (`ab_test_subject`). The undo (`remove_ab_test`) deletes the draft while it is still a
  draft, and refuses once it was scheduled or sent. A campaign's `profile_count` is its
  `total_amt` (recipients) where the API gives one.

Unverified against ActiveCampaign's documentation (its reference covers reads and
contact automations): the campaign and automation status codes, the update bodies of
campaigns and automations, creating and deleting a campaign, automation `entered` and
`exited`, and the 422 error body. The shapes used are those of the objects the API returns.

Rate: 5 requests a second per account, shared by every key: every request waits its turn
in one window per account URL (platforms/ratelimit.py), 10% under the limit so that network
jitter never puts a sixth arrival in one second; a 429 still waits its Retry-After
(platforms/http.py). A refused token (401, 403), an unknown account URL (404 on the API
root, or no server there) and a 422 become errors naming the platform and account.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.core.execution import (
    AdapterError,
    AuthError,
    EntityKey,
    PermanentError,
    TransientError,
)
from platforms.adapter import Fetched
from platforms.ratelimit import CallWindow, shared
from platforms.template import Change, LiveAdapter, Written

PLATFORM = "activecampaign"
TOKEN_VARIABLE = "ACTIVECAMPAIGN_API_TOKEN"
PER_SECOND = 5  # requests a second per account (documented)
# The window the adapter paces in: 5 requests per 1.1 s. ActiveCampaign counts requests as they
# arrive, a few milliseconds after they leave; pacing at exactly 5 in 1.0 s lets that jitter put
# a sixth arrival inside one second now and then (a 429), so the adapter keeps 10% under.
WINDOW_SECONDS = 1.1

# level -> the API's collection and the key of one object in its answers
_COLLECTION = {"email_campaign": ("campaigns", "campaign"), "flow": ("automations", "automation")}
_AUTOMATION_STATUS = {"1": "active", "2": "paused"}  # automations have their own codes
_AUTOMATION_CODE = {"active": "1", "paused": "2"}
_PAUSED_CODE = "3"
_RESUMABLE = ("1", "2")  # scheduled, sending: the codes a pause may leave and a resume restores
_COUNTERS = ("send_amt", "uniqueopens", "uniquelinkclicks", "unsubscribes", "hardbounces", "softbounces")
_TEST_PREFIX = "Subject test of #"


class ActiveCampaignAdapter(LiveAdapter):
    """One ActiveCampaign account over the API v3; see the module docstring."""

    PAGE = 100  # the most a list page holds

    def __init__(self, account: Any, catalog: Any = None, *, window: CallWindow | None = None) -> None:
        super().__init__(account, catalog)
        self._window = window
        self._client: Any = None
        self._lock = threading.Lock()
        self._campaigns: dict[str, dict[str, Any]] = {}  # raw campaigns read by `state`
        self._ab_tests: dict[str, list[dict[str, Any]]] = {}  # a campaign's subject tests read by `state`
        # enrollments made by this adapter per (list, automation): a retried write adds the rest
        self._enrolled: dict[tuple[str, str], list[str]] = {}

    # ------------------------------------------------------------------ plumbing

    def base_url(self) -> str:
        """The account's API root (`endpoint` in rulerun.yaml, /api/3 added when absent)."""
        endpoint = (self.account.endpoint or "").strip().rstrip("/")
        if not endpoint:
            raise self.error(
                PermanentError,
                "no account URL: set `endpoint` for this account in rulerun.yaml to the API URL shown in "
                "ActiveCampaign under Settings > Developer (https://<account>.api-us1.com)",
            )
        return endpoint if endpoint.endswith("/api/3") else f"{endpoint}/api/3"

    def _http(self) -> Any:
        if self._client is None:
            self.check_credentials()
            base = self.base_url()
            self._client = self.http_client(
                base,
                headers={"Api-Token": os.environ[TOKEN_VARIABLE], "Accept": "application/json"},
                timeout=30,
                pacer=self.window(),
            )
        return self._client

    def window(self) -> CallWindow:
        """The account's 5 requests a second, shared by every adapter on the same account URL in the process."""
        if self._window is None:
            self._window = shared((PLATFORM, self.base_url()), PER_SECOND, WINDOW_SECONDS)
        return self._window

    @property
    def calls(self) -> int:
        """Requests sent so far, retries included."""
        return self._client.sent if self._client is not None else 0

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            return self._http().json(method, path, **kw)
        except AuthError as exc:
            raise self.error(
                AuthError,
                f"the API token was refused ({exc.message}): set a valid {TOKEN_VARIABLE} "
                "(Settings > Developer of this account)",
                details=exc.details,
            ) from None
        except TransientError as exc:
            if "connection failed" in exc.message:
                raise self.error(
                    TransientError,
                    f"cannot reach {self.base_url()} ({exc.message}): check `endpoint` of this account in "
                    "rulerun.yaml (the API URL under Settings > Developer)",
                    details=exc.details,
                ) from None
            raise

    def map_error(self, exc: Exception) -> AdapterError | None:
        return None  # every call goes through HttpClient, which raises typed errors already

    def _pages(self, path: str, key: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every object of a list endpoint, page by page (limit/offset; stops on a short page or at meta.total)."""
        offset = 0
        while True:
            body = self._call("GET", path, params={**(params or {}), "limit": self.PAGE, "offset": offset})
            items = body.get(key) if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise self.error(PermanentError, f"malformed answer listing {key}: no {key!r} list")
            yield from (i for i in items if isinstance(i, dict))
            offset += len(items)
            total = _int((body.get("meta") or {}).get("total")) if isinstance(body.get("meta"), dict) else None
            if len(items) < self.PAGE or not items or (total is not None and offset >= total):
                return

    def _total(self, path: str, params: dict[str, Any]) -> int:
        """`meta.total` of a list endpoint, read with a one-item page."""
        body = self._call("GET", path, params={**params, "limit": 1, "offset": 0})
        meta = body.get("meta") if isinstance(body, dict) else None
        total = _int(meta.get("total")) if isinstance(meta, dict) else None
        if total is None:
            raise self.error(PermanentError, f"malformed answer counting {path.strip('/')}: no meta.total")
        return total

    # ------------------------------------------------------------------ reads

    def probe(self) -> str:
        try:
            total = self._total("/campaigns", {})
        except PermanentError as exc:
            if not isinstance(exc, AuthError) and _status(exc) == 404:
                raise self._unknown_url(exc) from None
            raise
        return f"{self.account.account_id}: {total} campaigns"

    def notes(self) -> list[str]:
        return [
            f"calls are paced under {PER_SECOND} requests a second, shared by every key of the account",
            "a list of N contacts costs about N/100 + 1 reads and N enrollments to add to an automation",
        ]

    def _unknown_url(self, exc: AdapterError) -> AdapterError:
        return self.error(
            PermanentError,
            f"no ActiveCampaign API at {self.base_url()} ({exc.message}): check `endpoint` of this account in "
            "rulerun.yaml (the API URL under Settings > Developer)",
            details=exc.details,
        )

    def read(self, date_from: date, date_to: date) -> Fetched:
        before = self.calls
        try:
            campaigns = list(self._pages("/campaigns", "campaigns", {"orders[sdate]": "DESC"}))
        except PermanentError as exc:
            if not isinstance(exc, AuthError) and _status(exc) == 404:
                raise self._unknown_url(exc) from None
            raise
        automations = list(self._pages("/automations", "automations"))
        lists = list(self._pages("/lists", "lists"))
        entities = [self._flow(a) for a in automations]
        flows = {e["entity_id"] for e in entities}
        entities += [self._campaign(c, flows) for c in campaigns if not _is_test(c)]
        entities += [self._segment(lst) for lst in lists]
        entities.append({**self._base("account", {"id": self.account.account_id}), "status": "active"})
        metrics = self._metric_rows(campaigns, flows, date_from, date_to)
        return Fetched(entities=entities, metrics=metrics, api_calls=self.calls - before)

    def _base(self, level: str, obj: dict[str, Any], parent: Any = None) -> dict[str, Any]:
        if obj.get("id") in (None, ""):
            raise self.error(PermanentError, f"malformed {level}: no id in {str(obj)[:80]}")
        return {
            "platform": PLATFORM,
            "account_id": self.account.account_id,
            "level": level,
            "entity_id": str(obj["id"]),
            "parent_id": str(parent) if parent not in (None, "", "0", 0) else None,
            "name": obj.get("name"),
            "currency": self.account.currency,
        }

    def _campaign(self, c: dict[str, Any], flows: set[str]) -> dict[str, Any]:
        flow = str(c.get("automation") or c.get("seriesid") or "")
        row = self._base("email_campaign", c, flow if flow in flows else None)
        row["status"] = self._status(c.get("status"))
        row["created_at"] = self._day(c.get("cdate"))
        row["labels"] = [str(c["type"])] if c.get("type") else []
        planned = _int(c.get("total_amt"))
        row["profile_count"] = planned if planned else None  # recipients; unknown on a draft without a count
        return row

    def _flow(self, a: dict[str, Any]) -> dict[str, Any]:
        row = self._base("flow", a)
        row["status"] = _AUTOMATION_STATUS.get(str(a.get("status")))
        row["created_at"] = self._day(a.get("cdate"))
        entered, exited = _int(a.get("entered")), _int(a.get("exited"))
        row["profile_count"] = entered - (exited or 0) if entered is not None else None
        return row

    def _segment(self, lst: dict[str, Any]) -> dict[str, Any]:
        row = self._base("segment", lst)
        row["status"] = "active"
        row["created_at"] = self._day(lst.get("cdate"))
        row["profile_count"] = self._total("/contacts", {"listid": row["entity_id"]})
        return row

    def _metric_rows(
        self, campaigns: list[dict[str, Any]], flows: set[str], date_from: date, date_to: date
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        per_flow: dict[tuple[str, str], dict[str, float]] = {}
        # every day of the range gets an account row (zeros on a day without sends): the read
        # covered that day, so the account's data is fresh even when nothing went out
        zero = dict.fromkeys(self.metrics(dict.fromkeys((*_COUNTERS, "delivered"), 0.0)), 0.0)
        per_day = {date_from + timedelta(days=n): dict(zero) for n in range((date_to - date_from).days + 1)}
        for c in campaigns:
            sent = self._day(c.get("sdate"))
            if sent is None or not date_from <= sent <= date_to or _is_test(c):
                continue
            raw = self._counters(c)
            values = self.metrics(raw)
            rows.append(self._row("email_campaign", str(c["id"]), sent, values))
            _add(per_day[sent], values)
            flow = str(c.get("automation") or c.get("seriesid") or "")
            if flow in flows:
                _add(per_flow.setdefault((flow, sent.isoformat()), {}), values)
        for (flow, day), sums in per_flow.items():
            rows.append(self._row("flow", flow, date.fromisoformat(day), sums))
        rows += [self._row("account", self.account.account_id, day, sums) for day, sums in per_day.items()]
        return rows

    def _counters(self, c: dict[str, Any]) -> dict[str, float]:
        raw: dict[str, float] = {}
        for name in _COUNTERS:
            value = c.get(name)
            number = _int(value) if value not in (None, "") else 0
            if number is None or number < 0:
                raise self.error(PermanentError, f"malformed campaign {c.get('id')}: {name} is {value!r}")
            raw[name] = float(number)
        raw["delivered"] = max(0.0, raw["send_amt"] - raw["hardbounces"] - raw["softbounces"])
        return raw

    def _row(self, level: str, entity_id: str, day: date, values: dict[str, Any]) -> dict[str, Any]:
        return {
            "date": day.isoformat(),
            "platform": PLATFORM,
            "account_id": self.account.account_id,
            "level": level,
            "entity_id": entity_id,
            **values,
        }

    def _status(self, code: Any) -> str | None:
        vocabulary = self.catalog.status_vocabulary(PLATFORM)
        return vocabulary.get(str(code)) if code is not None else None

    def _day(self, value: Any) -> date | None:
        """An API timestamp ("2024-05-01T10:00:00-05:00") as a date in the account's timezone."""
        if not isinstance(value, str) or not value or value.startswith("0000"):
            return None
        try:
            moment = datetime.fromisoformat(value.replace(" ", "T"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            return moment.date()
        return moment.astimezone(ZoneInfo(self.account.timezone or "UTC")).date()

    # ------------------------------------------------------------------ state

    def state(self, key: EntityKey) -> dict[str, Any]:
        if key.level == "email_campaign":
            c = self._one("campaigns", "campaign", key)
            self._campaigns[key.entity_id] = c
            tests = self._tests(key.entity_id)
            self._ab_tests[key.entity_id] = tests
            # the subject being tested (the newest test's), None when the campaign has no test
            return {"status": self._status(c.get("status")), "ab_test_subject": tests[-1]["subject"] if tests else None}
        if key.level == "flow":
            a = self._one("automations", "automation", key)
            return {"status": _AUTOMATION_STATUS.get(str(a.get("status")))}
        if key.level == "segment":
            self._one("lists", "list", key)
            return {"profile_count": self._total("/contacts", {"listid": key.entity_id}), **self._automations(key)}
        raise self.error(PermanentError, f"ActiveCampaign has no {key.level!r} entities")

    def _one(self, collection: str, name: str, key: EntityKey) -> dict[str, Any]:
        try:
            body = self._call("GET", f"/{collection}/{key.entity_id}")
        except PermanentError as exc:
            if not isinstance(exc, AuthError) and _status(exc) == 404:
                raise self.error(PermanentError, f"unknown {key.level} {key.entity_id} in this account") from None
            raise
        obj = body.get(name) if isinstance(body, dict) else None
        if not isinstance(obj, dict) or str(obj.get("id")) != key.entity_id:
            raise self.error(PermanentError, f"malformed answer reading {key.level} {key.entity_id}")
        return obj

    def _tests(self, campaign_id: str) -> list[dict[str, Any]]:
        """The subject-line tests made of a campaign (drafts or not), found by their name."""
        prefix = f"{_TEST_PREFIX}{campaign_id}: "
        out = []
        for c in self._pages("/campaigns", "campaigns", {"filters[type]": "split"}):
            name = str(c.get("name") or "")
            if c.get("type") == "split" and name.startswith(prefix):
                test = {"subject": name[len(prefix) :], "campaign": str(c.get("id")), "status": str(c.get("status"))}
                out.append(test)
        return out

    def _automations(self, key: EntityKey) -> dict[str, Any]:
        """The automations holding contacts of the list, with how many."""
        held = []
        for a in self._pages("/automations", "automations"):
            n = self._total("/contacts", {"listid": key.entity_id, "seriesid": str(a.get("id"))})
            if n:
                held.append({"automation": str(a.get("id")), "contacts": n})
        return {"automations": held}

    def current(self, key: EntityKey, state: dict[str, Any], target: Any, req: Any) -> Any:
        """An enrollment is there when every contact of the list is in the automation."""
        if key.level == "segment" and target is not None:
            automation = str(target.get("automation"))
            size = state.get("profile_count") or 0
            n = self._total("/contacts", {"listid": key.entity_id, "seriesid": automation})
            return {"automation": automation, "contacts": n} if size and n >= size else None
        return super().current(key, state, target, req)

    # ------------------------------------------------------------------ writes

    def write(self, change: Change) -> Written:
        if change.attribute == "status":
            return self._write_status(change)
        if change.attribute == "automation_enrollment":
            if change.value is None:
                return self._unenroll(change)
            return self._enroll(change)
        if change.attribute == "ab_test_subject":
            return self._delete_test(change) if change.value is None else self._create_test(change)
        raise self.error(PermanentError, f"ActiveCampaign cannot change {change.attribute}")

    def _write_status(self, change: Change) -> Written:
        key = change.key
        if key.level == "flow":
            code = _AUTOMATION_CODE[change.value]
            body = self._call("PUT", f"/automations/{key.entity_id}", json={"automation": {"status": code}})
            self._confirm(body, "automation", key, code)
            return Written({"id": key.entity_id})
        raw = self._campaigns.get(key.entity_id) or {}
        had = str(raw.get("status", ""))
        if change.value == "paused":
            if had not in _RESUMABLE:
                what = f"campaign {key.entity_id} is not scheduled or sending (status {had!r})"
                raise self.error(PermanentError, f"{what}: nothing to pause")
            code, keep = _PAUSED_CODE, {"resume_status": had}
        else:
            if had != _PAUSED_CODE:
                # a draft reads as paused too: resuming it would start a send nobody scheduled
                raise self.error(PermanentError, f"campaign {key.entity_id} is not a paused send (status {had!r})")
            code, keep = str(change.params.get("resume_status") or "2"), {}
            if code not in _RESUMABLE:
                raise self.error(PermanentError, f"cannot resume campaign {key.entity_id} to status {code!r}")
        body = self._call("PUT", f"/campaigns/{key.entity_id}", json={"campaign": {"status": code}})
        self._confirm(body, "campaign", key, code)
        return Written({"id": key.entity_id}, keep)

    def _confirm(self, body: Any, name: str, key: EntityKey, code: str) -> None:
        obj = body.get(name) if isinstance(body, dict) else None
        if not isinstance(obj, dict) or str(obj.get("id")) != key.entity_id:
            raise self.error(PermanentError, f"{key.level} {key.entity_id}: the update was not confirmed")
        if "status" in obj and str(obj["status"]) != code:
            what = f"{key.level} {key.entity_id}"
            raise self.error(PermanentError, f"{what} holds status {obj['status']!r} after the update")

    def _enroll(self, change: Change) -> Written:
        """Every contact of the list not in the automation yet gets an enrollment; their ids go in the rollback plan."""
        list_id, automation = change.key.entity_id, str(change.value["automation"])
        made = self._enrolled.setdefault((list_id, automation), [])
        inside = {
            str(c.get("id")) for c in self._pages("/contacts", "contacts", {"listid": list_id, "seriesid": automation})
        }
        members = [str(c.get("id")) for c in self._pages("/contacts", "contacts", {"listid": list_id})]
        planned = _int(change.value.get("contacts"))
        if planned is not None and len(members) > planned:
            # the decision (automatic, or a human's approval) was made for `planned` contacts
            raise self.error(
                PermanentError,
                f"list {list_id} holds {len(members)} contacts, {planned} when the change was planned: "
                "nothing was added; evaluate again",
            )
        todo = [c for c in members if c not in inside]
        for n, contact in enumerate(todo):
            try:
                enroll = {"contactAutomation": {"contact": contact, "automation": automation}}
                body = self._call("POST", "/contactAutomations", json=enroll)
            except AdapterError as exc:
                raise self.error(
                    type(exc),
                    f"{exc.message}; {len(made)} contacts of list {list_id} are in automation {automation} by now "
                    f"({n} of {len(todo)} in this attempt): a retry adds the others",
                    retry_after=exc.retry_after,
                    details=exc.details,
                ) from None
            enrollment = body.get("contactAutomation") if isinstance(body, dict) else None
            if not isinstance(enrollment, dict) or enrollment.get("id") in (None, ""):
                what = f"adding contact {contact} to automation {automation}"
                raise self.error(PermanentError, f"{what} was not confirmed")
            made.append(str(enrollment["id"]))
        return Written(
            {"automation": automation, "contacts_added": len(made)},
            {"automation": automation, "contact_automations": list(made)},
        )

    def _unenroll(self, change: Change) -> Written:
        """Delete the enrollments the add made (their ids are in the plan); one already gone is fine."""
        ids = change.params.get("contact_automations")
        if not isinstance(ids, list):
            raise self.error(
                PermanentError,
                f"the rollback plan of list {change.key.entity_id} names no enrollments: remove them in ActiveCampaign",
            )
        removed = 0
        for enrollment in ids:
            try:
                self._call("DELETE", f"/contactAutomations/{enrollment}")
                removed += 1
            except PermanentError as exc:
                if isinstance(exc, AuthError) or _status(exc) != 404:
                    raise
        automation = str(change.params.get("automation") or (change.current or {}).get("automation"))
        return Written({"automation": automation, "contacts_removed": removed}, {"automation": automation})

    def _create_test(self, change: Change) -> Written:
        key = change.key
        source = self._campaigns.get(key.entity_id) or self._one("campaigns", "campaign", key)
        subject, pct = str(change.value), 50  # two variants, half the audience each (the winner is by opens)
        draft = {
            "type": "split",
            "status": "0",
            "name": f"{_TEST_PREFIX}{key.entity_id}: {subject}",
            "source_campaign": key.entity_id,
            "splittype": "read",
            "split_pct": pct,
            "subjects": [source.get("subject") or source.get("name"), subject],
        }
        body = self._call("POST", "/campaigns", json={"campaign": draft})
        made = body.get("campaign") if isinstance(body, dict) else None
        if not isinstance(made, dict) or made.get("id") in (None, ""):
            raise self.error(PermanentError, f"creating the subject test of campaign {key.entity_id} was not confirmed")
        return Written({"campaign": str(made["id"])}, {"campaign": str(made["id"])})

    def _delete_test(self, change: Change) -> Written:
        key = change.key
        tests = self._ab_tests.get(key.entity_id) or []
        current: dict[str, Any] = next((t for t in reversed(tests) if t["subject"] == change.current), {})
        draft = str(current.get("campaign") or change.params.get("campaign") or "")
        if not draft:
            raise self.error(PermanentError, f"no draft of the subject test of campaign {key.entity_id} to delete")
        if str(current.get("status", "0")) != "0":
            raise self.error(
                PermanentError,
                f"the subject test {draft} of campaign {key.entity_id} is no draft any more (status "
                f"{current.get('status')}): it was scheduled or sent and cannot be undone here",
            )
        try:
            self._call("DELETE", f"/campaigns/{draft}")
        except PermanentError as exc:
            if isinstance(exc, AuthError) or _status(exc) != 404:
                raise
        return Written({"campaign": draft, "deleted": True})


def _add(total: dict[str, float], values: dict[str, Any]) -> None:
    for name, value in values.items():
        total[name] = total.get(name, 0.0) + (value or 0.0)


def _is_test(c: dict[str, Any]) -> bool:
    """A subject-test draft this adapter made: not a campaign of its own for rules."""
    named = str(c.get("name") or "").startswith(_TEST_PREFIX)
    return c.get("type") == "split" and named and str(c.get("status")) == "0"


def _int(value: Any) -> int | None:
    """A counter (the API sends strings); None when it is not a whole number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def _status(exc: AdapterError) -> int | None:
    return exc.details.get("status") if isinstance(exc.details, dict) else None
