"""Entity state as a run sees it: the source's rows, with live changes laid over them.

The demo sandbox (and a backtest's simulation) change entities' status, budget and bid
after the source was loaded; those changes are `overrides`, and every read of entities
in a run goes through `live_entities` so that it sees them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.core.actions import MONEY_ATTRIBUTES
from engine.core.catalog import KEY_COLUMNS, Catalog
from engine.core.execution import EntityKey
from engine.data.rows import insert_rows
from engine.data.store import LoadedSource
from engine.language.sql import quote_ident

LIVE_STATE = ("status", *MONEY_ATTRIBUTES)  # what overrides may change
_OVERRIDES = "_rulerun_overrides"
_VIEW = "_rulerun_entities"


def live_entities(con, loaded: LoadedSource, catalog: Catalog, overrides: list[dict[str, Any]]) -> str:
    """The relation to read entities from: the source's table, or a view with `overrides` applied."""
    base = loaded.table("entities")
    if not overrides:
        return base
    columns = [(k, "VARCHAR") for k in (*KEY_COLUMNS, "status")] + [(k, "DOUBLE") for k in MONEY_ATTRIBUTES]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_OVERRIDES} ({', '.join(f'{k} {t}' for k, t in columns)})")
    insert_rows(con, _OVERRIDES, columns, ([o.get(k) for k, _ in columns] for o in overrides))
    cols = ", ".join(
        f"coalesce(o.{c}, e.{c}) AS {c}" if c in LIVE_STATE else f"e.{quote_ident(c)}"
        for c, _ in catalog.entity_columns()
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {_VIEW} AS SELECT {cols} FROM {base} e "
        f"LEFT JOIN {_OVERRIDES} o USING ({', '.join(KEY_COLUMNS)})"
    )
    return _VIEW


def store_baseline(con, loaded: LoadedSource) -> Callable[[EntityKey], dict[str, Any] | None]:
    """The source's own state of an entity (before any sandbox change): the demo sandbox's baseline."""
    table = loaded.table("entities")

    def state(key: EntityKey) -> dict[str, Any] | None:
        row = con.execute(
            f"SELECT status, daily_budget, bid, body FROM {table} WHERE platform = ? AND account_id = ? "
            "AND level = ? AND entity_id = ?",
            [key.platform, key.account_id, key.level, key.entity_id],
        ).fetchone()
        if row is None:
            return None
        state = {"status": row[0], "daily_budget": row[1], "bid": row[2]}
        return {**state, "body": row[3]} if row[3] is not None else state  # a store page's body

    return state
