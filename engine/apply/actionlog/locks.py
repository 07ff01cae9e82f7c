"""The run lock: one `apply` (or `rollback`) at a time per action log.

SQLite: an exclusive `flock` on `<state_dir>/apply.lock`. PostgreSQL: a session-level
advisory lock held on a dedicated connection, keyed by the log's schema, so it holds
across machines. Either way the operating system or the server releases the lock when
its process dies, even on SIGKILL: a crash never leaves a stale lock behind. The
holder's name, pid and host are written beside the lock (into the lock file, or the
`locks` table) only to tell a waiting user who is running.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from engine.apply.actionlog.values import now, utc_text
from engine.core.errors import StateBusy

LOCK_NAME = "apply"
# Advisory lock keys: (class, per-schema key). The class is 'rule' in ASCII.
RUN_LOCK_CLASS = 0x72756C65
MIGRATION_LOCK_CLASS = RUN_LOCK_CLASS + 1
BUSY_HINT = "wait for it to finish; if that process died, the lock is already free: run the command again"


def schema_key(schema: str) -> int:
    """The advisory lock's second key for a schema: stable, and a positive int4."""
    return zlib.crc32(schema.encode()) & 0x7FFFFFFF


def _holder_info(holder: str) -> dict[str, Any]:
    return {"holder": holder, "pid": os.getpid(), "host": socket.gethostname(), "acquired_at": utc_text(now())}


def busy_message(info: dict[str, Any] | None) -> str:
    if not info or not info.get("holder"):
        return "another rulerun apply or rollback is running on this action log"
    where = f"pid {info.get('pid')} on {info.get('host')}" if info.get("pid") else "another process"
    since = f" since {info['acquired_at']}" if info.get("acquired_at") else ""
    return f"another rulerun apply or rollback is running on this action log: {info['holder']} ({where}{since})"


@contextmanager
def file_lock(path: Path, holder: str) -> Iterator[None]:
    """Hold an exclusive, non-blocking flock on `path`; StateBusy if another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateBusy(busy_message(_read_info(fd)), hint=BUSY_HINT) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(_holder_info(holder)).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _read_info(fd: int) -> dict[str, Any] | None:
    try:
        return json.loads(os.pread(fd, 4096, 0) or b"null")
    except ValueError:
        return None  # the holder is between taking the lock and writing its name


@contextmanager
def advisory_lock(connect: Callable[[], Any], schema: str, holder: str) -> Iterator[None]:
    """Hold a PostgreSQL session advisory lock on a dedicated connection for the duration."""
    key = schema_key(schema)
    con = connect()
    try:
        got = con.execute("SELECT pg_try_advisory_lock(%s::int, %s::int)", (RUN_LOCK_CLASS, key)).fetchone()[0]
        if not got:
            raise StateBusy(busy_message(_pg_holder(con, key)), hint=BUSY_HINT)
        info = _holder_info(holder)
        con.execute(
            "INSERT INTO locks (name, holder, pid, host, backend_pid, acquired_at) "
            "VALUES (%s, %s, %s, %s, pg_backend_pid(), now()) ON CONFLICT (name) DO UPDATE SET "
            "holder = excluded.holder, pid = excluded.pid, host = excluded.host, "
            "backend_pid = excluded.backend_pid, acquired_at = excluded.acquired_at",
            (LOCK_NAME, info["holder"], info["pid"], info["host"]),
        )
        try:
            yield
        finally:
            # If the connection broke, the server has already released the lock with the session.
            with suppress(Exception):
                con.execute("DELETE FROM locks WHERE name = %s AND backend_pid = pg_backend_pid()", (LOCK_NAME,))
                con.execute("SELECT pg_advisory_unlock(%s::int, %s::int)", (RUN_LOCK_CLASS, key))
    finally:
        con.close()


def _pg_holder(con: Any, key: int) -> dict[str, Any] | None:
    # Trust the `locks` row only if its backend really holds the lock now (a crashed holder's row stays behind).
    row = con.execute(
        "SELECT l.holder, l.pid, l.host, l.acquired_at FROM pg_locks p JOIN locks l ON l.backend_pid = p.pid "
        "WHERE p.locktype = 'advisory' AND p.granted AND p.classid::bigint = %s AND p.objid::bigint = %s "
        "AND p.objsubid = 2 AND l.name = %s",
        (RUN_LOCK_CLASS, key, LOCK_NAME),
    ).fetchone()
    if row is None:
        return None
    return {"holder": row[0], "pid": row[1], "host": row[2], "acquired_at": utc_text(row[3]) if row[3] else None}
