"""What `apply`, `rollback`, `stop`, `resume` and approval decisions did, for people."""

from __future__ import annotations

import json
from datetime import datetime
from typing import IO

from rich.markup import escape

from engine.apply.executor import STOP_ENV, Outcome
from engine.apply.records import Decision, StopChange
from engine.apply.rollback import FAILED, ROLLED_BACK, WOULD_ROLL_BACK, RollbackItem, RollbackReport
from engine.apply.service import ApplyResult, SavedPlanUse
from engine.output import RenderOptions
from engine.output.console import console
from engine.output.text import fmt_value
from engine.rules.schedule import Due


def outcome_line(outcome: Outcome, sandbox: bool = False) -> str:
    """`Apply: 5 executed, 1 queued, 3 blocked, 2 skipped (2 cooldown 3d)`: every action that did
    not run is counted under its reason (and the emergency stop that halted the run is named)."""
    order = (
        "executed",
        "reconciled",
        "failed",
        "cannot_execute",
        "queued",
        "blocked",
        "skipped",
        "dry_run",
        "not_executed",
        "notified",
    )
    parts = []
    for k in order:
        if not outcome.counts[k]:
            continue
        part = f"{outcome.counts[k]} {k.replace('_', ' ')}"
        if k == "skipped" and outcome.skipped_by:
            part += " (" + ", ".join(f"{n} {why}" for why, n in outcome.skipped_by.most_common()) + ")"
        parts.append(part)
    head = "Apply (demo sandbox: nothing real changed)" if sandbox else "Apply"
    text = f"{head}: " + (", ".join(parts) if parts else "nothing to do")
    if outcome.stopped:
        text += f" (emergency stop: {outcome.stopped})"
    return text


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M %Z") if at else "never"


def schedule_lines(schedule: list[Due]) -> list[str]:
    """Which workflows this apply ran because they were due, and which were not due (and when they are)."""
    ran = [d.workflow for d in schedule if d.due]
    waiting = [f"{d.workflow} (next due {_when(d.next_due)})" for d in schedule if not d.due]
    lines = ["Due, ran: " + (", ".join(ran) if ran else "none")]
    if waiting:
        lines.append("Not due: " + ", ".join(waiting))
    return lines


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
            if a.status == "failed":
                err.print(f"[red]failed:[/] {a.workflow}/{a.rule_id} on {a.entity_name or a.entity_id}")
        for why, n in result.outcome.cannot_execute.most_common():
            err.print(f"[red]cannot execute[/] {n} action(s): {escape(why)}")
        for kind in result.slack_failures:
            err.print(f"[yellow]warning:[/] Slack notification failed ({kind})")
        if result.saved:
            for line in saved_plan_lines(result.saved):
                err.print(line, markup=False)
    with console(out) as c:
        for line in schedule_lines(result.schedule) if result.schedule is not None else []:
            c.print(line, markup=False)
        c.print(outcome_line(result.outcome, result.sandbox), markup=False)
        if result.plan:
            c.print(f"run {result.plan.run_id} (`rulerun log --run {result.plan.run_id}`)", markup=False)


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
                c.print(f"rolled back {_label(item)}", markup=False)
            elif item.outcome == WOULD_ROLL_BACK:
                change = ", ".join(f"{k}: {fmt_value(now)} -> {fmt_value(to)}" for k, now, to in item.changes)
                c.print(f"would roll back {_label(item)}: {change}", markup=False)
            else:
                err.print(_problem(item))
        if report.dry_run:
            would = sum(1 for i in report.items if i.outcome == WOULD_ROLL_BACK)
            c.print(f"Rollback (dry run, nothing changed): {would} would be rolled back, {report.failures} refused")


def render_stop(change: StopChange, out: IO[bytes], options: RenderOptions) -> None:
    with console(out) as c:
        if change.unchanged and change.engaged:
            at = f" at {change.at:%Y-%m-%d %H:%M} UTC" if change.at else ""
            c.print(
                f"emergency stop already engaged by {change.by}{at}: {change.reason}. Nothing changed; "
                "`rulerun resume` lifts it.",
                markup=False,
            )
        elif change.unchanged:
            c.print(
                "emergency stop is not engaged: nothing to release"
                + (
                    f"; note {STOP_ENV} is set in this environment and stops its applies"
                    if change.env_still_set
                    else ""
                ),
                markup=False,
            )
        elif change.engaged:
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
    done = result.outcome.counts["executed"]
    with console(err) as c:
        c.print(
            f"profile: execute {seconds:.3f}s for {done} executed action(s)"
            + (f" ({done / seconds:,.0f} actions/s)" if done and seconds else "")
        )
