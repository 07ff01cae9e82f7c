"""The live accounts of rulerun.yaml: syncing them into the metrics store, checking their connections."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from engine.core.catalog import Catalog
from engine.core.errors import RulerunError, UsageError
from engine.core.execution import AdapterError
from engine.core.progress import QUIET, Progress
from engine.data.store import Store
from engine.data.sync import SyncReport, sync
from engine.rules.workspace import Workspace
from platforms import get_platform, live_adapter
from platforms.adapter import Account

if TYPE_CHECKING:
    from platforms.template import LiveAdapter


def live_accounts(ws: Workspace, platform: str | None = None) -> list[Account]:
    """The configured accounts (of one platform); a usage error when there are none."""
    accounts = ws.accounts(platform)
    if not accounts:
        raise UsageError(
            "no live accounts configured" + (f" for {platform}" if platform else ""),
            hint="list them under `platforms:` in rulerun.yaml beside the rules folder",
        )
    return accounts


def sync_into(
    ws: Workspace,
    catalog: Catalog,
    store: Store,
    platform: str | None = None,
    since: date | None = None,
    progress: Progress = QUIET,
) -> SyncReport:
    """Sync the workspace's accounts into `store` (credentials from the environment and `.env`)."""
    accounts = live_accounts(ws, platform)
    ws.load_env()
    concurrency = {a.platform: ws.concurrency(a.platform) for a in accounts}
    totals: dict[str, int] = {}
    for a in accounts:
        totals[a.platform] = totals.get(a.platform, 0) + 1
    with progress.per_key("Syncing", dict(sorted(totals.items()))) as advance:
        return sync(
            store,
            catalog,
            accounts,
            lambda account: live_adapter(account, catalog),
            since=since,
            concurrency=concurrency,
            products=ws.products(),
            progress=lambda done, total, result: advance(result.platform),
        )


def sync_workspace(
    ws: Workspace, catalog: Catalog, platform: str | None = None, since: date | None = None, progress: Progress = QUIET
) -> SyncReport:
    """`rulerun sync`: fill the workspace's metrics store from its live accounts."""
    with Store(ws.state_dir) as store:
        return sync_into(ws, catalog, store, platform, since, progress)


@dataclass
class Connection:
    """One account: which credential variables are set (never their values), and the live check."""

    platform: str
    account_id: str
    credentials: list[tuple[str, bool]]
    ok: bool
    detail: str  # what the check saw (e.g. the account's name), or why it failed
    notes: list[str] = field(default_factory=list)  # what else the platform tells (its own automation, ...)


@dataclass
class ConnectionsReport:
    connections: list[Connection] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(1 for c in self.connections if not c.ok)


def check_connections(ws: Workspace, catalog: Catalog) -> ConnectionsReport:
    """`rulerun connections`: each configured account checked with its cheapest authenticated call."""
    accounts = live_accounts(ws)
    ws.load_env()
    report = ConnectionsReport()
    for account in accounts:
        names = get_platform(account.platform).credentials
        credentials = [(n, bool(os.environ.get(n))) for n in names]
        try:
            adapter = live_adapter(account, catalog)
            adapter.check_credentials()
            ok, detail = True, str(adapter.check_connection())
            notes = _notes(adapter)
        except AdapterError as exc:
            ok, detail, notes = False, str(exc), []
        except RulerunError as exc:
            ok, detail, notes = False, exc.message, []
        report.connections.append(Connection(account.platform, account.account_id, credentials, ok, detail, notes))
    return report


def _notes(adapter: LiveAdapter) -> list[str]:
    """The adapter's notes; failing to read them is a note too, not a failed connection."""
    try:
        return adapter.connection_notes()
    except AdapterError as exc:
        return [f"could not read everything worth noting: {exc.message}"]
