"""The action log: what `rulerun apply` did, does, and must never do twice.

Where it lives
    By default an SQLite file, `<state_dir>/actions.sqlite` (the state directory is created
    when needed). A team shares one log across machines by pointing RULERUN_LOG_URL at
    PostgreSQL: `postgresql://user:password@host:5432/database`; the tables go into the
    first schema of the connection's search_path (choose one with
    `?options=-csearch_path%3Dmyschema`). Both backends have the same tables and the same
    numbered migrations, applied automatically when the log is opened. The password of a
    URL is never shown: messages name the URL as `postgresql://user:***@host/db`.

Tables
    `runs` (one row per apply or rollback), `actions_log` (one row per action id, the
    plan's stable idempotency key, with its payload, evidence, guardrails, status, outcome,
    rollback plan, approval and impact checkpoints), `control` (the emergency stop),
    `experiments` (reserved), `locks` (who holds the PostgreSQL run lock) and
    `schema_migrations`. Timestamps are UTC; JSON columns are TEXT in SQLite and JSONB in
    PostgreSQL, so the log can be queried with plain SQL.

Statuses
    The plan's statuses (planned, clamped, blocked, needs_approval, skipped, executed,
    failed, approved, rejected, expired, rolled_back) plus `executing`: the intent to
    execute is recorded, the outcome is not (yet). After a crash those rows are "in doubt"
    and the next apply settles them by reading the live state.

Guarantees
    An action is executed at most once: claiming it is one atomic compare-and-set, so of
    any number of concurrent runners exactly one wins. One apply or rollback runs at a
    time per log (the run lock, released by the operating system or the server when its
    process dies, even when killed). A human decision on an approval is never overwritten
    by a later run, and a pending approval keeps its expiry when re-queued.
"""

from __future__ import annotations

from pathlib import Path

from engine.apply.actionlog.backends import Backend, PostgresBackend, SqliteBackend
from engine.apply.actionlog.log import ActionLog
from engine.apply.actionlog.migrate import migrate
from engine.apply.actionlog.states import ACTION_STATUSES, CHECKPOINT_DAYS, EXECUTING
from engine.apply.actionlog.urls import is_postgres, redact_url, scrub_url
from engine.core.errors import RulerunError

LOG_FILE = "actions.sqlite"

__all__ = ["ACTION_STATUSES", "CHECKPOINT_DAYS", "EXECUTING", "LOG_FILE", "ActionLog", "open_log", "redact_url"]


def open_log(url: str | None, state_dir: Path) -> ActionLog:
    """Open (and migrate) the action log: PostgreSQL for a `postgresql://` URL, otherwise
    SQLite in `state_dir`. Raises RulerunError, with a hint and the redacted URL, when the
    log cannot be opened."""
    if url:
        if not is_postgres(url):
            raise RulerunError(
                f"unsupported action log URL {redact_url(url)}",
                hint="use postgresql://user:password@host:5432/database, or unset RULERUN_LOG_URL "
                "for the SQLite log in the state directory",
            )
        db: Backend = PostgresBackend(url)
    else:
        state_dir = Path(state_dir)
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RulerunError(
                f"cannot create the state directory {state_dir}: {exc.strerror}",
                hint="pass --state-dir (or RULERUN_STATE_DIR) pointing at a writable directory",
            ) from None
        db = SqliteBackend(state_dir / LOG_FILE)
    try:
        migrate(db)
    except RulerunError:
        db.close()
        raise
    except Exception as exc:
        db.close()
        message = scrub_url(str(exc), url) if url else str(exc)
        raise RulerunError(
            f"cannot prepare the action log at {db.location}: {message}",
            hint="the database user needs permission to create tables in its schema",
        ) from None
    return ActionLog(db)
