"""Python rows into a DuckDB table, in bulk.

Row-at-a-time inserts (`executemany`) and large parameterized VALUES lists cost a round
trip or a bind per value: storing a sync of 330,000 metric rows that way took minutes.
Rows are written once as JSON Lines to a temporary file and read back by DuckDB's JSON
reader with the table's column types, which takes seconds.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from engine.language.sql import quote_ident, sql_literal


def insert_rows(con: Any, table: str, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]) -> int:
    """Append `rows` (values in the order of `columns`: (name, DuckDB type)) to `table`; returns the count.

    `table` is an already quoted relation name. DATE columns accept dates, datetimes or ISO
    strings; NaN becomes null, as JSON has no NaN; other values JSON cannot hold go as text.
    """
    names = [name for name, _ in columns]
    fd, path = tempfile.mkstemp(prefix="rulerun-rows-", suffix=".jsonl")
    count = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            for row in rows:
                fh.write(
                    orjson.dumps(dict(zip(names, row, strict=True)), default=str, option=orjson.OPT_APPEND_NEWLINE)
                )
                count += 1
        if not count:
            return 0
        # DATE columns are read as text and cut to the day: a datetime serializes with its time
        read_types = {name: ("VARCHAR" if sql_type == "DATE" else sql_type) for name, sql_type in columns}
        spec = "{" + ", ".join(f"{sql_literal(n)}: {sql_literal(t)}" for n, t in read_types.items()) + "}"
        select = ", ".join(
            f"CAST(left({quote_ident(n)}, 10) AS DATE)" if t == "DATE" else quote_ident(n) for n, t in columns
        )
        con.execute(
            f"INSERT INTO {table} ({', '.join(quote_ident(n) for n in names)}) SELECT {select} "
            f"FROM read_json({sql_literal(path)}, format = 'newline_delimited', columns = {spec})"
        )
        return count
    finally:
        os.unlink(path)
