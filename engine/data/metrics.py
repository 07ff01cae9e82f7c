"""The metrics service: catalog metrics over any window, for any set of entities.

Additive metrics are sums of the daily rows in a window; derived metrics are the catalog's
formulas over those sums (ratios of sums, never restated in code); truth metrics are the
Shopify sums against total ad spend. All windowed SQL of rulerun is written here:

- `sums_query`: one scan of `metrics_daily` summing every (metric, window) pair asked for
  with FILTER clauses, grouped by entity. The batch evaluator runs one per (platform,
  level) over every entity;
- `values`: the same scan for a few entities, with derived metrics computed from it
  (the pre-execution re-check, impact checkpoints);
- `truth`: the truth metrics of a window, the store's or one product's (`products`).

A window is a name (`last_7d`, `prev:last_7d`, `lifetime`; see engine/language/windows.py)
or an explicit date range. Additive sums are 0.0 for an entity without rows in the window
and null when the source does not report the metric at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.core.catalog import KEY_COLUMNS, Catalog
from engine.data import truthcheck
from engine.data.entities import live_entities
from engine.data.store import LoadedSource
from engine.language.expr import Expr, ExprError, Ref, Type, compile_expr
from engine.language.expr.reference import evaluate as reference_evaluate
from engine.language.sql import quote_ident, sql_literal
from engine.language.windows import Range, date_range

# The Shopify columns truth metrics are sums of; `ad_spend` is the spend of the ad platforms.
TRUTH_METRICS = ("revenue", "orders", "new_customers", "sessions", "net_revenue")
AD_SPEND = "ad_spend"
# The Shopify sums its product rows hold too: with the spend of the entities promoting a
# product, they make that product's truth (its MER, its Net New CAC); Shopify reports no
# sessions or net revenue per product.
PRODUCT_TRUTH = ("revenue", "orders", "new_customers")
# Ad spend is read from one level per account, the first of these it reports in the window:
# each level holds the same money again, so summing two would count it twice.
SPEND_LEVELS = ("campaign", "ad_group", "ad", "account")
CREDIBILITY_RATIO = "credibility_ratio"  # the one builtin catalog formulas may use

Window = str | Range
EntityKeyTuple = tuple[str, str, str, str]  # platform, account_id, level, entity_id


class _FormulaScope:
    """Names inside catalog formulas: additive metrics of one window, and builtins."""

    def __init__(self, catalog: Catalog, window: str, kind: str = "metric"):
        self.catalog, self.window, self.kind = catalog, window, kind

    def resolve(self, parts: tuple[str, ...], offset: int) -> Ref:
        name = ".".join(parts)
        if name == CREDIBILITY_RATIO:
            return Ref("builtin", name, Type.NUM)
        if self.kind == "truth":
            return Ref("truthsum", name, Type.NUM, window=self.window)
        if name in self.catalog.metrics and self.catalog.metrics[name].kind == "additive":
            if self.kind == "account":
                return account_sum(name, self.window)
            return Ref("metric", name, Type.NUM, window=self.window)
        raise ExprError(f"catalog formula uses unknown metric {name!r}", offset)


def account_sum(metric: str, window: str) -> Ref:
    """An additive metric summed over the entity's whole account (its level, one window): `account.<metric>`."""
    return Ref("accountsum", metric, Type.NUM, window=window)


def date_condition(rng: Range) -> str:
    end = f"date < DATE '{rng.end.isoformat()}'"
    return end if rng.start is None else f"date >= DATE '{rng.start.isoformat()}' AND {end}"


def in_list(values: Iterable[Any]) -> str:
    return ", ".join(sql_literal(v) for v in values) or "NULL"


@dataclass
class SharedMetrics:
    """What evaluations as of many dates can share (a backtest's days): catalog formulas, which do
    not depend on the date, and truth metrics per (date, window), computed for all dates at once."""

    formulas: dict[tuple[str, str, str], Expr] = field(default_factory=dict)
    truth: dict[tuple[date, str], dict[str, float | None]] = field(default_factory=dict)
    truth_sums: dict[tuple[date, str], dict[str, float | None]] = field(default_factory=dict)
    # per product (MetricsService.products), truth metrics per (date, window): product -> values
    product_truth: dict[tuple[date, str], dict[str, dict[str, float | None]]] = field(default_factory=dict)
    products: list[str] | None = None
    # the source's stored weekly truth record, read once: as of a date, the weeks that end before it
    weeks: list[truthcheck.WeekRatio] | None = None


class MetricsService:
    """Catalog metrics of one loaded source as of one date.

    `overrides` are live entity states that differ from the source (the demo sandbox's
    changes after `apply`): `entities` is the relation that shows them.
    """

    def __init__(
        self,
        con,
        loaded: LoadedSource,
        catalog: Catalog,
        as_of: date,
        overrides: list[dict] | None = None,
        shared: SharedMetrics | None = None,
    ):
        self.con = con
        self.loaded = loaded
        self.catalog = catalog
        self.as_of = as_of
        self.overrides = overrides or []
        self.entities = live_entities(con, loaded, catalog, self.overrides)
        self.daily = loaded.table("metrics_daily")
        self.shared = shared or SharedMetrics()
        self._formulas = self.shared.formulas
        self._truth: dict[str, dict[str, float | None]] = {}
        self._truth_sums: dict[str, dict[str, float | None]] = {}
        self._ranges: dict[str, Range] = {}
        self._weeks: list[truthcheck.WeekRatio] | None = None
        self.credibility_used: dict[str, truthcheck.Credibility] = {}  # platform -> the ratio rules read

    # -- windows and formulas ------------------------------------------------------------------
    def present(self, metric: str) -> bool:
        """Whether the source reports this additive metric at all."""
        return metric in self.loaded.info.present_metrics

    def window_key(self, window: Window) -> str:
        """The name of a window: itself, or a stable name for an explicit range."""
        if isinstance(window, str):
            return window
        key = f"range:{window.start}:{window.end}"
        self._ranges[key] = window
        return key

    def range(self, window: str) -> Range:
        return self._ranges.get(window) or date_range(window, self.as_of)

    def formula(self, name: str, window: str, kind: str = "metric") -> Expr:
        """The catalog formula of a derived (or truth) metric, its names bound to `window`."""
        key = (kind, name, window)
        if key not in self._formulas:
            source = self.catalog.truth[name].formula if kind == "truth" else self.catalog.metrics[name].formula
            self._formulas[key] = compile_expr(str(source), _FormulaScope(self.catalog, window, kind))
        return self._formulas[key]

    def additive_inputs(self, ref: Ref) -> list[Ref]:
        """The additive (window, metric) refs behind a metric ref (account sums behind an account ref)."""
        metric = self.catalog.metrics[ref.name]
        if ref.kind == "account":
            if metric.kind == "additive":
                return [account_sum(ref.name, ref.window or "")]
            return [r for r in self.formula(ref.name, ref.window or "", "account").refs if r.kind == "accountsum"]
        if metric.kind == "additive":
            return [ref]
        expr = self.formula(ref.name, ref.window or "")
        return [r for r in expr.refs if r.kind == "metric"]

    # -- the windowed scan ---------------------------------------------------------------------
    def sums_query(
        self,
        sums: Mapping[str, tuple[str, str]],
        where: Iterable[str] = (),
        per: Sequence[str] = KEY_COLUMNS,
        days: Sequence[date] | None = None,
    ) -> str | None:
        """One scan summing each `label -> (additive metric, window)` per entity (or per the
        columns `per`, e.g. platform and account), or None when the source reports none of the metrics.

        The scan reads only the days of the widest window; metrics the source does not
        report are left out (the caller treats them as null). With `days`, the windows are
        taken as of each of those dates in the same scan, and each row has its date in `_as_of`.
        """
        if days is not None:
            return self._sums_by_day(sums, list(where), per, days)
        ranges = {window: self.range(window) for _, window in sums.values()}
        columns = [
            f"sum({metric}) FILTER (WHERE {date_condition(ranges[window])}) AS {quote_ident(label)}"
            for label, (metric, window) in sums.items()
            if self.present(metric)
        ]
        if not columns:
            return None
        bounds = list(where)
        starts = [rng.start for rng in ranges.values()]
        known = [s for s in starts if s is not None]
        if known and len(known) == len(starts):  # no lifetime window: the scan starts at the earliest day
            bounds.append(f"date >= DATE '{min(known).isoformat()}'")
        if ranges:
            bounds.append(f"date < DATE '{max(r.end for r in ranges.values()).isoformat()}'")
        keys = ", ".join(per)
        return (
            f"SELECT {keys}, {', '.join(columns)} FROM {self.daily} "
            + (f"WHERE {' AND '.join(bounds)} " if bounds else "")
            + f"GROUP BY {keys}"
        )

    def _sums_by_day(
        self, sums: Mapping[str, tuple[str, str]], where: list[str], per: Sequence[str], days: Sequence[date]
    ) -> str | None:
        """`sums_query` as of each of `days`: the daily rows joined to the days whose windows hold them."""
        present = {label: spec for label, spec in sums.items() if self.present(spec[0])}
        if not present or not days:
            return None
        windows = sorted({window for _, window in present.values()})
        slot = {window: i for i, window in enumerate(windows)}
        values = []
        for day in days:
            ranges = [date_range(window, day) for window in windows]
            starts = [r.start or date.min for r in ranges]
            bounds = [min(starts), max(r.end for r in ranges)]
            cells = [*bounds, *(d for r, s in zip(ranges, starts, strict=True) for d in (s, r.end))]
            values.append("(" + ", ".join(f"DATE '{d.isoformat()}'" for d in (day, *cells)) + ")")
        names = ["_as_of", "_lo", "_hi", *(f"{b}{i}" for i in range(len(windows)) for b in ("_s", "_e"))]
        columns = [
            f"sum(m.{metric}) FILTER (WHERE m.date >= d._s{slot[window]} AND m.date < d._e{slot[window]}) "
            f"AS {quote_ident(label)}"
            for label, (metric, window) in present.items()
        ]
        keys = ", ".join(f"m.{k}" for k in per)
        return (
            f"SELECT d._as_of, {keys}, {', '.join(columns)} FROM {self.daily} m "
            f"JOIN (VALUES {', '.join(values)}) AS d({', '.join(names)}) ON m.date >= d._lo AND m.date < d._hi "
            + (f"WHERE {' AND '.join(where)} " if where else "")
            + f"GROUP BY d._as_of, {keys}"
        )

    def values(
        self, keys: Iterable[EntityKeyTuple], metrics: Mapping[str, tuple[str, Window]]
    ) -> dict[EntityKeyTuple, dict[str, float | None]]:
        """For each entity, each `label -> (metric, window)`: additive sums and derived formulas."""
        keys = list(dict.fromkeys(keys))
        wanted = {label: (name, self.window_key(window)) for label, (name, window) in metrics.items()}
        refs = {label: Ref("metric", name, Type.NUM, window=window) for label, (name, window) in wanted.items()}
        additive = {inner.key: inner for ref in refs.values() for inner in self.additive_inputs(ref)}
        rows: dict[EntityKeyTuple, dict[str, Any]] = {}
        query = self.sums_query({k: (r.name, r.window or "") for k, r in additive.items()}, [_key_filter(keys)])
        if query is not None and keys:
            cursor = self.con.execute(query)
            names = [d[0] for d in cursor.description]
            for row in cursor.fetchall():
                record = dict(zip(names, row, strict=True))
                rows[tuple(record[c] for c in KEY_COLUMNS)] = record
        out = {}
        for key in keys:
            found = rows.get(key, {})
            sums = {k: (_float(found.get(k)) or 0.0) if self.present(r.name) else None for k, r in additive.items()}
            out[key] = {label: self._value(ref, sums, key[0]) for label, ref in refs.items()}
        return out

    def _value(self, ref: Ref, sums: Mapping[str, float | None], platform: str) -> float | None:
        if self.catalog.metrics[ref.name].kind == "additive":
            return sums[ref.key]
        expr = self.formula(ref.name, ref.window or "")
        values = {r.key: sums[r.key] if r.kind == "metric" else self.credibility_ratio(platform) for r in expr.refs}
        return reference_evaluate(expr, values, {"as_of": self.as_of})

    # -- credibility -------------------------------------------------------------------------
    def truth_weeks(self) -> list[truthcheck.WeekRatio]:
        """Each ad platform's weekly conversions against Shopify orders, weeks ending before the as-of date."""
        if self._weeks is None:
            if self.shared.weeks is not None:  # what truthcheck.stored(before=as_of) reads
                self._weeks = [w for w in self.shared.weeks if w.week_end < self.as_of]
            else:
                self._weeks = truthcheck.weekly(self.con, self.loaded.schema, self.catalog, self.as_of)
        return self._weeks

    def credibility(self, platform: str) -> truthcheck.Credibility:
        """The platform's `credibility_ratio`: the live ratio of the latest complete week, else the
        catalog seed; remembered in `credibility_used` so the plan can say which one rules read."""
        if platform not in self.credibility_used:
            self.credibility_used[platform] = truthcheck.credibility(
                self.truth_weeks(), platform, self.as_of, self.catalog.credibility_ratio(platform)
            )
        return self.credibility_used[platform]

    def credibility_ratio(self, platform: str) -> float:
        return self.credibility(platform).value

    # -- truth ---------------------------------------------------------------------------------
    def truth(self, window: str, product: str | None = None) -> dict[str, float | None]:
        """Truth metrics over a window: Shopify against total ad spend (see `ad_spend_query`).

        With `product`, one of `products()`: that product's orders, revenue and new customers
        against the spend of the entities promoting it (`product_sums`); the store's otherwise.
        """
        key = (self.as_of, window)
        if window not in self._truth:
            if key not in self.shared.truth:
                cond = date_condition(self.range(window))
                row = self.con.execute(f"SELECT {', '.join(self._shopify_sums(cond))} FROM {self.daily}").fetchone()
                sums = dict(zip(TRUTH_METRICS, row, strict=True))
                spend = self.con.execute(self.ad_spend_query(cond)).fetchone() if self.present("spend") else None
                sums[AD_SPEND] = spend[0] if spend else None
                self._keep_truth(key, sums)
            self._truth[window] = self.shared.truth[key]
            self._truth_sums[window] = self.shared.truth_sums[key]
        if product is not None and product in self.products():
            if key not in self.shared.product_truth:  # computed on the first read of a product's
                self._keep_product_truth(key, self.product_sums(date_condition(self.range(window))))
            return self.shared.product_truth[key][product]
        return self._truth[window]

    def products(self) -> list[str]:
        """The products with truth of their own: the `product` of the truth source's product entities
        (Shopify's handles: bot, dot, board) that some other entity promotes. An entity of another
        product, or of none, reads the store's."""
        if self.shared.products is None:
            truth_sources = in_list(s.name for s in self.catalog.sources.values() if s.truth)
            entities = self.loaded.table("entities")
            self.shared.products = [
                row[0]
                for row in self.con.execute(
                    f"SELECT DISTINCT product FROM {entities} WHERE platform IN ({truth_sources}) "
                    "AND level = 'product' AND product IS NOT NULL AND product IN "
                    f"(SELECT product FROM {entities} WHERE platform NOT IN ({truth_sources})) ORDER BY product"
                ).fetchall()
            ]
        return self.shared.products

    def product_sums(self, cond: str, days_join: str | None = None) -> dict[tuple[Any, ...], dict[str, Any]]:
        """Per product (per date `d._as_of` and product with `days_join`): the Shopify sums of its
        product rows (PRODUCT_TRUTH) and the ad spend of the entities with that `product`."""
        truth_sources = [s.name for s in self.catalog.sources.values() if s.truth]
        day = "d._as_of, " if days_join else ""
        columns = [f"sum(m.{m})" if self.present(m) else "NULL" for m in PRODUCT_TRUTH]
        rows = self.con.execute(
            f"SELECT {day}e.product, {', '.join(columns)} FROM {self.daily} m {days_join or ''} "
            f"JOIN {self.loaded.table('entities')} e ON {_same_entity('e', 'm')} "
            f"WHERE m.platform IN ({in_list(truth_sources)}) AND m.level = 'product' "
            f"AND e.product IN ({in_list(self.products())}) AND {cond} GROUP BY ALL"
        ).fetchall()
        sums: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in rows:
            n = len(row) - len(PRODUCT_TRUTH)
            sums[tuple(row[:n])] = dict(zip(PRODUCT_TRUTH, row[n:], strict=True))
        if self.present("spend"):
            for row in self.con.execute(self.ad_spend_query(cond, days_join, by_product=True)).fetchall():
                sums.setdefault(tuple(row[:-1]), {})[AD_SPEND] = row[-1]
        return sums

    def truth_by_day(self, window: str, days: Sequence[date], products: bool = False) -> None:
        """Truth metrics over `window` as of each of `days`, in one scan each for Shopify and ad
        spend, into the shared values (what `truth` as of each day computes); with `products`,
        each product's too (one scan more for each)."""
        if not days:
            return
        rows = []
        for day in days:
            rng = date_range(window, day)
            rows.append(f"(DATE '{day}', DATE '{rng.start or date.min}', DATE '{rng.end}')")
        days_sql = f"(VALUES {', '.join(rows)}) AS d(_as_of, _s, _e)"
        join = f"JOIN {days_sql} ON m.date >= d._s AND m.date < d._e"
        if any((day, window) not in self.shared.truth for day in days):
            shopify = {
                row[0]: row[1:]
                for row in self.con.execute(
                    f"SELECT d._as_of, {', '.join(self._shopify_sums('TRUE'))} FROM {self.daily} m {join} "
                    "GROUP BY d._as_of"
                ).fetchall()
            }
            spend = (
                dict(self.con.execute(self.ad_spend_query("TRUE", join)).fetchall()) if self.present("spend") else {}
            )
            for day in days:
                sums = dict(zip(TRUTH_METRICS, shopify.get(day, (None,) * len(TRUTH_METRICS)), strict=True))
                sums[AD_SPEND] = spend.get(day)
                self._keep_truth((day, window), sums)
        if products and self.products():
            by_day: dict[date, dict[tuple[Any, ...], dict[str, Any]]] = {day: {} for day in days}
            for (day, product), values in self.product_sums("TRUE", join).items():
                by_day[day][(product,)] = values
            for day in days:
                self._keep_product_truth((day, window), by_day[day])

    def _shopify_sums(self, cond: str) -> list[str]:
        """The Shopify sums truth formulas read (TRUTH_METRICS) over the rows where `cond` holds."""
        truth_sources = [s.name for s in self.catalog.sources.values() if s.truth]
        return [
            # the store's own rows: its product and discount rows split the same orders again
            f"sum({m}) FILTER (WHERE platform IN ({in_list(truth_sources)}) AND level = 'account' AND {cond})"
            if self.present(m)
            else "NULL"
            for m in TRUTH_METRICS
        ]

    def _keep_truth(self, key: tuple[date, str], sums: dict[str, Any]) -> None:
        self.shared.truth_sums[key] = {k: _float(v) for k, v in sums.items()}
        self.shared.truth[key] = self._truth_values(key[1], sums)

    def _keep_product_truth(self, key: tuple[date, str], sums: Mapping[tuple[Any, ...], Mapping[str, Any]]) -> None:
        """Each product's truth from its sums (PRODUCT_TRUTH and ad spend; 0 for a product without
        orders or spend in the window). A sum the store does not know (no Shopify rows, no ad
        spend in the window) stays unknown for every product, and the sums Shopify does not
        report per product (sessions, net revenue) are unknown."""
        store = self.shared.truth_sums[key]
        values = {}
        for product in self.products():
            own = sums.get((product,), {})
            mixed: dict[str, Any] = dict.fromkeys(store)
            for name in (*PRODUCT_TRUTH, AD_SPEND):
                mixed[name] = None if store.get(name) is None else (own.get(name) or 0.0)
            values[product] = self._truth_values(key[1], mixed)
        self.shared.product_truth[key] = values

    def _truth_values(self, window: str, sums: Mapping[str, Any]) -> dict[str, float | None]:
        values = {}
        for name in self.catalog.truth:
            expr = self.formula(name, window, "truth")
            values[name] = reference_evaluate(expr, {r.key: _float(sums.get(r.name)) for r in expr.refs}, {})
        return values

    def ad_spend_query(self, cond: str, days_join: str | None = None, by_product: bool = False) -> str:
        """Total ad spend over the days of `cond`, each account's at the first of SPEND_LEVELS it reports.

        An account that reports only ad groups (or only account totals) still counts, and one
        that reports campaigns and their ad groups counts once. With `days_join` (a join of the
        daily rows `m` to dates `d`), one total per date `d._as_of`. With `by_product`, one total
        per product of `products()` (first, the date): the spend of the entities with that
        `product`, each account's at the first level where it tags one.
        """
        ad_platforms = [s.name for s in self.catalog.sources.values() if s.type == "ad_platform"]
        rank = " ".join(f"WHEN {sql_literal(level)} THEN {i}" for i, level in enumerate(SPEND_LEVELS))
        inner = (["d._as_of"] if days_join else []) + (["e.product"] if by_product else [])
        outer = "".join(k.partition(".")[2] + ", " for k in inner)  # `_as_of, product, ` of the outer queries
        products = (
            f"JOIN {self.loaded.table('entities')} e ON {_same_entity('e', 'm')} "
            f"AND e.product IN ({in_list(self.products())}) "
            if by_product
            else ""
        )
        return (
            "WITH per_level AS ("
            f"SELECT {''.join(k + ', ' for k in inner)}m.platform, m.account_id, m.level, sum(m.spend) AS spend "
            f"FROM {self.daily} m {days_join or ''} {products}"
            f"WHERE m.platform IN ({in_list(ad_platforms)}) AND m.level IN ({in_list(SPEND_LEVELS)}) "
            f"AND m.spend IS NOT NULL AND {cond} GROUP BY ALL), "
            f"ranked AS (SELECT {outer}spend, row_number() OVER "
            f"(PARTITION BY {outer}platform, account_id ORDER BY CASE level {rank} END) AS n FROM per_level) "
            f"SELECT {outer}sum(spend) FROM ranked WHERE n = 1" + (f" GROUP BY {outer.rstrip(', ')}" if outer else "")
        )

    def mer_unknown_reason(self, window: str) -> str | None:
        """Why blended MER over `window` cannot be computed, or None when it can."""
        if self.truth(window).get("mer") is not None:
            return None
        sums = self._truth_sums[window]
        if sums.get("revenue") is None:
            return "no Shopify revenue in the window"
        if not sums.get(AD_SPEND):
            return "no ad spend in the window"
        return "its value is not a finite number"


def _same_entity(a: str, b: str) -> str:
    return " AND ".join(f"{a}.{c} = {b}.{c}" for c in KEY_COLUMNS)


def _key_filter(keys: list[EntityKeyTuple]) -> str:
    """Rows of these entities only: equalities for one (pushed into the scan), a semi-join for more."""
    if len(keys) == 1:
        return " AND ".join(f"{c} = {sql_literal(v)}" for c, v in zip(KEY_COLUMNS, keys[0], strict=True))
    listed = ", ".join("(" + ", ".join(sql_literal(v) for v in key) + ")" for key in keys) or "(NULL, NULL, NULL, NULL)"
    return f"({', '.join(KEY_COLUMNS)}) IN (VALUES {listed})"


def _float(v: Any) -> float | None:
    return None if v is None else float(v)
