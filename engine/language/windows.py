"""Evaluation windows and their date ranges.

All windows are half-open date ranges [start, end) relative to the as-of date:
- `today`: the as-of date itself;
- `yesterday`: the day before it;
- `last_Nd`: the N complete days before the as-of date (as Meta and Google define it);
- `last_Nd_ending_Md_ago`: the N complete days that end M days before the as-of date,
  leaving out the M newest days (`last_7d_ending_3d_ago` on Nov 11 reads Nov 1..7), for
  platforms whose newest days still change (Amazon restates 3 days);
- `mtd`: from the first of the as-of month to the day before the as-of date (empty on the 1st);
- `lifetime`: every day before the as-of date;
- `prev:<window>`: the equally long window immediately before <window> (`prev.` in rules).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

LAST_N = re.compile(r"^last_([1-9][0-9]{0,3})d(?:_ending_([1-9][0-9]{0,3})d_ago)?$")
NAMED = ("today", "yesterday", "mtd", "lifetime")
PATTERN = r"^(today|yesterday|mtd|lifetime|last_[1-9][0-9]{0,3}d(_ending_[1-9][0-9]{0,3}d_ago)?)$"
MAX_DAYS = 3650


def _last_n(name: str) -> tuple[int, int] | None:
    """(days, days skipped before the as-of date) of a `last_Nd[_ending_Md_ago]` name."""
    m = LAST_N.match(name)
    return None if m is None else (int(m.group(1)), int(m.group(2) or 0))


def is_window(name: str) -> bool:
    parts = _last_n(name)
    return name in NAMED or (parts is not None and max(parts) <= MAX_DAYS)


def window_error(name: str) -> str | None:
    """Why `name` is not a window, or None when it is one."""
    if is_window(name):
        return None
    parts = _last_n(name)
    if parts and parts[0] > MAX_DAYS:
        return f"window {name!r} is longer than {MAX_DAYS} days"
    if parts:
        return f"window {name!r} ends more than {MAX_DAYS} days back"
    return f"unknown window {name!r}"


WINDOW_HINT = (
    "windows: today, yesterday, last_Nd (e.g. last_7d, last_30d), last_Nd_ending_Md_ago "
    "(e.g. last_7d_ending_3d_ago), mtd, lifetime"
)


@dataclass(frozen=True)
class Range:
    start: date | None  # None: unbounded (lifetime)
    end: date  # exclusive

    @property
    def days(self) -> int | None:
        return None if self.start is None else (self.end - self.start).days


def date_range(window: str, as_of: date) -> Range:
    """The [start, end) range of a window name (or `prev:<window>`) at `as_of`."""
    if window.startswith("prev:"):
        base = date_range(window[5:], as_of)
        if base.start is None:
            raise ValueError("lifetime has no previous window")
        length = base.end - base.start
        return Range(base.start - length, base.start)
    if window == "today":
        return Range(as_of, as_of + timedelta(days=1))
    if window == "yesterday":
        return Range(as_of - timedelta(days=1), as_of)
    if window == "mtd":
        return Range(as_of.replace(day=1), as_of)
    if window == "lifetime":
        return Range(None, as_of)
    parts = _last_n(window)
    if parts is None:
        raise ValueError(f"unknown window {window!r}")
    days, skipped = parts
    end = as_of - timedelta(days=skipped)
    return Range(end - timedelta(days=days), end)
