"""JSON as rulerun reads and writes it: finite numbers only, bounded nesting, one canonical form.

Python's JSON reader accepts `NaN`, `Infinity` and numbers too large for a float (`1e999`
becomes infinity); none of them is JSON, and a NaN bid compares false with every limit, so
it would slip past a clamp. Every plan, approval and action-log payload goes through
`loads`, which refuses them, and is written by `dumps`, which never produces them.
`digest` names a value by the SHA-256 of its canonical form (sorted keys, no spaces), so
the same content has the same digest however the file was indented.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from typing import Any

MAX_DEPTH = 32  # a plan is about six levels deep; deeper input is refused before anything walks it


class JsonError(ValueError):
    """Text that is not acceptable JSON, with the 1-based line and column of the problem."""

    def __init__(self, message: str, line: int | None = None, col: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


class _NotFinite:
    """Stands in for a refused number while parsing, so the reader can say where it was."""

    def __init__(self, text: str):
        self.text = text


def _parse_float(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else _NotFinite(text)


def _parse_int(text: str) -> Any:
    # Python ints are unbounded; one beyond float range breaks every consumer that compares money.
    return _NotFinite(text) if len(text.lstrip("-")) > 308 else int(text)


_DECODER = json.JSONDecoder(parse_float=_parse_float, parse_int=_parse_int, parse_constant=_NotFinite)
# A string, or a token that may be a refused number: scanned only to locate a refusal.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|-?(?:NaN|Infinity)|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?')


def loads(text: str | bytes) -> Any:
    """Parse JSON text, refusing NaN, infinities, numbers out of float range and deep nesting."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8")
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise JsonError(exc.msg, exc.lineno, exc.colno) from None
    except RecursionError:
        raise JsonError(f"nested deeper than {MAX_DEPTH} levels") from None
    _check(value, text)
    return value


def check_value(value: Any) -> None:
    """Refuse a value decoded by another reader that holds a non-finite float or nests too deep."""
    _check(value, None)


def _check(value: Any, text: str | None) -> None:
    """Walk the parsed value without recursion: depth bound, and no refused number."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if (isinstance(item, float) and not math.isfinite(item)) or (
            isinstance(item, int) and abs(item) > sys.float_info.max
        ):
            shown = str(item) if isinstance(item, float) else "a number with more than 308 digits"
            raise JsonError(f"{shown} is not a finite number (JSON has no NaN or infinity)")
        if isinstance(item, _NotFinite):
            line, col = _locate(text, item.text) if text is not None else (None, None)
            shown = item.text if len(item.text) <= 24 else item.text[:20] + "..."
            raise JsonError(f"{shown} is not a finite number (JSON has no NaN or infinity)", line, col)
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise JsonError(f"nested deeper than {MAX_DEPTH} levels")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def _locate(text: str, token: str) -> tuple[int | None, int | None]:
    for m in _TOKENS.finditer(text):
        if m.group() == token:
            line = text.count("\n", 0, m.start()) + 1
            return line, m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
    return None, None


def dumps(value: Any, **options: Any) -> str:
    """JSON text of `value`; ValueError for NaN or an infinity anywhere in it."""
    return json.dumps(value, allow_nan=False, ensure_ascii=False, **options)


def canonical(value: Any) -> str:
    """The one text of a value: keys sorted, no spaces, finite numbers only."""
    return dumps(value, sort_keys=True, separators=(",", ":"))


def digest(value: Any) -> str:
    """SHA-256 (hex) of the canonical form of `value`."""
    return hashlib.sha256(canonical(value).encode()).hexdigest()
