"""Evaluation windows and their date ranges.

All windows are half-open date ranges [start, end) relative to the as-of date:
- `today`: the as-of date itself;
- `yesterday`: the day before it;
- `last_Nd`: the N complete days before the as-of date (as Meta and Google define it);
- `mtd`: from the first of the as-of month to the day before the as-of date (empty on the 1st);
- `lifetime`: every day before the as-of date;
- `prev:<window>`: the equally long window immediately before <window> (`prev.` in rules).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

LAST_N = re.compile(r"^last_([1-9][0-9]{0,3})d$")
NAMED = ("today", "yesterday", "mtd", "lifetime")
PATTERN = r"^(today|yesterday|mtd|lifetime|last_[1-9][0-9]{0,3}d)$"
MAX_DAYS = 3650


def is_window(name: str) -> bool:
    m = LAST_N.match(name)
    return name in NAMED or (m is not None and int(m.group(1)) <= MAX_DAYS)


def window_error(name: str) -> str | None:
    """Why `name` is not a window, or None when it is one."""
    if is_window(name):
        return None
    m = LAST_N.match(name)
    if m:
        return f"window {name!r} is longer than {MAX_DAYS} days"
    return f"unknown window {name!r}"


WINDOW_HINT = "windows: today, yesterday, last_Nd (e.g. last_7d, last_30d), mtd, lifetime"


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
    m = LAST_N.match(window)
    if not m:
        raise ValueError(f"unknown window {window!r}")
    return Range(as_of - timedelta(days=int(m.group(1))), as_of)
