"""`rulerun explain`: one entity, every rule of a workflow, every sub-expression's value.

Values come from the reference interpreter (simpleeval) over the entity's window sums;
the batch engine's verdict for the same entity is recorded beside it, and any
disagreement is flagged as a bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.core.actions import ACTIONS
from engine.core.catalog import KEY_COLUMNS
from engine.core.errors import RulerunError
from engine.core.plan import PlannedAction
from engine.data import truthcheck
from engine.data.metrics import MetricsService, account_sum
from engine.evaluation.evaluate import Group, GroupEvaluator, build_plan
from engine.language.expr import Ref
from engine.language.expr.reference import evaluate, evaluate_steps
from engine.language.sql import sql_literal
from engine.rules.model import Project, Workflow


def ref_value(metrics: MetricsService, project: Project, wf: Workflow, ref: Ref, row: dict[str, Any]) -> Any:
    """The value of one name for one entity, computed in Python (the reference path)."""
    if ref.kind == "metric":
        metric = metrics.catalog.metrics[ref.name]
        if metric.kind == "additive":
            return row.get(ref.key)
        formula = metrics.formula(ref.name, ref.window or "")
        values = {
            r.key: (
                ref_value(metrics, project, wf, r, row)
                if r.kind == "metric"
                else metrics.credibility_ratio(wf.platform)
            )
            for r in formula.refs
        }
        return evaluate(formula, values, {"as_of": metrics.as_of})
    if ref.kind in ("attr", "parent"):
        return row.get(ref.key)
    if ref.kind == "account":
        if metrics.catalog.metrics[ref.name].kind == "additive":
            return row.get(account_sum(ref.name, ref.window or "").key)
        formula = metrics.formula(ref.name, ref.window or "", "account")
        values = {
            r.key: row.get(r.key) if r.kind == "accountsum" else metrics.credibility_ratio(wf.platform)
            for r in formula.refs
        }
        return evaluate(formula, values, {"as_of": metrics.as_of})
    if ref.kind == "threshold":
        operator, _, name = ref.name.partition("/")
        return project.operators[operator].thresholds[name].value_for(row.get("attr:product"))
    if ref.kind == "guardrail":
        return project.guardrails[ref.name]
    if ref.kind == "benchmark":
        return metrics.catalog.benchmarks[wf.platform][ref.name]
    if ref.kind == "truth":
        return metrics.truth(ref.windowed, row.get("attr:product"))[ref.name]
    if ref.kind == "builtin":
        return metrics.credibility_ratio(wf.platform)
    raise KeyError(ref.key)


@dataclass
class RuleExplanation:
    """One rule on the entity: whether it fires, each sub-expression's value, and the change it proposes."""

    rule_id: str
    level: str
    window: str
    when: str
    action_type: str
    found: bool = True  # False: the entity is not an active entity of the rule's level
    fires: bool = False
    batch_fires: bool = False  # the batch engine's verdict (it must agree)
    steps: list[tuple[str, Any]] = field(default_factory=list)
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    noop: bool = False
    skip_reason: str | None = None


@dataclass
class Explanation:
    workflow: str
    platform: str
    entity_id: str
    as_of: date
    source: str
    rules: list[RuleExplanation] = field(default_factory=list)
    actions: list[PlannedAction] = field(default_factory=list)  # the entity's actions after the safety pipeline
    error: RulerunError | None = None  # the entity is not an active entity of the workflow
    notes: list[str] = field(default_factory=list)  # which credibility_ratio was read: live or the seed

    @property
    def found(self) -> bool:
        return any(r.found for r in self.rules)


def explain(metrics: MetricsService, project: Project, wf: Workflow, entity_id: str) -> Explanation:
    """Every rule of `wf` on one entity, checked against the batch engine, and the safety pipeline's verdict."""
    result = Explanation(wf.id, wf.platform, entity_id, metrics.as_of, metrics.loaded.source)
    truth_read: set[str | None] = set()  # the entity's product, where a rule reads truth.*
    for rule in wf.rules:
        item = RuleExplanation(rule.id, rule.level, rule.window, rule.when.text, rule.action.type)
        result.rules.append(item)
        ev = GroupEvaluator(
            metrics, project, Group(wf.platform, rule.level, [(wf, rule)]), f"e.entity_id = {sql_literal(entity_id)}"
        )
        try:
            if ev.aggregate() == 0:
                item.found = False
                continue
            cur = metrics.con.execute(f"SELECT * FROM {ev.table}")
            names = [d[0] for d in cur.description]
            row = dict(zip(names, cur.fetchone(), strict=True))
            item.batch_fires = ev.evaluate() > 0
        finally:
            ev.drop()
        values = {r.key: ref_value(metrics, project, wf, r, row) for r in rule.when.refs}
        if any(r.kind == "truth" for r in rule.when.refs):
            truth_read.add(row.get("attr:product"))
        item.fires = bool(evaluate(rule.when, values, {"as_of": metrics.as_of}))
        item.steps = evaluate_steps(rule.when, values, {"as_of": metrics.as_of})
        if item.fires:
            entity = {k.removeprefix("attr:"): v for k, v in row.items() if k.startswith("attr:")}
            entity.update({k: row[k] for k in KEY_COLUMNS})
            proposal = ACTIONS[rule.action.type].propose(entity, rule.action.params)
            item.before, item.after = proposal.before, proposal.after
            item.noop, item.skip_reason = proposal.noop, proposal.skip_reason
    result.notes = [truthcheck.credibility_note(c)["message"] for _, c in sorted(metrics.credibility_used.items())]
    if metrics.products():  # a store without product rows: every entity reads the store's, nothing to say
        result.notes += [_truth_note(metrics, product) for product in truth_read]
    if result.found:
        plan = build_plan(
            metrics.con, metrics.loaded, metrics.catalog, project, [wf], metrics.as_of, overrides=metrics.overrides
        )
        result.actions = [a for a in plan.actions if a.entity_id == entity_id]
    else:
        result.error = RulerunError(
            f"entity {entity_id!r} is not an active {wf.platform} entity at the levels of {wf.id}",
            hint=f"entity ids are the platform's ids: `rulerun entities --platform {wf.platform} --name TEXT` "
            "finds them",
        )
    return result


def _truth_note(metrics: MetricsService, product: str | None) -> str:
    """Whose truth.* the entity read: its product's, or the store's (and why)."""
    if product in metrics.products():
        return (
            f"truth.* is product {product}'s: its Shopify orders, revenue and new customers against the "
            f"spend of the entities tagged {product} (rulerun truth shows every product's)"
        )
    why = "it has no product" if product is None else f"{product!r} is not a store product that other entities promote"
    return f"truth.* is the store's: {why}"
