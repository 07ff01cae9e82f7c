"""Durations as rules and the command line write them: `30m`, `12h`, `3d`.

Files (`cooldown`, `approvals.expire_after`) allow 1 to 99999 units (PATTERN, in the
generated schemas); command-line options also accept 0 (`--max-plan-age 0m`).
"""

from __future__ import annotations

import re
from datetime import timedelta

PATTERN = r"^[1-9][0-9]{0,4}[mhd]$"
HINT = "a number and a unit: 30m, 12h or 3d"
_FORM = re.compile(r"^([0-9]+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """The timedelta of `30m`, `12h` or `3d`; ValueError for anything else."""
    m = _FORM.match(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"{text!r} is not a duration; use e.g. 30m, 6h or 2d")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
