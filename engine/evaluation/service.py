"""`rulerun evaluate` and `rulerun explain`: the plan, and why one entity gets its actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from engine.core.errors import UsageError
from engine.core.plan import Plan
from engine.core.progress import QUIET, Progress
from engine.core.timings import Timings
from engine.data.metrics import MetricsService
from engine.evaluation.dataset import open_dataset
from engine.evaluation.evaluate import build_plan, default_as_of
from engine.evaluation.explain import Explanation, explain
from engine.rules.service import OpenProject


@dataclass
class Evaluation:
    """A plan and how it was made (for `--profile`)."""

    plan: Plan
    timings: Timings
    reused: bool  # the source was already in the store


def evaluate(
    opened: OpenProject,
    workflows: tuple[str, ...] | list[str] | None,
    source: str,
    as_of: date | None = None,
    timings: Timings | None = None,
    progress: Progress = QUIET,
) -> Evaluation:
    """Evaluate the selected workflows on `source` as of `as_of` (default: after the newest data)."""
    timings = timings or Timings()
    selected = opened.project.select(workflows)
    with timings.stage("load"):
        data = open_dataset(opened.workspace, opened.catalog, source, progress)
    with data:
        as_of = as_of or default_as_of(data.loaded)
        with progress.status("Evaluating rules …"):
            plan = build_plan(
                data.con,
                data.loaded,
                opened.catalog,
                opened.project,
                selected,
                as_of,
                timings=timings,
                overrides=data.overrides,
            )
    return Evaluation(plan, timings, data.loaded.reused)


def explain_entity(
    opened: OpenProject,
    workflow: str,
    entity_id: str,
    source: str,
    as_of: date | None = None,
    progress: Progress = QUIET,
) -> Explanation:
    """Why each rule of `workflow` fires or not for one entity (`error` set when it is not found)."""
    wf = next((w for w in opened.project.workflows if w.id == workflow), None)
    if wf is None:
        raise UsageError(
            f"no workflow {workflow!r}", hint="known workflows: " + ", ".join(w.id for w in opened.project.workflows)
        )
    with open_dataset(opened.workspace, opened.catalog, source, progress) as data:
        metrics = MetricsService(
            data.con, data.loaded, opened.catalog, as_of or default_as_of(data.loaded), data.overrides
        )
        return explain(metrics, opened.project, wf, entity_id)
