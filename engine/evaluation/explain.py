"""`rulerun explain`: one entity, every rule of a workflow, every sub-expression's value.

Values come from the reference interpreter (simpleeval) over the entity's window sums;
the batch engine's verdict for the same entity is shown beside it, and any
disagreement is flagged as a bug.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rich.console import Console
from rich.table import Table

from engine.core.actions import ACTIONS
from engine.core.catalog import KEY_COLUMNS, Catalog
from engine.core.errors import RulerunError
from engine.data.store import LoadedSource
from engine.evaluation.evaluate import Context, Group, GroupEvaluator, account_sum, default_as_of
from engine.language.expr import Ref
from engine.language.expr.reference import evaluate, evaluate_steps
from engine.language.expr.sqlgen import sql_literal
from engine.output.text import fmt_value
from engine.rules.model import Project, Workflow


def ref_value(ctx: Context, wf: Workflow, ref: Ref, row: dict[str, Any]) -> Any:
    """The value of one name for one entity, computed in Python (the reference path)."""
    if ref.kind == "metric":
        metric = ctx.catalog.metrics[ref.name]
        if metric.kind == "additive":
            return row.get(ref.key)
        formula = ctx.formula(ref.name, ref.window or "")
        values = {
            r.key: (ref_value(ctx, wf, r, row) if r.kind == "metric" else ctx.catalog.credibility_ratio(wf.platform))
            for r in formula.refs
        }
        return evaluate(formula, values, {"as_of": ctx.as_of})
    if ref.kind in ("attr", "parent"):
        return row.get(ref.key)
    if ref.kind == "account":
        if ctx.catalog.metrics[ref.name].kind == "additive":
            return row.get(account_sum(ref.name, ref.window or "").key)
        formula = ctx.formula(ref.name, ref.window or "", "account")
        values = {
            r.key: row.get(r.key) if r.kind == "accountsum" else ctx.catalog.credibility_ratio(wf.platform)
            for r in formula.refs
        }
        return evaluate(formula, values, {"as_of": ctx.as_of})
    if ref.kind == "threshold":
        operator, _, name = ref.name.partition("/")
        return ctx.project.operators[operator].thresholds[name].value_for(row.get("attr:product"))
    if ref.kind == "guardrail":
        return ctx.project.guardrails[ref.name]
    if ref.kind == "benchmark":
        return ctx.catalog.benchmarks[wf.platform][ref.name]
    if ref.kind == "truth":
        return ctx.truth(ref.window)[ref.name]
    if ref.kind == "builtin":
        return ctx.catalog.credibility_ratio(wf.platform)
    raise KeyError(ref.key)


def explain(
    console: Console,
    con,
    loaded: LoadedSource,
    catalog: Catalog,
    project: Project,
    wf: Workflow,
    entity_id: str,
    as_of: date | None,
    overrides: list[dict] | None = None,
) -> None:
    as_of = as_of or default_as_of(loaded)
    ctx = Context(con, loaded, catalog, project, as_of, overrides)
    found = False
    console.print(f"[bold]{wf.id}[/] on [bold]{entity_id}[/] as of {as_of.isoformat()} (source {loaded.source})")
    for rule in wf.rules:
        group = Group(wf.platform, rule.level, [(wf, rule)])
        ev = GroupEvaluator(ctx, group, entity_filter=f"e.entity_id = {sql_literal(entity_id)}")
        try:
            if ev.aggregate() == 0:
                console.print(f"\n[dim]{rule.id}: no active {wf.platform} {rule.level} with id {entity_id}[/]")
                continue
            cur = con.execute(f"SELECT * FROM {ev.table}")
            names = [d[0] for d in cur.description]
            row = dict(zip(names, cur.fetchone(), strict=True))
            batch = ev.evaluate() > 0
        finally:
            ev.drop()
        found = True
        values = {r.key: ref_value(ctx, wf, r, row) for r in rule.when.refs}
        verdict = bool(evaluate(rule.when, values, {"as_of": as_of}))
        head = "[green]fires[/]" if verdict else "[dim]does not fire[/]"
        console.print(
            f"\n[bold]{rule.id}[/] ({rule.level}, {rule.window}): {head}"
            + ("" if verdict == batch else "  [bold red]batch engine disagrees: please report[/]")
        )
        console.print(f"  when: {rule.when.text}")
        table = Table(show_header=True, box=None, pad_edge=False)
        table.add_column("  expression", overflow="fold")
        table.add_column("value", justify="right")
        for text, value in evaluate_steps(rule.when, values, {"as_of": as_of}):
            table.add_row(f"  {text}", fmt_value(value))
        console.print(table)
        if verdict:
            entity = {k.removeprefix("attr:"): v for k, v in row.items() if k.startswith("attr:")}
            entity.update({k: row[k] for k in KEY_COLUMNS})
            proposal = ACTIONS[rule.action.type].propose(entity, rule.action.params)
            if proposal.noop:
                console.print(f"  action {rule.action.type}: nothing to do (already in that state)")
            elif proposal.skip_reason:
                console.print(f"  action {rule.action.type}: [dim]skipped: {proposal.skip_reason}[/]")
            else:
                change = ", ".join(
                    f"{k}: {fmt_value(proposal.before.get(k))} -> {fmt_value(v)}" for k, v in proposal.after.items()
                )
                console.print(f"  action {rule.action.type}: {change}")
    if found:
        _pipeline_verdict(console, ctx, wf, entity_id)
    if not found:
        raise RulerunError(
            f"entity {entity_id!r} is not an active {wf.platform} entity at the levels of {wf.id}",
            hint="entity ids are the platform's ids; `rulerun evaluate --format json` lists them",
        )


def _pipeline_verdict(console: Console, ctx: Context, wf: Workflow, entity_id: str) -> None:
    """The safety pipeline's verdict on this entity's actions, as `evaluate` would plan them."""
    from engine.evaluation.evaluate import build_plan
    from engine.output.table import STATUS_STYLE
    from engine.output.text import change

    plan = build_plan(ctx.con, ctx.loaded, ctx.catalog, ctx.project, [wf], ctx.as_of, overrides=ctx.overrides)
    mine = [a for a in plan.actions if a.entity_id == entity_id]
    console.print("\n[bold]safety pipeline[/]" + ("" if mine else ": no action proposed for this entity"))
    for a in mine:
        style = STATUS_STYLE.get(a.status, "")
        console.print(f"  {a.rule_id}: {change(a)} -> [{style}]{a.status}[/] (autonomy {a.autonomy})")
        for g in a.guardrails:
            console.print(f"    {g['effect']}: {g['name']}: {g['message']}")
