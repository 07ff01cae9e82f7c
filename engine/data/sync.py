"""`rulerun sync`: fill the metrics store from live platforms, incrementally.

For each account in rulerun.yaml it reads only the days not stored yet, plus the
platform's restatement window from the catalog (Meta and Google revise the last 3 days),
up to yesterday in the account's timezone. Accounts are read concurrently (within each
platform's limit); every account's range is written in one transaction that replaces
that range, so a failure leaves no partial rows for it and the other accounts still land.

Each account is read once: the adapter retries each of its API calls (each page) under the
retry policy (engine/core/retry.py), so a read resumes at the page that failed. An account
whose read still fails is reported failed; the next sync reads its range again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.core.catalog import KEY_COLUMNS, Catalog
from engine.core.execution import AdapterError
from engine.data import truthcheck
from engine.data.products import campaign_products, known_products, tag_products
from engine.data.rows import insert_rows
from engine.data.sources import SourceInfo
from engine.data.store import LoadedSource, Store
from engine.language.sql import quote_ident

if TYPE_CHECKING:
    import duckdb

LIVE_SCHEMA = "live"
INITIAL_DAYS = 90  # a new account's first sync reads this much history
SYNC_TABLE = "_rulerun_sync"


@dataclass
class AccountResult:
    platform: str
    account_id: str
    date_from: date | None = None
    date_to: date | None = None
    entities: int = 0
    rows: int = 0
    api_calls: int = 0
    seconds: float = 0.0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class SyncReport:
    accounts: list[AccountResult] = field(default_factory=list)
    # live ad campaigns per product (None: of none) once products are known; empty otherwise
    products: dict[str | None, int] = field(default_factory=dict)

    @property
    def failed(self) -> list[AccountResult]:
        return [a for a in self.accounts if a.error]


def ensure_live_tables(con, catalog: Catalog) -> None:
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{LIVE_SCHEMA}"')
    for table, columns in (("entities", catalog.entity_columns()), ("metrics_daily", catalog.metric_columns())):
        cols = ", ".join(f"{quote_ident(name)} {typ}" for name, typ in columns)
        con.execute(f'CREATE TABLE IF NOT EXISTS "{LIVE_SCHEMA}"."{table}" ({cols})')
    con.execute(f"""CREATE TABLE IF NOT EXISTS {SYNC_TABLE} (platform VARCHAR, account_id VARCHAR,
        last_date DATE, synced_at TIMESTAMP, PRIMARY KEY (platform, account_id))""")


def yesterday_in(tz: str, today: date | None = None) -> date:
    """The last complete day in the account's timezone."""
    if today is not None:
        return today - timedelta(days=1)
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.now(zone).date() - timedelta(days=1)


def plan_range(con, catalog: Catalog, account, since: date | None, today: date | None) -> tuple[date, date]:
    """Days to read: from --since, else the stored days minus the restatement window, else a backfill."""
    until = yesterday_in(account.timezone, today)
    if since is not None:
        return since, until
    row = con.execute(
        f"SELECT last_date FROM {SYNC_TABLE} WHERE platform = ? AND account_id = ?",
        [account.platform, account.account_id],
    ).fetchone()
    restate = catalog.sources[account.platform].restatement_days if account.platform in catalog.sources else 0
    if row and row[0] is not None:
        # the days not stored yet, plus the last `restate` stored days the platform may still revise
        return row[0] + timedelta(days=1) - timedelta(days=restate), until
    return until - timedelta(days=INITIAL_DAYS - 1), until


def _store_account(con, catalog: Catalog, account, fetched, date_from: date, date_to: date) -> None:
    """Replace the account's entities and its metric rows in [date_from, date_to], atomically."""
    con.execute("BEGIN TRANSACTION")
    try:
        key = [account.platform, account.account_id]
        con.execute(f'DELETE FROM "{LIVE_SCHEMA}".entities WHERE platform = ? AND account_id = ?', key)
        kept = tuple(getattr(fetched, "kept_levels", ()))
        # levels the read left out (a report over its quota) keep the rows stored before
        keep = f" AND level NOT IN ({', '.join('?' for _ in kept)})" if kept else ""
        con.execute(
            f'DELETE FROM "{LIVE_SCHEMA}".metrics_daily WHERE platform = ? AND account_id = ? '
            "AND date >= ? AND date <= ?" + keep,
            [*key, date_from, date_to, *kept],
        )
        for table, columns, rows in (
            ("entities", catalog.entity_columns(), fetched.entities),
            ("metrics_daily", catalog.metric_columns(), fetched.metrics),
        ):
            insert_rows(con, f'"{LIVE_SCHEMA}".{table}', columns, ([r.get(c) for c, _ in columns] for r in rows))
        con.execute(f"INSERT OR REPLACE INTO {SYNC_TABLE} VALUES (?, ?, ?, current_timestamp)", [*key, date_to])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _json_value(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot store a {type(value).__name__} in the metrics store")


def sync(
    store: Store,
    catalog: Catalog,
    accounts: list,
    adapter_for,
    *,
    since: date | None = None,
    today: date | None = None,
    concurrency: dict[str, int] | None = None,
    progress=None,
    products: Sequence[str] | None = None,
) -> SyncReport:
    """Read every account (concurrently per platform) and store each one all-or-nothing.

    Once one has landed, the ad platforms' entities get their product (`products`: the known
    products, else the truth source's product handles; engine/data/products.py) and the weekly
    truth check is computed again.
    """
    con = store.connect()
    ensure_live_tables(con, catalog)
    report = SyncReport()
    ranges = {(a.platform, a.account_id): plan_range(con, catalog, a, since, today) for a in accounts}
    limits = {a.platform: (concurrency or {}).get(a.platform, 4) for a in accounts}
    # each platform reads at most its own number of accounts at once (its rate limit), platforms in parallel
    gates = {p: threading.Semaphore(n) for p, n in limits.items()}
    workers = max(1, sum(limits.values()))

    def read(account) -> tuple[Any, AccountResult]:
        date_from, date_to = ranges[(account.platform, account.account_id)]
        result = AccountResult(account.platform, account.account_id, date_from, date_to)
        with gates[account.platform]:
            t0 = time.perf_counter()
            try:
                fetched = adapter_for(account).fetch(date_from, date_to)
            except AdapterError as exc:
                result.error = str(exc)
                return None, result
            finally:
                result.seconds = time.perf_counter() - t0
        return fetched, result

    # Reads run in threads; the store is written from this thread only (one DuckDB writer).
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(read, a) for a in accounts]
        by_key = {(a.platform, a.account_id): a for a in accounts}
        for done, future in enumerate(as_completed(futures), 1):
            fetched, result = future.result()
            key = (result.platform, result.account_id)
            date_from, date_to = ranges[key]
            if fetched is not None:
                _validate(fetched, result, date_from, date_to)
            if fetched is not None and result.error is None:
                _store_account(con, catalog, by_key[key], fetched, date_from, date_to)
                result.entities, result.rows, result.api_calls = (
                    len(fetched.entities),
                    len(fetched.metrics),
                    fetched.api_calls,
                )
                result.warnings = list(getattr(fetched, "warnings", []))
            report.accounts.append(result)
            if progress:
                progress(done, len(accounts), result)
    report.accounts.sort(key=lambda r: (r.platform, r.account_id))
    if any(not r.error for r in report.accounts):
        tag_products(con, LIVE_SCHEMA, catalog, products)
        if known_products(con, LIVE_SCHEMA, catalog, products):
            report.products = campaign_products(con, LIVE_SCHEMA, catalog)
        store_truth_weeks(con, catalog)
    return report


def store_truth_weeks(con, catalog: Catalog) -> None:
    """Recompute the weekly truth check over the synced data (restated days included) and store it."""
    con.execute("BEGIN TRANSACTION")
    try:
        truthcheck.store(con, LIVE_SCHEMA, truthcheck.compute(con, LIVE_SCHEMA, catalog))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _validate(fetched, result: AccountResult, date_from: date, date_to: date) -> None:
    """A response the catalog cannot store is the adapter's failure, never half a range."""
    for row in fetched.metrics:
        missing = [k for k in ("date", *KEY_COLUMNS) if row.get(k) in (None, "")]
        if missing or row.get("platform") != result.platform or row.get("account_id") != result.account_id:
            result.error = f"malformed metrics row from the platform (missing {', '.join(missing) or 'account'})"
            return
        d = row["date"]
        if isinstance(d, str):  # adapters may pass the API's ISO strings through
            try:
                d = row["date"] = date.fromisoformat(d[:10])
            except ValueError:
                result.error = f"malformed metrics row: date {d!r}"
                return
        if not isinstance(d, date) or not (date_from <= d <= date_to):
            result.error = f"metrics row dated {d!r} outside the requested {date_from}..{date_to}"
            return


def load_live(store: Store, catalog: Catalog) -> LoadedSource:
    """The synced data as a loaded source (schema `live`)."""
    con = store.connect()
    ensure_live_tables(con, catalog)
    lo, hi, n = _one_row(con, f'SELECT min(date), max(date), count(*) FROM "{LIVE_SCHEMA}".metrics_daily')
    (entities,) = _one_row(con, f'SELECT count(*) FROM "{LIVE_SCHEMA}".entities')
    info = SourceInfo(frozenset(catalog.additive), lo, hi, entities, n)
    return LoadedSource(LIVE_SCHEMA, "live", info, reused=True)


def _one_row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """The one row an aggregate query returns."""
    row = con.execute(sql).fetchone()
    if row is None:  # an aggregate without GROUP BY always returns a row
        raise RuntimeError(f"no row from {sql}")
    return row
