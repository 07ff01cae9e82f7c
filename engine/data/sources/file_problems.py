"""Locating the problems of `file:` source files: record indexes turned into physical lines.

DuckDB reads the files; when it finds a problem (a bad value, a row it cannot parse) the
records concerned are known by their index, and the file is read again in Python to
turn those indexes into the lines a user sees in an editor.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson

from engine.core.errors import Diagnostic
from engine.data.sources.file_layouts import UTF8_HINT, Layout, TableFile

MAX_PROBLEMS_PER_FILE = 50
MORE_HINT = "fix the problems above and run again to see the rest"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Problem:
    """A bad value or row, by 0-based record index: lines are looked up only for reporting."""

    row: int
    column: str | None
    message: str  # may contain {rows}: where the `related` records are
    hint: str
    related: tuple[int, ...] = ()


def diagnostics(f: TableFile, layout: Layout, problems: list[Problem], total: int) -> list[Diagnostic]:
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


def _diagnostic(f: TableFile, layout: Layout, p: Problem, lines: dict[int, int]) -> Diagnostic:
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


def read_failure(f: TableFile, width: int, exc: duckdb.Error) -> list[Diagnostic]:
    """Turn a DuckDB read error into diagnostics, finding the lines in Python."""
    if f.fmt != "parquet":
        bad = _first_bad_utf8(f.path)
        if bad is not None:
            line, col, byte = bad
            message = f"{f.name}: line {line} is not valid UTF-8 (byte 0x{byte:02x})"
            return [Diagnostic(f.display, line, col if f.fmt == "csv" else None, message, hint=UTF8_HINT)]
    if f.fmt == "csv":
        found = _csv_shape_problems(f, width)
    elif f.fmt == "jsonl":
        found = _jsonl_syntax_problems(f)
    else:
        found = []
    if found:
        return _capped(f, found)
    return [unreadable(f, exc)]


def unreadable(f: TableFile, exc: Exception) -> Diagnostic:
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


def _first_bad_utf8(path: Path) -> tuple[int, int, int] | None:
    """(line, CSV column, byte) of the first byte that is not UTF-8, or None."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line, line_start, offset = 1, 0, 0
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
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
        prefix = fh.read(min(position - line_start, CHUNK)).decode("utf-8", errors="replace")
    try:
        return max(len(next(csv.reader([prefix]), [])), 1)
    except csv.Error:
        return 1
