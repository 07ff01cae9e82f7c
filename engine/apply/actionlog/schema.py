"""The action log's tables, as a numbered list of migrations shared by both backends.

Later releases append migrations and never edit a published one. Statements name their
column types through three placeholders that each backend fills in: `{json}` (TEXT
holding JSON in SQLite, JSONB in PostgreSQL), `{ts}` (ISO-8601 UTC text in SQLite,
TIMESTAMPTZ in PostgreSQL) and `{date}` (ISO text in SQLite, DATE in PostgreSQL). A
statement that the dialects cannot share is a dict keyed by backend name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.apply.actionlog.approvals import approval_digest


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str | dict[str, str], ...]
    # Python run after the statements, in the same transaction, with the backend: fills new
    # columns whose values SQL cannot compute on both dialects (a SHA-256 digest).
    backfill: Callable[[Any], None] | None = None


MIGRATIONS_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at {ts} NOT NULL
)"""


def _approval_digests(db: Any) -> None:
    # Approvals given before approvals carried a digest: the log is trusted as it stands at upgrade.
    rows = db.rows(db.execute("SELECT * FROM actions_log WHERE approval_by IS NOT NULL"))
    for row in rows:
        db.execute(
            "UPDATE actions_log SET approval_digest = ? WHERE action_id = ?", (approval_digest(row), row["action_id"])
        )


MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "runs, actions_log, experiments, control, locks",
        (
            """CREATE TABLE IF NOT EXISTS runs (
                run_id TEXT PRIMARY KEY,
                started_at {ts} NOT NULL,
                finished_at {ts},
                mode TEXT NOT NULL,
                source TEXT,
                as_of {date},
                rules_digest TEXT,
                git_commit TEXT,
                executed_by TEXT,
                status TEXT NOT NULL,
                summary {json}
            )""",
            """CREATE TABLE IF NOT EXISTS actions_log (
                action_id TEXT PRIMARY KEY,
                run_id TEXT,
                workflow TEXT,
                rule_id TEXT,
                platform TEXT NOT NULL,
                account_id TEXT,
                level TEXT,
                entity_id TEXT,
                entity_name TEXT,
                action_type TEXT NOT NULL,
                payload {json} NOT NULL,
                evidence {json},
                guardrails {json},
                reasons {json},
                status TEXT NOT NULL,
                status_reason TEXT,
                executed_at {ts},
                executed_by TEXT,
                result {json},
                error_message TEXT,
                rollback_plan {json},
                rolled_back_at {ts},
                rolled_back_by TEXT,
                rollback_of TEXT,
                attempts INTEGER NOT NULL DEFAULT 0,
                approval_by TEXT,
                approval_at {ts},
                approval_note TEXT,
                expires_at {ts},
                created_at {ts} NOT NULL,
                updated_at {ts} NOT NULL,
                measurement_checkpoints {json}
            )""",
            "CREATE INDEX IF NOT EXISTS actions_log_status ON actions_log (status, executed_at)",
            "CREATE INDEX IF NOT EXISTS actions_log_updated ON actions_log (updated_at)",
            "CREATE INDEX IF NOT EXISTS actions_log_run ON actions_log (run_id)",
            """CREATE INDEX IF NOT EXISTS actions_log_entity
                ON actions_log (platform, account_id, entity_id, action_type)""",
            """CREATE TABLE IF NOT EXISTS experiments (
                experiment_id TEXT PRIMARY KEY,
                type TEXT NOT NULL,
                entity_id TEXT NOT NULL,
                variants {json} NOT NULL,
                primary_metric TEXT NOT NULL,
                started_at {ts},
                minimum_runtime_days INTEGER,
                stop_rules {json},
                guardrails {json},
                status TEXT,
                winner TEXT,
                results {json}
            )""",
            """CREATE TABLE IF NOT EXISTS control (
                key TEXT PRIMARY KEY,
                value {json},
                updated_at {ts} NOT NULL,
                updated_by TEXT
            )""",
            # Informational only (PostgreSQL run lock): who holds it; the advisory lock is the lock.
            """CREATE TABLE IF NOT EXISTS locks (
                name TEXT PRIMARY KEY,
                holder TEXT,
                pid INTEGER,
                host TEXT,
                backend_pid INTEGER,
                acquired_at {ts}
            )""",
        ),
    ),
    Migration(
        2,
        "saved_plans; the approved payload's digest; the saved plan a run applied",
        (
            # One row per plan saved by `evaluate --out`: what apply checks a plan file against.
            """CREATE TABLE IF NOT EXISTS saved_plans (
                plan_id TEXT PRIMARY KEY,
                digest TEXT NOT NULL,
                saved_at {ts} NOT NULL,
                saved_by TEXT,
                source TEXT NOT NULL,
                as_of {date} NOT NULL,
                rules_digest TEXT NOT NULL,
                git_commit TEXT,
                workflows {json} NOT NULL,
                field_digests {json} NOT NULL,
                action_digests {json} NOT NULL
            )""",
            "ALTER TABLE actions_log ADD COLUMN approval_digest TEXT",
            "ALTER TABLE runs ADD COLUMN plan_id TEXT",
        ),
        backfill=_approval_digests,
    ),
]


# How values of a column are stored, by column name (names are unique in meaning across tables).
JSON_COLUMNS = frozenset(
    {
        "summary",
        "payload",
        "evidence",
        "guardrails",
        "reasons",
        "result",
        "rollback_plan",
        "measurement_checkpoints",
        "variants",
        "stop_rules",
        "results",
        "value",
        "workflows",
        "field_digests",
        "action_digests",
    }
)
# What an action changes, and the record of a saved plan: a non-finite number is refused, never nulled.
STRICT_JSON = frozenset({"payload", "workflows", "field_digests", "action_digests"})
TS_COLUMNS = frozenset(
    {
        "started_at",
        "finished_at",
        "executed_at",
        "rolled_back_at",
        "approval_at",
        "expires_at",
        "created_at",
        "updated_at",
        "applied_at",
        "acquired_at",
        "saved_at",
    }
)
DATE_COLUMNS = frozenset({"as_of"})


def kind_of(column: str) -> str | None:
    if column in JSON_COLUMNS:
        return "json"
    if column in TS_COLUMNS:
        return "ts"
    if column in DATE_COLUMNS:
        return "date"
    return None
