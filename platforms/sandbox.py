"""The demo platform's sandbox: a local stand-in for the ad platforms that really changes state.

With a demo source, `rulerun apply` executes through `DemoSandbox`: it keeps the state of
the entities it changed in `<state_dir>/sandbox.sqlite` (SQLite, WAL mode, one transaction
per change), so that after `apply` a new `evaluate` sees the changed state, and
`rollback` restores it. It stores only what changed; the rest comes from the baseline
(the demo entities in the metrics store), read through the `baseline(key)` callable:

- `overrides()`: one row per entity whose state differs from the baseline,
  {platform, account_id, level, entity_id, status, daily_budget, bid}, where None means
  "the baseline value stands" (no action sets a field to null);
- `negative_keywords()`: the negatives added, {platform, account_id, level, entity_id
  (the search term they were added from), text, match_type, scope, parent_id};
- `changes()`: the ledger of every change made, in order: {seq, action_id, kind
  (execute | rollback), at, type, platform, account_id, level, entity_id, before, after,
  result, rollback_plan}. Rollbacks have no action_id.

The sandbox behaves like a platform with idempotency keys: executing an action_id that
was already executed changes nothing and returns the recorded result. It refuses what a
platform would refuse (PermanentError): an unknown entity, an action type the platform
does not support at that level, pausing or enabling a removed entity, a budget or bid on
an entity that has none, a non-positive amount. `notify` changes nothing and is not
recorded. A rollback sets the plan's `after` state like a platform would, whatever the
entity's state now: whether it changed since the action (the plan's `before`) is the
caller's check, through `read_state`. Rolling back what is already restored changes
nothing (the result says `"already": True`).

Like a live adapter, the sandbox puts each call through the retry policy
(engine/core/retry.py): a call that fails with a rate limit or a transient error is tried
again, and a retry first reads the ledger, so a change whose response was lost is never
made twice. Its clock is simulated: the waits the policy asks for are recorded in
`waits`, not slept (pass `sleep=` to wait for real). It takes one action per call unless
`max_batch` (default: the environment variable `RULERUN_SANDBOX_BATCH`, else 1) lets
`rulerun apply` send batches, as a platform with a batch endpoint would.

Fault injection, for testing the executor: `faults` (default: the environment variable
`RULERUN_SANDBOX_FAULTS`; "" for none) is a list of items separated by commas or spaces:

- `429xN`: the next N calls raise RateLimited(retry_after=0.01);
- `500xN` (any 5xx status): the next N calls raise TransientError;
- `timeoutxN` (or `timeout x N`): the next N calls raise TransientError("timed out");
- `lostxN`: the next N calls make the change, then raise TransientError("timed out")
  as if the response were lost (the retry finds it done and must not apply it twice);
- `fail:<action_id>`: that action always fails with PermanentError;
- `partialxN`: the next N `execute_batch` calls apply all but the last request, which
  fails with PermanentError, and raise PartialFailure.

`xN` may be left out (once). The call faults queue up in the order written ("429x2,500"
is two rate limits, then a 5xx, then success) and count the attempts of `execute`,
`execute_batch` (one attempt for the whole batch) and `rollback` of this instance, retries
included; `read_state` is never faulted.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict, TypeVar

from engine.core import money
from engine.core.actions import ACTIONS, FROM_REQUEST, OPERATIONS, RollbackPlan, toggleable_statuses, undo_plan
from engine.core.execution import (
    ActionRequest,
    AdapterError,
    EntityKey,
    ExecResult,
    PartialFailure,
    PermanentError,
    RateLimited,
    TransientError,
)
from engine.core.retry import RetryPolicy
from platforms.adapter import Adapter, Baseline

FAULTS_ENV = "RULERUN_SANDBOX_FAULTS"
BATCH_ENV = "RULERUN_SANDBOX_BATCH"
DB_NAME = "sandbox.sqlite"
T = TypeVar("T")

_SCALARS = ("status", "daily_budget", "bid")
_LABEL = {"daily_budget": "daily budget", "bid": "manual bid"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS overrides (
    platform TEXT NOT NULL, account_id TEXT NOT NULL, level TEXT NOT NULL, entity_id TEXT NOT NULL,
    status TEXT, daily_budget REAL, bid REAL,
    PRIMARY KEY (platform, account_id, level, entity_id)
);
CREATE TABLE IF NOT EXISTS negative_keywords (
    platform TEXT NOT NULL, account_id TEXT NOT NULL, level TEXT NOT NULL, entity_id TEXT NOT NULL,
    text TEXT NOT NULL, match_type TEXT NOT NULL, scope TEXT NOT NULL, parent_id TEXT,
    added_at TEXT NOT NULL,
    PRIMARY KEY (platform, account_id, level, entity_id, text, match_type, scope)
);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    action_id TEXT, kind TEXT NOT NULL, at TEXT NOT NULL, type TEXT NOT NULL,
    platform TEXT NOT NULL, account_id TEXT NOT NULL, level TEXT NOT NULL, entity_id TEXT NOT NULL,
    before TEXT NOT NULL, after TEXT NOT NULL, result TEXT, rollback_plan TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS changes_by_action ON changes (action_id) WHERE kind = 'execute';
-- Calls for an action already executed (answered from the ledger, like a platform's idempotency
-- key): harmless here, but a caller that repeats itself shows up in this table.
CREATE TABLE IF NOT EXISTS replays (action_id TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    platform TEXT NOT NULL, account_id TEXT NOT NULL, level TEXT NOT NULL, entity_id TEXT NOT NULL,
    attr TEXT NOT NULL, ident TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (platform, account_id, level, entity_id, attr, ident)
);
"""
# Non-scalar state the store actions change: a page's body (ident ''), a discount by its code.
_TEXTS = ("body",)

_KEY_WHERE = "platform = ? AND account_id = ? AND level = ? AND entity_id = ?"


def _key_args(key: EntityKey) -> tuple[str, str, str, str]:
    return (key.platform, key.account_id, key.level, key.entity_id)


class _Faults:
    """The parsed fault specification (see the module docstring); thread-safe."""

    _ITEM = re.compile(r"(?P<kind>429|5\d\d|timeout|lost|partial)(?:x(?P<n>\d+))?|fail:(?P<id>\S+)")

    def __init__(self, spec: str) -> None:
        self._calls: deque[str] = deque()
        self._partial = 0
        self.fail_ids: set[str] = set()
        self._lock = threading.Lock()
        # "timeout x1" is one item: glue the count to its kind before splitting on spaces
        spec = re.sub(r"\s*x\s*(?=\d)", "x", spec)
        for item in filter(None, re.split(r"[\s,;]+", spec)):
            m = self._ITEM.fullmatch(item)
            if not m:
                raise ValueError(
                    f"{FAULTS_ENV}: cannot read {item!r}; expected 429xN, 500xN, timeoutxN, lostxN, "
                    "partialxN or fail:<action_id>, separated by commas"
                )
            if m["id"]:
                self.fail_ids.add(m["id"])
            elif m["kind"] == "partial":
                self._partial += int(m["n"] or 1)
            else:
                self._calls.extend([m["kind"]] * int(m["n"] or 1))

    def on_call(self, key: EntityKey | None) -> bool:
        """Raise the next queued call fault; True when the change must be made and its response lost."""
        with self._lock:
            kind = self._calls.popleft() if self._calls else None
        where: _Where = _where(key) if key else {}
        if kind == "429":
            raise RateLimited("rate limited (sandbox fault)", retry_after=0.01, **where)
        if kind == "timeout":
            raise TransientError("timed out", **where)
        if kind and kind[0] == "5":
            raise TransientError(f"HTTP {kind} (sandbox fault)", **where)
        return kind == "lost"

    def take_partial(self) -> bool:
        with self._lock:
            if self._partial:
                self._partial -= 1
                return True
            return False


def _money(value: Any, label: str, where: _Where, currency: str | None) -> float:
    try:
        amount = money.round_amount(float(value), currency)
    except (TypeError, ValueError):
        raise PermanentError(f"invalid {label}: {value!r}", **where) from None
    if amount <= 0:
        raise PermanentError(f"the {label} must be above zero, not {amount:.2f}", **where)
    return amount


def _negative(value: Any, where: _Where) -> dict[str, Any]:
    if not isinstance(value, dict) or not value.get("text"):
        raise PermanentError(f"invalid negative keyword: {value!r}", **where)
    return {
        "text": value["text"],
        "match_type": value.get("match_type", "exact"),
        "scope": value.get("scope", "campaign"),
        "parent_id": value.get("parent_id"),
    }


def _undo(kind: str, *, restore: Any, now: Any) -> dict[str, Any] | None:
    plan = undo_plan(kind, restore=restore, now=now)
    return plan.to_dict() if plan is not None else None


class DemoSandbox(Adapter):
    """Executes actions against the local demo sandbox: no credentials, real state, full rollback.

    `platform` is the platform this instance serves ("demo": any platform). The state
    lives in `<state_dir>/sandbox.sqlite`, shared by every instance on that directory.
    """

    retry_policy = RetryPolicy()

    def __init__(
        self,
        state_dir: Path | str,
        baseline: Baseline,
        *,
        platform: str = "demo",
        faults: str | None = None,
        max_batch: int | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.platform = platform
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / DB_NAME
        self._baseline = baseline
        self._faults = _Faults(os.environ.get(FAULTS_ENV, "") if faults is None else faults)
        self.max_batch = _batch_size(os.environ.get(BATCH_ENV, "") if max_batch is None else str(max_batch))
        self.waits: list[float] = []  # what the retry policy waited, on the simulated clock
        self.sleep = sleep or self.waits.append
        self.state_dir.mkdir(parents=True, exist_ok=True)
        db = self._connect()
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
        finally:
            db.close()

    # -- the adapter contract

    def check_credentials(self) -> None:
        """The sandbox needs no credentials."""

    def read_state(self, key: EntityKey) -> dict[str, Any]:
        self._check_platform(key)
        base = self._base(key)
        db = self._connect()
        try:
            row = db.execute(f"SELECT status, daily_budget, bid FROM overrides WHERE {_KEY_WHERE}", _key_args(key))
            override = row.fetchone()
            added = db.execute(
                f"SELECT text, match_type, scope FROM negative_keywords WHERE {_KEY_WHERE} ORDER BY added_at, rowid",
                _key_args(key),
            ).fetchall()
        finally:
            db.close()
        state = {attr: base[attr] for attr in _SCALARS if attr in base}
        state.update(_objects(self.path, key, base))
        for attr in _SCALARS:
            if override is not None and override[attr] is not None:
                state[attr] = override[attr]
        if key.level == "search_term" or "negative_keywords" in base or added:
            negatives = [
                {"text": n["text"], "match_type": n.get("match_type", "exact"), "scope": n.get("scope", "campaign")}
                for n in base.get("negative_keywords") or []
            ]
            negatives += [dict(n) for n in added if dict(n) not in negatives]
            state["negative_keywords"] = negatives
        return state

    def execute(self, req: ActionRequest) -> ExecResult:
        self._check_platform(req.entity)

        def attempt(again: bool) -> ExecResult:
            recorded = self._recorded(req) if again else None
            if recorded is not None:  # the last response was lost: the change is made
                return recorded
            lost = self._faults.on_call(req.entity)
            result = self._execute(req)
            if lost:
                raise TransientError("timed out", platform=req.entity.platform, account_id=req.entity.account_id)
            return result

        return self._retried(attempt)

    def rollback(self, plan: dict[str, Any], key: EntityKey) -> ExecResult:
        self._check_platform(key)
        where = _where(key)
        try:
            parsed = RollbackPlan.from_dict(plan)
        except ValueError as exc:
            raise PermanentError(str(exc), **where) from None
        attr, restore, expect = parsed.key, parsed.restore, parsed.expect
        if attr == "negative_keyword":
            if restore is None and expect is None:
                raise PermanentError(f"not a rollback plan: {plan!r}", **where)
            restore = _negative(restore, where) if restore is not None else None
            expect = _negative(expect, where) if expect is not None else None

        def attempt(again: bool) -> ExecResult:
            # a rollback reads the state before changing it: after a lost response it finds it restored
            lost = self._faults.on_call(key)
            result = self._change(key, parsed.type, attr, restore, action_id=None, expect=expect)
            if lost:
                raise TransientError("timed out", **where)
            return result

        return self._retried(attempt)

    def execute_batch(self, reqs: list[ActionRequest]) -> dict[str, ExecResult]:
        """Execute `reqs` in one call: each change in its own transaction, so successes stay applied."""
        for req in reqs:
            self._check_platform(req.entity)

        def attempt(again: bool) -> dict[str, ExecResult]:
            lost = self._faults.on_call(reqs[0].entity if reqs else None)
            partial = self._faults.take_partial()
            succeeded: dict[str, ExecResult] = {}
            failed: dict[str, str] = {}
            for i, req in enumerate(reqs):
                recorded = self._recorded(req) if again else None
                if recorded is not None:
                    succeeded[req.action_id] = recorded
                    continue
                try:
                    if partial and i == len(reqs) - 1:
                        raise PermanentError("rejected by the sandbox (partial fault)", **_where(req.entity))
                    succeeded[req.action_id] = self._execute(req)
                except AdapterError as exc:
                    failed[req.action_id] = str(exc)
            if lost:
                raise TransientError("timed out", platform=self.platform)
            if failed:
                raise PartialFailure(
                    f"{len(failed)} of {len(reqs)} changes failed",
                    succeeded=succeeded,
                    failed=failed,
                    platform=self.platform,
                )
            return succeeded

        return self._retried(attempt)

    # -- what the evaluator overlays on the demo entities

    def overrides(self) -> list[dict[str, Any]]:
        """Entities whose state differs from the baseline; a None field keeps the baseline value."""
        return self._rows(
            "SELECT platform, account_id, level, entity_id, status, daily_budget, bid FROM overrides "
            "ORDER BY platform, account_id, level, entity_id"
        )

    def negative_keywords(self) -> list[dict[str, Any]]:
        """The negative keywords added, with the search term (`entity_id`) they were added from."""
        return self._rows(
            "SELECT platform, account_id, level, entity_id, text, match_type, scope, parent_id "
            "FROM negative_keywords ORDER BY added_at, rowid"
        )

    def changes(self) -> list[dict[str, Any]]:
        """The ledger: every change executed or rolled back, oldest first."""
        rows = self._rows("SELECT * FROM changes ORDER BY seq")
        for row in rows:
            for col in ("before", "after", "result", "rollback_plan"):
                row[col] = json.loads(row[col]) if row[col] is not None else None
        return rows

    # -- internals

    def _retried(self, attempt: Callable[[bool], T]) -> T:
        """`attempt(again)` under the retry policy; `again` is False for the first try only."""
        tries = itertools.count()
        return self.retry_policy.run(lambda: attempt(next(tries) > 0), sleep=self.sleep)

    def _recorded(self, req: ActionRequest) -> ExecResult | None:
        """What the ledger holds for this very change (its action id, type and entity), or None."""
        if not req.action_id:
            return None
        db = self._connect()
        try:
            done = db.execute(
                "SELECT type, platform, account_id, level, entity_id, result, rollback_plan FROM changes "
                "WHERE action_id = ? AND kind = 'execute'",
                (req.action_id,),
            ).fetchone()
        finally:
            db.close()
        if done is None or tuple(done)[:5] != (req.type, *_key_args(req.entity)):
            return None
        plan = json.loads(done["rollback_plan"]) if done["rollback_plan"] else None
        return ExecResult(json.loads(done["result"]), plan)

    def _connect(self) -> sqlite3.Connection:
        # One connection per operation: adapters may be called from several threads, and
        # WAL lets an evaluate read while an apply writes. Transactions are explicit.
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            # IMMEDIATE takes the write lock first, so the idempotency check and the change
            # cannot interleave with another process applying the same action.
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    def _rows(self, sql: str) -> list[dict[str, Any]]:
        db = self._connect()
        try:
            return [dict(row) for row in db.execute(sql)]
        finally:
            db.close()

    def _check_platform(self, key: EntityKey) -> None:
        if self.platform != "demo" and key.platform != self.platform:
            raise PermanentError(f"this sandbox executes {self.platform} actions, not {key.platform}", **_where(key))

    def _base(self, key: EntityKey) -> dict[str, Any]:
        base = self._baseline(key)
        if base is None:
            raise PermanentError(f"unknown {key.level} {key.entity_id}", **_where(key))
        return base

    def _execute(self, req: ActionRequest) -> ExecResult:
        key, where = req.entity, _where(req.entity)
        op = ACTIONS.get(req.type)  # rule actions only: an undo arrives as a rollback plan
        if op is None:
            raise PermanentError(f"unsupported action type {req.type!r}", **where)
        _check_supported(req.type, key)
        if req.action_id in self._faults.fail_ids:
            raise PermanentError(f"rejected by the sandbox (fail:{req.action_id})", **where)
        attr = op.key()
        if attr is None:
            target: Any = req.after.get("message", "")
        elif op.sets is not FROM_REQUEST:
            target = op.sets
        elif attr == "negative_keyword":
            target = _negative(req.after.get("negative_keyword"), where)
        elif attr in req.after and not op.is_money():  # a page body, a discount: kept as given
            target = req.after[attr]
            if target is None or (op.identity and not isinstance(target, dict)):
                raise PermanentError(f"invalid {attr}: {target!r}", **where)
        elif attr in req.after:
            target = _money(req.after[attr], _LABEL[attr], where, self._base(key).get("currency"))
        else:
            raise PermanentError(f"{req.type} without a new {_LABEL.get(attr, attr.replace('_', ' '))}", **where)
        return self._change(key, req.type, attr, target, action_id=req.action_id)

    def _change(
        self, key: EntityKey, kind: str, attr: str | None, target: Any, *, action_id: str | None, expect: Any = None
    ) -> ExecResult:
        """Set `attr` of `key` to `target` in one transaction and record it in the ledger.

        `action_id` makes it idempotent (execute); a rollback has none, and `expect` is its
        plan's `before` (which negative keyword to remove, what to restore when undone).
        """
        where = _where(key)
        base = self._base(key)
        rollingback = action_id is None
        with self._transaction() as db:
            if not rollingback:
                done = db.execute(
                    "SELECT type, platform, account_id, level, entity_id, result, rollback_plan FROM changes "
                    "WHERE action_id = ? AND kind = 'execute'",
                    (action_id,),
                ).fetchone()
                if done is not None:
                    recorded = (done["type"], done["platform"], done["account_id"], done["level"], done["entity_id"])
                    if recorded != (kind, *_key_args(key)):
                        raise PermanentError(f"action id {action_id} was already used for another change", **where)
                    plan = json.loads(done["rollback_plan"]) if done["rollback_plan"] else None
                    db.execute("INSERT INTO replays (action_id, at) VALUES (?, ?)", (action_id, _now()))
                    return ExecResult(json.loads(done["result"]), plan)
            if attr is None:  # notify: nothing to change, nothing to record
                return ExecResult({"notified": True}, None)
            listed = attr == "negative_keyword" or _identity(attr) is not None
            ident = target if not listed or target is not None else expect
            current = _read(db, key, base, attr, ident)
            if rollingback and _same(current, target):  # already restored: retrying a rollback is harmless
                return ExecResult({attr: target, "already": True}, _undo(kind, restore=expect, now=target))
            _check_change(attr, current, target, where)
            _write(db, key, base, attr, target, ident)
            seq = _record(db, key, action_id, kind, {attr: current}, {attr: target})
            result = {attr: target, "change_id": seq}
            plan = _undo(kind, restore=current, now=target)
            _complete(db, seq, result, plan)
            return ExecResult(result, plan)


def _record(db: sqlite3.Connection, key: EntityKey, action_id: str | None, kind: str, before: dict, after: dict) -> int:
    """Append a change to the ledger (its result and plan come with `_complete`); its sequence number."""
    cur = db.execute(
        "INSERT INTO changes (action_id, kind, at, type, platform, account_id, level, entity_id, before, after) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            action_id,
            "rollback" if action_id is None else "execute",
            _now(),
            kind,
            *_key_args(key),
            json.dumps(before),
            json.dumps(after),
        ),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def _complete(db: sqlite3.Connection, seq: int, result: dict, plan: dict | None) -> None:
    db.execute(
        "UPDATE changes SET result = ?, rollback_plan = ? WHERE seq = ?",
        (json.dumps(result), json.dumps(plan) if plan is not None else None, seq),
    )


def _batch_size(text: str) -> int:
    if not text.strip():
        return 1
    try:
        size = int(text)
    except ValueError:
        size = 0
    if size < 1:
        raise ValueError(f"{BATCH_ENV}: cannot read {text!r}; expected a whole number of actions, 1 or more")
    return size


class _Where(TypedDict, total=False):
    """Where an error happened: keyword arguments of the typed errors."""

    platform: str
    account_id: str


def _where(key: EntityKey) -> _Where:
    return {"platform": key.platform, "account_id": key.account_id}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _check_supported(action_type: str, key: EntityKey) -> None:
    from platforms import get_platform

    try:
        platform = get_platform(key.platform)
    except KeyError:
        raise PermanentError(f"unknown platform {key.platform!r}", **_where(key)) from None
    if not platform.supports(action_type, key.level):
        raise PermanentError(f"{action_type} is not supported on {key.platform} {key.level}s", **_where(key))


def _read(db: sqlite3.Connection, key: EntityKey, base: dict[str, Any], attr: str, ident: Any) -> Any:
    """The current value of `attr`; for a negative keyword, the stored one like `ident` or None."""
    if attr == "negative_keyword":
        row = db.execute(
            f"SELECT text, match_type, scope, parent_id FROM negative_keywords WHERE {_KEY_WHERE} "
            "AND text = ? AND match_type = ? AND scope = ?",
            (*_key_args(key), ident["text"], ident["match_type"], ident["scope"]),
        ).fetchone()
        return dict(row) if row is not None else None
    if attr in _TEXTS or _identity(attr) is not None:
        row = db.execute(
            f"SELECT value FROM objects WHERE {_KEY_WHERE} AND attr = ? AND ident = ?",
            (*_key_args(key), attr, _ident(attr, ident)),
        ).fetchone()
        if row is not None:
            return json.loads(row[0])
        return base.get(attr) if attr in _TEXTS else None
    row = db.execute(f"SELECT {attr} FROM overrides WHERE {_KEY_WHERE}", _key_args(key)).fetchone()
    return row[0] if row is not None and row[0] is not None else base.get(attr)


def _identity(attr: str) -> tuple[str, ...] | None:
    """The identity fields of an attribute holding one object of a list (a discount: its code)."""
    return next((op.identity for op in OPERATIONS.values() if op.identity and op.key() == attr), None)


def _ident(attr: str, value: Any) -> str:
    fields = _identity(attr)
    if not fields:
        return ""
    return "|".join(str((value or {}).get(f, "")).lower() for f in fields)


def _objects(path: Path, key: EntityKey, base: dict[str, Any]) -> dict[str, Any]:
    """A page's body and the active discounts of a store, as changed in the sandbox."""
    db = sqlite3.connect(path, timeout=30)
    try:
        rows = db.execute(
            f"SELECT attr, value FROM objects WHERE {_KEY_WHERE} ORDER BY attr, ident", _key_args(key)
        ).fetchall()
    finally:
        db.close()
    out: dict[str, Any] = {}
    if base.get("body") is not None:
        out["body"] = base["body"]
    for attr, value in rows:
        if attr in _TEXTS:
            out[attr] = json.loads(value)
            continue
        op = next(o for o in OPERATIONS.values() if o.identity and o.key() == attr)
        out.setdefault(op.attribute or attr, []).append(json.loads(value))
    if key.level == "account" and _supports_listed(key):
        out.setdefault("discounts", [])
    return out


def _supports_listed(key: EntityKey) -> bool:
    from platforms import get_platform

    try:
        declared = get_platform(key.platform)
    except KeyError:
        return False
    return any(op.identity and declared.supports(name, key.level) for name, op in ACTIONS.items())


def _same(current: Any, wanted: Any) -> bool:
    if isinstance(current, dict) or isinstance(wanted, dict):  # a negative keyword: present or absent
        return (current is None) == (wanted is None)
    return current == wanted


def _check_change(attr: str, current: Any, target: Any, where: _Where) -> None:
    toggleable = toggleable_statuses()  # removed/archived entities cannot come back
    if attr == "status" and (current not in toggleable or target not in toggleable):
        raise PermanentError(f"the entity is {current}: it cannot be set {target}", **where)
    if attr in _LABEL:
        if current is None:
            raise PermanentError(f"the entity has no {_LABEL[attr]} to change", **where)
        _money(target, _LABEL[attr], where, None)


def _write(db: sqlite3.Connection, key: EntityKey, base: dict[str, Any], attr: str, target: Any, ident: Any) -> None:
    if attr == "negative_keyword":
        if target is None:
            db.execute(
                f"DELETE FROM negative_keywords WHERE {_KEY_WHERE} AND text = ? AND match_type = ? AND scope = ?",
                (*_key_args(key), ident["text"], ident["match_type"], ident["scope"]),
            )
        else:
            db.execute(
                "INSERT OR REPLACE INTO negative_keywords "
                "(platform, account_id, level, entity_id, text, match_type, scope, parent_id, added_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*_key_args(key), target["text"], target["match_type"], target["scope"], target["parent_id"], _now()),
            )
        return
    if attr in _TEXTS or _identity(attr) is not None:
        args = (*_key_args(key), attr, _ident(attr, ident))
        if target is None or (attr in _TEXTS and target == base.get(attr)):  # gone, or back at the baseline
            db.execute(f"DELETE FROM objects WHERE {_KEY_WHERE} AND attr = ? AND ident = ?", args)
        else:
            db.execute(
                "INSERT OR REPLACE INTO objects (platform, account_id, level, entity_id, attr, ident, value) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*args, json.dumps(target)),
            )
        return
    row = db.execute(f"SELECT status, daily_budget, bid FROM overrides WHERE {_KEY_WHERE}", _key_args(key)).fetchone()
    fields = dict(row) if row is not None else dict.fromkeys(_SCALARS)
    # Only differences from the baseline are stored: back at the baseline, the override goes.
    fields[attr] = None if target == base.get(attr) else target
    if all(v is None for v in fields.values()):
        db.execute(f"DELETE FROM overrides WHERE {_KEY_WHERE}", _key_args(key))
    else:
        db.execute(
            "INSERT OR REPLACE INTO overrides (platform, account_id, level, entity_id, status, daily_budget, bid) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*_key_args(key), fields["status"], fields["daily_budget"], fields["bid"]),
        )
