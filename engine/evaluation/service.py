"""`rulerun evaluate`, `explain` and `entities`: the plan, why one entity gets its actions, and finding entities."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date

from engine.core.catalog import Catalog
from engine.core.errors import UsageError
from engine.core.plan import Plan
from engine.core.progress import QUIET, Progress
from engine.core.timings import Timings
from engine.data.entities import EntityListing, find_entities, live_entities
from engine.data.metrics import MetricsService
from engine.data.sources.files import level_vocabulary
from engine.evaluation.dataset import open_dataset
from engine.evaluation.evaluate import build_plan, default_as_of
from engine.evaluation.explain import Explanation, explain
from engine.rules.service import OpenProject
from engine.rules.workspace import Workspace


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


def list_entities(
    ws: Workspace,
    catalog: Catalog,
    source: str,
    *,
    platform: str | None = None,
    level: str | None = None,
    name: str | None = None,
    limit: int | None = None,
    progress: Progress = QUIET,
) -> EntityListing:
    """The source's entities (with the demo sandbox's changes) by platform, level and part of the name."""
    if level is not None:
        vocabulary = level_vocabulary()
        if level.lower() not in vocabulary:
            close = difflib.get_close_matches(level.lower(), vocabulary, n=1)
            raise UsageError(
                f"unknown level {level!r}",
                hint=(f"did you mean {vocabulary[close[0]]!r}? " if close else "")
                + "levels: "
                + ", ".join(sorted(set(vocabulary.values()))),
            )
        level = vocabulary[level.lower()]
    with open_dataset(ws, catalog, source, progress) as data:
        relation = live_entities(data.con, data.loaded, catalog, data.overrides)
        if platform is not None and platform not in catalog.sources:
            present = [
                p for (p,) in data.con.execute(f"SELECT DISTINCT platform FROM {relation} ORDER BY 1").fetchall()
            ]
            if platform not in present:
                close = difflib.get_close_matches(platform, [*present, *catalog.sources], n=1)
                raise UsageError(
                    f"unknown platform {platform!r}",
                    hint=(f"did you mean {close[0]!r}? " if close else "")
                    + "platforms in this source: "
                    + (", ".join(present) or "none"),
                )
        return find_entities(
            data.con, relation, data.loaded.source, platform=platform, level=level, name=name, limit=limit
        )
