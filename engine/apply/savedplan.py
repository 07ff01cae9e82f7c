"""Saved plans: `evaluate --out PLAN` reviewed in a pull request, `apply PLAN` later.

A saved plan is a filter on a fresh evaluation, never an authority. Its file is untrusted:

- `save` records the plan in the action log when `evaluate --out` writes it: the digest of
  its canonical JSON, of each top-level field and of each action, when it was saved, its
  source, evaluation date, workflows, rules digest and git commit;
- `read` refuses a file that is not a plan before anything runs (size, encoding, JSON with
  finite numbers only, nesting, the plan contract, dates), so a bad value can never stop
  an apply half-way;
- `verify` refuses a plan the log did not see saved, or one edited since, naming the
  action or field that differs;
- apply then evaluates the rules the plan was made with (`rules_at_plan`) on the data as
  it is now, at the source and date the log recorded, and `narrow` keeps only the fresh
  actions the plan holds with the same change, each with the stricter of the two
  statuses. Statuses, cooldowns, escalation, limits and the plan's age therefore come
  from the fresh run, the rules and the log; the file can only take actions away.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema

from engine.apply.actionlog.values import now
from engine.apply.records import open_action_log
from engine.core import jsonstrict
from engine.core.dates import out_of_range
from engine.core.errors import RulerunError, UsageError, ValidationFailed
from engine.core.plan import Plan, PlannedAction
from engine.core.status import ActionStatus
from engine.rules.gitref import head_commit, load_base_project
from engine.rules.model import Project
from engine.rules.schemagen import plan_schema
from engine.rules.service import OpenProject
from engine.rules.workspace import Workspace

MAX_PLAN_BYTES = 100 * 1024 * 1024
NEW_PLAN = "make a new plan with `rulerun evaluate --dry-run --out PLAN`"
GO = (ActionStatus.PLANNED, ActionStatus.CLAMPED)
# the fields of an action that say what it changes; the action id names rule, entity, type and date
CHANGE = ("workflow", "rule_id", "platform", "account_id", "level", "entity_id", "type", "params", "before", "after")


@dataclass
class PlanFile:
    """A plan file that passed every check of `read`."""

    path: Path
    doc: dict[str, Any]
    actions: list[PlannedAction]

    @property
    def plan_id(self) -> str:
        return self.doc["run_id"]


# -- reading a plan file -----------------------------------------------------------------------


def _refuse(path: Path, message: str, line: int | None = None, col: int | None = None) -> RulerunError:
    where = f"{path}:{line}:{col}" if line and col else str(path)
    return RulerunError(f"{where}: {message}", hint=f"not a plan saved by rulerun: {NEW_PLAN}")


def read(path: Path) -> PlanFile:
    """The plan in `path`, checked whole before any of it is used; RulerunError (exit 1) otherwise."""
    raw = _read_bytes(path)
    text = _decode(path, raw)
    try:
        doc = jsonstrict.loads(text)
    except jsonstrict.JsonError as exc:
        raise _refuse(path, exc.message, exc.line, exc.col) from None
    try:
        jsonschema.validate(doc, plan_schema())
    except jsonschema.ValidationError as exc:
        at = exc.json_path if exc.json_path != "$" else "the document"
        raise _refuse(path, f"{at}: {_cut(exc.message, 200)}") from None
    _check_fields(path, doc)
    return PlanFile(path, doc, [PlannedAction.from_dict(a) for a in doc["actions"]])


def _read_bytes(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_PLAN_BYTES + 1)  # bounded: the path may be a device or a pipe
    except FileNotFoundError:
        raise UsageError(f"plan file {path} not found", hint=f"save one: {NEW_PLAN}") from None
    except IsADirectoryError:
        raise RulerunError(
            f"{path} is a directory, not a plan file", hint="give the file saved by `evaluate --out`"
        ) from None
    except OSError as exc:
        raise RulerunError(f"cannot read the plan file {path}: {exc.strerror}") from None
    if len(raw) > MAX_PLAN_BYTES:
        raise _refuse(path, f"larger than {MAX_PLAN_BYTES // (1024 * 1024)} MiB, the most a plan file may be")
    if not raw.strip():
        raise _refuse(path, "the file is empty")
    return raw


def _decode(path: Path, raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:4]:
        raise _refuse(path, "the file is UTF-16 or UTF-32 encoded; a plan is UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _refuse(path, f"not UTF-8 (byte 0x{raw[exc.start]:02x}); a plan is UTF-8", line, col) from None


def _check_fields(path: Path, doc: dict[str, Any]) -> None:
    """What the contract's schema leaves open: the dates, and one action per id."""
    made = doc.get("generated_at")
    if made is None:
        raise _refuse(path, "generated_at is missing")
    try:
        stamp = datetime.fromisoformat(made)
    except ValueError:
        raise _refuse(path, f"generated_at {_cut(repr(made))} is not a date and time (ISO 8601)") from None
    if stamp.tzinfo is None:
        raise _refuse(path, f"generated_at {_cut(repr(made))} has no timezone")
    try:
        as_of = date.fromisoformat(doc["as_of"])
    except ValueError:
        raise _refuse(path, f"as_of {_cut(repr(doc['as_of']))} is not a date (YYYY-MM-DD)") from None
    problem = out_of_range(as_of, "as_of")
    if problem:
        raise _refuse(path, problem)
    if not doc["run_id"]:
        raise _refuse(path, "run_id is empty")
    seen: set[str] = set()
    for i, a in enumerate(doc["actions"]):
        if not a["action_id"] or a["action_id"] in seen:
            raise _refuse(path, f"$.actions[{i}]: action id {_cut(repr(a['action_id']))} is empty or appears twice")
        seen.add(a["action_id"])


# -- the record in the action log ---------------------------------------------------------------


def fingerprint(doc: dict[str, Any]) -> dict[str, Any]:
    """The digests `save` records and `verify` compares: the whole plan, each field, each action."""
    return {
        "digest": jsonstrict.digest(doc),
        "field_digests": {k: jsonstrict.digest(v) for k, v in doc.items() if k != "actions"},
        "action_digests": [[a.get("action_id"), jsonstrict.digest(a)] for a in doc.get("actions", [])],
    }


def record_of(doc: dict[str, Any], saved_by: str, git_commit: str | None) -> dict[str, Any]:
    """The action log's record of a plan being saved (saved_at: now, set by the log)."""
    return {
        "plan_id": doc["run_id"],
        "saved_by": saved_by,
        "source": doc["source"],
        "as_of": doc["as_of"],
        "rules_digest": doc["rules_digest"],
        "git_commit": git_commit,
        "workflows": doc["workflows"],
        **fingerprint(doc),
    }


def save(ws: Workspace, log_url: str | None, content: bytes, saved_by: str) -> dict[str, Any]:
    """Record the plan `content` (the bytes `evaluate --out` writes) in the workspace's action log."""
    doc = jsonstrict.loads(content)
    record = record_of(doc, saved_by, head_commit(ws.rules))
    with open_action_log(ws, log_url) as log:
        log.save_plan(record)
    return record


def verify(plan: PlanFile, record: dict[str, Any] | None, log_location: str) -> dict[str, Any]:
    """The saved record of a plan file; refuses one the log did not see saved, or that differs from it."""
    if record is None:
        raise RulerunError(
            f"{plan.path}: plan {plan.plan_id} was never saved to the action log {log_location}",
            hint=f"{NEW_PLAN}, with the action log this apply uses (--log-url or RULERUN_LOG_URL)",
        )
    now_prints = fingerprint(plan.doc)
    if now_prints["digest"] == record["digest"]:
        return record
    differences = _differences(plan, record["field_digests"], record["action_digests"], now_prints)
    shown = "; ".join(differences[:5]) + (f"; and {len(differences) - 5} more" if len(differences) > 5 else "")
    raise RulerunError(
        f"{plan.path} is not the plan saved as {plan.plan_id}: {shown}",
        hint=f"a saved plan cannot be edited: {NEW_PLAN}",
    )


def _differences(plan: PlanFile, fields: dict[str, str], actions: list[list[str]], now_prints: dict) -> list[str]:
    out = []
    now_fields = now_prints["field_digests"]
    for key in sorted(set(fields) | set(now_fields)):
        if key not in now_fields:
            out.append(f"field {key!r} was removed")
        elif key not in fields:
            out.append(f"field {_cut(repr(key), 40)} was added")
        elif fields[key] != now_fields[key]:
            out.append(f"field {key!r} was changed")
    saved = dict(actions)
    described = {a.action_id: _describe(a) for a in plan.actions}
    for action_id, action_digest in now_prints["action_digests"]:
        if action_id not in saved:
            out.append(f"action {_cut(action_id, 40)} ({described[action_id]}) was added")
        elif saved[action_id] != action_digest:
            out.append(f"action {action_id} ({described[action_id]}) was changed")
    now_ids = {i for i, _ in now_prints["action_digests"]}
    out.extend(f"action {i} was removed" for i, _ in actions if i not in now_ids)
    return out or ["its actions were reordered"]


def _describe(a: PlannedAction) -> str:
    return _cut(f"{a.type} on {a.platform} {a.level} {a.entity_name or a.entity_id}", 100)


def check_age(record: dict[str, Any], max_age: timedelta, at: datetime | None = None) -> None:
    """Refuse a plan saved longer ago than `max_age` (by the log's clock, never the file's)."""
    age = (at or now()) - record["saved_at"]
    if age > max_age:
        raise RulerunError(
            f"the saved plan is {_hours(age)} old, older than the {_hours(max_age)} allowed",
            hint=f"{NEW_PLAN}, or pass --max-plan-age",
        )


def _hours(td: timedelta) -> str:
    hours = td.total_seconds() / 3600
    return f"{hours:.1f}h" if hours < 48 else f"{hours / 24:.1f} days"


# -- the rules the plan was made with -----------------------------------------------------------


def rules_at_plan(opened: OpenProject, record: dict[str, Any]) -> Project:
    """The working rules when their digest is the plan's; else the rules at the plan's git commit,
    when their digest is the plan's; else a refusal."""
    wanted = record["rules_digest"]
    if opened.project.digest == wanted:
        return opened.project
    commit = record["git_commit"]
    changed = (
        f"the rules changed since plan {record['plan_id']} was saved "
        f"(digest {opened.project.digest} now, {wanted} in the plan)"
    )
    if not commit:
        raise RulerunError(
            f"{changed}, and no git commit was recorded to load the plan's rules from",
            hint=f"{NEW_PLAN} with the rules as they are now",
        )
    try:
        project, _, _ = load_base_project(opened.workspace.rules, commit, opened.catalog)
    except ValidationFailed as exc:
        raise RulerunError(f"{changed}, and its rules at commit {commit[:12]} do not load: {exc.message}") from None
    except RulerunError as exc:
        raise RulerunError(f"{changed}, and its rules at commit {commit[:12]} cannot be read: {exc.message}") from None
    if project is None or project.digest != wanted:
        raise RulerunError(
            f"{changed}, and the rules at its commit {commit[:12]} are not the ones it was made with either "
            "(they were edited without a commit)",
            hint=f"{NEW_PLAN} with the rules as they are now",
        )
    return project


# -- the filter ---------------------------------------------------------------------------------


@dataclass
class Narrowed:
    """A fresh plan narrowed by a saved one."""

    plan: Plan  # the fresh actions the saved plan holds, each with the stricter status
    differ: list[PlannedAction] = field(default_factory=list)  # in both, with another change: skipped
    dropped: list[PlannedAction] = field(default_factory=list)  # saved, but no longer proposed
    outside: int = 0  # proposed now, not in the saved plan: left alone


def _rank(status: ActionStatus) -> int:
    return 0 if status in GO else 1 if status == ActionStatus.NEEDS_APPROVAL else 2


def narrow(fresh: Plan, saved: list[PlannedAction]) -> Narrowed:
    """Keep the fresh actions that the saved plan holds with the same change.

    Nothing of a saved action is used but its id, its change (compared, never copied) and its
    status, which can only make the fresh status stricter: a saved `needs_approval` queues a
    fresh `planned` action for a human, a saved `blocked` or `skipped` skips it.
    """
    by_id: dict[str, PlannedAction] = {}
    for item in saved:
        by_id.setdefault(item.action_id, item)
    kept, differ = [], []
    outside = 0
    for a in fresh.actions:
        s = by_id.get(a.action_id)
        if s is None:
            outside += 1
            continue
        changed = [name for name in CHANGE if getattr(a, name) != getattr(s, name)]
        if changed:
            a = replace(
                a,
                status=ActionStatus.SKIPPED,
                reasons=[*a.reasons, "differs from the saved plan: " + _change_text(a, s, changed)],
            )
            differ.append(a)
        elif _rank(s.status) > _rank(a.status):
            if _rank(s.status) == 1:
                a = replace(
                    a, status=ActionStatus.NEEDS_APPROVAL, reasons=[*a.reasons, "needs approval in the saved plan"]
                )
            else:
                a = replace(a, status=ActionStatus.SKIPPED, reasons=[*a.reasons, f"{s.status} in the saved plan"])
        kept.append(a)
    fresh_ids = {a.action_id for a in fresh.actions}
    dropped = [s for s in by_id.values() if s.action_id not in fresh_ids]
    plan = replace(fresh, actions=kept)
    return Narrowed(plan, differ, dropped, outside)


def _change_text(a: PlannedAction, s: PlannedAction, names: list[str]) -> str:
    return ", ".join(f"{n} {_short(getattr(a, n))} now, {_short(getattr(s, n))} in the plan" for n in names)


def _short(value: Any) -> str:
    return _cut(jsonstrict.dumps(value, default=str) if isinstance(value, dict | list) else repr(value))


def _cut(text: str, most: int = 60) -> str:
    """Text from a file, shortened for a message."""
    return text if len(text) <= most else text[: most - 3] + "..."
