"""Batch evaluation: from the metrics store and the rules to a plan.

For each (platform, level) the workflows need, one scan of metrics_daily sums every
needed (window, metric) pair with FILTER clauses and joins the entities (stage
`aggregate`, materialized as a temporary table). All rules of that group are then
compiled into a single layered query that evaluates every rule on every entity at once
and returns only the entities where something fired (stage `evaluate`). Python touches
only the fired rows, to propose actions (stage `propose`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from engine.core.actions import ACTIONS
from engine.core.catalog import KEY_COLUMNS, Catalog
from engine.core.plan import Plan, PlannedAction, action_key
from engine.core.status import ActionStatus, EntityStatus
from engine.core.timings import Timings
from engine.data import truthcheck
from engine.data.metrics import MetricsService, SharedMetrics, account_sum, in_list
from engine.data.store import LoadedSource
from engine.language.expr import Ref, Type
from engine.language.expr.sqlgen import SqlProgram
from engine.language.expr.types import Node
from engine.language.sql import quote_ident, sql_literal
from engine.rules.escalation import default_escalations
from engine.rules.model import Project, Rule, Workflow
from engine.safety.facts import account_budgets, gather_facts, mer_notes
from engine.safety.pipeline import Facts, run_pipeline

INACTIVE = (EntityStatus.REMOVED, EntityStatus.ARCHIVED)
ENTITY_FIELDS = (
    "name",
    "status",
    "daily_budget",
    "budget_mode",
    "bid",
    "bidding_strategy",
    "parent_id",
    "product",
    "is_brand",
    "learning_phase",
    "currency",
    "shared_budget",
    "budget_campaigns",
    "profile_count",
    "flow_status",
    "completion_rate",
    "body",  # a store page's body: update_page proposes from it
)


@dataclass(frozen=True)
class DaysRelation:
    """Evaluation dates as a relation (`sql`): a `_as_of` column, and each truth metric's value as of it."""

    dates: list[date]
    sql: str
    products: tuple[str, ...] = ()  # the products with truth of their own: a column each

    @staticmethod
    def column(ref: Ref, product: int | None = None) -> str:
        """The column of a value that depends on the date: a truth metric (the store's, or the
        product's at that index of `products`), `credibility_ratio`. Products are data: they never
        go into a column's name."""
        return ref.key if product is None else f"{ref.key}@p{product}"


def by_product(values: dict[str | None, str]) -> str:
    """SQL of a value that depends on the entity's `product`: `values[None]` for any other product."""
    cases = " ".join(f"WHEN {sql_literal(p)} THEN {v}" for p, v in values.items() if p is not None)
    return f"(CASE {quote_ident('attr:product')} {cases} ELSE {values[None]} END)" if cases else values[None]


class DayRows(Protocol):
    """A group's fired rows on each of some dates, already evaluated (engine/evaluation/days.py)."""

    dates: set[date]
    entities: dict[date, int]
    reads_credibility: bool

    def rows(
        self, metrics: MetricsService, overrides: dict[tuple, dict[str, Any]]
    ) -> tuple[list[str], list[tuple]]: ...


class Batch(Protocol):
    shared: SharedMetrics

    def covers(self, group: Group) -> DayRows | None: ...


@dataclass
class Group:
    """Rules that evaluate the same entities: one platform, one level."""

    platform: str
    level: str
    rules: list[tuple[Workflow, Rule]] = field(default_factory=list)


def group_rules(workflows: list[Workflow]) -> list[Group]:
    groups: dict[tuple[str, str], Group] = {}
    for wf in workflows:
        for rule in wf.rules:
            if rule.enabled:
                key = (wf.platform, rule.level)
                groups.setdefault(key, Group(*key)).rules.append((wf, rule))
    return list(groups.values())


class GroupEvaluator:
    """Builds and runs the aggregate and evaluate queries of one group."""

    def __init__(
        self,
        metrics: MetricsService,
        project: Project,
        group: Group,
        entity_filter: str | None = None,
        days: DaysRelation | None = None,
    ):
        self.metrics = metrics
        self.project = project
        self.group = group
        self.entity_filter = entity_filter
        self.days = days  # evaluate as of each of these dates at once (a row per entity and date)
        self.reads_credibility = False  # whether a rule (or a formula it uses) reads credibility_ratio
        self.refs: dict[str, Ref] = {}
        for _wf, rule in group.rules:
            for ref in rule.when.refs:
                self.refs[ref.key] = ref
            for ref in self.fact_refs(rule).values():
                self.refs.setdefault(ref.key, ref)
        suffix = uuid.uuid4().hex[:8]
        self.table = quote_ident(f"_base_{suffix}")
        self.fired_table = quote_ident(f"_fired_{suffix}")

    def fact_refs(self, rule: Rule) -> dict[str, Ref]:
        """Metrics the summary and the guardrails need besides the rule's own names."""
        available = self.metrics.catalog.metrics_available(self.group.platform)
        wanted = {
            "spend": ("spend", rule.window),
            "lifetime_spend": ("spend", "lifetime"),
            "conversions": ("conversions", rule.window),
        }
        return {fact: Ref("metric", m, Type.NUM, window=w, text=m) for fact, (m, w) in wanted.items() if m in available}

    # -- stage: aggregate ----------------------------------------------------------------------
    def aggregate_sql(self) -> str:
        metrics, g = self.metrics, self.group
        additive: dict[str, Ref] = {}
        for ref in self.refs.values():
            if ref.kind == "metric":
                for inner in metrics.additive_inputs(ref):
                    additive[inner.key] = inner
        keys = ", ".join(KEY_COLUMNS)
        days = self.days.dates if self.days else None
        agg = metrics.sums_query(
            {r.key: (r.name, r.window or "") for r in additive.values()},
            [f"platform = {sql_literal(g.platform)}", f"level = {sql_literal(g.level)}"],
            days=days,
        )

        cols = [f"e.{c}" for c in KEY_COLUMNS] + [f"e.{c} AS {quote_ident('attr:' + c)}" for c in ENTITY_FIELDS]
        for ref in self.refs.values():
            if (ref.kind == "attr" and ref.name not in ENTITY_FIELDS and ref.name not in KEY_COLUMNS) or (
                ref.kind == "attr" and ref.name in KEY_COLUMNS
            ):
                cols.append(f"e.{quote_ident(ref.name)} AS {quote_ident(ref.key)}")
        parent_refs = [r for r in self.refs.values() if r.kind == "parent"]
        for ref in parent_refs:
            cols.append(f"p.{quote_ident(ref.name)} AS {quote_ident(ref.key)}")
        for r in additive.values():
            cols.append(
                f"coalesce(a.{quote_ident(r.key)}, 0.0) AS {quote_ident(r.key)}"
                if metrics.present(r.name)
                else f"CAST(NULL AS DOUBLE) AS {quote_ident(r.key)}"
            )
        account_sums = {
            inner.key: inner for r in self.refs.values() if r.kind == "account" for inner in metrics.additive_inputs(r)
        }
        for r in account_sums.values():
            cols.append(
                f"coalesce(acct.{quote_ident(r.key)}, 0.0) AS {quote_ident(r.key)}"
                if metrics.present(r.name)
                else f"CAST(NULL AS DOUBLE) AS {quote_ident(r.key)}"
            )
        if self.days:
            cols = ["d.*", *cols]
        sql = f"SELECT {', '.join(cols)} FROM {metrics.entities} e"
        if self.days:
            sql += f" CROSS JOIN ({self.days.sql}) d"
        if agg:
            joined = " AND ".join(f"a.{k} = e.{k}" for k in KEY_COLUMNS)
            if self.days:
                sql += f" LEFT JOIN ({agg}) a ON a._as_of = d._as_of AND {joined}"
            else:
                sql += f" LEFT JOIN ({agg}) a USING ({keys})"
        account = self._account_sql(account_sums)
        if account:
            sql += (
                f" LEFT JOIN ({account}) acct ON {'acct._as_of = d._as_of AND ' if self.days else ''}"
                "acct.platform = e.platform AND acct.account_id = e.account_id"
            )
        if parent_refs:
            names = sorted({quote_ident(r.name) for r in parent_refs})
            sql += (
                f" LEFT JOIN (SELECT platform, account_id, entity_id, "
                f"{', '.join(f'any_value({n}) AS {n}' for n in names)} FROM {metrics.entities} "
                f"WHERE platform = {sql_literal(g.platform)} GROUP BY platform, account_id, entity_id) p "
                f"ON p.platform = e.platform AND p.account_id = e.account_id AND p.entity_id = e.parent_id"
            )
        where = [
            f"e.platform = {sql_literal(g.platform)}",
            f"e.level = {sql_literal(g.level)}",
            f"coalesce(e.status, '') NOT IN ({in_list(INACTIVE)})",
        ]
        if self.entity_filter:
            where.append(self.entity_filter)
        return f"{sql} WHERE {' AND '.join(where)}"

    def _account_sql(self, sums: dict[str, Ref]) -> str | None:
        """Each account's window sums at the group's level: every entity's rows, whatever its status."""
        g = self.group
        return self.metrics.sums_query(
            {r.key: (r.name, r.window or "") for r in sums.values()},
            [f"platform = {sql_literal(g.platform)}", f"level = {sql_literal(g.level)}"],
            per=("platform", "account_id"),
            days=self.days.dates if self.days else None,
        )

    def aggregate(self) -> int:
        self.metrics.con.execute(f"CREATE OR REPLACE TEMP TABLE {self.table} AS {self.aggregate_sql()}")
        return self.metrics.con.execute(f"SELECT count(*) FROM {self.table}").fetchone()[0]

    # -- stage: evaluate -----------------------------------------------------------------------
    def resolve(self, ref: Ref) -> str | Node:
        metrics, project = self.metrics, self.project
        if ref.kind == "metric":
            metric = metrics.catalog.metrics[ref.name]
            return quote_ident(ref.key) if metric.kind == "additive" else metrics.formula(ref.name, ref.windowed).ir
        if ref.kind in ("attr", "parent", "accountsum"):
            return quote_ident(ref.key)
        if ref.kind == "account":
            if metrics.catalog.metrics[ref.name].kind == "additive":
                return quote_ident(account_sum(ref.name, ref.window or "").key)
            return metrics.formula(ref.name, ref.window or "", "account").ir
        if ref.kind == "builtin":
            self.reads_credibility = True
            if self.days:
                return quote_ident(self.days.column(ref))
            return sql_literal(metrics.credibility_ratio(self.group.platform))
        if ref.kind == "guardrail":
            return sql_literal(project.guardrails[ref.name])
        if ref.kind == "benchmark":
            return sql_literal(metrics.catalog.benchmarks[self.group.platform][ref.name])
        if ref.kind == "truth":
            # an entity of a product with truth of its own reads that product's; the rest the store's
            value: dict[str | None, str]
            if self.days:
                value = {None: quote_ident(self.days.column(ref))}
                value.update((p, quote_ident(self.days.column(ref, i))) for i, p in enumerate(self.days.products))
            else:
                value = {p: sql_literal(metrics.truth(ref.windowed, p)[ref.name]) for p in (None, *metrics.products())}
            return by_product(value)
        if ref.kind == "threshold":
            operator, _, name = ref.name.partition("/")
            th = project.operators[operator].thresholds[name]
            return by_product({None: sql_literal(th.default), **{p: sql_literal(v) for p, v in th.by_product.items()}})
        raise KeyError(ref.key)

    def compile_rules(self) -> tuple[SqlProgram, list[str], dict[str, str]]:
        """All rules of the group compiled into one program: verdict columns and evidence columns."""
        # Present additive metrics are coalesce(sum, 0) in the base table: comparisons on them need no null guard.
        additive = [
            inner
            for r in self.refs.values()
            if r.kind in ("metric", "account")
            for inner in self.metrics.additive_inputs(r)
        ]
        nonnull = {quote_ident(r.key) for r in additive if self.metrics.present(r.name)}
        ctx: dict[str, Any] = {"as_of": self.metrics.as_of}
        if self.days:
            ctx["as_of_sql"] = '"_as_of"'
        program = SqlProgram(self.resolve, ctx, nonnull_values=nonnull)
        verdicts: list[str] = []
        evidence: dict[str, str] = {}
        for i, (_wf, rule) in enumerate(self.group.rules):
            verdicts.append(f"{program.add(rule.when, logical=True)} AS {quote_ident(f'fired:{i}')}")
            for ref in rule.when.refs:
                evidence[f"ev:{i}:{ref.key}"] = program.value_of(ref)
            for fact, ref in self.fact_refs(rule).items():
                evidence[f"fact:{i}:{fact}"] = program.value_of(ref)
        return program, verdicts, evidence

    def evaluate(self) -> int:
        """Run every rule on every entity; keep the verdicts where any rule fired. Returns their count.

        Only the verdicts are computed over all entities: evidence is gathered afterwards
        (fetch) for the few entities where something fired.
        """
        program, verdicts, _ = self.compile_rules()
        where = " OR ".join(quote_ident(f"fired:{i}") for i in range(len(self.group.rules)))
        query = program.select(f'SELECT rowid AS "_rid", * FROM {self.table}', ['"_rid"', *verdicts], where)
        self.metrics.con.execute(f"CREATE OR REPLACE TEMP TABLE {self.fired_table} AS {query}")
        return self.metrics.con.execute(f"SELECT count(*) FROM {self.fired_table}").fetchone()[0]

    def fetch(self) -> tuple[list[str], list[tuple]]:
        """The fired entities with every rule's verdict and evidence (build_plan sorts the actions)."""
        program, _, evidence = self.compile_rules()
        base = (
            f'SELECT b.rowid AS "_rid", b.* FROM {self.table} b '
            f'WHERE b.rowid IN (SELECT "_rid" FROM {self.fired_table})'
        )
        columns = ['"_rid"', *KEY_COLUMNS, *(quote_ident(f"attr:{c}") for c in ENTITY_FIELDS)]
        columns += [f"{sql} AS {quote_ident(name)}" for name, sql in evidence.items()]
        query = f'SELECT * FROM ({program.select(base, columns)}) AS ev JOIN {self.fired_table} f USING ("_rid")'
        cursor = self.metrics.con.execute(query)
        names = [d[0] for d in cursor.description]
        return names, cursor.fetchall()

    def drop(self) -> None:
        self.metrics.con.execute(f"DROP TABLE IF EXISTS {self.table}")
        self.metrics.con.execute(f"DROP TABLE IF EXISTS {self.fired_table}")


def default_as_of(loaded: LoadedSource) -> date:
    """Today for live data (so stale data shows as stale); the day after the newest data otherwise."""
    if loaded.source == "live":
        return date.today()
    if loaded.info.max_date is not None:
        return loaded.info.max_date + timedelta(days=1)
    return date.today()


def build_plan(
    con,
    loaded: LoadedSource,
    catalog: Catalog,
    project: Project,
    workflows: list[Workflow],
    as_of: date,
    mode: str = "dry_run",
    timings: Timings | None = None,
    overrides: list[dict] | None = None,
    batch: Batch | None = None,
) -> Plan:
    """Evaluate `workflows` on the loaded data and run every proposal through the safety pipeline.

    `overrides` are live entity states that differ from the source (the demo sandbox).
    `batch` holds the groups already evaluated as of many dates (a backtest's days).
    """
    timings = timings or Timings()
    metrics = MetricsService(con, loaded, catalog, as_of, overrides, shared=batch.shared if batch else None)
    actions: list[PlannedAction] = []
    facts: dict[str, Facts] = {}
    entities = 0
    by_key = {(o["platform"], o["account_id"], o["level"], o["entity_id"]): o for o in overrides or []}
    for group in group_rules(workflows):
        days = batch.covers(group) if batch is not None else None
        if days is not None and as_of in days.dates:
            t0 = time.perf_counter()
            if days.reads_credibility:
                metrics.credibility(group.platform)  # the plan says which ratio its rules read
            names, rows = days.rows(metrics, by_key)
            actions.extend(_propose(group, names, rows, as_of, facts))
            timings.add("propose", time.perf_counter() - t0)
            n = days.entities.get(as_of, 0)
            timings.evaluations += n * len(group.rules)
            entities += n
            continue
        ev = GroupEvaluator(metrics, project, group)
        t0 = time.perf_counter()
        n = ev.aggregate()
        t1 = time.perf_counter()
        ev.evaluate()
        t2 = time.perf_counter()
        names, rows = ev.fetch()
        t3 = time.perf_counter()
        actions.extend(_propose(group, names, rows, as_of, facts))
        t4 = time.perf_counter()
        ev.drop()
        timings.add("aggregate", t1 - t0)
        timings.add("evaluate", t2 - t1)
        timings.add("fetch", t3 - t2)
        timings.add("propose", t4 - t3)
        timings.evaluations += n * len(group.rules)
        entities += n
    actions.sort(key=lambda a: (a.workflow, a.rule_id, a.platform, a.account_id, a.entity_id))
    t0 = time.perf_counter()
    gather_facts(metrics, actions, facts)
    truth_windows = {
        ref.window or rule.window
        for wf in workflows
        for rule in wf.rules
        if rule.enabled
        for ref in rule.when.refs
        if ref.kind == "truth" and ref.name == "mer"
    }
    notes = mer_notes(metrics, actions, facts, truth_windows)  # before the pipeline clamps `after`
    safety = run_pipeline(actions, facts, account_budgets(metrics), project.operators, default_escalations(catalog))
    timings.add("safety", time.perf_counter() - t0)
    return Plan(
        run_id=datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6],
        mode=mode,
        source=loaded.source,
        as_of=as_of,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        rules_digest=project.digest,
        workflows=[w.id for w in workflows],
        actions=safety.actions,
        entities_evaluated=entities,
        conflicts=[c.to_dict() for c in safety.conflicts],
        suppressed=safety.suppressed,
        rules_evaluated=sum(1 for w in workflows for r in w.rules if r.enabled),
        data_quality=data_quality(loaded, as_of) + notes + truth_notes(metrics, workflows),
    )


def _propose(
    group: Group, names: list[str], rows: list[tuple], as_of: date, facts: dict[str, Facts]
) -> list[PlannedAction]:
    idx = {n: i for i, n in enumerate(names)}
    key_idx = [idx[c] for c in KEY_COLUMNS]
    field_idx = [(c, idx[f"attr:{c}"]) for c in ENTITY_FIELDS]
    per_rule = []
    for i, (wf, rule) in enumerate(group.rules):
        evidence = [
            (ref.text or ref.name, idx[f"ev:{i}:{ref.key}"]) for ref in rule.when.refs if f"ev:{i}:{ref.key}" in idx
        ]
        fact_cols = {f: idx.get(f"fact:{i}:{f}") for f in ("spend", "lifetime_spend", "conversions")}
        per_rule.append((wf, rule, idx[f"fired:{i}"], evidence, fact_cols, ACTIONS[rule.action.type]))
    out: list[PlannedAction] = []
    for row in rows:
        key = tuple(row[j] for j in key_idx)
        entity = {c: row[j] for c, j in field_idx}
        for wf, rule, fired_col, evidence, fact_cols, atype in per_rule:
            if not row[fired_col]:
                continue
            proposal = atype.propose(entity, rule.action.params)
            if proposal.noop:
                continue
            reasons = [rule.description or rule.when.text, *([proposal.note] if proposal.note else [])]
            status = ActionStatus.PLANNED
            if proposal.skip_reason:
                status = ActionStatus.SKIPPED
                reasons.append(proposal.skip_reason)
            out.append(
                PlannedAction(
                    workflow=wf.id,
                    rule_id=rule.id,
                    platform=key[0],
                    account_id=key[1],
                    level=key[2],
                    entity_id=key[3],
                    entity_name=entity["name"],
                    type=rule.action.type,
                    params=dict(rule.action.params),
                    before=proposal.before,
                    after=proposal.after,
                    status=status,
                    reasons=reasons,
                    evidence={name: _clean(row[j]) for name, j in evidence},
                    priority=rule.priority,
                    cooldown=rule.cooldown,
                    action_id=action_key(wf.id, rule.id, key, rule.action.type, as_of),
                    spend=_value(row, fact_cols["spend"]),
                    entity=entity,
                    rule_file=rule.file,
                    rule_line=rule.line,
                )
            )
            facts[out[-1].action_id] = Facts(
                lifetime_spend=_value(row, fact_cols["lifetime_spend"]),
                window_conversions=_value(row, fact_cols["conversions"]),
                learning_phase=bool(entity.get("learning_phase")),
                source=key[0],
                window=rule.window,
            )
    return out


def _value(row: tuple, col: int | None) -> Any:
    return None if col is None else row[col]


def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 6)
    if isinstance(v, date):
        return v.isoformat()
    return v


def truth_notes(metrics: MetricsService, workflows: list[Workflow]) -> list[dict[str, Any]]:
    """Which `credibility_ratio` each platform's rules read (live or seed), and drifting ratios
    of the platforms the workflows act on: a tracking change there moves every conversion metric."""
    notes = [truthcheck.credibility_note(c) for _, c in sorted(metrics.credibility_used.items())]
    platforms = {w.platform for w in workflows if w.platform in metrics.catalog.sources}
    ad_platforms = {p for p in platforms if metrics.catalog.sources[p].type == "ad_platform"}
    if ad_platforms:
        notes += truthcheck.drift_notes(metrics.truth_weeks(), ad_platforms, metrics.as_of)
    return notes


def data_quality(loaded: LoadedSource, as_of: date) -> list[dict[str, Any]]:
    notes = list(loaded.info.data_quality)
    newest = loaded.info.max_date
    if newest is None:
        notes.append({"severity": "warning", "message": "the source has no metric rows: every metric is 0"})
    elif (as_of - newest).days > 1:
        notes.append(
            {
                "severity": "warning",
                "message": f"newest data is from {newest.isoformat()}, {(as_of - newest).days - 1} day(s) "
                f"before the last complete day ({(as_of - timedelta(days=1)).isoformat()})",
            }
        )
    elif newest >= as_of:
        notes.append(
            {
                "severity": "info",
                "message": f"data after {as_of.isoformat()} exists and is ignored (evaluating as of "
                f"{as_of.isoformat()})",
            }
        )
    return notes
