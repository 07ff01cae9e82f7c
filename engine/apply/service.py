"""`rulerun apply`: evaluate (or read a saved plan), pass the safety pipeline, execute, log, notify."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jsonschema

from engine.apply import slack
from engine.apply.actionlog.values import now
from engine.apply.adapters import Platforms
from engine.apply.executor import (
    Executor,
    Outcome,
    action_from_row,
    apply_plan,
    check_plan_freshness,
    executable,
    plan_from_json,
    state_matches,
    stop_from_env,
)
from engine.apply.impact import record_due_checkpoints
from engine.apply.records import open_action_log, who
from engine.core.errors import EXIT_STOPPED, RulerunError, UsageError
from engine.core.execution import AdapterError, EntityKey
from engine.core.plan import Plan, PlannedAction
from engine.core.progress import QUIET, Progress
from engine.data.entities import store_baseline
from engine.data.metrics import MetricsService
from engine.evaluation.dataset import open_dataset
from engine.evaluation.evaluate import build_plan, default_as_of
from engine.rules.model import Project
from engine.rules.schemagen import plan_schema
from engine.rules.service import OpenProject
from engine.safety.facts import account_budgets, fresh_facts
from engine.safety.pipeline import apply_guardrails, apply_spend_cap


@dataclass
class ApplyResult:
    """What one apply did; `stopped_before` when the emergency stop kept it from starting."""

    plan: Plan | None = None
    outcome: Outcome = field(default_factory=Outcome)
    stopped_before: str | None = None
    execute_seconds: float = 0.0
    slack_failures: list[str] = field(default_factory=list)  # error types of failed notifications

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
) -> ApplyResult:
    """Execute what may run automatically, queue what needs a human, log everything.

    With `plan_path` (saved by `evaluate --out`) exactly that plan runs: refused when older
    than `max_plan_age` or when an entity's state changed since it was made.
    """
    ws, catalog, project = opened.workspace, opened.catalog, opened.project
    saved = None
    if plan_path:
        saved = read_plan(Path(plan_path))
        check_plan_freshness(saved["generated_at"], max_plan_age)
        source, as_of = saved["source"], date.fromisoformat(saved["as_of"])
    executed_by = who(by)
    ws.load_env()
    with open_action_log(ws, log_url) as log:
        stop = stop_from_env() or (log.stop_state() or {}).get("reason")
        if stop:
            return ApplyResult(stopped_before=stop)
        holder = f"{executed_by}@{os.uname().nodename} pid {os.getpid()}"
        with log.run_lock(holder), open_dataset(ws, catalog, source, progress) as data:
            as_of = as_of or default_as_of(data.loaded)
            if saved:
                plan = plan_from_json(saved)
            else:
                with progress.status("Evaluating rules …"):
                    plan = build_plan(
                        data.con,
                        data.loaded,
                        catalog,
                        project,
                        project.select(workflows),
                        as_of,
                        mode="apply",
                        overrides=data.overrides,
                    )
            metrics = MetricsService(data.con, data.loaded, catalog, as_of, data.overrides)
            platforms = Platforms(source, ws.state_dir, store_baseline(data.con, data.loaded), ws.accounts())

            def autonomy_of(a: PlannedAction) -> str:
                op = project.operators.get(a.workflow.split("/", 1)[0])
                return op.autonomy_for(a.type) if op else "approve"

            if saved:
                _refuse_changed_state(plan, platforms, autonomy_of)
            # planned in this very run: their guardrails just ran on fresh numbers
            fresh = set() if saved else {a.action_id for a in plan.actions if a.status in ("planned", "clamped")}
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
                    "git_commit": _git_commit(ws.rules),
                    "executed_by": executed_by,
                    "status": "running",
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
            log.finish_run(plan.run_id, final, dict(outcome.counts))
    result = ApplyResult(plan, outcome, execute_seconds=t_done - t_exec)
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


def read_plan(path: Path) -> dict[str, Any]:
    """A plan saved by `evaluate --out`, checked against the plan contract."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.validate(doc, plan_schema())
    except FileNotFoundError:
        raise UsageError(
            f"plan file {path} not found", hint="save one with `rulerun evaluate --dry-run --out PLAN`"
        ) from None
    except (json.JSONDecodeError, jsonschema.ValidationError) as exc:
        raise RulerunError(
            f"{path} is not a rulerun plan: {str(exc).splitlines()[0]}",
            hint="save one with `rulerun evaluate --dry-run --out PLAN`",
        ) from None
    return doc


def _refuse_changed_state(plan: Plan, platforms: Platforms, autonomy_of) -> None:
    changed = []
    for a in executable(plan, autonomy_of):
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


def _git_commit(rules: Path) -> str | None:
    try:
        res = subprocess.run(["git", "-C", str(rules), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return res.stdout.strip() or None
