"""What `evaluate`, `explain` and `entities` do, separated from argument parsing (main.py)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from engine.apply import savedplan
from engine.apply.history import mark_history
from engine.apply.records import existing_log, stop_engaged, who
from engine.cli.common import finish, opened, show
from engine.cli.progress import TerminalProgress
from engine.core.catalog import load_catalog
from engine.core.errors import EXIT_CHANGES, RulerunError
from engine.core.timings import Timings
from engine.evaluation.service import evaluate, explain_entity, list_entities
from engine.output import render_bytes
from engine.output.errors import render_notice
from engine.output.files import write_atomic
from engine.output.profile import render_evaluation_profile
from engine.rules.workspace import Workspace

STOP_HINT = "`rulerun apply` executes nothing while it holds; `rulerun resume` lifts it"


def evaluate_command(
    *,
    rules,
    workflows,
    source,
    as_of: date | None,
    fmt,
    out_path,
    limit,
    state_dir,
    profile,
    detailed_exitcode: bool = False,
    log_url: str | None = None,
) -> None:
    timings = Timings()
    with timings.stage("rules"):
        project = opened(rules, state_dir)
    stopped = stop_engaged(project.workspace, log_url)
    if stopped:
        render_notice(f"emergency stop engaged: {stopped}", STOP_HINT)
    source = project.workspace.source_for(source)
    evaluation = evaluate(project, workflows, source, as_of, timings, TerminalProgress())
    plan = evaluation.plan
    with existing_log(project.workspace, log_url) as log:
        if log is not None:  # what apply will not do again: done, or cooling down
            mark_history(plan, log)
    with timings.stage("render"):
        if out_path:
            save_plan(project.workspace, log_url, Path(out_path), render_bytes(plan, "json"))
        show(plan, fmt, limit=None if limit == 0 else limit)
    if profile:
        render_evaluation_profile(evaluation)
    if detailed_exitcode and plan.has_changes:
        sys.exit(EXIT_CHANGES)


def save_plan(ws, log_url: str | None, path: Path, content: bytes) -> None:
    """Record the plan in the action log (what `apply PLAN` checks it against), then write it."""
    savedplan.save(ws, log_url, content, who(None))
    try:
        write_atomic(path, content)
    except OSError as exc:
        raise RulerunError(
            f"cannot write the plan to {path}: {exc.strerror}", hint="--out needs a writable file path"
        ) from None


def explain_command(*, rules, workflow, entity_id, source, as_of, state_dir) -> None:
    project = opened(rules, state_dir)
    source = project.workspace.source_for(source)
    explanation = explain_entity(project, workflow, entity_id, source, as_of, TerminalProgress())
    show(explanation)
    finish(explanation.error)


def entities_command(*, rules, platform, level, name, limit, source, state_dir, fmt) -> None:
    # The rules are not needed to list entities: a folder with mistakes must not hide its data.
    ws = Workspace.resolve(rules, state_dir)
    listing = list_entities(
        ws, load_catalog(), source, platform=platform, level=level, name=name, limit=limit, progress=TerminalProgress()
    )
    show(listing, fmt)
