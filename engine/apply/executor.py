"""`rulerun apply`: execute a plan exactly once, safely, and log everything.

For every action the plan marks executable (planned or clamped, autonomy `auto`), and
for every action a human approved earlier, apply runs them in batches: the actions of
one (platform, account), up to the adapter's `max_batch` at a time (1 unless the
platform has a batch endpoint), never two on one entity in the same batch. For each batch:

1. the emergency stop (checked before every batch and again right before its call, from
   the log and from the RULERUN_EMERGENCY_STOP environment variable);
2. for each action: the rate limit (max_actions_per_hour, counted from the log across
   runs, and the actions already admitted to the batch) and the rule's cooldown for that
   entity; pre-execution checks: credentials present, not rejected by a human, no similar
   action failed on the entity in the last 24 hours, the entity's live state still
   equals the plan's `before`, and the guardrails still pass on fresh numbers;
3. each action's intent is recorded in the log (a compare-and-set on the action id, which
   is the idempotency key: rule, entity, action type and evaluation date), then one
   platform call for the batch (the adapter retries rate limits and transient errors per
   API call, engine/core/retry.py; apply does not retry on top), then each action's
   outcome with its rollback plan (a partial failure settles each action on its own),
   then a verification read per action.

A crash anywhere leaves at most the batch's `executing` rows; the next apply reconciles
each by reading the live state: applied means executed, not applied means it runs again.
Actions needing approval are queued (expiring after 72 hours by default).
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from engine.apply import slack
from engine.apply.actionlog.approvals import approval_digest
from engine.apply.actionlog.values import now
from engine.core.actions import OPERATIONS, item_operation, undo_plan
from engine.core.errors import EXIT_APPLY_FAILED, EXIT_OK, EXIT_STOPPED
from engine.core.execution import ActionRequest, AdapterError, EntityKey, ExecResult, PartialFailure
from engine.core.plan import Plan, PlannedAction
from engine.core.status import ActionStatus
from engine.rules.durations import parse_duration
from engine.rules.guardrails import GuardrailSettings
from engine.rules.workspace import APPROVAL_TTL

STOP_ENV = "RULERUN_EMERGENCY_STOP"
CRASH_ENV = "RULERUN_CRASH_AT"  # test hook: before_call | after_call | after_log
FAILURE_WINDOW = timedelta(hours=24)
CANNOT_EXECUTE = "cannot execute: "  # the reason of an action no adapter of this run can carry out


def reason_label(why: str) -> str:
    """How the summary counts a reason an action did not run: its words before the first colon
    (`cooldown 3d`, `state changed since the plan`), the rate limit whole, with its number."""
    return why if why.startswith("rate limit") else why.split(":", 1)[0]


def stop_from_env() -> str | None:
    value = os.environ.get(STOP_ENV, "").strip()
    return None if value in ("", "0", "false", "no") else value


@dataclass
class Outcome:
    """What one apply did, for the summary line and the exit code."""

    counts: Counter = field(default_factory=Counter)
    failed: list[str] = field(default_factory=list)
    stopped: str | None = None
    skipped_by: Counter = field(default_factory=Counter)  # reason label -> actions skipped for it
    cannot_execute: Counter = field(default_factory=Counter)  # what is wrong (and the fix) -> actions

    def skip(self, why: str) -> None:
        """Count an action that did not run, under its reason."""
        if why.startswith(CANNOT_EXECUTE):
            self.counts["cannot_execute"] += 1
            self.cannot_execute[why.removeprefix(CANNOT_EXECUTE)] += 1
        else:
            self.counts[ActionStatus.SKIPPED] += 1
            self.skipped_by[reason_label(why)] += 1

    @property
    def exit_code(self) -> int:
        if self.stopped:
            return EXIT_STOPPED
        # an action that should have run and could not is a failed apply, not a quiet skip
        return EXIT_APPLY_FAILED if self.failed or self.cannot_execute else EXIT_OK


def request_of(a: PlannedAction) -> ActionRequest:
    return ActionRequest(
        a.action_id,
        EntityKey(a.platform, a.account_id, a.level, a.entity_id),
        a.type,
        dict(a.params),
        dict(a.before),
        dict(a.after),
    )


def _crash_point(name: str) -> None:
    # Fault tests kill the process at exactly these points with a real SIGKILL.
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def state_matches(live: dict[str, Any], expected: dict[str, Any]) -> bool:
    """Whether the live state has every value of `expected` (money compared to the cent)."""
    for key, want in expected.items():
        item = item_operation(key)
        if item is not None:  # one item of a collection (a negative keyword, an enrollment): present or absent
            if item.holds(live, want) != (want is not None):
                return False
            continue
        got = live.get(key)
        if isinstance(want, float) or isinstance(got, float):
            if got is None or want is None or abs(float(got) - float(want)) > 0.005:
                return False
        elif got != want:
            return False
    return True


class Executor:
    """Runs the per-action protocol, in batches, against one action log and the platforms' adapters."""

    def __init__(
        self,
        log,
        adapter: Callable[[str, str], Any],  # (platform, account id) -> its adapter
        guardrails_of: Callable[[PlannedAction], GuardrailSettings],
        recheck: Callable[[PlannedAction], str | None],
        run_id: str,
        executed_by: str,
    ):
        self.log = log
        self.adapter = adapter
        self.guardrails_of = guardrails_of
        self.recheck = recheck  # fresh-numbers guardrail check: None, or why the action must not run
        self.run_id = run_id
        self.executed_by = executed_by
        self.outcome = Outcome()

    # -- stop, rate limit, cooldown -----------------------------------------------------------
    def stopped(self) -> str | None:
        env = stop_from_env()
        if env:
            return f"{STOP_ENV}={env}"
        state = self.log.stop_state()
        return state.get("reason") or "engaged" if state else None

    def _gate(self, a: PlannedAction, admitted: int = 0) -> str | None:
        """Why this action may not run now (rate limit, cooldown, pre-execution checks), or None.

        `admitted`: actions of the same batch already past their gate, not logged yet.
        """
        g = self.guardrails_of(a)
        hour_ago = now() - timedelta(hours=1)
        if self.log.executed_since(hour_ago) + admitted >= g.max_actions_per_hour:
            return f"rate limit: {g.max_actions_per_hour} actions per hour reached"
        if a.cooldown:
            last = self.log.last_executed(a.workflow, a.rule_id, a.platform, a.account_id, a.entity_id)
            if last is not None and now() - last < parse_duration(a.cooldown):
                return f"cooldown {a.cooldown}: last executed {last.isoformat(timespec='minutes')}"
        try:
            adapter = self.adapter(a.platform, a.account_id)
            adapter.check_credentials()
        except AdapterError as exc:
            return CANNOT_EXECUTE + str(exc)
        existing = self.log.get(a.action_id)
        if existing and existing["status"] == ActionStatus.REJECTED:
            return "rejected by a human"
        if (
            existing
            and existing["status"] == ActionStatus.APPROVED
            and existing["approval_digest"] != approval_digest(a.to_log_row(""))
        ):
            return "not the change that was approved: its row in the action log was edited after the approval"
        if self.log.failures_since(a.platform, a.account_id, a.entity_id, a.type, now() - FAILURE_WINDOW):
            return "a similar action failed on this entity in the last 24 hours"
        key = EntityKey(a.platform, a.account_id, a.level, a.entity_id)
        try:
            live = adapter.read_state(key)
        except AdapterError as exc:
            return f"cannot read live state: {exc}"
        if not state_matches(live, a.before):
            return "state changed since the plan: " + _diff(live, a.before)
        return self.recheck(a)

    # -- the protocol --------------------------------------------------------------------------
    def run_all(self, actions: list[PlannedAction], progress: Callable[[int, int], None] | None = None) -> None:
        """Execute the actions in batches; `progress(done, total)` counts actions after each batch."""
        done = 0
        for batch in self.batches(actions):
            self.run_batch(batch)
            done += len(batch)
            if progress:
                progress(done, len(actions))

    def batches(self, actions: list[PlannedAction]) -> Iterator[list[PlannedAction]]:
        """The actions of each (platform, account), in plan order, up to its adapter's `max_batch` at a time.

        Two actions on one entity never share a batch: the second is gated after the first
        ran (its cooldown, the state it left).
        """
        groups: dict[tuple[str, str], list[PlannedAction]] = {}
        for a in actions:
            groups.setdefault((a.platform, a.account_id), []).append(a)
        for (platform, account_id), group in groups.items():
            size = self._batch_size(platform, account_id)
            batch: list[PlannedAction] = []
            for a in group:
                if len(batch) == size or any((b.level, b.entity_id) == (a.level, a.entity_id) for b in batch):
                    yield batch
                    batch = []
                batch.append(a)
            if batch:
                yield batch

    def _batch_size(self, platform: str, account_id: str) -> int:
        try:
            return max(1, int(getattr(self.adapter(platform, account_id), "max_batch", 1)))
        except AdapterError:
            return 1  # not connected: each action's gate says so

    def run_batch(self, batch: list[PlannedAction]) -> None:
        """Gate each action, record each intent, make one platform call, settle each action on its own."""
        if self._halted(batch):
            return
        admitted: list[PlannedAction] = []
        for a in batch:
            why = self._gate(a, admitted=len(admitted))
            if why:
                self._skip(a, why)
            else:
                admitted.append(a)
        if not admitted or self._halted(admitted):  # the gates read live state: look at the stop again
            return
        claimed = []
        for a in admitted:
            row = a.to_log_row(self.run_id, a.status)
            row["executed_by"] = self.executed_by
            if self.log.record_intent(row):
                claimed.append(a)
            else:
                self.outcome.skip("executed by another run")  # or executing there: exactly once
        if not claimed:
            return
        adapter = self.adapter(claimed[0].platform, claimed[0].account_id)
        _crash_point("before_call")
        results = _call(adapter, claimed)
        _crash_point("after_call")
        for a in claimed:
            result = results.get(a.action_id, "no result from the platform for this action")
            if isinstance(result, ExecResult):
                self.log.record_outcome(
                    a.action_id,
                    ActionStatus.EXECUTED,
                    result=result.result,
                    rollback_plan=result.rollback_plan,
                    executed_at=now(),
                )
            else:
                self.log.record_outcome(a.action_id, ActionStatus.FAILED, error=result)
                self._failed(a)
        _crash_point("after_log")
        for a in claimed:
            done = results.get(a.action_id)
            if isinstance(done, ExecResult):
                self._verify(adapter, a, done)

    def _verify(self, adapter, a: PlannedAction, result: ExecResult) -> None:
        try:
            live = adapter.read_state(EntityKey(a.platform, a.account_id, a.level, a.entity_id))
        except AdapterError as exc:  # executed as far as the platform said; only the read-back failed
            self.log.note(a.action_id, f"executed; verification read failed: {exc}")
            live = None
        if live is not None and not state_matches(live, a.after):
            message = "verification failed: live state is " + _diff(live, a.after)
            self.log.record_outcome(a.action_id, ActionStatus.FAILED, error=message, rollback_plan=result.rollback_plan)
            self._failed(a)
            return
        self.outcome.counts[ActionStatus.EXECUTED] += 1
        a.status = ActionStatus.EXECUTED

    def _halted(self, actions: list[PlannedAction]) -> bool:
        stop = self.stopped()
        if stop:
            self.outcome.stopped = stop
            self.outcome.counts["not_executed"] += len(actions)
        return bool(stop)

    def _skip(self, a: PlannedAction, why: str) -> None:
        self.log.upsert_action(a.to_log_row(self.run_id, ActionStatus.SKIPPED))
        if not self.log.record_status(a.action_id, ActionStatus.SKIPPED, why):
            self.log.note(a.action_id, why)  # approved (or decided) rows keep their status
        self.outcome.skip(why)
        a.status, a.reasons = ActionStatus.SKIPPED, [*a.reasons, why]

    def _failed(self, a: PlannedAction) -> None:
        self.outcome.counts[ActionStatus.FAILED] += 1
        self.outcome.failed.append(a.action_id)
        a.status = ActionStatus.FAILED

    # -- crash recovery ------------------------------------------------------------------------
    def reconcile(self) -> list[PlannedAction]:
        """Settle actions left `executing` by a crash; return those not applied, to run again."""
        again = []
        for row in self.log.in_doubt():
            a = PlannedAction.from_log_row(row)
            try:
                live = self.adapter(a.platform, a.account_id).read_state(
                    EntityKey(a.platform, a.account_id, a.level, a.entity_id)
                )
            except AdapterError as exc:  # cannot tell yet: stays in doubt until the platform answers
                self.log.note(a.action_id, f"in doubt after a crash; live state unreadable: {exc}")
                continue
            if state_matches(live, a.after):
                self.log.record_outcome(
                    a.action_id,
                    ActionStatus.EXECUTED,
                    result={"reconciled": True},
                    rollback_plan=_rollback_plan_for(a),
                    executed_at=now(),
                )
                self.outcome.counts["reconciled"] += 1
            elif state_matches(live, a.before):
                self.log.record_status(
                    a.action_id,
                    ActionStatus.APPROVED if row.get("approval_by") else ActionStatus.PLANNED,
                    "in doubt after a crash: not applied, runs again",
                )
                a.status = ActionStatus.APPROVED if row.get("approval_by") else ActionStatus.PLANNED
                again.append(a)
            else:
                self.log.record_outcome(
                    a.action_id,
                    ActionStatus.FAILED,
                    error="in doubt after a crash and the entity changed since: " + _diff(live, a.after),
                )
                self.outcome.counts[ActionStatus.FAILED] += 1
                self.outcome.failed.append(a.action_id)
        return again


def _call(adapter, actions: list[PlannedAction]) -> dict[str, ExecResult | str]:
    """One platform call for the actions: each action's result, or the message it failed with."""
    reqs = [request_of(a) for a in actions]
    try:
        if len(reqs) == 1:
            return {reqs[0].action_id: adapter.execute(reqs[0])}
        return dict(adapter.execute_batch(reqs))
    except PartialFailure as exc:
        return {**exc.failed, **exc.succeeded}
    except AdapterError as exc:
        return {req.action_id: str(exc) for req in reqs}


def _rollback_plan_for(a: PlannedAction) -> dict[str, Any] | None:
    """The rollback plan of an action reconciled after a crash (its call's own plan was lost)."""
    key = OPERATIONS[a.type].key()
    if key is None:
        return None
    plan = undo_plan(a.type, restore=a.before.get(key), now=a.after.get(key))
    return plan.to_dict() if plan is not None else None


def _diff(live: dict[str, Any], expected: dict[str, Any]) -> str:
    parts = []
    for key, want in expected.items():
        item = item_operation(key)
        got = live.get(item.attribute or key) if item is not None else live.get(key)
        parts.append(f"{key}={got!r} (expected {want!r})")
    return ", ".join(parts)


# An action id the log holds with one of these statuses never runs again (for that evaluation
# date): why, as apply's summary counts it.
SETTLED = {
    ActionStatus.EXECUTED: "already executed",
    ActionStatus.EXECUTING: "executing in another run",
    ActionStatus.ROLLED_BACK: "rolled back earlier",
    ActionStatus.FAILED: "failed earlier",
    ActionStatus.REJECTED: "rejected by a human",
    ActionStatus.EXPIRED: "approval expired",
}


def executable(plan: Plan, autonomy_of: Callable[[PlannedAction], str]) -> Iterable[PlannedAction]:
    for a in plan.actions:
        if a.status in (ActionStatus.PLANNED, ActionStatus.CLAMPED) and autonomy_of(a) == "auto" and a.type != "notify":
            yield a


def apply_plan(
    plan: Plan,
    executor: Executor,
    log,
    autonomy_of: Callable[[PlannedAction], str],
    approved: list[PlannedAction],
    progress: Callable[[int, int], None] | None = None,
    approval_ttl: timedelta = APPROVAL_TTL,
) -> Outcome:
    """Log every action of the plan, queue approvals, and execute what may run."""
    outcome = executor.outcome
    log.expire_overdue(now())
    again = executor.reconcile()
    to_run: list[PlannedAction] = list(again)
    seen = {a.action_id for a in again}
    for a in plan.actions:
        if a.action_id in seen:
            continue
        prior = log.get(a.action_id)
        if prior and prior["status"] in SETTLED:
            # already settled on an earlier run: exactly once, and never resurrected; counted
            outcome.skip(SETTLED[prior["status"]])
            seen.add(a.action_id)
            continue
        if a.status == ActionStatus.NEEDS_APPROVAL:
            if prior and prior["status"] == ActionStatus.APPROVED:
                # exactly what the human approved, re-checked before it runs
                to_run.append(PlannedAction.from_log_row(prior))
            else:
                log.queue_approval(a.to_log_row(plan.run_id), now() + approval_ttl)
                outcome.counts["queued"] += 1
        elif a.status == ActionStatus.BLOCKED:
            log.upsert_action(a.to_log_row(plan.run_id))
            outcome.counts[ActionStatus.BLOCKED] += 1
        elif a.status == ActionStatus.SKIPPED:
            why = a.reasons[-1] if a.reasons else "skipped"
            log.upsert_action({**a.to_log_row(plan.run_id), "status_reason": why})
            outcome.skip(why)
        elif a.type == "notify":
            log.upsert_action(a.to_log_row(plan.run_id, ActionStatus.EXECUTED))
            log.note(a.action_id, f"notification delivered to {notify(a) or 'the action log'}")
            outcome.counts["notified"] += 1
        elif autonomy_of(a) == "dry_run":
            log.upsert_action(a.to_log_row(plan.run_id, a.status))
            outcome.counts["dry_run"] += 1
        elif a.status in (ActionStatus.PLANNED, ActionStatus.CLAMPED):
            to_run.append(a)
        seen.add(a.action_id)
    for a in approved:
        if a.action_id not in seen:
            to_run.append(a)
            seen.add(a.action_id)
    executor.run_all(to_run, progress)
    return outcome


def notify(a: PlannedAction) -> str | None:
    """Deliver a `notify` action: "slack" when posted to the team's webhook, None otherwise."""
    message = a.after.get("message") or a.rule_id
    text = f"rulerun {a.workflow}/{a.rule_id}: {message} ({a.platform} {a.level} {a.entity_name or a.entity_id})"
    try:
        return "slack" if slack.post(text) else None
    except slack.SlackFailed:
        return None  # the action log records where it went; a failed post is not an apply failure
