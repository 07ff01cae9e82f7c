"""Conversions every backend shares: UTC timestamps, dates and JSON text."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from engine.core import jsonstrict
from engine.core.errors import RulerunError


def now() -> datetime:
    return datetime.now(UTC)


def utc(value: datetime | str) -> datetime:
    """A timezone-aware UTC datetime. Naive values are refused: guessing their zone shifts cooldowns."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()}: pass a timezone-aware one (e.g. datetime.now(UTC))")
    return value.astimezone(UTC)


def utc_text(value: datetime | str) -> str:
    # One fixed width (microseconds, +00:00) so that text order is time order in SQLite.
    return utc(value).isoformat(timespec="microseconds")


def as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return utc(value).date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_text(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _finite(value: Any) -> Any:
    # NaN and infinities are not JSON (PostgreSQL's JSONB refuses them). In what only describes
    # an action (evidence, results) both backends store null; a payload refuses them (dumps).
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dumps(value: Any, *, strict: bool = False) -> str:
    """JSON text for a JSON column; `strict`: ValueError on NaN or an infinity instead of null."""
    return jsonstrict.dumps(value if strict else _finite(value), default=_default)


def loads(text: Any, column: str, *, decoded: bool = False) -> Any:
    """A JSON column's value (`decoded`: already parsed by the driver, only checked); an
    unreadable one (edited by hand) is an error naming the column."""
    try:
        if decoded:
            jsonstrict.check_value(text)
            return text
        return jsonstrict.loads(text)
    except (jsonstrict.JsonError, UnicodeDecodeError) as exc:
        raise RulerunError(
            f"the action log holds invalid JSON in a {column} column: {exc}",
            hint="the log database was edited by hand: restore the value (JSON, finite numbers only)",
        ) from None
