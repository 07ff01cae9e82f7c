"""`rulerun truth`: each ad platform's conversions against Shopify orders, week by week, and
the truth metrics (`truth.*`) of the store and of each product over a window.

The numbers are those of engine/data/truthcheck.py (which defines how Shopify orders are
attributed) and of the metrics service (engine/data/metrics.py, what rules read); this
service loads the source, refreshes the stored weekly record when the data changed since it
was written, and picks the weeks to show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.core.catalog import Catalog
from engine.core.errors import UsageError
from engine.core.progress import QUIET, Progress
from engine.data import truthcheck
from engine.data.metrics import MetricsService
from engine.evaluation.dataset import Dataset, open_dataset
from engine.evaluation.evaluate import default_as_of
from engine.language.windows import WINDOW_HINT, window_error
from engine.rules.service import OpenProject

MAX_WEEKS = 520
# the truth metrics shown per product, in the table's order
PRODUCT_COLUMNS = ("orders", "revenue", "new_customers", "ad_spend", "mer", "net_new_cac")


@dataclass
class TruthRow:
    """One ad platform in one week, with its trend and the catalog's seed ratio beside it."""

    week: truthcheck.WeekRatio
    trend: truthcheck.Trend | None
    seed: float


@dataclass
class TruthReport:
    source: str
    as_of: date
    rows: list[TruthRow] = field(default_factory=list)  # oldest week first, platforms by name
    credibility: list[truthcheck.Credibility] = field(default_factory=list)  # what `credibility_ratio` reads
    warnings: list[dict[str, Any]] = field(default_factory=list)  # drift, as in a plan's data_quality
    stored: int | None = None  # weekly rows written to the store; None when the record was current
    window: str = "last_30d"
    store: dict[str, float | None] = field(default_factory=dict)  # truth.* of the store over `window`
    products: dict[str, dict[str, float | None]] = field(default_factory=dict)  # product -> its truth.*


def truth_report(
    opened: OpenProject,
    source: str,
    as_of: date | None = None,
    weeks: int = 4,
    progress: Progress = QUIET,
    window: str = "last_30d",
) -> TruthReport:
    """The last `weeks` complete weeks before `as_of` (default: after the newest data) on `source`,
    and the truth metrics of the store and each product over `window` as of the same date."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise UsageError(f"--weeks {weeks} is out of range", hint=f"show from 1 to {MAX_WEEKS} weeks")
    problem = window_error(window)
    if problem:
        raise UsageError(f"--window {window!r}: {problem}", hint=WINDOW_HINT)
    catalog = opened.catalog
    with open_dataset(opened.workspace, catalog, source, progress) as data:
        as_of = as_of or default_as_of(data.loaded)
        written = _refresh(data, catalog)
        every = truthcheck.weekly(data.con, data.loaded.schema, catalog, as_of)
        metrics = MetricsService(data.con, data.loaded, catalog, as_of)
        store = metrics.truth(window)
        products = {p: metrics.truth(window, p) for p in metrics.products()}
    report = TruthReport(data.loaded.source, as_of, stored=written, window=window)
    report.store = {k: store.get(k) for k in PRODUCT_COLUMNS}
    report.products = {p: {k: v.get(k) for k in PRODUCT_COLUMNS} for p, v in products.items()}
    shown = sorted({w.week_start for w in every})[-weeks:]
    for w in every:
        if w.week_start in shown:
            report.rows.append(TruthRow(w, truthcheck.trend(every, w), catalog.credibility_ratio(w.platform)))
    report.rows.sort(key=lambda r: (r.week.week_start, r.week.platform))
    platforms = sorted({w.platform for w in every})
    report.credibility = [truthcheck.credibility(every, p, as_of, catalog.credibility_ratio(p)) for p in platforms]
    report.warnings = truthcheck.drift_notes(every, platforms, as_of)
    return report


def _refresh(data: Dataset, catalog: Catalog) -> int | None:
    """Write the weekly record when it is missing or differs from the data; the count written, else None.

    Most runs find it current (a load or a sync wrote it), so the store is held for writing
    only when there is something to write.
    """
    schema = data.loaded.schema
    computed = truthcheck.compute(data.con, schema, catalog)
    found = truthcheck.stored(data.con, schema)
    if found is not None and truthcheck.same(found, computed):
        return None
    data.store.close()
    con = data.store.connect()
    con.execute("BEGIN TRANSACTION")
    try:
        written = truthcheck.store(con, schema, computed)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    data.store.read_only()
    return written
