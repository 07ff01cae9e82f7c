"""`rulerun sync` and `rulerun connections` for people: one table row per account."""

from __future__ import annotations

from typing import IO

from rich.table import Table

from engine.data.sync import SyncReport
from engine.evaluation.live import ConnectionsReport
from engine.output import RenderOptions
from engine.output.console import console


def sync_line(report: SyncReport) -> str:
    """`Sync: 2 of 3 account(s), 1,234 metric rows, 12 API calls; 1 failed`."""
    rows = sum(a.rows for a in report.accounts)
    calls = sum(a.api_calls for a in report.accounts)
    ok = len(report.accounts) - len(report.failed)
    text = f"Sync: {ok} of {len(report.accounts)} account(s), {rows:,} metric rows, {calls:,} API calls"
    return text + (f"; {len(report.failed)} failed" if report.failed else "")


def render_sync_warnings(report: SyncReport, err: IO[bytes] | None = None) -> None:
    """Accounts a `--source live` run could not sync, or synced in part: their data may be stale."""
    if not report.failed and not any(r.warnings for r in report.accounts):
        return
    with console(err) as c:
        for r in report.accounts:
            for warning in r.warnings:
                c.print(f"warning: {r.platform} {r.account_id}: {warning}", markup=False)
        for failed in report.failed:
            c.print(
                f"[yellow]warning:[/] sync of {failed.platform} account {failed.account_id} failed: "
                f"{failed.error}; its data may be stale (the freshness guardrail blocks actions on it)"
            )


def products_line(counts: dict[str | None, int]) -> str:
    """`Campaigns by product: bot 3, dot 2; 1 of no product (...)`: what per-product rules will see."""
    named = ", ".join(f"{p} {n:,}" for p, n in sorted((p, n) for p, n in counts.items() if p is not None))
    line = f"Campaigns by product: {named or 'none'}"
    none = counts.get(None, 0)
    if none:
        line += (
            f"; {none:,} of no product (they read the store's truth and default thresholds; "
            "a name starting with a product, e.g. Bot-Prospecting-..., tags one)"
        )
    return line


def render_sync(report: SyncReport, out: IO[bytes], options: RenderOptions) -> None:
    table = Table(title="Sync", title_justify="left")
    for col in ("platform", "account", "days", "entities", "rows", "API calls", "seconds", "result"):
        table.add_column(col)
    for r in report.accounts:
        days = f"{r.date_from}..{r.date_to}" if r.date_from else ""
        table.add_row(
            r.platform,
            r.account_id,
            days,
            str(r.entities),
            f"{r.rows:,}",
            str(r.api_calls),
            f"{r.seconds:.2f}",
            f"[red]{r.error}[/]" if r.error else "ok",
        )
    with console(out) as c:
        c.print(table)
        c.print(sync_line(report))
        if report.products:
            c.print(products_line(report.products), markup=False)
        for r in report.accounts:
            for warning in r.warnings:
                c.print(f"warning: {r.platform} {r.account_id}: {warning}", markup=False)


def render_connections(report: ConnectionsReport, out: IO[bytes], options: RenderOptions) -> None:
    table = Table(title="Connections", title_justify="left")
    for col in ("platform", "account", "credentials", "check"):
        table.add_column(col, overflow="fold")
    for c in report.connections:
        present = ", ".join(f"{n} {'set' if ok else 'MISSING'}" for n, ok in c.credentials)
        check = f"[green]ok[/] ({c.detail})" if c.ok else f"[red]failed[/]: {c.detail}"
        table.add_row(c.platform, c.account_id, present, check)
    with console(out) as con:
        con.print(table)
        for c in report.connections:
            for note in c.notes:
                con.print(f"note: {c.platform} {c.account_id}: {note}", markup=False)
