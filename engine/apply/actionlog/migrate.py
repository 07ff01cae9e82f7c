"""Bring an action log's tables up to date, safely when several processes open it at once."""

from __future__ import annotations

from engine.apply.actionlog.backends import Backend
from engine.apply.actionlog.schema import MIGRATIONS, MIGRATIONS_TABLE
from engine.apply.actionlog.values import now
from engine.core.errors import RulerunError


def migrate(db: Backend) -> list[int]:
    """Apply the migrations this log lacks, in one transaction; returns the versions applied."""
    newest = max(m.version for m in MIGRATIONS)
    with db.transaction():
        db.migration_lock()
        db.execute(MIGRATIONS_TABLE.format(**db.types))
        done = {row[0] for row in db.execute("SELECT version FROM schema_migrations").fetchall()}
        if done and max(done) > newest:
            raise RulerunError(
                f"the action log at {db.location} has schema version {max(done)}, newer than this "
                f"rulerun knows ({newest})",
                hint="upgrade rulerun on this machine: a newer version wrote to this log",
            )
        applied = []
        for migration in MIGRATIONS:
            if migration.version in done:
                continue
            for statement in migration.statements:
                sql = statement[db.name] if isinstance(statement, dict) else statement
                db.execute(sql.format(**db.types))
            if migration.backfill is not None:
                migration.backfill(db)
            db.execute(
                "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.description, db.encode("applied_at", now())),
            )
            applied.append(migration.version)
    return applied
