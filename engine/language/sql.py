"""Quoting for the SQL rulerun writes: identifiers and literals."""

from __future__ import annotations


def quote_ident(name: str) -> str:
    """A double-quoted identifier; embedded quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: float | str | bool | None) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float | int):
        # From text, so DuckDB parses the shortest round-trip repr exactly (no DECIMAL detour).
        return f"CAST('{float(value)!r}' AS DOUBLE)"
    return "'" + str(value).replace("'", "''") + "'"
