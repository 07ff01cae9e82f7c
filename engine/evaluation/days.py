"""Evaluating workflows as of many dates at once: the days of a backtest.

A backtest evaluates the same rules as of every day of a range. One day at a time, that is
a few queries per (platform, level) per day, and on a source of a few hundred entities each
query's fixed cost is nearly all of the time. Here each group's window sums, verdicts and
evidence are computed for every day in one query (a row per entity and day), on the
source's entity state.

The backtest's simulation then changes the state of a few entities (a pause, a new bid),
which later days must see. The rows of those entities are evaluated again for each day, by
the reference interpreter over the same window sums with the simulated state laid over
them: the path `rulerun explain` uses, which the property tests hold to the batch
semantics. The simulation only changes entities a rule evaluated, so a removed or archived
entity (never evaluated) is never brought back by it. A group whose rules read a parent's
live state (`parent.status`) is left to the per-day path, which joins parents with their
simulated state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from engine.core.catalog import KEY_COLUMNS, Catalog
from engine.data import truthcheck
from engine.data.entities import LIVE_STATE
from engine.data.metrics import CREDIBILITY_RATIO, MetricsService, SharedMetrics
from engine.data.store import LoadedSource
from engine.evaluation.evaluate import ENTITY_FIELDS, INACTIVE, DaysRelation, Group, GroupEvaluator, group_rules
from engine.evaluation.explain import ref_value
from engine.language.expr import Ref, Type
from engine.language.expr.reference import evaluate as reference_evaluate
from engine.language.sql import quote_ident, sql_literal
from engine.rules.model import Project, Workflow

EntityKey = tuple[str, str, str, str]


CREDIBILITY = Ref("builtin", CREDIBILITY_RATIO, Type.NUM)


def days_relation(
    dates: Sequence[date], truth: list[Ref], values: SharedMetrics, credibility: dict[date, float]
) -> DaysRelation:
    """A VALUES list of `dates` with the truth metrics `truth` and the platform's `credibility_ratio`
    as of each date."""
    truth = list({r.key: r for r in truth}.values())
    products = tuple(values.products or ()) if truth else ()
    rows = []
    for day in dates:
        cells = [f"DATE '{day.isoformat()}'"]
        cell_values = [
            *(values.truth[(day, ref.window or "")][ref.name] for ref in truth),
            *(values.product_truth[(day, ref.window or "")][p][ref.name] for ref in truth for p in products),
            credibility[day],
        ]
        for value in cell_values:
            cells.append(f"CAST({'NULL' if value is None else sql_literal(float(value))} AS DOUBLE)")
        rows.append(f"({', '.join(cells)})")
    columns = [
        *(DaysRelation.column(r) for r in truth),
        *(DaysRelation.column(r, i) for r in truth for i in range(len(products))),
        DaysRelation.column(CREDIBILITY),
    ]
    names = ", ".join(['"_as_of"', *(quote_ident(c) for c in columns)])
    return DaysRelation(list(dates), f"SELECT * FROM (VALUES {', '.join(rows)}) AS v({names})", products)


class GroupDays:
    """One group's rules evaluated as of every date, on the source's entity state."""

    def __init__(
        self,
        con,
        loaded: LoadedSource,
        catalog: Catalog,
        project: Project,
        group: Group,
        dates: list[date],
        shared: SharedMetrics,
    ):
        self.group = group
        self.dates = set(dates)
        metrics = MetricsService(con, loaded, catalog, dates[0], shared=shared)
        probe = GroupEvaluator(metrics, project, group)
        truth_refs = [r for r in probe.refs.values() if r.kind == "truth"]
        for window in {r.window or "" for r in truth_refs}:
            if (dates[0], window) not in shared.truth or (dates[0], window) not in shared.product_truth:
                metrics.truth_by_day(window, dates, products=True)
        # credibility_ratio changes with the date (the latest complete week's live ratio)
        credibility = {
            day: MetricsService(con, loaded, catalog, day, shared=shared).credibility_ratio(group.platform)
            for day in dates
        }
        relation = days_relation(dates, truth_refs, shared, credibility)
        self.ev = GroupEvaluator(metrics, project, group, days=relation)
        # Without a rule reading status, budget or bid, the simulated state changes no verdict:
        # a changed entity's batch row only needs that state laid over its attributes.
        self.reads_state = any(
            r.kind == "attr" and r.name in LIVE_STATE for _wf, rule in group.rules for r in rule.when.refs
        )
        self.ev.aggregate()
        self.entities: dict[date, int] = dict(
            con.execute(f'SELECT "_as_of", count(*) FROM {self.ev.table} GROUP BY ALL').fetchall()
        )
        program, verdicts, evidence = self.ev.compile_rules()
        self.reads_credibility = self.ev.reads_credibility
        where = " OR ".join(quote_ident(f"fired:{i}") for i in range(len(group.rules)))
        columns = [
            '"_as_of"',
            *KEY_COLUMNS,
            *(quote_ident(f"attr:{c}") for c in ENTITY_FIELDS),
            *(f"{sql} AS {quote_ident(name)}" for name, sql in evidence.items()),
            *verdicts,
        ]
        cursor = con.execute(program.select(f"SELECT * FROM {self.ev.table}", columns, where))
        self.names = [d[0] for d in cursor.description]
        self.fired: dict[date, list[tuple]] = defaultdict(list)
        for row in cursor.fetchall():
            self.fired[row[0]].append(row)
        self._idx = {n: i for i, n in enumerate(self.names)}
        self._base: dict[tuple[date, EntityKey], dict[str, Any]] = {}
        self._fetched: set[EntityKey] = set()
        self.con = con

    def rows(
        self, metrics: MetricsService, overrides: dict[EntityKey, dict[str, Any]]
    ) -> tuple[list[str], list[tuple]]:
        """The rows of `metrics.as_of` where a rule fired, with `overrides` (simulated state) taken into account."""
        day = metrics.as_of
        mine = {k: v for k, v in overrides.items() if k[0] == self.group.platform and k[2] == self.group.level}
        key_at = [self._idx[c] for c in KEY_COLUMNS]
        if not self.reads_state:
            return self.names, [
                self._lay_over(row, mine.get(tuple(row[i] for i in key_at))) for row in self.fired.get(day, [])
            ]
        out = [row for row in self.fired.get(day, []) if tuple(row[i] for i in key_at) not in mine]
        self._fetch([k for k in mine if k not in self._fetched])
        for key, state in mine.items():
            base = self._base.get((day, key))
            if base is not None:
                row = self._reevaluate(metrics, base, state)
                if row is not None:
                    out.append(row)
        return self.names, out

    def _lay_over(self, row: tuple, state: dict[str, Any] | None) -> tuple:
        """A batch row with an entity's simulated state in its attribute columns."""
        if not state:
            return row
        values = list(row)
        for name in LIVE_STATE:
            if state.get(name) is not None:
                values[self._idx[f"attr:{name}"]] = state[name]
        return tuple(values)

    def _fetch(self, keys: list[EntityKey]) -> None:
        """The base rows (every date) of entities the simulation changed, read once per entity."""
        if not keys:
            return
        self._fetched.update(keys)
        listed = ", ".join("(" + ", ".join(sql_literal(v) for v in k) + ")" for k in keys)
        cursor = self.con.execute(
            f"SELECT * FROM {self.ev.table} WHERE ({', '.join(KEY_COLUMNS)}) IN (VALUES {listed})"
        )
        names = [d[0] for d in cursor.description]
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            self._base[(row["_as_of"], tuple(row[c] for c in KEY_COLUMNS))] = row

    def _reevaluate(self, metrics: MetricsService, base: dict[str, Any], state: dict[str, Any]) -> tuple | None:
        """One entity's row on one date with its simulated state, evaluated by the reference interpreter."""
        row = dict(base)
        for name in LIVE_STATE:
            if state.get(name) is not None:
                row[f"attr:{name}"] = state[name]
        if row.get("attr:status") in INACTIVE:
            return None
        ctx = {"as_of": metrics.as_of}
        for i, (wf, rule) in enumerate(self.group.rules):
            values = {r.key: ref_value(metrics, self.ev.project, wf, r, row) for r in rule.when.refs}
            row[f"fired:{i}"] = bool(reference_evaluate(rule.when, values, ctx))
            for r in rule.when.refs:
                row[f"ev:{i}:{r.key}"] = values[r.key]
            for fact, r in self.ev.fact_refs(rule).items():
                row[f"fact:{i}:{fact}"] = ref_value(metrics, self.ev.project, wf, r, row)
        if not any(row[f"fired:{i}"] for i in range(len(self.group.rules))):
            return None
        return tuple(row.get(n) for n in self.names)

    def drop(self) -> None:
        self.ev.drop()


def reads_parent_state(group: Group) -> bool:
    return any(r.kind == "parent" and r.name in LIVE_STATE for _wf, rule in group.rules for r in rule.when.refs)


class DayBatch:
    """Every group of `workflows` evaluated as of each of `dates`; build_plan reads a day's rows from it."""

    def __init__(
        self,
        con,
        loaded: LoadedSource,
        catalog: Catalog,
        project: Project,
        workflows: list[Workflow],
        dates: list[date],
    ):
        self.groups: dict[tuple[str, str], GroupDays] = {}
        self.shared = SharedMetrics()
        try:
            if dates:
                self.shared.weeks = truthcheck.stored(con, loaded.schema)
                # the safety facts read blended MER over each rule's window, every day
                metrics = MetricsService(con, loaded, catalog, dates[0], shared=self.shared)
                for window in sorted({r.window for w in workflows for r in w.rules if r.enabled}):
                    metrics.truth_by_day(window, dates)
            for group in group_rules(workflows):
                if not reads_parent_state(group) and dates:
                    self.groups[(group.platform, group.level)] = GroupDays(
                        con, loaded, catalog, project, group, dates, self.shared
                    )
        except BaseException:
            self.close()
            raise

    def covers(self, group: Group) -> GroupDays | None:
        """The group's rows for every date, if this batch evaluated exactly these rules."""
        days = self.groups.get((group.platform, group.level))
        if days is None or [(w.id, r.id) for w, r in days.group.rules] != [(w.id, r.id) for w, r in group.rules]:
            return None
        return days

    def close(self) -> None:
        for g in self.groups.values():
            g.drop()
        self.groups.clear()

    def __enter__(self) -> DayBatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
