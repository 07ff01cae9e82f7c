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
metric the file does not have sees null, and when a platform in the file reports that
metric the run says so in a data-quality warning). Columns the catalog does not know are
ignored, with a warning naming them. Each table needs at least one row: a file with a
header and no rows is an error (it usually means the export failed).

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
- boolean: `true`/`false`, `1`/`0`, `yes`/`no`, `y`/`n`, `t`/`f`, in any letter case.
- date: ISO `YYYY-MM-DD`, e.g. `2024-03-31`, from 1970-01-01 to 2200-12-31 (placeholders
  such as `0000-01-01` or `9999-12-31` are refused).
- level: a level of a platform (account, campaign, ad_group, ad, keyword, search_term,
  ...), in any letter case; `adset`, `ad_set` and `adgroup` are read as `ad_group` (with a
  warning).
- status: the canonical `active`, `paused`, `removed`, `archived`, or the platform's own
  value in any letter case: Meta `ACTIVE`/`PAUSED`/`ARCHIVED`/`DELETED`, Google
  `ENABLED`/`PAUSED`/`REMOVED`, Amazon `enabled`/`paused`/`archived`, TikTok
  `ENABLE`/`DISABLE`/`DELETE`, ... (the `statuses` of each platform in the catalog).
- labels: in CSV a `;`-separated list (`brand; summer sale`); JSON Lines and Parquet may
  also give a list of strings. Spaces around labels and empty labels are dropped.

Problems
--------
Everything is checked before anything is stored. Each problem is reported as
`FILE:LINE:COLUMN` (CSV: physical line, the header is line 1, column = position in the
header; JSON Lines: line only, the message names the key; Parquet: the message names
the row) with a hint how to fix it; at most 50 problems per file are listed. Metrics of
entities missing from the entities table are kept and reported as a warning.

How it is read
--------------
DuckDB reads each file directly; nothing is done per row in Python. One scan screens
every check with plain aggregates (counts, minimum, maximum), a second finds duplicate
keys, and the rows are stored by a third. Only when a screen fires is the file read once
more to evaluate the checks row by row in SQL, and only the failing records are turned
into line numbers. Statuses (and levels not written canonically) are normalized by
joining a small vocabulary table.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from engine.core.catalog import DUCKDB_TYPES, KEY_COLUMNS, METRIC_KEY_COLUMNS
from engine.core.dates import FIRST_DATE, LAST_DATE
from engine.core.errors import DataError, Diagnostic, UsageError
from engine.core.platform_catalog import STATUSES
from engine.data.sources import Source, SourceInfo
from engine.data.sources.file_layouts import (
    LAYOUTS,
    Column,
    FileInvalid,
    Layout,
    TableFile,
    Vocabulary,
    no_rows,
    query,
    quote,
    shape_hint,
    warning,
)
from engine.data.sources.file_problems import (
    MAX_PROBLEMS_PER_FILE,
    Problem,
    diagnostics,
    read_failure,
    unreadable,
)
from engine.language.sql import quote_ident, sql_literal
from platforms import all_platforms, platform_names
from platforms.base import LEVEL_ALIASES

if TYPE_CHECKING:
    from engine.core.catalog import Catalog

__all__ = ["MAX_PROBLEMS_PER_FILE", "FileSource", "table_columns"]

TABLES: tuple[str, ...] = ("entities", "metrics_daily")
FORMATS: tuple[str, ...] = ("csv", "jsonl", "parquet")
BOOLEAN_TRUE: tuple[str, ...] = ("true", "1", "yes", "y", "t")
BOOLEAN_FALSE: tuple[str, ...] = ("false", "0", "no", "n", "f")
NONNEGATIVE_UNITS = frozenset({"money", "count"})
DATE_RANGE: tuple[date, date] = (FIRST_DATE, LAST_DATE)

_FETCH_LIMIT = MAX_PROBLEMS_PER_FILE + 1  # one more than shown tells where the rest starts
_KIND_OF_TYPE = {sql: kind for kind, sql in DUCKDB_TYPES.items()}
_BOM = codecs.BOM_UTF8

NUMBER_HINT = "write numbers with a dot as decimal separator and no thousands separator, e.g. 1234.5"
BOOLEAN_HINT = "write true or false (1/0, yes/no, y/n and t/f are accepted too, in any letter case)"
DATE_HINT = "write dates as YYYY-MM-DD, e.g. 2024-03-31"
NEGATIVE_HINT = "counts and money amounts cannot be negative; leave the cell empty if the value is unknown"


@dataclass(frozen=True)
class _Check:
    """One kind of bad value, found with a set-based SQL predicate over the staged columns."""

    column: str | None
    where: str
    message: str  # may contain {value} (shown quoted) and the other names of `shown`
    hint: str  # may contain the names of `shown`
    shown: tuple[tuple[str, str], ...] = ()  # placeholder -> SQL for it
    needs: tuple[str, ...] = ()  # staged columns read besides `column`
    # An aggregate true when `where` may hold for some row (never false when it does),
    # cheaper than bool_or(where) over millions of rows; None: bool_or(where).
    screen: str | None = None


@dataclass
class _Scan:
    """What the scan of a file found."""

    rows: int
    suspicious: bool  # some check may fail
    nonfinite: bool  # some number is NaN or infinite
    platforms: set[str]
    levels: set[str]  # as written


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
            layouts, warnings = _validate(vcon, files, columns, catalog)
        finally:
            vcon.close()
        for f in files:
            try:
                _create_table(con, schema, f.table, columns[f.table], layouts[f.table])
            except (duckdb.Error, OSError) as exc:  # the file changed since it was checked
                raise DataError([unreadable(f, exc)]) from None
        by_table = {f.table: f for f in files}
        warnings.extend(_orphan_warnings(con, schema, by_table["metrics_daily"], by_table["entities"]))
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


def level_vocabulary() -> dict[str, str]:
    """Every level name a file may use (lower case) -> the canonical level."""
    return LEVEL_ALIASES | {level: level for p in all_platforms() for level in p.levels}


def status_vocabularies(catalog: Catalog) -> dict[str, dict[str, str]]:
    """Per platform, the status values a file may use (lower case) -> the canonical status.

    The canonical statuses are accepted everywhere (a platform's own value of the same name
    wins); "" stands for the platforms rulerun does not know, which accept only those.
    """
    canonical: dict[str, str] = {status: status for status in STATUSES}
    vocabularies = {
        platform: canonical | {value.lower(): status for value, status in catalog.status_vocabulary(platform).items()}
        for platform in platform_names()
    }
    return vocabularies | {"": canonical}


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
    vcon: duckdb.DuckDBPyConnection, files: list[TableFile], columns: dict[str, list[Column]], catalog: Catalog
) -> tuple[dict[str, Layout], list[dict]]:
    """Check every file; DataError with every problem, else the layouts and warnings."""
    problems: list[Diagnostic] = []
    layouts: dict[str, Layout] = {}
    warnings: list[dict] = []
    _keep_file_order(vcon)
    for f in files:
        try:
            layouts[f.table] = _check_file(vcon, f, columns[f.table], catalog, warnings)
        except FileInvalid as exc:
            problems.extend(exc.diagnostics)
        except OSError as exc:
            problems.append(unreadable(f, exc))
    if problems:
        raise DataError(problems, message="invalid data files")
    return layouts, warnings


def _keep_file_order(vcon: duckdb.DuckDBPyConnection) -> None:
    # Records are identified by their rowid in a staged table, which follows the file
    # only while DuckDB preserves insertion order (its default, which a caller may turn off).
    with contextlib.suppress(duckdb.Error):
        query(vcon, "SET SESSION preserve_insertion_order = true")


def _check_file(
    vcon: duckdb.DuckDBPyConnection, f: TableFile, columns: list[Column], catalog: Catalog, warnings: list
) -> Layout:
    _check_bytes(f, columns)
    found: list[dict] = []
    layout = None
    try:
        layout = LAYOUTS[f.fmt](vcon, f, columns, found)
        if "status" in layout.exprs:
            layout.vocabularies["status"] = _status_vocabulary(catalog)
        checks = _checks(f, columns, layout, catalog)
        scan = _scan(vcon, columns, layout, checks)
        if not scan.rows:
            raise FileInvalid([no_rows(f)])
        renamed, unknown = _classify_levels(scan.levels)
        if renamed or unknown:
            layout.vocabularies["level"] = _level_vocabulary()
        if renamed:
            found.append(_renamed_levels_warning(f, renamed))
        suspicious = scan.suspicious or bool(unknown)
        if suspicious or _has_duplicates(vcon, columns, layout):
            # Find the problems for good; the cheap screens of the scan may have seen
            # something that is none (a blank number cell, -inf).
            problems, total = _find_problems(vcon, f, columns, layout, checks)
            if total:
                raise FileInvalid(diagnostics(f, layout, problems, total))
        if scan.nonfinite:
            found.extend(_nonfinite_warnings(vcon, f, columns, layout))
    except duckdb.Error as exc:
        raise FileInvalid(read_failure(f, layout.width if layout else 0, exc)) from None
    warnings.extend(found)
    warnings.extend(_missing_metrics_warning(f, columns, layout, scan.platforms, catalog))
    return layout


def _check_bytes(f: TableFile, columns: list[Column]) -> None:
    """Problems found before DuckDB sees the file (DuckDB checks the encoding as it reads)."""
    if f.path.stat().st_size == 0:
        raise FileInvalid([Diagnostic(f.display, None, None, f"{f.name} is empty", hint=shape_hint(f, columns))])
    if f.fmt == "jsonl" and _starts_with_bom(f.path):
        message = f"{f.name} starts with a byte order mark, which JSON Lines does not allow"
        raise FileInvalid([Diagnostic(f.display, 1, None, message, hint="re-save the file as UTF-8 without BOM")])


def _starts_with_bom(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(len(_BOM)) == _BOM


# --------------------------------------------------------------------------- the scan


def _scan(vcon, columns: list[Column], layout: Layout, checks: list[_Check]) -> _Scan:
    """One read of the file: rows, whether a check may fail, the platforms and levels present.

    Plain aggregates (counts, minimum, maximum) screen most checks: far cheaper than
    evaluating each check's predicate on every row, which happens only when a screen fires.
    """
    present = [c for c in columns if c.name in layout.exprs]
    numbers = [f"TRY_CAST({quote_ident(c.name)} AS DOUBLE)" for c in present if c.kind == "number"]
    # NaN sorts above infinity: a NaN or infinite value shows in the minimum or maximum.
    nonfinite = [f"NOT isfinite({agg}({x}))" for x in numbers for agg in ("min", "max")]
    # count() of every column makes DuckDB read (and check the encoding of) each one, so
    # that storing the rows cannot fail on a value the scan skipped.
    read = [f"count({quote_ident(n)})" for n in layout.exprs]
    aggregates = [
        "count(*)",
        " OR ".join(f"coalesce({ch.screen or f'bool_or({ch.where})'}, false)" for ch in checks) or "false",
        " OR ".join(f"coalesce({x}, false)" for x in nonfinite) or "false",
        "list(DISTINCT platform) FILTER (WHERE platform IS NOT NULL)",
        "list(DISTINCT level) FILTER (WHERE level IS NOT NULL)",
        *read,
    ]
    relation = layout.relation(layout.staged())
    ((rows, suspicious, nonfinite_found, platforms, levels, *_),) = query(
        vcon, f"SELECT {', '.join(aggregates)} FROM {relation}"
    )
    return _Scan(rows, suspicious, nonfinite_found, set(platforms or ()), set(levels or ()))


def _count_of(predicate: str) -> str:
    # sum() of a 0/1 column: far cheaper in DuckDB than count(*) FILTER with many filters.
    return f"coalesce(sum(({predicate})::INTEGER), 0)"


def _status_vocabulary(catalog: Catalog) -> Vocabulary:
    vocabularies = status_vocabularies(catalog)
    rows = ", ".join(
        f"({sql_literal(platform)}, {sql_literal(value)}, {sql_literal(status)})"
        for platform, values in vocabularies.items()
        for value, status in sorted(values.items())
    )
    known = ", ".join(sql_literal(platform) for platform in vocabularies if platform)
    platform = f"CASE WHEN s.platform IN ({known}) THEN s.platform ELSE '' END"
    return Vocabulary(
        "status",
        "_status",
        "_sv",
        f"(VALUES {rows}) AS _sv(platform, value, canonical)",
        f"_sv.platform = {platform} AND _sv.value = lower(s.status)",
    )


def _level_vocabulary() -> Vocabulary:
    levels = sorted(level_vocabulary().items())
    rows = ", ".join(f"({sql_literal(name)}, {sql_literal(level)})" for name, level in levels)
    values = f"(VALUES {rows}) AS _lv(value, canonical)"
    return Vocabulary("level", "_level", "_lv", values, "_lv.value = lower(s.level)")


def _classify_levels(levels: set[str]) -> tuple[dict[str, str], list[str]]:
    """(level as written -> canonical level, for those not written canonically; unknown levels)."""
    vocabulary = level_vocabulary()
    renamed = {raw: vocabulary[raw.lower()] for raw in levels if vocabulary.get(raw.lower(), raw) != raw}
    return renamed, sorted(raw for raw in levels if raw.lower() not in vocabulary)


def _renamed_levels_warning(f: TableFile, renamed: dict[str, str]) -> dict:
    read_as = ", ".join(f"{raw} as {level}" for raw, level in sorted(renamed.items()))
    names = ", ".join(sorted(set(renamed.values())))
    return warning(f, f"{f.name}: read level {read_as}; write {names} to use the canonical names")


def _has_duplicates(vcon, columns: list[Column], layout: Layout) -> bool:
    """Whether a key appears twice (levels normalized); run on valid rows only."""
    keys = {c.name: _convert(c, layout) for c in columns if c.key}
    relation = layout.relation(layout.staged())
    day = keys.pop("date", None)
    if day is None:
        sql = f"SELECT count(*) AS n FROM {relation} GROUP BY {', '.join(keys.values())}"
        return bool(query(vcon, f"SELECT coalesce(bool_or(n > 1), false) FROM ({sql})")[0][0])
    others = ", ".join(f"{sql} AS {quote_ident(name)}" for name, sql in keys.items())
    group = ", ".join(quote_ident(name) for name in keys)
    # Rows per entity and 64-day block with one bit per day: a day counted twice is a
    # duplicate. An entity makes one or two groups rather than one per row.
    blocks = (
        f"SELECT count(*) AS n, bit_or(1::UBIGINT << (day % 64)) AS days "
        f"FROM (SELECT {others}, {day} - DATE '{DATE_RANGE[0].isoformat()}' AS day FROM {relation}) "
        f"GROUP BY {group}, day // 64"
    )
    return bool(query(vcon, f"SELECT coalesce(bool_or(n > bit_count(days)), false) FROM ({blocks})")[0][0])


def _nonfinite_warnings(vcon, f: TableFile, columns: list[Column], layout: Layout) -> list[dict]:
    """NaN and infinite values counted per column: read again only when the scan saw some."""
    names = [c.name for c in columns if c.kind == "number" and c.name in layout.exprs]
    predicates = [f"NOT isfinite(TRY_CAST({quote_ident(n)} AS DOUBLE))" for n in names]
    counts = query(vcon, f"SELECT {', '.join(map(_count_of, predicates))} FROM {layout.staged()}")[0]
    found = []
    for name, n in zip(names, counts, strict=True):
        if n == 1:
            found.append(warning(f, f"1 value of {name} was NaN or infinite and was treated as missing"))
        elif n:
            found.append(warning(f, f"{n} values of {name} were NaN or infinite and were treated as missing"))
    return found


# --------------------------------------------------------------------------- value checks


def _checks(f: TableFile, columns: list[Column], layout: Layout, catalog: Catalog) -> list[_Check]:
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
            cell_ok = f" AND _jt = 'OBJECT' AND NOT list_contains(_nested, {sql_literal(c.name)})" if jsonl else ""
            checks.append(
                _Check(
                    c.name,
                    f"{col} IS NULL{cell_ok}",
                    f"column {c.name}: key value is empty",
                    f"every row needs a value in each of {', '.join(x.name for x in columns if x.key)}",
                    screen=f"count(*) > count({col})",
                )
            )
        checks.extend(_value_checks(c, col, c.name in layout.text))
    checks.append(_level_check())
    if "status" in layout.vocabularies:
        checks.append(_status_check(catalog))
    return checks


def _level_check() -> _Check:
    levels = level_vocabulary()
    canonical = sorted(set(levels.values()))
    aliases = {level: [name for name in sorted(levels) if levels[name] == level != name] for level in canonical}
    read_as = "; ".join(f"{_and(names)} are read as {level}" for level, names in aliases.items() if names)
    hint = f"write one of {', '.join(canonical)} (any letter case; {read_as})"
    # The canonical spelling first: lower() only runs on the rare other rows.
    known = ", ".join(map(sql_literal, sorted(levels)))
    where = f"level NOT IN ({', '.join(map(sql_literal, canonical))}) AND lower(level) NOT IN ({known})"
    # The scan lists the levels present: unknown ones are found in Python, not per row.
    return _Check("level", where, "column level: {value} is not a level", hint, (("value", "level"),), (), "false")


def _and(names: list[str]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def _status_check(catalog: Catalog) -> _Check:
    def accepted(platform: str) -> str:
        own = [value for value in catalog.status_vocabulary(platform) if value.lower() not in STATUSES]
        return (", ".join(own) + " or " if own else "") + ", ".join(STATUSES)

    cases = " ".join(f"WHEN {sql_literal(p)} THEN {sql_literal(accepted(p))}" for p in platform_names())
    shown = (
        ("value", "status"),
        ("platform", "platform"),
        ("accepted", f"CASE platform {cases} ELSE {sql_literal(', '.join(STATUSES))} END"),
    )
    return _Check(
        "status",
        "status IS NOT NULL AND _status IS NULL",
        "column status: {value} is not a status of {platform}",
        "{platform} accepts {accepted} (any letter case)",
        shown,
        needs=("platform",),
    )


def _value_checks(c: Column, col: str, is_text: bool) -> list[_Check]:
    shown = (("value", f"CAST({col} AS VARCHAR)"),)
    number = f"TRY_CAST({col} AS DOUBLE)"
    checks = []
    if c.kind == "number" and is_text:
        # DuckDB also reads 1_000 as a number; a user means a thousands separator.
        bad = f"({number} IS NULL AND trim({col}) <> '') OR contains({col}, '_')"
        screen = f"count({col}) > count({number}) OR bool_or(contains({col}, '_'))"
        message = f"column {c.name}: {{value}} is not a number"
        checks.append(_Check(c.name, bad, message, NUMBER_HINT, shown, (), screen))
    if c.kind == "number" and c.nonnegative:
        bad = f"{number} < 0 AND isfinite({number})"
        message = f"column {c.name}: {{value}} is negative"
        checks.append(_Check(c.name, bad, message, NEGATIVE_HINT, shown, (), f"min({number}) < 0"))
    if c.kind == "boolean" and is_text:
        accepted = ", ".join(sql_literal(v) for v in BOOLEAN_TRUE + BOOLEAN_FALSE)
        bad = f"lower({col}) NOT IN ({accepted})"
        checks.append(_Check(c.name, bad, f"column {c.name}: {{value}} is not a boolean", BOOLEAN_HINT, shown))
    if c.kind == "date":
        day = f"TRY_CAST({col} AS DATE)" if is_text else col
        if is_text:
            # The cast accepts 2024-3-1 and 2024/03/01 too; with the range check below the
            # pattern leaves exactly YYYY-MM-DD.
            iso = f"{col} LIKE '____-__-__'"
            bad = f"{col} IS NOT NULL AND ({day} IS NULL OR NOT {iso})"
            screen = f"count({col}) > count({day}) OR NOT bool_and({iso})"
            message = f"column {c.name}: {{value}} is not a date"
            checks.append(_Check(c.name, bad, message, DATE_HINT, shown, (), screen))
        low, high = (f"DATE '{d.isoformat()}'" for d in DATE_RANGE)
        hint = "a date like 0000-01-01 or 9999-12-31 is a placeholder in the export: give the real date"
        hint += "" if c.key else " or leave the cell empty"
        bad = f"{day} NOT BETWEEN {low} AND {high}"
        screen = f"min({day}) < {low} OR max({day}) > {high}"
        message = f"column {c.name}: {{value}} is not between {DATE_RANGE[0]} and {DATE_RANGE[1]}"
        checks.append(_Check(c.name, bad, message, hint, shown, (), screen))
    return checks


def _convert(c: Column, layout: Layout) -> str:
    """SQL turning the staged value of `c` into its canonical type (validated before)."""
    if c.name in layout.vocabularies:
        return quote_ident(layout.vocabularies[c.name].helper)
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


# --------------------------------------------------------------------------- locating problems


def _find_problems(
    vcon, f: TableFile, columns: list[Column], layout: Layout, checks: list[_Check]
) -> tuple[list[Problem], int]:
    """The first problems of the file (sorted by row) and how many there are in all.

    The file is read once more into a staged table holding only the columns concerned,
    whose rowid is the record index (DuckDB keeps the file order).
    """
    names = {c.name for c in columns if c.key} | {name for ch in checks for name in (ch.column, *ch.needs) if name}
    names |= set(layout.vocabularies)
    stage = f"_rulerun_file_{f.table}"
    query(vcon, f"CREATE OR REPLACE TEMP TABLE {stage} AS SELECT {layout.select_list(names)} FROM {layout.source}")
    try:
        relation = layout.relation(f"(SELECT rowid AS _row, * FROM {stage})")
        counts = query(vcon, f"SELECT {', '.join(_count_of(ch.where) for ch in checks)} FROM {relation}")[0]
        problems = [p for ch, n in zip(checks, counts, strict=True) if n for p in _fetch(vcon, relation, ch)]
        duplicates, duplicate_groups = _duplicates(vcon, relation, f, columns, layout)
    finally:
        query(vcon, f"DROP TABLE IF EXISTS {stage}")
    position: dict[str | None, int] = {name: i for i, name in enumerate(layout.positions)}
    problems = sorted(problems + duplicates, key=lambda p: (p.row, position.get(p.column, -1)))
    return problems, sum(counts) + duplicate_groups


def _fetch(vcon, relation: str, check: _Check) -> list[Problem]:
    shown = ", ".join(sql for _, sql in check.shown) or "NULL"
    rows = query(vcon, f"SELECT _row, {shown} FROM {relation} WHERE {check.where} ORDER BY _row LIMIT {_FETCH_LIMIT}")
    problems = []
    for row, *values in rows:
        message, hint = check.message, check.hint
        for (name, _), value in zip(check.shown, values, strict=False):
            text = quote(value) if name == "value" else str(value)
            message, hint = message.replace("{" + name + "}", text), hint.replace("{" + name + "}", text)
        problems.append(Problem(row, check.column, message, hint))
    return problems


def _duplicates(vcon, relation: str, f: TableFile, columns: list[Column], layout: Layout) -> tuple[list[Problem], int]:
    keys = [c for c in columns if c.key]
    values = [_convert(c, layout) for c in keys]
    not_null = " AND ".join(f"{v} IS NOT NULL" for v in values)
    groups = query(
        vcon,
        f"SELECT list(_row ORDER BY _row) AS rows, {', '.join(values)}, count(*) OVER () FROM {relation} "
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
        problems.append(Problem(rows[1], keys[0].name, message, hint, related=tuple(rows)))
    return problems, groups[0][-1] if groups else 0


# --------------------------------------------------------------------------- warnings


def _missing_metrics_warning(
    f: TableFile, columns: list[Column], layout: Layout, platforms: set[str], catalog: Catalog
) -> list[dict]:
    """Metrics the file lacks although a platform in it reports them (per the catalog)."""
    if f.table != "metrics_daily":
        return []
    reported = set().union(*(catalog.metrics_available(p) for p in platforms))
    missing = [c.name for c in columns if c.kind == "number" and c.name not in layout.exprs and c.name in reported]
    if not missing:
        return []
    what = "column" if len(missing) == 1 else "columns"
    them = "it" if len(missing) == 1 else "them"
    return [warning(f, f"{f.name} has no {what} {', '.join(missing)}: rules using {them} will see null")]


def _orphan_warnings(con, schema: str, metrics: TableFile, entities: TableFile) -> list[dict]:
    keys = ", ".join(quote_ident(k) for k in KEY_COLUMNS)
    ((n, example),) = query(
        con,
        f"SELECT count(*), any_value(concat_ws('/', {keys})) FROM {quote_ident(schema)}.metrics_daily "
        f"ANTI JOIN {quote_ident(schema)}.entities USING ({keys})",
    )
    if not n:
        return []
    rows = "1 row belongs" if n == 1 else f"{n} rows belong"
    return [
        warning(
            metrics,
            f"{metrics.name}: {rows} to entities missing from {entities.name} "
            f"(e.g. {example}, as platform/account_id/level/entity_id); "
            "their metrics are kept but their attributes are null",
        )
    ]


# --------------------------------------------------------------------------- materializing


def _create_table(con, schema: str, table: str, columns: list[Column], layout: Layout) -> None:
    name = f"{quote_ident(schema)}.{quote_ident(table)}"
    definitions = ", ".join(f"{quote_ident(c.name)} {c.sql_type}" for c in columns)
    values = ", ".join(
        _convert(c, layout) if c.name in layout.exprs else f"CAST(NULL AS {c.sql_type})" for c in columns
    )
    query(con, f"CREATE TABLE {name} ({definitions})")
    query(con, f"INSERT INTO {name} SELECT {values} FROM {layout.relation(layout.staged())}")


def _source_info(con, schema: str, metric_columns: list[Column], layout: Layout, warnings: list) -> SourceInfo:
    ((entity_rows,),) = query(con, f"SELECT count(*) FROM {quote_ident(schema)}.entities")
    ((metric_rows, min_date, max_date),) = query(
        con, f"SELECT count(*), min(date), max(date) FROM {quote_ident(schema)}.metrics_daily"
    )
    present = frozenset(c.name for c in metric_columns if c.kind == "number" and c.name in layout.exprs)
    return SourceInfo(present, min_date, max_date, entity_rows, metric_rows, warnings)
