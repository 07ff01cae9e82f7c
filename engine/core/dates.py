"""The dates rulerun works with: 1970-01-01 to 2200-12-31.

Evaluation windows reach up to ten years back from the evaluation date (twice that for a
`prev.` window) and a day forward; inside this range none of that arithmetic can leave the
calendar. Dates in data, on the command line and in saved plans are checked against it.
"""

from __future__ import annotations

from datetime import date

FIRST_DATE = date(1970, 1, 1)
LAST_DATE = date(2200, 12, 31)
RANGE_TEXT = f"{FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()}"


def in_range(day: date) -> bool:
    return FIRST_DATE <= day <= LAST_DATE


def out_of_range(day: date, what: str) -> str | None:
    """Why `day` may not be used as `what`, or None when it is in range."""
    if in_range(day):
        return None
    return f"{what} {day.isoformat()} is outside the supported dates, {RANGE_TEXT}"
