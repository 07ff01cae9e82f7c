"""Durations as rules and the command line write them: `30m`, `12h`, `3d`.

Files (`cooldown`, `approvals.expire_after`) allow 1 to 99999 units (PATTERN, in the
generated schemas); command-line options accept 0m up to OPTION_LONGEST (ten years), so
that a time computed from one (`--since 7d`, an approval's expiry) stays a real date.
"""

from __future__ import annotations

import re
from datetime import timedelta

PATTERN = r"^[1-9][0-9]{0,4}[mhd]$"
HINT = "a number and a unit: 30m, 12h or 3d"
FILE_LONGEST = timedelta(days=99999)
OPTION_LONGEST = timedelta(days=3650)
_FORM = re.compile(r"^([0-9]+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_MINUTES = {"m": 1, "h": 60, "d": 1440}


class DurationOutOfRange(ValueError):
    """A well-formed duration longer than allowed."""


def parse_duration(text: str, longest: timedelta = FILE_LONGEST) -> timedelta:
    """The timedelta of `30m`, `12h` or `3d`, at most `longest`; ValueError for anything else."""
    m = _FORM.match(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"{text!r} is not a duration; use e.g. 30m, 6h or 2d")
    digits, unit = m.group(1), m.group(2)
    # compared as whole minutes first: a huge amount must not overflow timedelta
    if len(digits) > 12 or int(digits) * _MINUTES[unit] > longest // timedelta(minutes=1):
        raise DurationOutOfRange(f"{text.strip()!r} is too long; durations go from 0m to {longest.days}d")
    return timedelta(**{_UNITS[unit]: int(digits)})
