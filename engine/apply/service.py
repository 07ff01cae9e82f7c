"""`rulerun apply`: evaluate (narrowed by a saved plan), pass the safety pipeline, execute, log, notify."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from engine.apply import savedplan, slack
from engine.apply.actionlog.values import now
from engine.apply.adapters import Platforms
from engine.apply.executor import (
    Executor,
    Outcome,
    action_from_row,
    apply_plan,
    executable,
    state_matches,
    stop_from_env,
)
from engine.apply.history import mark_history
from engine.apply.impact import record_due_checkpoints
from engine.apply.records import open_action_log, who
from engine.core.errors import EXIT_STOPPED, RulerunError
from engine.core.execution import AdapterError, EntityKey
from engine.core.plan import Plan, PlannedAction
from engine.core.progress import QUIET, Progress
from engine.data.entities import store_baseline
from engine.data.metrics import MetricsService
from engine.evaluation.dataset import open_dataset
from engine.evaluation.evaluate import build_plan, default_as_of
from engine.rules.gitref import head_commit
from engine.rules.model import Project
from engine.rules.schedule import Due, select_due
from engine.rules.service import OpenProject
from engine.safety.facts import account_budgets, fresh_facts
from engine.safety.pipeline import apply_guardrails, apply_spend_cap


@dataclass
class SavedPlanUse:
    """How a saved plan narrowed the fresh evaluation it was applied against."""

    plan_id: str
    rules_commit: str | None  # the git commit the rules were loaded from; None: the working rules
    differ: list[PlannedAction] = field(default_factory=list)  # proposed now with another change: skipped
    dropped: list[PlannedAction] = field(default_factory=list)  # no longer proposed: nothing to do
    outside: int = 0  # proposed now but not in the plan: left for a later plan or apply


@dataclass
class ApplyResult:
    """What one apply did; `stopped_before` when the emergency stop kept it from starting."""

    plan: Plan | None = None
    outcome: Outcome = field(default_factory=Outcome)
    stopped_before: str | None = None
    execute_seconds: float = 0.0
    slack_failures: list[str] = field(default_factory=list)  # error types of failed notifications
    saved: SavedPlanUse | None = None
    sandbox: bool = False  # actions went to the demo sandbox: nothing real changed
    schedule: list[Due] | None = None  # each workflow's place in the schedule; None: chosen by hand

    @property
    def exit_code(self) -> int:
        return EXIT_STOPPED if self.stopped_before else self.outcome.exit_code


def apply(
    opened: OpenProject,
    *,
    plan_path: str | None = None,
    workflows: tuple[str, ...] | list[str] | None = None,
    source: str = "demo",
    as_of: date | None = None,
    log_url: str | None = None,
    max_plan_age: timedelta = timedelta(hours=6),
    approval_ttl: timedelta | None = None,
    by: str | None = None,
    progress: Progress = QUIET,
    run_all: bool = False,
) -> ApplyResult:
    """Execute what may run automatically, queue what needs a human, log everything.

    With `plan_path` (saved by `evaluate --out`) the rules the plan was made with are
    evaluated again, at the source and date the action log recorded for it, and only the
    fresh actions the plan holds with the same change go ahead (engine/apply/savedplan.py):
    refused when the log did not see the plan saved, when it was edited, when it is older
    than `max_plan_age` or when an entity's state changed since it was made.

    Without a plan, `workflows` or `run_all`, only the workflows due by their cron schedule
    since their last run execute (engine/rules/schedule.py); approved actions always do.
    """
    ws, catalog, project = opened.workspace, opened.catalog, opened.project
    plan_file = savedplan.read(Path(plan_path)) if plan_path else None
    executed_by = who(by)
    ws.load_env()
    with open_action_log(ws, log_url) as log:
        stop = stop_from_env() or (log.stop_state() or {}).get("reason")
        if stop:
            return ApplyResult(stopped_before=stop)
        record = None
        if plan_file:
            record = log.saved_plan(plan_file.plan_id)
            savedplan.verify(plan_file, record, log.location)
            savedplan.check_age(record, max_plan_age)
            project = savedplan.rules_at_plan(opened, record)
            source, as_of, workflows = record["source"], record["as_of"], record["workflows"]
        holder = f"{executed_by}@{os.uname().nodename} pid {os.getpid()}"
        with log.run_lock(holder), open_dataset(ws, catalog, source, progress) as data:
            as_of = as_of or default_as_of(data.loaded)
            chosen, schedule = project.select(workflows), None
            if not plan_file and not workflows and not run_all:
                chosen, schedule = select_due(chosen, log.last_runs([w.id for w in chosen]), now(), ws.timezone())
            with progress.status("Evaluating rules …"):
                plan = build_plan(
                    data.con,
                    data.loaded,
                    catalog,
                    project,
                    chosen,
                    as_of,
                    mode="apply",
                    overrides=data.overrides,
                )
            mark_history(plan, log)  # as `evaluate` shows it: done and cooling-down actions are skipped
            metrics = MetricsService(data.con, data.loaded, catalog, as_of, data.overrides)
            platforms = Platforms(source, ws.state_dir, store_baseline(data.con, data.loaded), ws.accounts())

            def autonomy_of(a: PlannedAction) -> str:
                op = project.operators.get(a.workflow.split("/", 1)[0])
                return op.autonomy_for(a.type) if op else "approve"

            saved = None
            if plan_file and record:
                _refuse_changed_state(replace(plan, actions=plan_file.actions), platforms, autonomy_of)
                narrowed = savedplan.narrow(plan, plan_file.actions)
                plan = narrowed.plan
                commit = None if project is opened.project else record["git_commit"]
                saved = SavedPlanUse(record["plan_id"], commit, narrowed.differ, narrowed.dropped, narrowed.outside)
            ran = [w.id for w in chosen]  # what the schedule counts as run
            # planned in this very run: their guardrails just ran on fresh numbers
            fresh = {a.action_id for a in plan.actions if a.status in ("planned", "clamped")}
            executor = Executor(
                log, platforms, _guardrails_of(project), _recheck(metrics, project, fresh), plan.run_id, executed_by
            )
            log.start_run(
                {
                    "run_id": plan.run_id,
                    "started_at": now(),
                    "mode": "apply",
                    "source": source,
                    "as_of": as_of,
                    "rules_digest": project.digest,
                    "git_commit": saved.rules_commit if saved and saved.rules_commit else head_commit(ws.rules),
                    "executed_by": executed_by,
                    "status": "running",
                    "plan_id": saved.plan_id if saved else None,
                    "summary": {"workflows": ran},
                }
            )
            approved = [action_from_row(r) for r in log.approvals("approved")]
            t_exec = time.perf_counter()
            with progress.counted("Executing") as update:
                outcome = apply_plan(
                    plan,
                    executor,
                    log,
                    autonomy_of,
                    approved,
                    approval_ttl=ws.approval_ttl(approval_ttl),
                    progress=update,
                )
            t_done = time.perf_counter()
            # metrics at +1, +3 and +7 days after each executed action, once the data covers them
            record_due_checkpoints(metrics, log)
            final = "stopped" if outcome.stopped else ("failed" if outcome.failed else "succeeded")
            log.finish_run(plan.run_id, final, {"workflows": ran, **outcome.counts})
    result = ApplyResult(
        plan, outcome, execute_seconds=t_done - t_exec, saved=saved, sandbox=platforms.sandbox, schedule=schedule
    )
    if outcome.counts["queued"]:
        _notify(result, f"rulerun: {outcome.counts['queued']} action(s) wait for approval (`rulerun approvals list`)")
    if outcome.failed:
        _notify(result, f"rulerun: {len(outcome.failed)} action(s) failed in run {plan.run_id}")
    return result


def _notify(result: ApplyResult, text: str) -> None:
    try:
        slack.post(text)
    except slack.SlackFailed as exc:  # a notification must never fail an apply
        result.slack_failures.append(str(exc))


def _guardrails_of(project: Project):
    def of(a: PlannedAction) -> dict:
        op = project.operators.get(a.workflow.split("/", 1)[0])
        return op.guardrails if op else project.guardrails

    return of


def _recheck(metrics: MetricsService, project: Project, fresh_ids: set[str]):
    """Guardrails on fresh numbers, for actions not planned in this very run (approved, saved plans)."""

    def check(a: PlannedAction) -> str | None:
        if a.action_id in fresh_ids:
            return None
        wf = next((w for w in project.workflows if w.id == a.workflow), None)
        rule = next((r for r in wf.rules if r.id == a.rule_id), None) if wf else None
        if rule is None:
            return f"rule {a.workflow}/{a.rule_id} no longer exists"
        copy = PlannedAction(
            **{**a.__dict__, "status": "planned", "guardrails": [], "reasons": [], "after": dict(a.after)}
        )
        guardrails = wf.operator.guardrails
        apply_guardrails(copy, fresh_facts(metrics, copy, rule.window), guardrails)
        apply_spend_cap([copy], account_budgets(metrics), {copy.workflow: guardrails})
        if copy.status == "blocked":
            return "guardrails on fresh numbers: " + copy.reasons[-1]
        if copy.after != a.after:
            return "guardrails on fresh numbers would clamp it: " + copy.reasons[-1]
        return None

    return check


def _refuse_changed_state(saved: Plan, platforms: Platforms, autonomy_of) -> None:
    """Refuse a saved plan as a whole when an entity it would change is no longer as it saw it."""
    changed = []
    for a in executable(saved, autonomy_of):
        try:
            live = platforms(a.platform, a.account_id).read_state(
                EntityKey(a.platform, a.account_id, a.level, a.entity_id)
            )
        except AdapterError:
            continue  # reported per action by the pre-execution checks
        if not state_matches(live, a.before):
            changed.append(f"{a.platform} {a.level} {a.entity_name or a.entity_id}")
    if changed:
        raise RulerunError(
            "the saved plan is stale: entity state changed since it was made: "
            + ", ".join(changed[:5])
            + (f" and {len(changed) - 5} more" if len(changed) > 5 else ""),
            hint="make a new plan with `rulerun evaluate --dry-run --out PLAN`",
        )
