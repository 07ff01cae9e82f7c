"""The `file:DIR` source: entities and daily metrics read from files in a directory.

Layout
------
`--source file:DIR` reads two tables from the directory DIR (relative to the current
directory; `~` is expanded):

- `DIR/entities.csv`, `DIR/entities.jsonl` or `DIR/entities.parquet`: one row per
  campaign, ad group, keyword, ... with the attributes of catalog/attributes.yaml
  (platform, account_id, level, entity_id, parent_id, name, status, daily_budget, bid,
  is_brand, product, learning_phase, labels, ...).
- `DIR/metrics_daily.csv`, `.jsonl` or `.parquet`: one row per entity and day with
  `date`, the four key columns and the additive metrics of catalog/metrics.yaml
  (spend, impressions, clicks, outbound_clicks, conversions, conversion_value, ...).

Each table may use its own format, but exactly one file per table: `entities.csv` next
to `entities.parquet` is an error.

Columns
-------
Column names are the catalog names, case-sensitive. The key columns are required:
`platform, account_id, level, entity_id` in both tables, plus `date` in metrics_daily.
Every other column is optional: a missing column is null for every row (a rule using a
metric the file does not have sees null, and the run reports it as a data-quality
warning). Columns the catalog does not know are ignored, with a warning naming them.

Formats
-------
- CSV: UTF-8 (a byte order mark is allowed), comma-separated, a header line with the
  column names on line 1, double quotes around values that contain commas, quotes or
  line breaks (a quote inside a quoted value is written twice), RFC 4180 style. Every
  line has as many values as the header has columns; empty lines are skipped.
- JSON Lines (`.jsonl`): UTF-8 without byte order mark, one JSON object per line, keys
  are column names; blank lines are skipped.
- Parquet: columns may be typed (numbers, BOOLEAN, DATE, lists of strings) or strings,
  which are parsed as in CSV. A TIMESTAMP at midnight is accepted as a date.

Values
------
- Leading and trailing spaces are removed; an empty value is null (missing).
- string: any text. Key values (platform, account_id, level, entity_id, date) must not
  be empty, and a key appears at most once per table (per date in metrics_daily).
- number: a dot as decimal separator, no thousands separator, optional exponent:
  `1234.5`, `-3`, `1e6`. `NaN`, `inf` and `-inf` are treated as missing (with a
  warning). Metrics count things or money and cannot be negative.
- boolean: `true`/`false`, `1`/`0`, `yes`/`no`, `t`/`f`, in any letter case.
- date: ISO `YYYY-MM-DD`, e.g. `2024-03-31`.
- labels: in CSV a `;`-separated list (`brand; summer sale`); JSON Lines and Parquet may
  also give a list of strings. Spaces around labels and empty labels are dropped.

Problems
--------
Everything is checked before anything is stored. Each problem is reported as
`FILE:LINE:COLUMN` (CSV: physical line, the header is line 1, column = position in the
header; JSON Lines: line only, the message names the key; Parquet: the message names
the row) with a hint how to fix it; at most 50 problems per file are listed. Metrics of
entities missing from the entities table are kept and reported as a warning.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import difflib
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import orjson

from engine.core.catalog import DUCKDB_TYPES, KEY_COLUMNS, METRIC_KEY_COLUMNS
from engine.core.errors import DataError, Diagnostic, UsageError
from engine.data.sources import Source, SourceInfo
from engine.language.sql import quote_ident, sql_literal

if TYPE_CHECKING:
    from engine.core.catalog import Catalog

TABLES: tuple[str, ...] = ("entities", "metrics_daily")
FORMATS: tuple[str, ...] = ("csv", "jsonl", "parquet")
MAX_PROBLEMS_PER_FILE = 50
BOOLEAN_TRUE: tuple[str, ...] = ("true", "1", "yes", "t")
BOOLEAN_FALSE: tuple[str, ...] = ("false", "0", "no", "f")
NONNEGATIVE_UNITS = frozenset({"money", "count"})

_CHUNK = 1 << 20
_FETCH_LIMIT = MAX_PROBLEMS_PER_FILE + 1  # one more than shown tells where the rest starts
_BOM = codecs.BOM_UTF8
_KIND_OF_TYPE = {sql: kind for kind, sql in DUCKDB_TYPES.items()}
_NUMERIC_TYPES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
    "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL",
)  # fmt: skip

_TIMESTAMP_TYPES = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS")

NUMBER_HINT = "write numbers with a dot as decimal separator and no thousands separator, e.g. 1234.5"
BOOLEAN_HINT = "write true or false (1/0, yes/no and t/f are accepted too)"
DATE_HINT = "write dates as YYYY-MM-DD, e.g. 2024-03-31"
NEGATIVE_HINT = "counts and money amounts cannot be negative; leave the cell empty if the value is unknown"
UTF8_HINT = "re-save the file as UTF-8 (in Excel: Save As > CSV UTF-8); it is probably Latin-1 or Windows-1252"
MORE_HINT = "fix the problems above and run again to see the rest"


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


@dataclass
class _Layout:
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


@dataclass(frozen=True)
class _Check:
    """One kind of bad value, found with a set-based SQL predicate over the staged table."""

    column: str | None
    where: str
    message: str  # may contain {value}
    hint: str
    shown: str = "NULL"  # SQL for the offending value


@dataclass(frozen=True)
class _Problem:
    """A bad value or row, by 0-based record index: lines are looked up only for reporting."""

    row: int
    column: str | None
    message: str  # may contain {rows}: where the `related` records are
    hint: str
    related: tuple[int, ...] = ()


class _FileInvalid(Exception):
    """Problems in one file that stop checking it any further."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("invalid file")
        self.diagnostics = diagnostics


# --------------------------------------------------------------------------- the source


class FileSource(Source):
    """Entities and daily metrics from CSV, JSON Lines or Parquet files in a directory."""

    kind = "file"

    def __init__(self, arg: str, directory: Path):
        self.arg = arg
        self.directory = directory

    @classmethod
    def from_spec(cls, arg: str) -> FileSource:
        hint = "use --source file:DIR where DIR holds entities.csv and metrics_daily.csv"
        if not arg:
            raise UsageError("the file source needs a directory", hint=hint)
        directory = Path(arg).expanduser()
        if not directory.is_dir():
            what = "is not a directory" if directory.exists() else "does not exist"
            raise UsageError(f"data directory {arg!r} {what}", hint=hint)
        return cls(arg, directory.resolve())

    def describe(self) -> str:
        return f"file:{self.arg}"

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for f in _locate(self.directory):
            stat = f.path.stat()
            digest.update(f"{f.table}\0{f.path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()

    def materialize(self, con: duckdb.DuckDBPyConnection, schema: str, catalog: Catalog) -> SourceInfo:
        files = _locate(self.directory)
        columns = {table: table_columns(table, catalog) for table in TABLES}
        # Reading a malformed file raises inside DuckDB, which aborts the transaction of
        # the connection it ran on: validate on a separate connection so the caller's
        # transaction stays usable and every file gets checked.
        vcon = con.cursor()
        try:
            layouts, warnings = _validate(vcon, files, columns)
        finally:
            vcon.close()
        for f in files:
            try:
                _create_table(con, schema, f.table, columns[f.table], layouts[f.table])
            except (duckdb.Error, OSError) as exc:  # the file changed since it was checked
                raise DataError([_unreadable(f, exc)]) from None
        return _source_info(con, schema, columns["metrics_daily"], layouts["metrics_daily"], warnings)


def table_columns(table: str, catalog: Catalog) -> list[Column]:
    """The canonical columns of `table` ("entities" or "metrics_daily") in order."""
    if table == "entities":
        keys, pairs = KEY_COLUMNS, catalog.entity_columns()
    else:
        keys, pairs = METRIC_KEY_COLUMNS, catalog.metric_columns()
    nonnegative = {m.name for m in catalog.metrics.values() if m.kind == "additive" and m.unit in NONNEGATIVE_UNITS}
    return [
        Column(name, sql_type, _KIND_OF_TYPE[sql_type], name in keys, table != "entities" and name in nonnegative)
        for name, sql_type in pairs
    ]


# --------------------------------------------------------------------------- locating


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _locate(directory: Path) -> list[TableFile]:
    """The file of each table; DataError when one is missing or ambiguous."""
    files, problems = [], []
    for table in TABLES:
        found = [directory / f"{table}.{fmt}" for fmt in FORMATS if (directory / f"{table}.{fmt}").is_file()]
        if len(found) == 1:
            files.append(TableFile(table, found[0], _display(found[0]), found[0].suffix[1:]))
        elif found:
            names = " and ".join(p.name for p in found)
            problems.append(
                Diagnostic(
                    _display(found[0]),
                    None,
                    None,
                    f"{names}: two files for the {table} table",
                    hint="keep exactly one of them in the directory",
                )
            )
        else:
            problems.append(_missing_table(directory, table))
    if problems:
        raise DataError(problems)
    return files


def _missing_table(directory: Path, table: str) -> Diagnostic:
    hint = f"add {table}.csv, {table}.jsonl or {table}.parquet"
    # A near miss (Entities.CSV, entities.xlsx) is the usual cause: name it.
    others = sorted(p.name for p in directory.iterdir() if p.name.lower().startswith(f"{table}."))
    if others:
        hint += f"; found {', '.join(others)}: rename it or convert it to CSV, JSON Lines or Parquet"
    return Diagnostic(_display(directory), None, None, f"no {table} file in {_display(directory)}", hint=hint)


# --------------------------------------------------------------------------- validation


def _validate(
    vcon: duckdb.DuckDBPyConnection, files: list[TableFile], columns: dict[str, list[Column]]
) -> tuple[dict[str, _Layout], list[dict]]:
    """Check every file; DataError with every problem, else the layouts and warnings."""
    diagnostics: list[Diagnostic] = []
    layouts: dict[str, _Layout] = {}
    warnings: list[dict] = []
    _keep_file_order(vcon)
    for f in files:
        try:
            layouts[f.table] = _check_file(vcon, f, columns[f.table], warnings)
        except _FileInvalid as exc:
            diagnostics.extend(exc.diagnostics)
        except (duckdb.Error, OSError) as exc:
            diagnostics.append(_unreadable(f, exc))
    if diagnostics:
        raise DataError(diagnostics, message="invalid data files")
    by_table = {f.table: f for f in files}
    warnings.extend(_orphan_warnings(vcon, by_table["metrics_daily"], by_table["entities"]))
    return layouts, warnings


def _keep_file_order(vcon: duckdb.DuckDBPyConnection) -> None:
    # Records are identified by their rowid in the staged table, which follows the file
    # only while DuckDB preserves insertion order (its default, which a caller may turn off).
    with contextlib.suppress(duckdb.Error):
        _query(vcon, "SET SESSION preserve_insertion_order = true")


def _check_file(vcon: duckdb.DuckDBPyConnection, f: TableFile, columns: list[Column], warnings: list) -> _Layout:
    _check_bytes(f, columns)
    layout = _LAYOUTS[f.fmt](vcon, f, columns, warnings)
    warnings.extend(_missing_metrics_warning(f, columns, layout))
    stage = _stage_name(f.table)
    try:
        _query(vcon, f"CREATE TEMP TABLE {stage} AS SELECT {_select_list(layout)} FROM {layout.source}")
    except duckdb.Error as exc:
        raise _FileInvalid(_read_failure(f, layout.width, exc)) from None
    problems, total = _find_problems(vcon, stage, f, columns, layout, warnings)
    if problems:
        raise _FileInvalid(_diagnostics(f, layout, problems, total))
    return layout


def _stage_name(table: str) -> str:
    return f"_rulerun_file_{table}"


def _select_list(layout: _Layout) -> str:
    exprs = {**layout.exprs, **layout.extras}
    return ", ".join(f"{sql} AS {quote_ident(name)}" for name, sql in exprs.items())


def _check_bytes(f: TableFile, columns: list[Column]) -> None:
    """Empty files and encoding problems, checked before DuckDB sees the file."""
    size = f.path.stat().st_size
    if size == 0:
        raise _FileInvalid([Diagnostic(f.display, None, None, f"{f.name} is empty", hint=_shape_hint(f, columns))])
    if f.fmt == "parquet":
        return
    bad = _first_bad_utf8(f.path)
    if bad is not None:
        line, col, byte = bad
        message = f"{f.name}: line {line} is not valid UTF-8 (byte 0x{byte:02x})"
        raise _FileInvalid([Diagnostic(f.display, line, col if f.fmt == "csv" else None, message, hint=UTF8_HINT)])
    if f.fmt == "jsonl" and _starts_with_bom(f.path):
        message = f"{f.name} starts with a byte order mark, which JSON Lines does not allow"
        raise _FileInvalid([Diagnostic(f.display, 1, None, message, hint="re-save the file as UTF-8 without BOM")])


def _starts_with_bom(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(len(_BOM)) == _BOM


def _shape_hint(f: TableFile, columns: list[Column]) -> str:
    keys = [c.name for c in columns if c.key]
    if f.fmt == "csv":
        return f"the first line must be a header with the column names, at least: {','.join(keys)}"
    if f.fmt == "jsonl":
        return f"write one JSON object per line with at least the keys {', '.join(keys)}"
    return f"export the table as Parquet with at least the columns {', '.join(keys)}"


def _first_bad_utf8(path: Path) -> tuple[int, int, int] | None:
    """(line, CSV column, byte) of the first byte that is not UTF-8, or None."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line, line_start, offset = 1, 0, 0
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # The decoder keeps an incomplete sequence from the previous chunk in front.
                bad = offset - (len(exc.object) - len(chunk)) + exc.start
                before = chunk[: max(bad - offset, 0)]
                line += before.count(b"\n")
                if b"\n" in before:
                    line_start = offset + before.rindex(b"\n") + 1
                return line, _csv_column_at(path, line_start, bad), exc.object[exc.start]
            if not chunk:
                return None
            line += chunk.count(b"\n")
            if b"\n" in chunk:
                line_start = offset + chunk.rindex(b"\n") + 1
            offset += len(chunk)


def _csv_column_at(path: Path, line_start: int, position: int) -> int:
    """The 1-based CSV column of byte `position`, given where its line starts."""
    with path.open("rb") as fh:
        fh.seek(line_start)
        prefix = fh.read(min(position - line_start, _CHUNK)).decode("utf-8", errors="replace")
    try:
        return max(len(next(csv.reader([prefix]), [])), 1)
    except csv.Error:
        return 1


# --------------------------------------------------------------------------- layouts


def _text(sql: str, kind: str = "string") -> str:
    # Numbers skip the trim: it is the costliest part of staging a wide metrics file, and
    # TRY_CAST ignores surrounding spaces anyway (the checks treat blank as empty).
    return sql if kind == "number" else f"nullif(trim({sql}), '')"


def _split_labels(text_sql: str) -> str:
    return f"[trim(e) FOR e IN string_split({text_sql}, ';') IF trim(e) <> '']"


def _clean_labels(list_sql: str) -> str:
    return f"[trim(e) FOR e IN CAST({list_sql} AS VARCHAR[]) IF e IS NOT NULL AND trim(e) <> '']"


def _csv_layout(vcon, f: TableFile, columns: list[Column], warnings: list) -> _Layout:
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
    return _Layout(
        source,
        exprs,
        {name for name in exprs if _kind(columns, name) != "labels"},
        {name: i + 1 for name, i in positions.items()},
        width=len(header),
    )


def _csv_header(f: TableFile, columns: list[Column]) -> list[str]:
    with f.path.open(encoding="utf-8-sig", newline="") as fh:
        try:
            header = next(csv.reader(fh), [])
        except csv.Error as exc:
            message = f"{f.name}: cannot read the header line: {exc}"
            raise _FileInvalid([Diagnostic(f.display, 1, None, message, hint=_shape_hint(f, columns))]) from None
    header = [name.strip() for name in header]
    if not any(header):
        message = f"{f.name}: line 1 should be a header line with the column names but is empty"
        raise _FileInvalid([Diagnostic(f.display, 1, None, message, hint=_shape_hint(f, columns))])
    return header


def _jsonl_layout(vcon, f: TableFile, columns: list[Column], warnings: list) -> _Layout:
    reader = f"read_ndjson_objects({sql_literal(str(f.path))})"
    try:
        keys = _query(vcon, f"SELECT DISTINCT unnest(json_keys(json)) FROM {reader} WHERE json_type(json) = 'OBJECT'")
    except duckdb.Error as exc:
        raise _FileInvalid(_read_failure(f, 0, exc)) from None
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
    return _Layout(source, exprs, text, dict.fromkeys(names), extras=extras)


def _json_key(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


def _parquet_layout(vcon, f: TableFile, columns: list[Column], warnings: list) -> _Layout:
    source = f"read_parquet({sql_literal(str(f.path))})"
    try:
        described = _query(vcon, f"DESCRIBE SELECT * FROM {source}")
    except duckdb.Error as exc:
        raise _FileInvalid(_read_failure(f, 0, exc)) from None
    types = {row[0]: row[1] for row in described}
    present = _match_columns(f, list(types), columns, warnings, line=None)
    exprs, text = {}, set()
    for c in columns:
        if c.name in present:
            exprs[c.name], is_text = _parquet_expr(c, quote_ident(c.name), types[c.name])
            if is_text:
                text.add(c.name)
    return _Layout(source, exprs, text, dict.fromkeys(exprs))


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


_LAYOUTS = {"csv": _csv_layout, "jsonl": _jsonl_layout, "parquet": _parquet_layout}


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
        raise _FileInvalid(problems)
    if unknown:
        warnings.append(_warning(f, _unknown_message(f, unknown, known)))
    return positions


def _missing_keys(
    f: TableFile, missing: list[str], unknown: list[str], names: list[str], columns: list[Column], line
) -> Diagnostic:
    what = "column" if len(missing) == 1 else "columns"
    hint = _shape_hint(f, columns) + " (names are case-sensitive)"
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


# --------------------------------------------------------------------------- value checks


def _checks(f: TableFile, columns: list[Column], layout: _Layout) -> list[_Check]:
    jsonl = f.fmt == "jsonl"
    checks = []
    if jsonl:
        checks.append(_Check(None, "_jt <> 'OBJECT'", "line is not a JSON object", "write one JSON object per line"))
    for c in columns:
        if c.name not in layout.exprs:
            continue
        col = quote_ident(c.name)
        if jsonl:
            if c.kind == "labels":
                expected, found = "a list of strings or a ';'-separated string", "a JSON object"
            else:
                expected, found = f"a {c.kind}", "a JSON object or array"
            checks.append(
                _Check(
                    c.name,
                    f"list_contains(_nested, {sql_literal(c.name)})",
                    f"column {c.name}: expected {expected}, found {found}",
                    f"give {c.name} a plain JSON value",
                )
            )
        if c.key:
            cell_ok = f"_jt = 'OBJECT' AND NOT list_contains(_nested, {sql_literal(c.name)})" if jsonl else "true"
            checks.append(
                _Check(
                    c.name,
                    f"{col} IS NULL AND {cell_ok}",
                    f"column {c.name}: key value is empty",
                    f"every row needs a value in each of {', '.join(x.name for x in columns if x.key)}",
                )
            )
        checks.extend(_value_checks(c, col, c.name in layout.text))
    return checks


def _value_checks(c: Column, col: str, is_text: bool) -> list[_Check]:
    shown = f"CAST({col} AS VARCHAR)"
    number = f"TRY_CAST({col} AS DOUBLE)"
    checks = []
    if c.kind == "number" and is_text:
        # DuckDB also reads 1_000 as a number; a user means a thousands separator.
        bad = f"trim({col}) <> '' AND ({number} IS NULL OR contains({col}, '_'))"
        checks.append(_Check(c.name, bad, f"column {c.name}: {{value}} is not a number", NUMBER_HINT, shown))
    if c.kind == "number" and c.nonnegative:
        bad = f"isfinite({number}) AND {number} < 0"
        checks.append(_Check(c.name, bad, f"column {c.name}: {{value}} is negative", NEGATIVE_HINT, shown))
    if c.kind == "boolean" and is_text:
        accepted = ", ".join(sql_literal(v) for v in BOOLEAN_TRUE + BOOLEAN_FALSE)
        bad = f"{col} IS NOT NULL AND lower({col}) NOT IN ({accepted})"
        checks.append(_Check(c.name, bad, f"column {c.name}: {{value}} is not a boolean", BOOLEAN_HINT, shown))
    if c.kind == "date" and is_text:
        iso = f"regexp_full_match({col}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}')"
        bad = f"{col} IS NOT NULL AND (NOT {iso} OR TRY_CAST({col} AS DATE) IS NULL)"
        checks.append(_Check(c.name, bad, f"column {c.name}: {{value}} is not a date", DATE_HINT, shown))
    return checks


def _find_problems(
    vcon, stage: str, f: TableFile, columns: list[Column], layout: _Layout, warnings: list
) -> tuple[list[_Problem], int]:
    """The first problems of the file (sorted by row) and how many there are in all."""
    checks = _checks(f, columns, layout)
    numbers = [c for c in columns if c.kind == "number" and c.name in layout.exprs]
    counts = _count(vcon, stage, [ch.where for ch in checks] + [_nonfinite(c) for c in numbers])
    for c, n in zip(numbers, counts[len(checks) :], strict=True):
        if n:
            warnings.append(_warning(f, _nonfinite_message(c.name, n)))
    problems, total = [], 0
    for check, n in zip(checks, counts, strict=False):
        if n:
            total += n
            problems += _fetch(vcon, stage, check)
    dup_problems, dup_total = _duplicates(vcon, stage, f, columns, layout)
    problems = sorted(problems + dup_problems, key=lambda p: (p.row, _position(layout, p.column)))
    return problems, total + dup_total


def _nonfinite(c: Column) -> str:
    return f"NOT isfinite(TRY_CAST({quote_ident(c.name)} AS DOUBLE))"


def _nonfinite_message(name: str, n: int) -> str:
    if n == 1:
        return f"1 value of {name} was NaN or infinite and was treated as missing"
    return f"{n} values of {name} were NaN or infinite and were treated as missing"


def _count(vcon, stage: str, predicates: list[str]) -> list[int]:
    if not predicates:
        return []
    aggregates = ", ".join(f"count(*) FILTER (WHERE {p})" for p in predicates)
    return list(_query(vcon, f"SELECT {aggregates} FROM {stage}")[0])


def _fetch(vcon, stage: str, check: _Check) -> list[_Problem]:
    rows = _query(
        vcon,
        f"SELECT rowid, {check.shown} FROM {stage} WHERE {check.where} ORDER BY rowid LIMIT {_FETCH_LIMIT}",
    )
    return [
        _Problem(row, check.column, check.message.replace("{value}", _quote(value)), check.hint) for row, value in rows
    ]


def _duplicates(vcon, stage: str, f: TableFile, columns: list[Column], layout: _Layout) -> tuple[list[_Problem], int]:
    keys = [c for c in columns if c.key]
    values = [_convert(c, layout) for c in keys]
    not_null = " AND ".join(f"{v} IS NOT NULL" for v in values)
    groups = _query(
        vcon,
        f"SELECT list(rowid ORDER BY rowid) AS rows, {', '.join(values)}, count(*) OVER () FROM {stage} "
        f"WHERE {not_null} GROUP BY ALL HAVING count(*) > 1 ORDER BY rows[2] LIMIT {_FETCH_LIMIT}",
    )
    if f.table == "entities":
        what, hint = "entity", "each entity appears once in entities; remove or merge the duplicate rows"
    else:
        what, hint = "row for", "give one row per entity and date; add up the duplicate rows into one"
    problems = []
    for rows, *key_values, _ in groups:
        described = ", ".join(f"{c.name}={v}" for c, v in zip(keys, key_values, strict=True))
        message = f"duplicate {what} {described} ({{rows}})"
        problems.append(_Problem(rows[1], keys[0].name, message, hint, related=tuple(rows)))
    return problems, groups[0][-1] if groups else 0


def _convert(c: Column, layout: _Layout) -> str:
    """SQL turning the staged value of `c` into its canonical type (validated before)."""
    col = quote_ident(c.name)
    if c.kind == "number":
        number = f"TRY_CAST({col} AS DOUBLE)"
        return f"CASE WHEN isfinite({number}) THEN {number} END"
    if c.kind == "boolean" and c.name in layout.text:
        true, false = (", ".join(sql_literal(v) for v in values) for values in (BOOLEAN_TRUE, BOOLEAN_FALSE))
        return f"CASE WHEN lower({col}) IN ({true}) THEN true WHEN lower({col}) IN ({false}) THEN false END"
    if c.kind == "date":
        return f"TRY_CAST({col} AS DATE)"
    return col


def _position(layout: _Layout, column: str | None) -> int:
    return (layout.positions.get(column) or 0) if column else 0


# --------------------------------------------------------------------------- reporting


def _diagnostics(f: TableFile, layout: _Layout, problems: list[_Problem], total: int) -> list[Diagnostic]:
    """Position the first problems at their lines; one more diagnostic counts the rest."""
    shown = problems[:MAX_PROBLEMS_PER_FILE]
    rows = {p.row for p in problems[: MAX_PROBLEMS_PER_FILE + 1]} | {r for p in shown for r in p.related}
    lines = _record_lines(f, rows)
    diagnostics = [_diagnostic(f, layout, p, lines) for p in shown]
    if total > len(shown):
        # Positioned at the first problem left out, so it sorts after the ones shown.
        first_left_out = _diagnostic(f, layout, problems[len(shown)], lines)
        message = f"{f.name}: {total - len(shown)} more problems not shown"
        diagnostics.append(Diagnostic(f.display, first_left_out.line, first_left_out.col, message, hint=MORE_HINT))
    return diagnostics


def _diagnostic(f: TableFile, layout: _Layout, p: _Problem, lines: dict[int, int]) -> Diagnostic:
    message = p.message.replace("{rows}", _where(f, p.related, lines)) if p.related else p.message
    if f.fmt == "parquet":
        return Diagnostic(f.display, None, None, f"{f.name}: row {p.row + 1}: {message}", hint=p.hint)
    col = layout.positions.get(p.column) if p.column else None
    return Diagnostic(f.display, _line(f, p.row, lines), col, f"{f.name}: {message}", hint=p.hint)


def _line(f: TableFile, row: int, lines: dict[int, int]) -> int:
    # The fallback (no blank lines, no line breaks in values) only serves when the
    # Python CSV reader could not follow the file as far as DuckDB did.
    return lines.get(row, row + (2 if f.fmt == "csv" else 1))


def _where(f: TableFile, rows: tuple[int, ...], lines: dict[int, int]) -> str:
    if f.fmt == "parquet":
        return "rows " + _enumerate([str(r + 1) for r in rows])
    return "lines " + _enumerate([str(_line(f, r, lines)) for r in rows])


def _enumerate(items: list[str], limit: int = 5) -> str:
    if len(items) > limit:
        return ", ".join(items[:limit]) + f" and {len(items) - limit} more"
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def _record_lines(f: TableFile, rows: set[int]) -> dict[int, int]:
    """Physical line of each wanted record: read again, only when there is something to report."""
    if f.fmt == "csv":
        return _csv_lines(f.path, rows)
    if f.fmt == "jsonl":
        return _jsonl_lines(f.path, rows)
    return {}


def _csv_lines(path: Path, rows: set[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            next(reader, None)
            index, start = 0, reader.line_num + 1
            for record in reader:
                if record:  # DuckDB skips empty lines: they are not records
                    if index in rows:
                        found[index] = start
                        if len(found) == len(rows):
                            break
                    index += 1
                start = reader.line_num + 1
        except csv.Error:
            pass
    return found


def _jsonl_lines(path: Path, rows: set[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    index = 0
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():  # DuckDB skips blank lines
                continue
            if index in rows:
                found[index] = number
                if len(found) == len(rows):
                    break
            index += 1
    return found


def _read_failure(f: TableFile, width: int, exc: duckdb.Error) -> list[Diagnostic]:
    """Turn a DuckDB read error into diagnostics, finding the lines in Python."""
    if f.fmt == "csv":
        found = _csv_shape_problems(f, width)
    elif f.fmt == "jsonl":
        found = _jsonl_syntax_problems(f)
    else:
        found = []
    if found:
        return _capped(f, found)
    return [_unreadable(f, exc)]


def _unreadable(f: TableFile, exc: Exception) -> Diagnostic:
    if isinstance(exc, OSError):
        detail = exc.strerror or str(exc)
    else:
        text = str(exc).strip()
        detail = text.splitlines()[0].split(" Error: ", 1)[-1] if text else type(exc).__name__
    hints = {
        "csv": "save the table as comma-separated CSV with a header line",
        "jsonl": "write one JSON object per line",
        "parquet": "the file is not a readable Parquet file: export the table again",
    }
    return Diagnostic(f.display, None, None, f"{f.name}: cannot read the file: {detail}", hint=hints[f.fmt])


def _capped(f: TableFile, found: list[tuple[int, str, str]]) -> list[Diagnostic]:
    diagnostics = [
        Diagnostic(f.display, line, None, f"{f.name}: {message}", hint=hint)
        for line, message, hint in found[:MAX_PROBLEMS_PER_FILE]
    ]
    if len(found) > MAX_PROBLEMS_PER_FILE:
        line = found[MAX_PROBLEMS_PER_FILE][0]
        message = f"{f.name}: {len(found) - MAX_PROBLEMS_PER_FILE} more problems not shown"
        diagnostics.append(Diagnostic(f.display, line, None, message, hint=MORE_HINT))
    return diagnostics


def _csv_shape_problems(f: TableFile, width: int) -> list[tuple[int, str, str]]:
    hint = 'give every line as many values as the header has columns; quote values containing commas ("1,5")'
    found = []
    with f.path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, strict=True)
        try:
            next(reader, None)
            start = reader.line_num + 1
            for record in reader:
                if record and len(record) != width:
                    found.append((start, f"line has {len(record)} values but the header has {width} columns", hint))
                start = reader.line_num + 1
        except csv.Error as exc:
            found.append((start, _csv_error_message(exc), 'close every quoted value with a double quote ("...")'))
    return found


def _csv_error_message(exc: csv.Error) -> str:
    if "unexpected end of data" in str(exc):
        return "a quoted value starting on this line is never closed"
    return f"cannot parse the line: {exc}"


def _jsonl_syntax_problems(f: TableFile) -> list[tuple[int, str, str]]:
    hint = 'write one JSON object per line, e.g. {"platform": "meta", "entity_id": "123"}'
    found = []
    with f.path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                found.append((number, f"line is not valid JSON: {str(exc).split(':', 1)[0]}", hint))
    return found


def _warning(f: TableFile, message: str) -> dict:
    return {"severity": "warning", "file": f.display, "message": message}


def _missing_metrics_warning(f: TableFile, columns: list[Column], layout: _Layout) -> list[dict]:
    missing = [c.name for c in columns if c.kind == "number" and c.name not in layout.exprs]
    if f.table != "metrics_daily" or not missing:
        return []
    what = "column" if len(missing) == 1 else "columns"
    them = "it" if len(missing) == 1 else "them"
    message = f"{f.name} has no {what} {', '.join(missing)}: rules using {them} will see null"
    return [_warning(f, message)]


def _orphan_warnings(vcon, metrics: TableFile, entities: TableFile) -> list[dict]:
    keys = ", ".join(quote_ident(k) for k in KEY_COLUMNS)
    same = " AND ".join(f"e.{quote_ident(k)} = m.{quote_ident(k)}" for k in KEY_COLUMNS)
    ((n, example),) = _query(
        vcon,
        f"SELECT count(*), any_value(concat_ws('/', {keys})) FROM {_stage_name('metrics_daily')} m "
        f"WHERE NOT EXISTS (SELECT 1 FROM {_stage_name('entities')} e WHERE {same})",
    )
    if not n:
        return []
    rows = "1 row belongs" if n == 1 else f"{n} rows belong"
    return [
        _warning(
            metrics,
            f"{metrics.name}: {rows} to entities missing from {entities.name} "
            f"(e.g. {example}, as platform/account_id/level/entity_id); "
            "their metrics are kept but their attributes are null",
        )
    ]


# --------------------------------------------------------------------------- materializing


def _create_table(con, schema: str, table: str, columns: list[Column], layout: _Layout) -> None:
    name = f"{quote_ident(schema)}.{quote_ident(table)}"
    definitions = ", ".join(f"{quote_ident(c.name)} {c.sql_type}" for c in columns)
    values = ", ".join(
        _convert(c, layout) if c.name in layout.exprs else f"CAST(NULL AS {c.sql_type})" for c in columns
    )
    _query(con, f"CREATE TABLE {name} ({definitions})")
    _query(con, f"INSERT INTO {name} SELECT {values} FROM (SELECT {_select_list(layout)} FROM {layout.source})")


def _source_info(con, schema: str, metric_columns: list[Column], layout: _Layout, warnings: list) -> SourceInfo:
    ((entity_rows,),) = _query(con, f"SELECT count(*) FROM {quote_ident(schema)}.entities")
    ((metric_rows, min_date, max_date),) = _query(
        con, f"SELECT count(*), min(date), max(date) FROM {quote_ident(schema)}.metrics_daily"
    )
    present = frozenset(c.name for c in metric_columns if c.kind == "number" and c.name in layout.exprs)
    return SourceInfo(present, min_date, max_date, entity_rows, metric_rows, warnings)


# --------------------------------------------------------------------------- SQL text


def _query(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    # Fetch everything: DuckDB refuses new work on a connection with an unfinished result.
    return con.execute(sql).fetchall()


def _struct(items: dict[str, str]) -> str:
    return "{" + ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in items.items()) + "}"


def _quote(value: object, limit: int = 60) -> str:
    text = "null" if value is None else str(value)
    return "'" + (text if len(text) <= limit else text[:limit] + "...") + "'"
