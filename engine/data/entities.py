"""Entity state as a run sees it: the source's rows, with live changes laid over them.

The demo sandbox (and a backtest's simulation) change entities' status, budget and bid
after the source was loaded; those changes are `overrides`, and every read of entities
in a run goes through `live_entities` so that it sees them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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


# -- finding entities (`rulerun entities`) ----------------------------------------------------------

LISTED = ("platform", "account_id", "level", "entity_id", "name", "status", "parent_id")
# Broad levels first, so that a campaign is listed before its ad groups.
LEVEL_ORDER = ("account", "campaign", "ad_group", "ad", "keyword", "search_term")


@dataclass
class EntityListing:
    """Entities matching a search, in platform, account, level and id order; `total` counts all matches."""

    source: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0

    @property
    def more(self) -> int:
        return self.total - len(self.entities)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "total": self.total, "entities": self.entities}


def find_entities(
    con,
    relation: str,
    source: str,
    *,
    platform: str | None = None,
    level: str | None = None,
    name: str | None = None,
    limit: int | None = None,
) -> EntityListing:
    """Entities of `relation` (see live_entities) by exact platform and level and a name substring in any case."""
    where, params = [], []
    for column, value in (("platform", platform), ("level", level)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if name:
        where.append("contains(lower(coalesce(name, '')), ?)")
        params.append(name.lower())
    condition = f"WHERE {' AND '.join(where)}" if where else ""
    rank = " ".join(f"WHEN '{lvl}' THEN {i}" for i, lvl in enumerate(LEVEL_ORDER))
    total = con.execute(f"SELECT count(*) FROM {relation} {condition}", params).fetchone()[0]
    rows = con.execute(
        f"SELECT {', '.join(LISTED)} FROM {relation} {condition} "
        f"ORDER BY platform, account_id, CASE level {rank} ELSE {len(LEVEL_ORDER)} END, level, entity_id"
        + ("" if limit is None else f" LIMIT {int(limit)}"),
        params,
    ).fetchall()
    return EntityListing(source, [dict(zip(LISTED, row, strict=True)) for row in rows], int(total))
