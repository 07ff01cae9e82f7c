"""The two storage backends: the same SQL, two dialects.

Queries are written once with `?` placeholders; the PostgreSQL backend turns them into
`%s` (so shared SQL must not contain a literal `?` or `%`). Everything the dialects do
differently lives here: column types, value encoding (JSON, UTC timestamps, dates),
transactions, and the run lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from engine.apply.actionlog.locks import MIGRATION_LOCK_CLASS, advisory_lock, file_lock, schema_key
from engine.apply.actionlog.schema import STRICT_JSON, kind_of
from engine.apply.actionlog.urls import redact_url, scrub_url
from engine.apply.actionlog.values import as_date, dumps, loads, utc, utc_text
from engine.core.errors import RulerunError, StateBusy

SQLITE_BUSY_TIMEOUT = 30.0  # seconds a writer waits for another process's write transaction
PG_CONNECT_TIMEOUT = 10
PG_HINT = (
    "check RULERUN_LOG_URL (postgresql://user:password@host:5432/database) and that the server "
    "is running and accepts connections from this machine"
)


class Backend:
    """What the action log needs from a database; subclasses supply the dialect."""

    name = ""
    types: dict[str, str] = {}
    for_update = ""  # row lock suffix for a read-modify-write inside a transaction
    location = ""  # where the log lives, safe to show (no secret)
    integrity_error: type[Exception] = Exception

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def migration_lock(self) -> None:
        """Serialize concurrent migrations (called inside the migration's transaction)."""

    def run_lock(self, holder: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def encode(self, column: str, value: Any) -> Any:
        """A Python value as stored in `column` (its kind is known by the column's name)."""
        if value is None:
            return None
        kind = kind_of(column)
        if kind == "json":
            return self._json(value, strict=column in STRICT_JSON)
        if kind == "ts":
            return self._ts(utc(value))
        if kind == "date":
            return self._date(as_date(value))
        return value

    def decode(self, column: str, value: Any) -> Any:
        if value is None:
            return None
        kind = kind_of(column)
        if kind == "json":
            return self._from_json(value, column)
        if kind == "ts":
            return self._from_ts(value)
        if kind == "date":
            return self._from_date(value)
        return value

    def rows(self, cursor: Any) -> list[dict[str, Any]]:
        names = [d[0] for d in cursor.description]
        return [{n: self.decode(n, v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]

    # dialect hooks
    def _json(self, value: Any, strict: bool) -> Any:
        return dumps(value, strict=strict)

    def _from_json(self, value: Any, column: str) -> Any:
        return loads(value, column)

    def _ts(self, value: datetime) -> Any:
        return value

    def _from_ts(self, value: Any) -> datetime:
        return utc(value)

    def _date(self, value: date) -> Any:
        return value

    def _from_date(self, value: Any) -> date:
        return as_date(value)


class SqliteBackend(Backend):
    """A file in the state directory; WAL mode so that readers never wait for the writer."""

    name = "sqlite"
    types = {"json": "TEXT", "ts": "TEXT", "date": "TEXT"}
    integrity_error = sqlite3.IntegrityError

    def __init__(self, path: Path):
        self.path = path
        self.location = str(path)
        try:
            # isolation_level=None: autocommit, and explicit BEGIN IMMEDIATE where statements must go together
            self.con = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT, isolation_level=None)
            self._enable_wal()
        except sqlite3.Error as exc:
            raise RulerunError(
                f"cannot open the action log {path}: {exc}", hint="check that the state directory is writable"
            ) from None

    def _enable_wal(self) -> None:
        # Two processes creating the same new log can get "database is locked" at once on this
        # pragma: SQLite's busy handler does not cover that lock transition, so retry briefly.
        from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_random

        for attempt in Retrying(
            retry=retry_if_exception_type(sqlite3.OperationalError),
            stop=stop_after_delay(10),
            wait=wait_random(0.01, 0.1),
            reraise=True,
        ):
            with attempt:
                self.con.execute("PRAGMA journal_mode=WAL")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.con.execute(sql, params)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StateBusy(
                    f"the action log {self.path} stayed locked by another process for {SQLITE_BUSY_TIMEOUT:.0f}s",
                    hint="another rulerun command is writing to it; try again",
                ) from None
            raise

    @contextmanager
    def transaction(self) -> Iterator[None]:
        # IMMEDIATE takes the write lock up front: a read-then-write never fails half-way on a busy database.
        self.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def run_lock(self, holder: str) -> AbstractContextManager[None]:
        return file_lock(self.path.parent / "apply.lock", holder)

    def close(self) -> None:
        self.con.close()

    def _ts(self, value: datetime) -> str:
        return utc_text(value)

    def _date(self, value: date) -> str:
        return value.isoformat()


class PostgresBackend(Backend):
    """A PostgreSQL database: one log for many runners. The URL's search_path picks the schema."""

    name = "postgresql"
    types = {"json": "JSONB", "ts": "TIMESTAMPTZ", "date": "DATE"}
    for_update = " FOR UPDATE"

    def __init__(self, url: str):
        import psycopg

        self.url = url
        self.location = redact_url(url)
        self.integrity_error = psycopg.IntegrityError
        self._psycopg = psycopg
        self._sql: dict[str, str] = {}
        self.con = self.connect()
        self.schema = self.execute("SELECT current_schema()").fetchone()[0]
        if self.schema is None:
            self.close()
            raise RulerunError(
                f"the action log database {self.location} has no schema to create its tables in",
                hint="the search_path names no existing schema: create it, or fix options=-csearch_path=... in the URL",
            )

    def connect(self) -> Any:
        """A new autocommit connection, in UTC. Failures name the redacted URL, never the password."""
        from psycopg.conninfo import conninfo_to_dict

        psycopg = self._psycopg
        try:
            given = conninfo_to_dict(self.url)
            params = {"connect_timeout": PG_CONNECT_TIMEOUT, "application_name": "rulerun", **given}
            con = psycopg.connect(autocommit=True, **params)
            con.execute("SET TIME ZONE 'UTC'")
        except psycopg.Error as exc:
            raise RulerunError(
                f"cannot connect to the action log at {self.location}: {scrub_url(str(exc).strip(), self.url)}",
                hint=PG_HINT,
            ) from None
        return con

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        text = self._sql.get(sql)
        if text is None:
            text = self._sql[sql] = sql.replace("?", "%s")
        try:
            return self.con.execute(text, params)
        except self._psycopg.OperationalError as exc:
            raise RulerunError(
                f"the action log at {self.location} failed: {scrub_url(str(exc).strip(), self.url)}", hint=PG_HINT
            ) from None

    def transaction(self) -> AbstractContextManager[Any]:
        return self.con.transaction()

    def migration_lock(self) -> None:
        self.execute("SELECT pg_advisory_xact_lock(?::int, ?::int)", (MIGRATION_LOCK_CLASS, schema_key(self.schema)))

    def run_lock(self, holder: str) -> AbstractContextManager[None]:
        return advisory_lock(self.connect, self.schema, holder)

    def close(self) -> None:
        self.con.close()

    def _json(self, value: Any, strict: bool) -> Any:
        from psycopg.types.json import Jsonb

        return Jsonb(value, dumps=lambda v: dumps(v, strict=strict))

    def _from_json(self, value: Any, column: str) -> Any:
        return loads(value, column, decoded=True)  # psycopg decodes JSONB; a huge number becomes infinity

    def _from_ts(self, value: Any) -> datetime:
        return value.astimezone(UTC)
