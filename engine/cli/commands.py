"""What each CLI command does, separated from argument parsing (engine/cli.py)."""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from rich.console import Console

from engine.core.errors import DiagnosticsError, UsageError

err = Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def status(message: str):
    """A spinner on stderr for long work, only when a person is watching."""
    if err.is_terminal:
        with err.status(message):
            yield
    else:
        yield


def _warn(diagnostics) -> None:
    for d in diagnostics:
        err.print(f"[bold]{d.location}[/]: [yellow]warning[/]: {d.message}")
        if d.hint:
            err.print(f"  [dim]hint:[/] {d.hint}")


def _project(rules: str | None, state_dir: str | None = None):
    from engine.core.catalog import load_catalog
    from engine.rules.loader import load_project
    from engine.rules.workspace import Workspace

    ws = Workspace.resolve(rules, state_dir)
    catalog = load_catalog()
    project = load_project(ws.rules, catalog)
    _warn(project.warnings)
    return ws, catalog, project


def validate_command(rules: str | None, fmt: str) -> None:
    import json

    try:
        _, _, project = _project(rules)
    except DiagnosticsError as exc:
        if fmt == "github":
            from engine.output.ci import diagnostic_annotations, write_step_summary

            print("\n".join(diagnostic_annotations(exc.diagnostics)))
            write_step_summary(
                "### rulerun validate\n\n"
                + "\n".join(f"- `{d.location}` {d.severity}: {d.message}" for d in exc.diagnostics)
            )
        if fmt == "json":
            print(json.dumps({"valid": False, "diagnostics": [d.to_dict() for d in exc.diagnostics]}, indent=2))
            sys.exit(exc.exit_code)
        raise
    n_rules = sum(len(w.rules) for w in project.workflows)
    if fmt == "json":
        print(
            json.dumps(
                {
                    "valid": True,
                    "operators": sorted(project.operators),
                    "workflows": [w.id for w in project.workflows],
                    "rules": n_rules,
                    "diagnostics": [d.to_dict() for d in project.warnings],
                },
                indent=2,
            )
        )
        return
    print(
        f"ok: {len(project.operators)} operator(s), {len(project.workflows)} workflow(s), {n_rules} rule(s) "
        f"in {project.root}"
    )
    if fmt == "github":
        from engine.output.ci import diagnostic_annotations, write_step_summary

        if project.warnings:
            print("\n".join(diagnostic_annotations(project.warnings)))
        write_step_summary(f"### rulerun validate\n\nok: {len(project.workflows)} workflow(s), {n_rules} rule(s)")


def _load(ws, catalog, source: str):
    from engine.data.store import Store

    if source == "live":
        return _load_live(ws, catalog)
    from engine.data.sources import parse_source

    src = parse_source(source)
    store = Store(ws.state_dir)
    try:
        with status(f"Loading {src.describe()} into {ws.state_dir} …"):
            loaded = store.load(src, catalog)
    except BaseException:
        store.close()
        raise
    return store, loaded


def _load_live(ws, catalog):
    """`--source live`: sync the configured accounts first, then read the synced data."""
    from engine.cli.live_commands import run_sync
    from engine.data.store import Store
    from engine.data.sync import load_live

    store = Store(ws.state_dir)
    try:
        report = run_sync(ws, catalog, store)
        for failed in report.failed:
            err.print(
                f"[yellow]warning:[/] sync of {failed.platform} account {failed.account_id} failed: "
                f"{failed.error}; its data may be stale (the freshness guardrail blocks actions on it)"
            )
        return store, load_live(store, catalog)
    except BaseException:
        store.close()
        raise


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
) -> None:
    from engine.evaluation.evaluate import Timings, build_plan, default_as_of
    from engine.output import RenderOptions, get_renderer

    t_start = time.perf_counter()
    ws, catalog, project = _project(rules, state_dir)
    selected = project.select(workflows)
    t_rules = time.perf_counter()
    store, loaded = _load(ws, catalog, source)
    t_load = time.perf_counter()
    timings = Timings()
    try:
        as_of = as_of or default_as_of(loaded)
        from engine.cli.apply_commands import sandbox_overrides

        with status("Evaluating rules …"):
            plan = build_plan(
                store.con,
                loaded,
                catalog,
                project,
                selected,
                as_of,
                timings=timings,
                overrides=sandbox_overrides(source, ws.state_dir),
            )
    finally:
        store.close()
    t_render = time.perf_counter()
    if out_path:
        _write_atomic(Path(out_path), lambda fh: get_renderer("json")(plan, fh, RenderOptions("json")))
    options = RenderOptions(fmt, limit=None if limit == 0 else limit)
    get_renderer(fmt)(plan, sys.stdout.buffer, options)
    sys.stdout.buffer.flush()
    changes = any(a.status in ("planned", "clamped", "needs_approval") for a in plan.actions)
    if profile:
        t_end = time.perf_counter()
        stages = {
            "rules": t_rules - t_start,
            "load": t_load - t_rules,
            **timings.stages,
            "render": t_end - t_render,
            "total": t_end - t_start,
        }
        rate = timings.evaluations / timings.stages["evaluate"] if timings.stages.get("evaluate") else 0
        err.print(
            "profile: "
            + ", ".join(f"{k} {v:.3f}s" for k, v in stages.items())
            + f"; {timings.evaluations:,} entity-rule evaluations ({rate / 1e6:,.1f} M/s in evaluate)"
            + f"; source {'reused' if loaded.reused else 'materialized'}"
        )
    if detailed_exitcode and changes:
        sys.exit(2)  # Terraform's convention: 2 means "there are changes"


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with tmp.open("wb") as fh:
            write(fh)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def explain_command(*, rules, workflow, entity_id, source, as_of, state_dir) -> None:
    from engine.evaluation.explain import explain

    ws, catalog, project = _project(rules, state_dir)
    wf = next((w for w in project.workflows if w.id == workflow), None)
    if wf is None:
        raise UsageError(
            f"no workflow {workflow!r}", hint="known workflows: " + ", ".join(w.id for w in project.workflows)
        )
    store, loaded = _load(ws, catalog, source)
    try:
        from engine.cli.apply_commands import sandbox_overrides

        explain(
            Console(highlight=False, soft_wrap=True),
            store.con,
            loaded,
            catalog,
            project,
            wf,
            entity_id,
            as_of,
            overrides=sandbox_overrides(source, ws.state_dir),
        )
    finally:
        store.close()


def schema_command(name: str | None, write_dir: str | None) -> None:
    from engine.rules.schemagen import all_schemas, render, write_all

    schemas = all_schemas()
    if write_dir:
        for path in write_all(Path(write_dir)):
            print(f"wrote {path}")
        return
    if name is None:
        for key in schemas:
            print(key.removesuffix(".schema.json"))
        return
    key = name if name.endswith(".schema.json") else f"{name}.schema.json"
    if key not in schemas:
        raise UsageError(
            f"no schema {name!r}",
            hint="schemas: " + ", ".join(k.removesuffix(".schema.json") for k in schemas),
        )
    sys.stdout.write(render(schemas[key]))


def docs_command(topic: str | None) -> None:
    from engine.output.reference_docs import render_docs

    Console(highlight=False).print(render_docs(topic))
