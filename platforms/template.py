"""The live-adapter template: everything about changing a platform account that is not platform-specific.

A live adapter serves one account (`Account`, from rulerun.yaml) of one platform over its
API. `LiveAdapter` owns the adapter contract (platforms/adapter.py): `execute`,
`rollback`, `execute_batch` with a result per operation (PartialFailure when only some
succeed), `notify`, the check that the platform supports the action at that level (its
declaration, platforms/<name>/__init__.py), idempotency, rollback plans built from the
action declarations (engine/core/actions.py), normalization through the catalog and
money conversion in the account currency (engine/core/money.py).

A platform (`platforms/<name>/adapter.py`, one `LiveAdapter` subclass, found by that
name) supplies only:

- `read(date_from, date_to) -> Fetched`: its paged raw reads, normalized with
  `self.metrics(raw)` and `self.attribute(field, value)`; the template wraps it (an
  empty range is refused, a failure anywhere returns nothing);
- `state(key) -> dict`: the entity's live state (status, daily_budget, bid,
  negative_keywords), money through `self.attribute`; `states(keys)` when the platform
  can read many entities in one call (a batch reads them all before writing);
- `write(change) -> Written`: one attribute of one entity (`Change`: the canonical value
  and, for money, the wire value the template converted); `write_batch(changes)` when the
  platform has a batch endpoint (one result or AdapterError per change), with
  `max_batch` set to the most changes one call takes (`rulerun apply` groups that many);
- negative keywords are the attribute `negative_keyword` of `write` (value None removes
  `change.current`), where the platform has them;
- `probe() -> str`: the cheapest authenticated call, for `rulerun connections`;
- `notes() -> list[str]`: what `rulerun connections` should tell besides (automation the
  platform runs on the account by itself, ...); none by default;
- `map_error(exc) -> AdapterError | None`: its SDK's errors as the typed errors
  (engine/core/execution.py); None leaves the template's PermanentError;
- `current(change_key, state, target, req)`: for an action that adds or removes one item of a
  collection other than negative keywords (an automation enrollment, a test draft;
  `ActionType.identity`), the item as the platform holds it, or None when absent (the
  default looks for it in the state's collection); `write` gets the item (None: remove).

Retries (the policy: engine/core/retry.py) are per API call. An HTTP platform makes its
calls with `self.http_client(...)` (platforms/http.py), which retries each request; an
SDK platform passes each SDK call through `self.call(fn, ...)`, each page of a paged read
included, so a read resumes at the page that failed. A platform that learns from its
responses how long to wait turns it into the error's `retry_after` (in `map_error`) or
calls `self.pause(seconds, why)`. All waiting goes through `self.sleep` (tests replace
it). `retry_policy` holds the numbers; a platform may declare its own.

Writes are retried as a step: `execute`, `execute_batch` and `rollback` read the live
state, write, and on a retryable failure read again and write only what is still not so
(calls inside the step run once). A batch retries only the changes that failed.

Idempotency survives a new process: before writing, the template reads the live state,
and when it already shows the requested change nothing is written and the result carries
the rollback plan that restores the request's `before`. Results are also kept in memory
per `action_id`, which only spares the read on a retry within one process.

Errors raised here name the platform and account, never a credential: the values of the
platform's declared credential variables are masked in every message.
"""

from __future__ import annotations

import logging
import os
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from engine.core import money
from engine.core.actions import (
    ACTIONS,
    FROM_REQUEST,
    OPERATIONS,
    ActionType,
    RollbackPlan,
    item_operation,
    toggleable_statuses,
    undo_plan,
)
from engine.core.catalog import Catalog, FieldMap, load_catalog
from engine.core.execution import (
    ActionRequest,
    AdapterError,
    AuthError,
    EntityKey,
    ExecResult,
    PartialFailure,
    PermanentError,
)
from engine.core.retry import RetryPolicy, single_attempt
from platforms.adapter import Account, Adapter, Fetched

if TYPE_CHECKING:
    from platforms.http import HttpClient

log = logging.getLogger("rulerun.platforms")
T = TypeVar("T")
E = TypeVar("E", bound=AdapterError)


class _SecretMask(logging.Filter):
    """Masks credential values in the records of the loggers it is attached to (an SDK's transport)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            masked = text
            for secret in self.secrets:
                masked = masked.replace(secret, "***")
            if masked != text:
                record.msg, record.args = masked, ()
        return True


_MASK = _SecretMask()

_LABELS = {"daily_budget": "daily budget", "bid": "manual bid", "status": "status", "negative_keyword": "negative"}


@dataclass
class Change:
    """One write the template asks of a platform: set `attribute` of `key` to `value`."""

    key: EntityKey
    action_type: str
    attribute: str  # status | daily_budget | bid | negative_keyword
    value: Any  # canonical: "paused", 75.5, {"text", "match_type", "scope"}, or None (remove the negative)
    current: Any  # the live value before the write (for a removal: the negative to remove)
    wire: Any  # `value` in the platform's unit (money converted from the account currency)
    wire_field: str = ""  # the platform field the catalog maps the attribute to (the attribute when none)
    state: dict[str, Any] = field(default_factory=dict)  # the live state read before the write
    params: dict[str, Any] = field(default_factory=dict)  # the request's params


@dataclass
class Written:
    """What a platform confirmed for one write."""

    confirmation: dict[str, Any] = field(default_factory=dict)  # goes into the result (ids, resource names)
    plan_params: dict[str, Any] = field(default_factory=dict)  # details the rollback plan keeps in its params


class LiveAdapter(Adapter):
    """One account of a platform reached over its API; subclasses supply the platform calls."""

    # Loggers of the platform's transport that may write a credential (a token in a logged URL)
    transport_loggers: tuple[str, ...] = ()
    # How the platform's calls are retried (engine/core/retry.py); a platform (or an instance) may declare its own
    retry_policy: RetryPolicy = RetryPolicy()
    # Every wait goes through it: tests replace it on an instance or on the class to record waits
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    def __init__(self, account: Account, catalog: Catalog | None = None):
        self.account = account
        self.platform = account.platform
        self.catalog = catalog or load_catalog()
        self._done: dict[str, ExecResult] = {}
        _MASK.secrets.update(self.secrets())
        for name in self.transport_loggers:
            logger = logging.getLogger(name)
            if _MASK not in logger.filters:
                logger.addFilter(_MASK)

    # ------------------------------------------------------------------ what a platform supplies

    @abstractmethod
    def read(self, date_from: date, date_to: date) -> Fetched:
        """Entities and daily metrics for the inclusive range (paged raw reads, normalized)."""

    @abstractmethod
    def state(self, key: EntityKey) -> dict[str, Any]:
        """The entity's live state; PermanentError when it is unknown."""

    @abstractmethod
    def write(self, change: Change) -> Written:
        """Make one change on the platform."""

    @abstractmethod
    def probe(self) -> str:
        """The cheapest authenticated call; returns what it saw (e.g. the account's name)."""

    def states(self, keys: list[EntityKey]) -> list[dict[str, Any] | AdapterError]:
        """The live states of several entities, one state or error each; the default reads them one by one.

        An error that concerns the whole call (auth; a rate limit on a call reading them all) is raised.
        """
        out: list[dict[str, Any] | AdapterError] = []
        for key in keys:
            try:
                with self.calling(f"reading {key.level} {key.entity_id}"):
                    out.append(self.state(key))
            except AdapterError as exc:
                if isinstance(exc, AuthError):
                    raise
                out.append(exc)
        return out

    def notes(self) -> list[str]:
        """What `rulerun connections` should tell about the account besides its check (none by default)."""
        return []

    def write_batch(self, changes: list[Change]) -> list[Written | AdapterError]:
        """Several changes; one result or error per change. The default writes them one by one.

        An AuthError is raised. A retryable error (a rate limit, a dropped connection) is
        the result of that change and of the ones after it, which are not sent: the write
        step retries them after waiting.
        """
        out: list[Written | AdapterError] = []
        for i, change in enumerate(changes):
            try:
                with self.calling(f"writing {change.attribute} of {change.key.level} {change.key.entity_id}"):
                    out.append(self.write(change))
            except AuthError:
                raise
            except AdapterError as exc:
                if exc.retryable:
                    out.extend([exc] * (len(changes) - i))
                    break
                out.append(exc)
        return out

    def current(self, key: EntityKey, state: dict[str, Any], target: Any, req: ActionRequest) -> Any:
        """The live item of a collection action (not a negative keyword), None when absent.

        `target` is the item asked for (None for a removal: then `req.before` names it). The
        default finds it by identity in the state's collection; a platform overrides this when
        presence means more (every contact of a segment in the automation).
        """
        op = OPERATIONS[req.type]
        wanted = target if target is not None else (req.before.get(op.key() or "") or req.params)
        found = op.identify(wanted)
        return next((n for n in state.get(op.attribute or "") or [] if op.identify(n) == found), None)

    def check_change(self, key: EntityKey, attribute: str, state: dict[str, Any]) -> None:
        """Raise PermanentError when the platform refuses to change `attribute` of `key` (e.g. where a budget lives)."""

    def map_error(self, exc: Exception) -> AdapterError | None:
        """The typed error for an SDK or transport exception; None: a PermanentError."""
        return None

    def secrets(self) -> list[str]:
        """Credential values to mask in messages: the platform's declared variables."""
        from platforms import get_platform

        try:
            names = get_platform(self.platform).credentials
        except KeyError:
            names = ()
        return [v for v in (os.environ.get(n) for n in names) if v and len(v) >= 4]

    # ------------------------------------------------------------------ helpers for platforms

    def call(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """One API call, `fn(*args, **kw)`, retried under `retry_policy`.

        An SDK exception is typed through `map_error` to decide whether to retry and how
        long to wait; the last one is re-raised as it came (the enclosing `calling`, or the
        template around `read`, `state`, `write` and `probe`, names and types it).
        """
        return self.retry_policy.run(lambda: fn(*args, **kw), sleep=self._sleep, classify=self._typed)

    def pause(self, seconds: float, why: str) -> None:
        """Wait before the next call because the platform's responses ask to slow down (capped by the policy)."""
        where = f"{self.platform} account {self.account.account_id}"
        self.retry_policy.pause(seconds, sleep=self._sleep, why=f"{where}: {why}")

    def http_client(self, base_url: str, **kw: Any) -> HttpClient:
        """An HttpClient (platforms/http.py) for this account, under this adapter's retry policy and sleep.

        Keyword arguments go to HttpClient: `headers` (treated as secrets), `timeout`,
        `wait_from`, `error_from`, `refine`, `pacer`.
        """
        from platforms.http import HttpClient

        return HttpClient(
            base_url,
            platform=self.platform,
            account_id=self.account.account_id,
            policy=self.retry_policy,
            sleep=self._sleep,
            **kw,
        )

    def error(self, cls: type[E], message: str, **kw: Any) -> E:
        return cls(self.scrub(message), platform=self.platform, account_id=self.account.account_id, **kw)

    def scrub(self, text: str) -> str:
        for secret in self.secrets():
            text = text.replace(secret, "***")
        return text

    @contextmanager
    def calling(self, what: str) -> Iterator[None]:
        """Translate anything raised inside into a typed AdapterError naming `what`, the platform and account."""
        try:
            yield
        except AdapterError as exc:
            raise self._own(exc) from None
        except Exception as exc:
            err = self.map_error(exc) or PermanentError(f"unexpected response ({type(exc).__name__}: {exc})")
            err.message = f"{what}: {err.message}" if what else err.message
            raise self._own(err) from None

    def _sleep(self, seconds: float) -> None:
        self.sleep(seconds)  # looked up at each wait: a test may replace `sleep` after the client exists

    def _typed(self, exc: BaseException) -> AdapterError | None:
        if isinstance(exc, AdapterError):
            return self._own(exc)
        return self._own(mapped) if isinstance(exc, Exception) and (mapped := self.map_error(exc)) else None

    def _own(self, err: AdapterError) -> AdapterError:
        err.platform = err.platform or self.platform
        err.account_id = err.account_id or self.account.account_id
        err.message = self.scrub(err.message)
        err.args = (err.message,)
        return err

    def metrics(self, raw: dict[str, Any]) -> dict[str, float | None]:
        """Platform report fields -> canonical additive metrics (units from the catalog, money in the account currency).

        Fields the catalog does not map are ignored; two fields mapped to one metric are summed.
        """
        out: dict[str, float | None] = {}
        for name, fm in self.catalog.field_mapping.get(self.platform, {}).items():
            if name in raw and raw[name] is not None:
                value = fm.convert(raw[name], self.account.currency)
                out[fm.target] = (out.get(fm.target) or 0.0) + (value or 0.0)
        return out

    def attribute(self, name: str, value: Any) -> tuple[str, Any]:
        """A platform attribute field -> (canonical attribute, value), money in the account currency."""
        fm = self.catalog.attribute_mapping.get(self.platform, {}).get(name)
        if fm is None:
            return name, value
        return fm.target, fm.convert(value, self.account.currency)

    def money(self, name: str, value: Any) -> float | None:
        """A money field's amount in the account currency; None when unset (absent, empty or zero)."""
        if value in (None, "", "0", 0):
            return None
        return self.attribute(name, value)[1]

    def _wire(self, attribute: str) -> FieldMap | None:
        """The platform field an attribute is written to (the first the catalog maps to it)."""
        maps = self.catalog.attribute_mapping.get(self.platform, {}).values()
        return next((fm for fm in maps if fm.target == attribute), None)

    # ------------------------------------------------------------------ the adapter contract

    def fetch(self, date_from: date, date_to: date) -> Fetched:
        """Entities and daily metrics for the inclusive range; all or nothing."""
        if date_to < date_from:
            raise self.error(PermanentError, f"empty date range {date_from}..{date_to}")
        with self.calling(f"reading {date_from}..{date_to}"):
            return self.read(date_from, date_to)

    def check_connection(self) -> str:
        with self.calling("checking the connection"):
            return self.probe()

    def connection_notes(self) -> list[str]:
        with self.calling("reading what to note about the account"):
            return self.notes()

    def read_state(self, key: EntityKey) -> dict[str, Any]:
        with self.calling(f"reading {key.level} {key.entity_id}"):
            return self.state(key)

    def execute(self, req: ActionRequest) -> ExecResult:
        done, errors = self._run([req])
        if req.action_id in errors:
            raise errors[req.action_id]
        return done[req.action_id]

    def execute_batch(self, reqs: list[ActionRequest]) -> dict[str, ExecResult]:
        """One batch write for the whole list where the platform has one; PartialFailure names each failure.

        When nothing succeeded and every change failed with one error (the whole call
        failed), that error is raised.
        """
        done, errors = self._run(reqs)
        if errors and not done and len({id(err) for err in errors.values()}) == 1:
            raise next(iter(errors.values()))
        if errors:
            raise PartialFailure(
                f"{len(errors)} of {len(reqs)} changes failed",
                succeeded=done,
                failed={action_id: str(err) for action_id, err in errors.items()},
                platform=self.platform,
                account_id=self.account.account_id,
            )
        return done

    def rollback(self, plan: dict[str, Any], key: EntityKey) -> ExecResult:
        try:
            parsed = RollbackPlan.from_dict(plan)
        except ValueError as exc:
            raise self.error(PermanentError, str(exc)) from None
        req = ActionRequest("", key, parsed.type, parsed.params, parsed.before, parsed.after)
        return self.execute(req)

    # ------------------------------------------------------------------ internals

    def _run(self, reqs: list[ActionRequest]) -> tuple[dict[str, ExecResult], dict[str, AdapterError]]:
        """The write step under the retry policy: each attempt reads again and writes what is still not so."""
        done: dict[str, ExecResult] = {}
        errors: dict[str, AdapterError] = {}
        todo = list(reqs)

        def attempt() -> None:
            nonlocal todo
            try:
                with single_attempt():
                    ok, failed = self._write_step(todo)
            except AdapterError as exc:  # the whole call failed (auth, a dropped connection): every change did
                ok, failed = {}, {req.action_id: self._own(exc) for req in todo}
            done.update(ok)
            errors.update(failed)
            for action_id in ok:
                errors.pop(action_id, None)
            todo = [req for req in todo if req.action_id in failed and failed[req.action_id].retryable]
            if todo:
                raise failed[todo[0].action_id]  # the policy waits as it asks, then these go again

        with suppress(AdapterError):  # each change's last error is in `errors`
            self.retry_policy.run(attempt, sleep=self._sleep)
        return done, errors

    def _write_step(self, reqs: list[ActionRequest]) -> tuple[dict[str, ExecResult], dict[str, AdapterError]]:
        """One attempt: read each entity's live state, then one write (a batch where the platform has one)."""
        done: dict[str, ExecResult] = {}
        errors: dict[str, AdapterError] = {}
        pending: list[tuple[ActionRequest, Change]] = []
        read = self._read_ahead(reqs)
        for req in reqs:
            try:
                prepared = self._prepare(req, read)
            except AdapterError as exc:
                if isinstance(exc, AuthError):
                    raise
                errors[req.action_id] = self._own(exc)
                continue
            if isinstance(prepared, ExecResult):
                done[req.action_id] = self._remember(req, prepared)
            else:
                pending.append((req, prepared))
        if pending:
            with self.calling("writing changes"):
                outcomes = self.write_batch([change for _, change in pending])
            if len(outcomes) != len(pending):
                raise self.error(PermanentError, f"malformed response: {len(outcomes)} results for {len(pending)}")
            for (req, change), out in zip(pending, outcomes, strict=True):
                if isinstance(out, AdapterError):
                    errors[req.action_id] = self._own(out)
                    continue
                log.info(
                    "%s account %s: %s %s %s -> %r",
                    self.platform,
                    self.account.account_id,
                    change.action_type,
                    change.key.level,
                    change.key.entity_id,
                    change.value,
                )
                plan = undo_plan(change.action_type, restore=change.current, now=change.value, params=out.plan_params)
                result = {change.attribute: change.value, **out.confirmation}
                done[req.action_id] = self._remember(req, ExecResult(result, plan.to_dict() if plan else None))
        return done, errors

    def _remember(self, req: ActionRequest, result: ExecResult) -> ExecResult:
        if req.action_id:
            self._done[req.action_id] = result
        return result

    def _read_ahead(self, reqs: list[ActionRequest]) -> dict[EntityKey, dict[str, Any] | AdapterError]:
        """The live states a batch's writes need, read together (`states`) before any is prepared."""
        keys = list(
            dict.fromkeys(
                r.entity
                for r in reqs
                if r.type in OPERATIONS and OPERATIONS[r.type].key() is not None and r.action_id not in self._done
            )
        )
        if len(keys) < 2:
            return {}
        with self.calling(f"reading {len(keys)} entities"):
            found = self.states(keys)
        if len(found) != len(keys):
            raise self.error(PermanentError, f"malformed response: {len(found)} states for {len(keys)} entities")
        return dict(zip(keys, found, strict=True))

    def _prepare(self, req: ActionRequest, read: dict[EntityKey, Any] | None = None) -> ExecResult | Change:
        """The write a request needs, or its result when none is needed (notify, already done)."""
        key = req.entity
        if key.account_id and key.account_id != self.account.account_id:
            raise self.error(PermanentError, f"entity belongs to account {key.account_id}")
        op = OPERATIONS.get(req.type)
        if op is None:
            raise self.error(PermanentError, f"unsupported action type {req.type!r}")
        self._check_supported(op, key)
        attr = op.key()
        if attr is None:
            return ExecResult({"notified": True}, None)
        if req.action_id and req.action_id in self._done:
            return self._done[req.action_id]
        target = self._target(op, attr, req)
        state = (read or {}).get(key)
        if isinstance(state, AdapterError):
            raise self._own(state)
        if state is None:
            state = self.read_state(key)
        with self.calling(f"checking {key.level} {key.entity_id}"):
            self.check_change(key, attr, state)
            current = self._current(state, attr, target, req)
        if _same(current, target):
            # already so (a retry after a lost response, another process): write nothing
            restore = req.before.get(attr, current)
            plan = undo_plan(op.name, restore=restore, now=target)
            return ExecResult({attr: target, "already": True}, plan.to_dict() if plan else None)
        self._check_change(attr, current, target, key)
        fm = self._wire(attr)
        wire = fm.money.to_wire(target, self.account.currency) if fm is not None and op.is_money() else target
        return Change(key, op.name, attr, target, current, wire, fm.field if fm else attr, state, dict(req.params))

    def _check_supported(self, op: type[ActionType], key: EntityKey) -> None:
        from platforms import get_platform

        try:
            declared = get_platform(self.platform)
        except KeyError:
            raise self.error(PermanentError, f"unknown platform {self.platform!r}") from None
        # an adapter-level operation (an undo) is supported wherever the action it undoes is
        name = op.name if op.name in ACTIONS else op.undo
        if name is None or not declared.supports(name, key.level):
            raise self.error(PermanentError, f"{op.name} is not supported on {self.platform} {key.level}s")

    def _target(self, op: type[ActionType], attr: str, req: ActionRequest) -> Any:
        if op.sets is not FROM_REQUEST:
            return op.sets
        if attr == "negative_keyword":
            return _negative(req.after.get(attr) or req.params, self)
        if op.is_item():
            item = req.after.get(attr)
            if not isinstance(item, dict) or any(not item.get(k) for k in op.identity):
                raise self.error(PermanentError, f"{req.type} without the {attr.replace('_', ' ')} to make: {item!r}")
            return item
        value = req.after.get(attr)
        if value is None:
            raise self.error(PermanentError, f"{req.type} without a new {_label(attr)}")
        if op.choices:  # a text attribute (a flow's status): one of the declared values
            if value not in op.choices:
                raise self.error(PermanentError, f"invalid {_label(attr)}: {value!r} (one of {', '.join(op.choices)})")
            return value
        if not op.is_money():  # a text or an object (a page body, a discount): the platform checks it
            if op.identity and (not isinstance(value, dict) or any(not value.get(k) for k in op.identity)):
                raise self.error(PermanentError, f"invalid {attr}: {value!r}")
            return value
        try:
            amount = float(value)
        except (TypeError, ValueError):
            raise self.error(PermanentError, f"invalid {_label(attr)}: {value!r}") from None
        fm = self._wire(attr)
        currency = self.account.currency
        amount = fm.money.round(amount, currency) if fm else money.round_amount(amount, currency)
        if amount <= 0:
            raise self.error(PermanentError, f"the new {_label(attr)} must be above zero, not {value}")
        return amount

    def _current(self, state: dict[str, Any], attr: str, target: Any, req: ActionRequest) -> Any:
        if OPERATIONS[req.type].is_item() and attr != "negative_keyword":
            return self.current(req.entity, state, target, req)
        if attr != "negative_keyword":
            return state.get(attr)
        ident = target if target is not None else _negative(req.before.get(attr) or req.params, self)
        for existing in state.get("negative_keywords") or []:
            if (
                str(existing.get("text", "")).lower() == ident["text"].lower()
                and existing.get("match_type", "exact") == ident["match_type"]
            ):
                return {**ident, **{k: existing[k] for k in ("text", "match_type", "scope") if k in existing}}
        return None

    def _check_change(self, attr: str, current: Any, target: Any, key: EntityKey) -> None:
        what = f"{key.level} {key.entity_id}"
        if attr not in _LABELS:
            return  # an item of a collection: present or absent, the platform checks the rest
        if attr == "status":
            allowed = toggleable_statuses()
            if current not in allowed or target not in allowed:
                raise self.error(PermanentError, f"{what} is {current}: it cannot be set {target}")
        elif attr != "negative_keyword" and item_operation(attr) is None and current is None:  # items may be absent
            raise self.error(PermanentError, f"{what} has no {_label(attr)} to change")


def _label(attr: str) -> str:
    return _LABELS.get(attr, attr.replace("_", " "))


def _same(current: Any, target: Any) -> bool:
    if isinstance(current, dict) or isinstance(target, dict):  # a negative keyword: present or absent
        return (current is None) == (target is None)
    return current == target


def _negative(value: Any, adapter: LiveAdapter) -> dict[str, Any]:
    if not isinstance(value, dict) or not value.get("text"):
        raise adapter.error(PermanentError, f"invalid negative keyword: {value!r}")
    return {
        "text": value["text"],
        "match_type": value.get("match_type") or "exact",
        "scope": value.get("scope") or "campaign",
    }
