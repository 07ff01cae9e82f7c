"""How each file format of the `file:` source is read: its columns matched to the catalog's.

A layout turns one file into SQL: a FROM item reading the file and, per canonical column
present, an expression giving its staged value (text still to be parsed, or a typed
Parquet value). See engine/data/sources/files.py for the format rules.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from engine.core.errors import Diagnostic
from engine.language.sql import quote_ident, sql_literal

_NUMERIC_TYPES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
    "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL",
)  # fmt: skip
_TIMESTAMP_TYPES = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS")
HEADER_LIMIT = 1 << 20  # bytes read to find a CSV header

UTF8_HINT = "re-save the file as UTF-8 (in Excel: Save As > CSV UTF-8); it is probably Latin-1 or Windows-1252"


@dataclass(frozen=True)
class Column:
    """A canonical column of one table and the rules its values follow."""

    name: str
    sql_type: str  # DuckDB type in the materialized table
    kind: str  # attribute type: string, number, boolean, date, labels
    key: bool = False
    nonnegative: bool = False


@dataclass(frozen=True)
class TableFile:
    """The one file found for a table."""

    table: str
    path: Path  # resolved
    display: str  # as the user recognizes it: relative to the current directory if possible
    fmt: str

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Vocabulary:
    """A small table mapping the values of one column to canonical ones, joined set-based.

    `values` is a SQL VALUES list aliased `alias(..., value, canonical)`; `on` joins it to
    the staged row `s`. The canonical value becomes the helper column `helper`, null
    where the value is not in the vocabulary.
    """

    column: str
    helper: str
    alias: str
    values: str
    on: str


@dataclass
class Layout:
    """How to read a file into the staged shape: one column per canonical column present.

    A staged value is either text still to be parsed (CSV, JSON Lines, string columns of
    Parquet) or already of the canonical type (typed Parquet columns); labels are always
    a normalized list.
    """

    source: str  # SQL FROM item reading the file
    exprs: dict[str, str]  # canonical column -> SQL expression over `source`
    text: set[str]  # canonical columns staged as unparsed text
    positions: dict[str, int | None]  # canonical column -> 1-based CSV column number
    width: int = 0  # number of columns in the CSV header
    extras: dict[str, str] = field(default_factory=dict)  # helper columns (JSON Lines)
    vocabularies: dict[str, Vocabulary] = field(default_factory=dict)  # by column, once the values are known

    def select_list(self, names: Iterable[str] | None = None) -> str:
        """The staged columns (all, or the canonical `names`) and the helper columns, over `source`."""
        wanted = self.exprs if names is None else {n: self.exprs[n] for n in self.exprs if n in set(names)}
        return ", ".join(f"{sql} AS {quote_ident(name)}" for name, sql in {**wanted, **self.extras}.items())

    def staged(self) -> str:
        """A FROM item with every staged column, read from the file."""
        return f"(SELECT {self.select_list()} FROM {self.source})"

    def relation(self, base: str) -> str:
        """`base` (a FROM item with staged columns) with the vocabularies' helper columns joined."""
        if not self.vocabularies:
            return base
        helpers = ", ".join(f"{v.alias}.canonical AS {quote_ident(v.helper)}" for v in self.vocabularies.values())
        joins = " ".join(f"LEFT JOIN {v.values} ON {v.on}" for v in self.vocabularies.values())
        return f"(SELECT s.*, {helpers} FROM {base} s {joins})"


class FileInvalid(Exception):
    """Problems in one file that stop checking it any further."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("invalid file")
        self.diagnostics = diagnostics


def warning(f: TableFile, message: str) -> dict:
    return {"severity": "warning", "file": f.display, "message": message}


def shape_hint(f: TableFile, columns: list[Column]) -> str:
    keys = [c.name for c in columns if c.key]
    if f.fmt == "csv":
        return f"the first line must be a header with the column names, at least: {','.join(keys)}"
    if f.fmt == "jsonl":
        return f"write one JSON object per line with at least the keys {', '.join(keys)}"
    return f"export the table as Parquet with at least the columns {', '.join(keys)}"


def no_rows(f: TableFile) -> Diagnostic:
    hint = "an export without rows usually failed: export the table again"
    if f.table == "metrics_daily":
        hint += " (read as it is, every metric would be 0 and every alert would fire)"
    if f.fmt == "csv":
        return Diagnostic(f.display, 1, None, f"{f.name} has a header line but no rows", hint=hint)
    if f.fmt == "jsonl":
        return Diagnostic(f.display, 1, None, f"{f.name} has only blank lines", hint=hint)
    return Diagnostic(f.display, None, None, f"{f.name} has no rows", hint=hint)


# --------------------------------------------------------------------------- formats


def _text(sql: str, kind: str = "string") -> str:
    # Numbers skip the trim: it is the costliest part of reading a wide metrics file, and
    # TRY_CAST ignores surrounding spaces anyway (the checks treat blank as empty).
    return sql if kind == "number" else f"nullif(trim({sql}), '')"


def _split_labels(text_sql: str) -> str:
    return f"[trim(e) FOR e IN string_split({text_sql}, ';') IF trim(e) <> '']"


def _clean_labels(list_sql: str) -> str:
    return f"[trim(e) FOR e IN CAST({list_sql} AS VARCHAR[]) IF e IS NOT NULL AND trim(e) <> '']"


def csv_layout(vcon, f: TableFile, columns: list[Column], warnings: list) -> Layout:
    header = _csv_header(f, columns)
    positions = _match_columns(f, header, columns, warnings, line=1)
    raw = {f"c{i}": "VARCHAR" for i in range(1, len(header) + 1)}
    source = (
        f"read_csv({sql_literal(str(f.path))}, header = true, auto_detect = false, delim = ',', quote = '\"', "
        f"escape = '\"', columns = {_struct(raw)})"
    )
    exprs = {}
    for c in columns:
        if c.name in positions:
            cell = _text(f"c{positions[c.name] + 1}", c.kind)
            exprs[c.name] = _split_labels(cell) if c.kind == "labels" else cell
    return Layout(
        source,
        exprs,
        {name for name in exprs if _kind(columns, name) != "labels"},
        {name: i + 1 for name, i in positions.items()},
        width=len(header),
    )


def _csv_header(f: TableFile, columns: list[Column]) -> list[str]:
    # Only the header record is decoded here: DuckDB checks the encoding of the rest.
    with f.path.open("rb") as fh:
        head = fh.read(HEADER_LIMIT).removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="surrogateescape")
    try:
        header = next(csv.reader(io.StringIO(head, newline="")), [])
    except csv.Error as exc:
        message = f"{f.name}: cannot read the header line: {exc}"
        raise FileInvalid([Diagnostic(f.display, 1, None, message, hint=shape_hint(f, columns))]) from None
    for i, name in enumerate(header, start=1):
        bad = next((ch for ch in name if "\udc80" <= ch <= "\udcff"), None)
        if bad is not None:
            message = f"{f.name}: line 1 is not valid UTF-8 (byte 0x{ord(bad) - 0xDC00:02x})"
            raise FileInvalid([Diagnostic(f.display, 1, i, message, hint=UTF8_HINT)])
    header = [name.strip() for name in header]
    if not any(header):
        message = f"{f.name}: line 1 should be a header line with the column names but is empty"
        raise FileInvalid([Diagnostic(f.display, 1, None, message, hint=shape_hint(f, columns))])
    return header


def jsonl_layout(vcon, f: TableFile, columns: list[Column], warnings: list) -> Layout:
    reader = f"read_ndjson_objects({sql_literal(str(f.path))})"
    keys = query(vcon, f"SELECT DISTINCT unnest(json_keys(json)) FROM {reader} WHERE json_type(json) = 'OBJECT'")
    if not keys and not query(vcon, f"SELECT count(*) FROM {reader}")[0][0]:
        raise FileInvalid([no_rows(f)])
    present = _match_columns(f, sorted(k for (k,) in keys), columns, warnings, line=None)
    names = [c.name for c in columns if c.name in present]
    paths = "[" + ", ".join(sql_literal("$." + _json_key(n)) for n in names) + "]"
    # One json_extract per line parses each line once, not once per column.
    source = f"(SELECT json_type(json) AS _jt, json_extract(json, {paths}) AS v FROM {reader})"
    exprs, nested = {}, []
    for i, name in enumerate(names, start=1):
        value = f"v[{i}]"
        scalar = _text(f"{value} ->> '$'", _kind(columns, name))
        if _kind(columns, name) == "labels":
            items = _clean_labels(f"json_extract_string({value}, '$[*]')")
            exprs[name] = (
                f"CASE json_type({value}) WHEN 'ARRAY' THEN {items} "
                f"WHEN 'OBJECT' THEN NULL ELSE {_split_labels(scalar)} END"
            )
            nested.append(f"CASE WHEN json_type({value}) = 'OBJECT' THEN {sql_literal(name)} END")
        else:
            exprs[name] = f"CASE WHEN json_type({value}) IN ('OBJECT', 'ARRAY') THEN NULL ELSE {scalar} END"
            nested.append(f"CASE WHEN json_type({value}) IN ('OBJECT', 'ARRAY') THEN {sql_literal(name)} END")
    extras = {"_jt": "_jt", "_nested": f"[n FOR n IN [{', '.join(nested)}] IF n IS NOT NULL]"}
    text = {n for n in names if _kind(columns, n) != "labels"}
    return Layout(source, exprs, text, dict.fromkeys(names), extras=extras)


def _json_key(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


def parquet_layout(vcon, f: TableFile, columns: list[Column], warnings: list) -> Layout:
    source = f"read_parquet({sql_literal(str(f.path))})"
    types = {row[0]: row[1] for row in query(vcon, f"DESCRIBE SELECT * FROM {source}")}
    present = _match_columns(f, list(types), columns, warnings, line=None)
    exprs, text = {}, set()
    for c in columns:
        if c.name in present:
            exprs[c.name], is_text = _parquet_expr(c, quote_ident(c.name), types[c.name])
            if is_text:
                text.add(c.name)
    return Layout(source, exprs, text, dict.fromkeys(exprs))


def _parquet_expr(c: Column, col: str, parquet_type: str) -> tuple[str, bool]:
    """(staged expression, whether it is text to parse) for a typed Parquet column."""
    as_text = _text(col if parquet_type == "VARCHAR" else f"CAST({col} AS VARCHAR)", c.kind)
    if c.kind == "labels":
        if parquet_type.endswith("[]"):
            return _clean_labels(col), False
        return _split_labels(as_text), False
    if c.kind == "number" and parquet_type.startswith(_NUMERIC_TYPES):
        return f"CAST({col} AS DOUBLE)", False
    if (c.kind, parquet_type) in {("boolean", "BOOLEAN"), ("date", "DATE")}:
        return col, False
    if c.kind == "date" and parquet_type in _TIMESTAMP_TYPES:
        # pandas writes dates as timestamps; midnight is a date, anything else is not.
        midnight = f"CAST({col} AS TIME) = TIME '00:00:00'"
        return f"CASE WHEN {midnight} THEN CAST(CAST({col} AS DATE) AS VARCHAR) ELSE {as_text} END", True
    return as_text, True


LAYOUTS = {"csv": csv_layout, "jsonl": jsonl_layout, "parquet": parquet_layout}


def _kind(columns: list[Column], name: str) -> str:
    return next(c.kind for c in columns if c.name == name)


def _match_columns(
    f: TableFile, names: list[str], columns: list[Column], warnings: list, line: int | None
) -> dict[str, int]:
    """Canonical column -> 0-based position in `names`; header problems stop the file."""
    known = {c.name for c in columns}
    positions: dict[str, int] = {}
    problems: list[Diagnostic] = []
    for i, name in enumerate(names):
        if name not in known:
            continue
        if name in positions:
            message = f"{f.name}: column {name} appears twice (columns {positions[name] + 1} and {i + 1})"
            problems.append(Diagnostic(f.display, line, None, message, hint="keep one of them"))
        else:
            positions[name] = i
    unknown = [n for n in names if n not in known]
    missing = [c.name for c in columns if c.key and c.name not in positions]
    if missing:
        problems.append(_missing_keys(f, missing, unknown, names, columns, line))
    if problems:
        raise FileInvalid(problems)
    if unknown:
        warnings.append(warning(f, _unknown_message(f, unknown, known)))
    return positions


def _missing_keys(
    f: TableFile, missing: list[str], unknown: list[str], names: list[str], columns: list[Column], line
) -> Diagnostic:
    what = "column" if len(missing) == 1 else "columns"
    hint = shape_hint(f, columns) + " (names are case-sensitive)"
    near = _suggestions(missing, unknown)
    if near:
        hint += f"; found {near}"
    if f.fmt == "csv" and len(names) == 1 and ";" in names[0]:
        hint += "; the file looks semicolon-separated: save it comma-separated (in Excel: CSV UTF-8)"
    return Diagnostic(f.display, line, None, f"{f.name}: missing key {what} {', '.join(missing)}", hint=hint)


def _unknown_message(f: TableFile, unknown: list[str], known: set[str]) -> str:
    shown = [n or "(unnamed)" for n in unknown]
    message = f"{f.name}: ignored columns not in the catalog: {', '.join(shown)}"
    near = _suggestions(sorted(known), unknown)
    return message + (f" (did you mean: {near}?)" if near else "")


def _suggestions(wanted: Iterable[str], found: list[str]) -> str:
    """'Spend' for spend: near misses, which usually are the real cause."""
    lowered = {n.lower(): n for n in found if n}
    pairs = []
    for name in wanted:
        match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.8)
        if match:
            pairs.append(f"{lowered[match[0]]} -> {name}")
    return ", ".join(pairs)


# --------------------------------------------------------------------------- SQL text


def query(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    # Fetch everything: DuckDB refuses new work on a connection with an unfinished result.
    return con.execute(sql).fetchall()


def _struct(items: dict[str, str]) -> str:
    return "{" + ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in items.items()) + "}"


def quote(value: object, limit: int = 60) -> str:
    text = "null" if value is None else str(value)
    return "'" + (text if len(text) <= limit else text[:limit] + "...") + "'"
