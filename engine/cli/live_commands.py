"""`rulerun sync` and `rulerun connections`: the live platforms of rulerun.yaml."""

from __future__ import annotations

import os
import sys
from datetime import date

from rich.console import Console
from rich.table import Table

from engine.cli.commands import _project, err
from engine.core.errors import RulerunError, UsageError
from engine.core.execution import AdapterError

out = Console(highlight=False, soft_wrap=True)


def _accounts(ws, platform: str | None) -> list:
    accounts = ws.accounts(platform)
    if not accounts:
        raise UsageError(
            "no live accounts configured" + (f" for {platform}" if platform else ""),
            hint="list them under `platforms:` in rulerun.yaml beside the rules folder",
        )
    return accounts


def run_sync(ws, catalog, store, platform: str | None = None, since: date | None = None):
    """Sync the workspace's accounts into `store`, with a progress bar per account on a terminal."""
    from engine.data.sync import sync
    from platforms import live_adapter

    accounts = _accounts(ws, platform)
    ws.load_env()
    concurrency = {a.platform: ws.concurrency(a.platform) for a in accounts}

    def adapter(account):
        return live_adapter(account, catalog)

    if not err.is_terminal:
        return sync(store, catalog, accounts, adapter, since=since, concurrency=concurrency)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("Syncing {task.description}"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
    ) as bar:
        tasks = {
            p: bar.add_task(p, total=sum(1 for a in accounts if a.platform == p))
            for p in sorted({a.platform for a in accounts})
        }
        return sync(
            store,
            catalog,
            accounts,
            adapter,
            since=since,
            concurrency=concurrency,
            progress=lambda done, total, result: bar.advance(tasks[result.platform]),
        )


def sync_command(*, rules, state_dir, platform, since) -> None:
    from engine.data.store import Store

    ws, catalog, _ = _project(rules, state_dir)
    with Store(ws.state_dir) as store:
        report = run_sync(ws, catalog, store, platform, since)
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
    out.print(table)
    out.print(report.line())
    if report.failed:
        sys.exit(1)


def connections_command(*, rules, state_dir) -> None:
    """Each configured platform: its credential variables (present or not, never values), and a live check."""
    from platforms import get_platform, live_adapter

    ws, catalog, _ = _project(rules, state_dir)
    accounts = _accounts(ws, None)
    ws.load_env()
    table = Table(title="Connections", title_justify="left")
    for col in ("platform", "account", "credentials", "check"):
        table.add_column(col, overflow="fold")
    failures = 0
    notes: list[str] = []
    for account in accounts:
        names = get_platform(account.platform).credentials
        present = ", ".join(f"{n} {'set' if os.environ.get(n) else 'MISSING'}" for n in names)
        try:
            adapter = live_adapter(account, catalog)
            adapter.check_credentials()
            check = f"[green]ok[/] ({adapter.check_connection()})"
            try:
                said = adapter.connection_notes()
            except AdapterError as exc:
                said = [f"could not read everything worth noting: {exc.message}"]
            notes += [f"{account.platform} {account.account_id}: {note}" for note in said]
        except AdapterError as exc:
            failures += 1
            check = f"[red]failed[/]: {exc}"
        except RulerunError as exc:
            failures += 1
            check = f"[red]failed[/]: {exc.message}"
        table.add_row(account.platform, account.account_id, present, check)
    out.print(table)
    for note in notes:
        out.print(f"note: {note}", markup=False)
    if failures:
        sys.exit(1)
