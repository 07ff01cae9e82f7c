"""`rulerun truth`: the weekly table of platform conversions against Shopify orders, and its JSON."""

from __future__ import annotations

from typing import IO, Any

import orjson
from rich.markup import escape
from rich.table import Table

from engine.data import truthcheck
from engine.evaluation.truth import PRODUCT_COLUMNS, TruthReport, TruthRow
from engine.output import RenderOptions
from engine.output.console import console

ATTRIBUTION = "Shopify orders split over the ad platforms by their share of campaign-level ad spend"


def _num(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def render_text(report: TruthReport, out: IO[bytes], options: RenderOptions) -> None:
    table = Table(
        title=f"Truth check as of {report.as_of.isoformat()} · source {report.source}",
        title_justify="left",
        caption=f"Shopify orders attributed: {ATTRIBUTION}; ratio = platform conversions / attributed orders",
        caption_justify="left",
    )
    for col, justify in (
        ("week", "left"),
        ("platform", "left"),
        ("platform conversions", "right"),
        ("Shopify orders attributed", "right"),
        ("ratio", "right"),
        ("seed", "right"),
        ("trend (vs previous 4 weeks)", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in report.rows:
        w = row.week
        table.add_row(
            w.week,
            w.platform,
            _num(w.conversions),
            _num(w.attributed_orders, 1),
            _num(w.ratio, 2),
            f"{row.seed:g}",
            truthcheck.describe_trend(row.trend),
        )
    with console(out) as c:
        if report.rows:
            c.print(table)
        else:
            c.print(f"No complete week of ad platform data before {report.as_of.isoformat()} in {report.source}.")
        for cred in report.credibility:
            why = cred.reason if cred.live else f"no live ratio: {cred.reason}"
            c.print(f"credibility_ratio of {cred.platform}: {cred.describe()}; {escape(why)}")
        for note in report.warnings:
            c.print(f"[yellow]warning:[/] {escape(note['message'])}")
        if report.stored is not None:
            c.print(f"Stored {report.stored:,} weekly row(s) in the metrics store.")
        if report.store.get("revenue") is not None or report.products:
            c.print(_products_table(report))


_HEADINGS = {
    "orders": ("orders", 0),
    "revenue": ("revenue", 2),
    "new_customers": ("new customers", 0),
    "ad_spend": ("ad spend", 2),
    "mer": ("MER", 2),
    "net_new_cac": ("Net New CAC", 2),
}


def _products_table(report: TruthReport) -> Table:
    """truth.* over the report's window: the store's, then each product's (what its entities read)."""
    table = Table(
        title=f"Truth over {report.window} (truth.* in rules)",
        title_justify="left",
        caption="A product's row (the store's products some entity promotes) is what an entity with that "
        "`product` reads: its orders, revenue (line items after discounts) and new customers against the spend "
        "of the entities tagged with it; any other entity reads the store's.",
        caption_justify="left",
    )
    table.add_column("product", justify="left")
    for key in PRODUCT_COLUMNS:
        table.add_column(_HEADINGS[key][0], justify="right")
    for name, values in [("store (all)", report.store), *sorted(report.products.items())]:
        table.add_row(escape(name), *(_num(values.get(k), _HEADINGS[k][1]) for k in PRODUCT_COLUMNS))
    return table


def _row(row: TruthRow) -> dict[str, Any]:
    w, t = row.week, row.trend
    return {
        "week": w.week,
        "week_start": w.week_start.isoformat(),
        "platform": w.platform,
        "platform_conversions": w.conversions,
        "spend": w.spend,
        "total_ad_spend": w.total_spend,
        "shopify_orders": w.shopify_orders,
        "shopify_orders_attributed": w.attributed_orders,
        "ratio": w.ratio,
        "seed": row.seed,
        "trend": None if t is None else {"mean_previous_4_weeks": t.mean, "change": t.change, "drift": t.drift},
    }


def render_json(report: TruthReport, out: IO[bytes], options: RenderOptions) -> None:
    doc = {
        "source": report.source,
        "as_of": report.as_of.isoformat(),
        "attribution": "spend_share",
        "weeks": [_row(r) for r in report.rows],
        "credibility_ratio": [
            {
                "platform": c.platform,
                "value": c.value,
                "source": "live" if c.live else "catalog_seed",
                "week": c.week,
                "reason": c.reason,
            }
            for c in report.credibility
        ],
        "warnings": report.warnings,
        "stored": report.stored,
        "truth": {"window": report.window, "store": report.store, "products": report.products},
    }
    out.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
