"""`rulerun entities`: a table for people (ids in full, never cut), or JSON."""

from __future__ import annotations

import json
from typing import IO

from rich.markup import escape
from rich.table import Table

from engine.data.entities import EntityListing
from engine.output import RenderOptions
from engine.output.console import console

WIDE = 1000
COLUMNS = (
    ("Platform", "platform"),
    ("Account", "account_id"),
    ("Level", "level"),
    ("Id", "entity_id"),
    ("Name", "name"),
    ("Status", "status"),
    ("Parent", "parent_id"),
)


def render_text(listing: EntityListing, out: IO[bytes], options: RenderOptions) -> None:
    # One line per entity whatever the width: an id cut or folded to fit could not be copied.
    with console(out, width=WIDE) as c:
        if listing.entities:
            table = Table(box=None, pad_edge=False, show_edge=False)
            for title, _ in COLUMNS:
                table.add_column(title, no_wrap=True)
            for row in listing.entities:
                table.add_row(*(escape("" if row[key] is None else str(row[key])) for _, key in COLUMNS))
            c.print(table)
        shown = len(listing.entities)
        line = f"{listing.total:,} entit{'y' if listing.total == 1 else 'ies'} in {listing.source}"
        if listing.more:
            line += f" ({shown:,} shown, {listing.more:,} more: --limit 0 lists all)"
        c.print(escape(line))


def render_json(listing: EntityListing, out: IO[bytes], options: RenderOptions) -> None:
    out.write((json.dumps(listing.to_dict(), indent=2, default=str) + "\n").encode("utf-8"))
