"""How numbers are shown to people: one way in every human format (table, Markdown, `explain`, the log).

- money: two decimals and thousands separators, `1,260.00`;
- whole numbers (counts, most thresholds): thousands separators, `113,400`;
- small fractions (below 0.1, such as a CTR): four significant digits, `0.003125`;
- other fractions: two decimals, `4.37`;
- percent changes: a sign and no decimals, `+20%`.

JSON keeps full precision; only text meant for reading goes through here.
"""

from __future__ import annotations

import math

MONEY = "money"


def fmt_number(value: float, unit: str | None = None) -> str:
    """`value` for reading; `unit` is a catalog unit (money, count, ratio) when known."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if not math.isfinite(value):
        return str(value)
    if unit == MONEY:
        return f"{value:,.2f}"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) < 0.1:
        return f"{value:.4g}"
    return f"{value:,.2f}"


def fmt_pct(pct: float) -> str:
    """A percent change: `+20%`, `-15%`."""
    return f"{pct:+.0f}%"
