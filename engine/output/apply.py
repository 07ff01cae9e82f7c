"""What `apply`, `rollback`, `stop`, `resume` and approval decisions did, for people."""

from __future__ import annotations

import json
from typing import IO

from engine.apply.executor import STOP_ENV, Outcome
from engine.apply.records import Decision, StopChange
from engine.apply.rollback import FAILED, ROLLED_BACK, RollbackItem, RollbackReport
from engine.apply.service import ApplyResult, SavedPlanUse
from engine.core.status import ActionStatus
from engine.output import RenderOptions
from engine.output.console import console


def outcome_line(outcome: Outcome) -> str:
    """`Apply: 5 executed, 1 queued, 3 blocked` (and the emergency stop that halted it)."""
    order = ("executed", "reconciled", "failed", "queued", "blocked", "skipped", "dry_run", "not_executed")
    parts = [f"{outcome.counts[k]} {k.replace('_', ' ')}" for k in order if outcome.counts[k]]
    text = "Apply: " + (", ".join(parts) if parts else "nothing to do")
    if outcome.stopped:
        text += f" (emergency stop: {outcome.stopped})"
    return text


def saved_plan_lines(saved: SavedPlanUse) -> list[str]:
    """How a saved plan narrowed the fresh evaluation, when it did."""
    lines = []
    if saved.rules_commit:
        lines.append(f"saved plan {saved.plan_id}: rules read from its commit {saved.rules_commit[:12]}")
    for a in saved.differ:
        lines.append(f"skipped: {a.workflow}/{a.rule_id} on {a.entity_name or a.entity_id}: {a.reasons[-1]}")
    if saved.dropped:
        lines.append(f"saved plan {saved.plan_id}: {len(saved.dropped)} action(s) no longer proposed")
    if saved.outside:
        lines.append(f"saved plan {saved.plan_id}: {saved.outside} action(s) proposed now are not in it (not applied)")
    return lines


def render_apply(result: ApplyResult, out: IO[bytes], options: RenderOptions) -> None:
    """Failures and notification problems on the error stream, then the one-line outcome."""
    with console(options.err) as err:
        if result.stopped_before:
            err.print(f"[red]emergency stop engaged:[/] {result.stopped_before}; nothing executed")
            err.print("  [dim]hint:[/] `rulerun resume` (and unset " + STOP_ENV + ") to lift it")
            return
        for a in result.plan.actions if result.plan else []:
            if a.status == ActionStatus.FAILED:
                err.print(f"[red]failed:[/] {a.workflow}/{a.rule_id} on {a.entity_name or a.entity_id}")
        for kind in result.slack_failures:
            err.print(f"[yellow]warning:[/] Slack notification failed ({kind})")
        if result.saved:
            for line in saved_plan_lines(result.saved):
                err.print(line, markup=False)
    with console(out) as c:
        c.print(outcome_line(result.outcome))


def _label(item: RollbackItem) -> str:
    return f"{item.action_id} ({item.action_type} on {item.entity})"


def _problem(item: RollbackItem) -> str:
    label = _label(item)
    if item.outcome == FAILED:
        return f"[red]failed:[/] rollback of {label}: {item.detail}"
    if item.reason == "status":
        return f"[yellow]refused:[/] {label} is {item.detail}, not executed"
    if item.reason == "irreversible":
        return f"[yellow]refused:[/] {label} is irreversible (no rollback plan)"
    if item.reason == "changed":
        changes = ", ".join(f"{k} is {live!r}, expected {want!r}" for k, live, want in item.changes)
        return f"[yellow]refused:[/] {label}: the entity changed since ({changes}); --force rolls back anyway"
    return f"[yellow]refused:[/] {label} is already being rolled back"


def render_rollback(report: RollbackReport, out: IO[bytes], options: RenderOptions) -> None:
    with console(out) as c, console(options.err) as err:
        for item in report.items:
            if item.outcome == ROLLED_BACK:
                c.print(f"rolled back {_label(item)}")
            else:
                err.print(_problem(item))


def render_stop(change: StopChange, out: IO[bytes], options: RenderOptions) -> None:
    with console(out) as c:
        if change.engaged:
            c.print(
                f"emergency stop engaged by {change.by}: {change.reason}. Every apply sharing this action log stops "
                "before its next action."
            )
        else:
            c.print(
                "emergency stop released"
                + (f"; note {STOP_ENV} is still set in this environment" if change.env_still_set else "")
            )


def render_decision(d: Decision, out: IO[bytes], options: RenderOptions) -> None:
    with console(out) as c:
        c.print(
            f"{d.action_id}: {'approved' if d.approved else 'rejected'} by {d.by}"
            + (" — executes on the next `rulerun apply` after its pre-execution checks" if d.approved else "")
        )


def render_decision_json(d: Decision, out: IO[bytes], options: RenderOptions) -> None:
    doc = {"action_id": d.action_id, "decision": "approved" if d.approved else "rejected", "by": d.by}
    out.write((json.dumps(doc, indent=2) + "\n").encode("utf-8"))


def render_apply_profile(result: ApplyResult, err: IO[bytes] | None = None) -> None:
    seconds = result.execute_seconds
    done = result.outcome.counts[ActionStatus.EXECUTED]
    with console(err) as c:
        c.print(
            f"profile: execute {seconds:.3f}s for {done} executed action(s)"
            + (f" ({done / seconds:,.0f} actions/s)" if done and seconds else "")
        )
