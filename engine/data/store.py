"""The metrics store: an embedded DuckDB file in the state directory.

Each source is materialized into its own schema inside one transaction, and reused
while its fingerprint is unchanged. A source that fails validation leaves nothing
behind: the transaction rolls back, and a state directory or database file created
for the attempt is removed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from engine.core.errors import RulerunError, StateBusy
from engine.data import truthcheck
from engine.data.sources import Source, SourceInfo
from engine.language.sql import quote_ident

if TYPE_CHECKING:
    import duckdb

    from engine.core.catalog import Catalog

DB_NAME = "metrics.duckdb"
META = "_rulerun_sources"


@dataclass
class LoadedSource:
    schema: str
    source: str
    info: SourceInfo
    reused: bool

    def table(self, name: str) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(name)}"


class Store:
    def __init__(self, state_dir: Path, memory_limit: str | None = None, threads: int | None = None):
        self.state_dir = state_dir
        self.path = state_dir / DB_NAME
        self.memory_limit = memory_limit or os.environ.get("RULERUN_MEMORY_LIMIT", "1GB")
        self.threads = threads
        self.con: duckdb.DuckDBPyConnection | None = None
        self._created: list[Path] = []

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """The store's connection, opened if needed: writable (one process at a time), or
        read-only (any number of processes at once, while none holds it writable)."""
        if self.con is not None:
            return self.con
        import duckdb

        if not read_only:
            if not self.state_dir.exists():
                self.state_dir.mkdir(parents=True)
                self._created.append(self.state_dir)
            elif not self.path.exists():
                self._created.append(self.path)
        config = {"memory_limit": self.memory_limit, "temp_directory": str(self.state_dir / "duckdb.tmp")}
        if self.threads:
            config["threads"] = self.threads
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            self._forget_created()
            if "lock" in str(exc).lower():
                raise StateBusy(
                    f"the state directory {self.state_dir} is in use by another rulerun process"
                    + (" that is loading data into it" if read_only else ""),
                    hint="wait for it to finish, or use --state-dir for a separate store",
                ) from None
            raise RulerunError(
                f"cannot open the metrics store {self.path}: {exc}",
                hint="delete the state directory to rebuild it from the sources",
            ) from None
        if not read_only:
            self.con.execute(f"""CREATE TABLE IF NOT EXISTS {META} (
                schema_name VARCHAR PRIMARY KEY, source VARCHAR, fingerprint VARCHAR, info JSON,
                loaded_at TIMESTAMP DEFAULT current_timestamp)""")
        return self.con

    def read_only(self) -> duckdb.DuckDBPyConnection:
        """Close a writable connection and reopen read-only, so that other processes can read
        the store while this one evaluates and executes (CI and cron overlap)."""
        self.close()
        return self.connect(read_only=True)

    def _reusable(self, schema: str, described: str, fingerprint: str) -> LoadedSource | None:
        """The source as already stored, looked up through a read-only connection (kept open)."""
        import duckdb

        if self.con is None:
            if not self.path.exists():
                return None
            self.connect(read_only=True)
        try:
            row = self.con.execute(f"SELECT fingerprint, info FROM {META} WHERE schema_name = ?", [schema]).fetchone()
        except duckdb.CatalogException:  # a store created but never loaded
            row = None
        if row and row[0] == fingerprint:
            self._created.clear()
            return LoadedSource(schema, described, _info_from_json(row[1]), reused=True)
        self.close()
        return None

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    def _forget_created(self) -> None:
        for path in reversed(self._created):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                for suffix in ("", ".wal"):
                    Path(str(path) + suffix).unlink(missing_ok=True)
        self._created.clear()

    def load(self, source: Source, catalog: Catalog) -> LoadedSource:
        """Materialize `source` (or reuse it when unchanged); all-or-nothing. The store is
        left open read-only: writing holds it for the load alone."""
        described = source.describe()
        schema = "src_" + hashlib.sha256(described.encode()).hexdigest()[:12]
        fingerprint = source.fingerprint()
        reused = self._reusable(schema, described, fingerprint)
        if reused is not None:
            return reused
        con = self.connect()
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE")
            con.execute(f"CREATE SCHEMA {quote_ident(schema)}")
            info = source.materialize(con, schema, catalog)
            # the weekly truth check is part of the load: stored with the data it comes from
            truthcheck.store(con, schema, truthcheck.compute(con, schema, catalog))
            con.execute(f"DELETE FROM {META} WHERE schema_name = ?", [schema])
            con.execute(
                f"INSERT INTO {META} (schema_name, source, fingerprint, info) VALUES (?, ?, ?, ?)",
                [schema, described, fingerprint, _info_to_json(info)],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            if self._created:
                self.close()
                self._forget_created()
            raise
        self._created.clear()
        self.read_only()
        return LoadedSource(schema, described, info, reused=False)


def _info_to_json(info: SourceInfo) -> str:
    return json.dumps(
        {
            "present_metrics": sorted(info.present_metrics),
            "min_date": info.min_date.isoformat() if info.min_date else None,
            "max_date": info.max_date.isoformat() if info.max_date else None,
            "entity_rows": info.entity_rows,
            "metric_rows": info.metric_rows,
            "data_quality": info.data_quality,
        }
    )


def _info_from_json(text: str) -> SourceInfo:
    d = json.loads(text)
    return SourceInfo(
        present_metrics=frozenset(d["present_metrics"]),
        min_date=date.fromisoformat(d["min_date"]) if d["min_date"] else None,
        max_date=date.fromisoformat(d["max_date"]) if d["max_date"] else None,
        entity_rows=d["entity_rows"],
        metric_rows=d["metric_rows"],
        data_quality=d["data_quality"],
    )
