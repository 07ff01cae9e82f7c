"""Rest.li 2.0 URL encoding: how LinkedIn's versioned API reads query strings and keys.

Strings are percent-encoded with no safe characters, so a URN is one opaque leaf
(`urn%3Ali%3AsponsoredAccount%3A1`); lists are `List(a,b)`, objects `(k:v,k2:v2)` with
their keys sorted, and the structural characters `( ) , :` stay as they are. The empty
string is `''`. An ordinary URL encoder (httpx `params=`) would escape the structure, so
query strings are built here and sent as part of the URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from urllib.parse import quote

Value = str | int | float | Decimal | bool | Sequence["Value"] | Mapping[str, "Value"]


def encode(value: Value) -> str:
    """One value in Rest.li 2.0 URL encoding."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value, safe="") if value else "''"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return "(" + ",".join(f"{encode(str(k))}:{encode(v)}" for k, v in sorted(value.items())) + ")"
    if isinstance(value, Sequence):
        return "List(" + ",".join(encode(v) for v in value) + ")"
    raise TypeError(f"Rest.li cannot encode {type(value).__name__}")


def query(params: Mapping[str, Value | None]) -> str:
    """A query string (`a=1&b=List(x)`) from `params`; None values are left out."""
    return "&".join(f"{encode(name)}={encode(value)}" for name, value in params.items() if value is not None)


def date_range(start: date, end: date) -> dict[str, dict[str, int]]:
    """The `dateRange` object of the analytics finders (inclusive days)."""
    return {"start": _day(start), "end": _day(end)}


def _day(d: date) -> dict[str, int]:
    return {"year": d.year, "month": d.month, "day": d.day}
