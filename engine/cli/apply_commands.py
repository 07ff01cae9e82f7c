"""What `apply`, `approvals`, `rollback`, `stop`, `resume` and `log` do, separated from argument parsing."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

from engine.apply import records
from engine.apply.rollback import rollback
from engine.apply.service import apply
from engine.cli.common import opened, show
from engine.cli.progress import TerminalProgress
from engine.core.catalog import load_catalog
from engine.core.errors import UsageError
from engine.output.apply import render_apply_profile
from engine.rules.workspace import Workspace


def apply_command(
    *,
    plan_path,
    rules,
    workflows,
    source,
    as_of,
    state_dir,
    log_url,
    max_plan_age,
    by,
    approval_ttl: timedelta | None = None,
    profile: bool = False,
    run_all: bool = False,
) -> None:
    if run_all and (workflows or plan_path):
        raise UsageError("--all runs every workflow: leave out --workflow and PLAN", hint="choose one")
    given = [flag for flag, value in (("--source", source), ("--as-of", as_of), ("--workflow", workflows)) if value]
    if plan_path and given:
        # the plan's source, date and workflows are the ones the action log recorded when it was saved
        raise UsageError(
            f"a saved plan runs at the source, date and workflows it was made with: leave out {', '.join(given)}",
            hint="to plan anew with other settings: rulerun evaluate --out plan.json ...",
        )
    project = opened(rules, state_dir)
    result = apply(
        project,
        plan_path=plan_path,
        workflows=workflows,
        # a saved plan runs at the source the action log recorded for it
        source="demo" if plan_path else project.workspace.source_for(source, executing=True),
        as_of=as_of,
        log_url=log_url,
        max_plan_age=max_plan_age,
        approval_ttl=approval_ttl,
        by=by,
        progress=TerminalProgress(),
        run_all=run_all,
    )
    show(result)
    if profile and not result.stopped_before:
        render_apply_profile(result)
    sys.exit(result.exit_code)


def approvals_command(action: str, action_id: str | None, *, state_dir, rules, log_url, by, note, fmt) -> None:
    ws = Workspace.resolve(rules, state_dir)
    if action == "list":
        show(records.list_approvals(ws, log_url), fmt)
        return
    if action_id is None:
        raise UsageError(f"`rulerun approvals {action}` needs an ACTION_ID", hint="see `rulerun approvals list`")
    if action == "show":
        show(records.show_action(ws, log_url, action_id), fmt)
        return
    show(records.decide(ws, log_url, action_id, action == "approve", by, note), fmt)


def rollback_command(*, action_id, run_id, force, rules, state_dir, log_url, by, dry_run: bool = False) -> None:
    if bool(action_id) == bool(run_id):
        raise UsageError("give either ACTION_ID or --run RUN_ID", hint="see `rulerun log` for ids")
    report = rollback(
        Workspace.resolve(rules, state_dir),
        load_catalog(),
        action_id=action_id,
        run_id=run_id,
        force=force,
        log_url=log_url,
        by=by,
        progress=TerminalProgress(),
        dry_run=dry_run,
    )
    show(report)
    if report.failures:
        sys.exit(1)


def stop_command(*, reason, rules, state_dir, log_url, by) -> None:
    show(records.engage_stop(Workspace.resolve(rules, state_dir), log_url, reason, by))


def resume_command(*, rules, state_dir, log_url, by) -> None:
    show(records.release_stop(Workspace.resolve(rules, state_dir), log_url, by))


def log_command(
    *,
    since: datetime | None,
    status_filter,
    platform,
    fmt,
    impact: bool,
    rules,
    state_dir,
    log_url,
    limit,
    run_id: str | None = None,
) -> None:
    ws = Workspace.resolve(rules, state_dir)
    query = {"since": since, "status": status_filter, "platform": platform, "limit": limit, "run_id": run_id}
    show(records.impact(ws, log_url, **query) if impact else records.action_log(ws, log_url, **query), fmt)
