"""Truth checks: each ad platform's reported conversions against Shopify orders, per ISO week.

Platforms over-report conversions (view-through, modelled and cross-device conversions,
several platforms claiming the same order). The catalog carries a seed over-reporting ratio
per platform (`credibility_ratio` in `platforms/<name>/catalog.yaml`); this module measures
it on the data, week by week, so that rules read the live ratio.

What is compared, per ad platform and ISO week (Monday to Sunday):

- **platform conversions**: the sum of `conversions` over the platform's campaign-level
  rows (the rows `truth.*` takes ad spend from, so no conversion is counted at two levels);
- **Shopify orders attributed**: the week's Shopify orders (the store's own rows, level
  `account`, of every `truth: true` source) split over the ad platforms by their share of
  the week's campaign-level ad spend:
  `orders x platform spend / total ad spend`. Shopify does not record which platform sold
  an order (its catalog lists `ad_attribution` as missing), so spend share is the simplest
  split that needs nothing more than the data every source has. It hands organic and
  email orders to the ad platforms too, so the ratio is a blended, conservative measure of
  over-reporting: it tracks change well (a tracking break moves it at once), and its level
  is a lower bound of the true over-reporting;
- **ratio**: platform conversions / Shopify orders attributed. It is null when the platform
  reported no conversions, had no spend, or the week's Shopify orders are not known for
  all 7 days.

A week counts when it lies wholly inside the data's dates and ends before the evaluation
date; the ratio `credibility_ratio` reads is the one of the latest such week with Shopify
orders for all 7 days, when that week ended at most 14 days before the evaluation date,
else the catalog seed (`credibility`). The trend compares a week's ratio with the mean of
the 4 weeks before it; a move of more than 25% is drift (`drift`).

The weekly rows are stored in the source's schema as `truth_weekly` when a source is loaded,
after a live sync and by `rulerun truth`; a store without the table (a source loaded by an
older rulerun, the data of a rule test) gets them computed from `metrics_daily`, which gives
the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from engine.core.catalog import Catalog
from engine.data.rows import insert_rows
from engine.language.sql import quote_ident, sql_literal

TABLE = "truth_weekly"
TREND_WEEKS = 4  # the trend compares a week with the mean of this many weeks before it
DRIFT = 0.25  # a ratio that moved more than this fraction against that mean is drift
MAX_AGE_DAYS = 14  # a live ratio older than this (the week's end before the evaluation date) is not used

COLUMNS: tuple[tuple[str, str], ...] = (
    ("week_start", "DATE"),
    ("week", "VARCHAR"),
    ("platform", "VARCHAR"),
    ("conversions", "DOUBLE"),
    ("spend", "DOUBLE"),
    ("total_spend", "DOUBLE"),
    ("shopify_orders", "DOUBLE"),
    ("shopify_days", "INTEGER"),
    ("attributed_orders", "DOUBLE"),
    ("ratio", "DOUBLE"),
    ("computed_at", "TIMESTAMP"),
)


def iso_week(day: date) -> str:
    """`2026-W43`: the ISO week of a day."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class WeekRatio:
    """One ad platform in one ISO week: its conversions against the Shopify orders attributed to it."""

    week_start: date  # the Monday
    platform: str
    conversions: float | None  # platform-reported, campaign level; null when the platform reports none
    spend: float
    total_spend: float  # every ad platform's campaign-level spend that week
    shopify_orders: float | None  # null unless Shopify has rows for all 7 days of the week
    shopify_days: int
    attributed_orders: float | None
    ratio: float | None

    @property
    def week(self) -> str:
        return iso_week(self.week_start)

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)


def attribute(
    orders: float | None, spend: Mapping[str, float], conversions: Mapping[str, float | None]
) -> dict[str, tuple[float | None, float | None]]:
    """Split `orders` over the platforms by spend share: platform -> (attributed orders, ratio).

    The attributed orders add up to `orders` whenever any platform spent; a ratio needs
    conversions and attributed orders above zero, and is finite.
    """
    total = sum(max(s, 0.0) for s in spend.values())
    usable = orders is not None and math.isfinite(orders) and 0 < total < math.inf
    out: dict[str, tuple[float | None, float | None]] = {}
    for platform in sorted(set(spend) | set(conversions)):
        share = max(spend.get(platform, 0.0), 0.0) / total if usable else None  # in [0, 1]
        attributed = orders * share if orders is not None and share is not None else None
        conv = conversions.get(platform)
        ratio = None
        if conv is not None and conv > 0 and attributed is not None and attributed > 0:
            ratio = conv / attributed
            if not (math.isfinite(ratio) and ratio > 0):  # beyond what a float measures: no ratio
                ratio = None
        out[platform] = (attributed, ratio)
    return out


def compute(con: Any, schema: str, catalog: Catalog, before: date | None = None) -> list[WeekRatio]:
    """Every ad platform's weekly ratio over the weeks that lie wholly inside the data (and end before `before`)."""
    daily = f"{quote_ident(schema)}.metrics_daily"
    ad_platforms = sorted(s.name for s in catalog.sources.values() if s.type == "ad_platform")
    truth_sources = sorted(s.name for s in catalog.sources.values() if s.truth)
    cut = f"WHERE date < DATE '{before.isoformat()}'" if before else ""
    bounds = con.execute(f"SELECT min(date), max(date) FROM {daily} {cut}").fetchone()
    if bounds is None or bounds[0] is None:
        return []
    first, last = bounds
    ads = ", ".join(sql_literal(p) for p in ad_platforms) or "NULL"
    truth = ", ".join(sql_literal(p) for p in truth_sources) or "NULL"
    rows = con.execute(f"""
        SELECT CAST(date_trunc('week', date) AS DATE) AS week_start, platform,
               sum(conversions), sum(spend), sum(orders), count(DISTINCT date)
        FROM {daily}
        WHERE ((platform IN ({ads}) AND level = 'campaign') OR (platform IN ({truth}) AND level = 'account'))
          AND date >= DATE '{first.isoformat()}' AND date <= DATE '{last.isoformat()}'
        GROUP BY ALL""").fetchall()
    weeks: dict[date, dict[str, tuple]] = {}
    for week_start, platform, conv, spend, orders, days in rows:
        weeks.setdefault(week_start, {})[platform] = (conv, spend, orders, days)
    out: list[WeekRatio] = []
    for week_start in sorted(weeks):
        if week_start < first or week_start + timedelta(days=6) > last:
            continue  # a week the data covers only in part
        found = weeks[week_start]
        truth_rows = [found[p] for p in truth_sources if p in found]
        shopify_days = max((r[3] for r in truth_rows), default=0)
        known = [r[2] for r in truth_rows if r[2] is not None]
        orders = float(sum(known)) if known and shopify_days == 7 else None
        present = [p for p in ad_platforms if p in found and (found[p][0] is not None or found[p][1] is not None)]
        spend = {p: float(found[p][1] or 0.0) for p in present}
        conversions = {p: None if found[p][0] is None else float(found[p][0]) for p in present}
        split = attribute(orders, spend, conversions)
        total = sum(max(s, 0.0) for s in spend.values())
        for p in present:
            attributed, ratio = split[p]
            row = WeekRatio(week_start, p, conversions[p], spend[p], total, orders, shopify_days, attributed, ratio)
            out.append(row)
    return out


# -- the stored record -------------------------------------------------------------------------


def store(con: Any, schema: str, weeks: Iterable[WeekRatio]) -> int:
    """Replace the schema's `truth_weekly` rows with `weeks` (call inside the caller's transaction
    to make it atomic with the data it was computed from); returns the count."""
    table = f"{quote_ident(schema)}.{quote_ident(TABLE)}"
    definitions = ", ".join(f"{quote_ident(n)} {t}" for n, t in COLUMNS)
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({definitions})")
    con.execute(f"DELETE FROM {table}")
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat(sep=" ")  # UTC
    rows = (
        [
            w.week_start,
            w.week,
            w.platform,
            w.conversions,
            w.spend,
            w.total_spend,
            w.shopify_orders,
            w.shopify_days,
            w.attributed_orders,
            w.ratio,
            now,
        ]
        for w in weeks
    )
    return insert_rows(con, table, COLUMNS, rows)


def stored(con: Any, schema: str, before: date | None = None) -> list[WeekRatio] | None:
    """The stored weekly rows (those ending before `before`), or None when the schema has no record."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", [schema, TABLE]
    ).fetchone()[0]
    if not exists:
        return None
    table = f"{quote_ident(schema)}.{quote_ident(TABLE)}"
    cut = f"WHERE week_start + INTERVAL 6 DAY < DATE '{before.isoformat()}'" if before else ""
    rows = con.execute(f"""
        SELECT week_start, platform, conversions, spend, total_spend, shopify_orders, shopify_days,
               attributed_orders, ratio
        FROM {table} {cut} ORDER BY week_start, platform""").fetchall()
    return [WeekRatio(*row) for row in rows]


def same(a: Sequence[WeekRatio], b: Sequence[WeekRatio]) -> bool:
    """Whether two sets of weekly rows say the same; sums of doubles differ in their last bits
    with the order they were added in, so numbers are equal within a relative 1e-9."""

    def close(x: Any, y: Any) -> bool:
        if isinstance(x, float) or isinstance(y, float):
            return x is not None and y is not None and math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
        return x == y

    return len(a) == len(b) and all(
        close(getattr(x, f), getattr(y, f)) for x, y in zip(a, b, strict=True) for f in WeekRatio.__dataclass_fields__
    )


def weekly(con: Any, schema: str, catalog: Catalog, before: date | None = None) -> list[WeekRatio]:
    """The weekly rows ending before `before`: the stored record, else computed from the daily rows."""
    found = stored(con, schema, before)
    return found if found is not None else compute(con, schema, catalog, before)


# -- what rules read ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Trend:
    """A week's ratio against the mean of the `TREND_WEEKS` weeks before it."""

    mean: float
    change: float  # ratio / mean - 1

    @property
    def drift(self) -> bool:
        return abs(self.change) > DRIFT


def trend(weeks: Sequence[WeekRatio], row: WeekRatio) -> Trend | None:
    """`row`'s trend, or None unless each of the `TREND_WEEKS` weeks before it has a ratio."""
    if row.ratio is None:
        return None
    ratios = {w.week_start: w.ratio for w in weeks if w.platform == row.platform}
    previous = [ratios.get(row.week_start - timedelta(weeks=k)) for k in range(1, TREND_WEEKS + 1)]
    if any(r is None for r in previous):
        return None
    mean = sum(r for r in previous if r is not None) / TREND_WEEKS
    return Trend(mean, row.ratio / mean - 1) if mean > 0 else None


@dataclass(frozen=True)
class Credibility:
    """The `credibility_ratio` of one platform for one evaluation: the live ratio or the catalog seed."""

    platform: str
    value: float
    live: bool
    week: str | None  # the week the live ratio is of (or the week that lacked one)
    reason: str  # for the seed: why no live ratio; for a live ratio: the numbers behind it
    row: WeekRatio | None = None

    def describe(self) -> str:
        """`live 1.42 (week 2026-W47)` or `catalog seed 1.3`."""
        if self.live:
            return f"live {self.value:.2f} (week {self.week})"
        return f"catalog seed {self.value:g}"


def latest_week(weeks: Sequence[WeekRatio], as_of: date) -> date | None:
    """The Monday of the latest week before `as_of` with Shopify orders for all 7 days, if recent enough."""
    starts = [w.week_start for w in weeks if w.shopify_orders is not None and w.week_end < as_of]
    if not starts:
        return None
    newest = max(starts)
    return newest if (as_of - (newest + timedelta(days=6))).days <= MAX_AGE_DAYS else None


def credibility(weeks: Sequence[WeekRatio], platform: str, as_of: date, seed: float) -> Credibility:
    """The ratio `credibility_ratio` reads for `platform` as of `as_of` (see the module docstring)."""
    week = latest_week(weeks, as_of)
    if week is None:
        if any(w.shopify_orders is not None for w in weeks):
            why = f"no complete week of Shopify orders in the {MAX_AGE_DAYS} days before {as_of.isoformat()}"
        elif any(w.shopify_days for w in weeks):
            why = f"no week with Shopify orders on all 7 days before {as_of.isoformat()}"
        else:
            why = f"no Shopify orders in the data before {as_of.isoformat()}"
        return Credibility(platform, seed, False, None, why)
    label = iso_week(week)
    row = next((w for w in weeks if w.platform == platform and w.week_start == week), None)
    if row is None:
        return Credibility(platform, seed, False, label, f"{platform} has no campaign-level rows in week {label}")
    if row.ratio is None:
        if not row.spend:
            why = f"{platform} had no ad spend in week {label}"
        else:
            why = f"{platform} reported no conversions in week {label}"
        return Credibility(platform, seed, False, label, why, row)
    detail = (
        f"{row.conversions:,.0f} platform conversions vs {row.attributed_orders:,.1f} Shopify orders "
        f"attributed by spend share"
    )
    return Credibility(platform, row.ratio, True, label, detail, row)


def describe_trend(t: Trend | None) -> str:
    """`+46% vs 0.39 (drift)`, `-3% vs 1.08`, or `n/a` when the 4 weeks before lack a ratio."""
    if t is None:
        return "n/a"
    return f"{round(t.change * 100):+d}% vs {t.mean:.2f}" + (" (drift)" if t.drift else "")


# -- what the plan says ------------------------------------------------------------------------


def credibility_note(c: Credibility) -> dict[str, Any]:
    """The plan's `data_quality` entry saying which `credibility_ratio` a platform's rules read."""
    why = c.reason if c.live else f"no live ratio: {c.reason}"
    return {
        "severity": "info",
        "kind": "credibility_ratio",
        "platform": c.platform,
        "source": "live" if c.live else "catalog_seed",
        "value": round(c.value, 4),
        "week": c.week,
        "message": f"credibility_ratio of {c.platform}: {c.describe()}; {why}",
    }


def drift_notes(weeks: Sequence[WeekRatio], platforms: Iterable[str], as_of: date) -> list[dict[str, Any]]:
    """A `data_quality` warning for each platform whose ratio in the latest complete week moved more
    than 25% against the mean of the 4 weeks before it (its conversion tracking or its share changed)."""
    week = latest_week(weeks, as_of)
    if week is None:
        return []
    notes = []
    for platform in sorted(set(platforms)):
        row = next((w for w in weeks if w.platform == platform and w.week_start == week), None)
        t = trend(weeks, row) if row is not None else None
        if row is None or t is None or not t.drift or row.ratio is None:
            continue
        notes.append(
            {
                "severity": "warning",
                "kind": "credibility_drift",
                "platform": platform,
                "week": row.week,
                "value": round(row.ratio, 4),
                "mean": round(t.mean, 4),
                "change": round(t.change, 4),
                "message": f"{platform} conversions against Shopify orders moved {round(t.change * 100):+d}% in week "
                f"{row.week} (ratio {row.ratio:.2f} vs {t.mean:.2f}, the mean of the {TREND_WEEKS} weeks before): "
                f"check its conversion tracking before trusting its conversions (rulerun truth)",
            }
        )
    return notes
