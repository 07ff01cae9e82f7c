"""Money: amounts in an account's currency, rounded to what that currency can hold.

The engine keeps money as a float in the account currency. How many decimals a currency
has comes from the CLDR currency data shipped with babel (`get_currency_precision`: 2 for
USD and EUR, 0 for JPY, KRW, CLP, 3 for BHD, ...); an unknown or missing currency keeps the
default of 2 decimals.

Platforms write amounts in their own unit (`WireMoney`, declared per platform in
the `field_mapping` of platforms/<name>/catalog.yaml): `identity` (a decimal number), `micros` (millionths, sent as
a multiple of the currency's smallest unit, e.g. whole yen for JPY), or `minor_units`
(the currency's minimum denomination, with the platform's own digits where it says so).
Adapters never convert money by hand: the adapter template calls `from_wire`/`to_wire`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Any

DEFAULT_DIGITS = 2
TRANSFORMS = ("identity", "micros", "minor_units")
_MODES = {"nearest": ROUND_HALF_UP, "down": ROUND_FLOOR, "up": ROUND_CEILING}


@cache
def currency_digits(currency: str | None) -> int:
    """Decimals of `currency` (ISO 4217 code) per CLDR; DEFAULT_DIGITS when unknown or not given."""
    if not currency or not isinstance(currency, str):
        return DEFAULT_DIGITS
    from babel.numbers import get_currency_precision

    return int(get_currency_precision(currency.upper()))


def quantize(amount: float, digits: int, how: str = "nearest") -> float:
    """`amount` rounded to `digits` decimals: to the nearest (half up), `down` or `up`."""
    # Decimal of the float's shortest repr: 0.285 rounds to 0.29, as a person would write it.
    exact = Decimal(repr(float(amount)))
    try:
        return float(exact.quantize(Decimal(1).scaleb(-digits), rounding=_MODES[how])) + 0.0
    except InvalidOperation:  # infinite, or more digits than any amount (1e308 from bad data): callers refuse it
        return float(amount)


def round_amount(amount: float, currency: str | None = None, how: str = "nearest") -> float:
    """`amount` rounded to the smallest unit of `currency` (2 decimals when not known)."""
    return quantize(amount, currency_digits(currency), how)


@dataclass(frozen=True)
class WireMoney:
    """How a platform writes money: its transform, and its own digits where they are not the currency's."""

    transform: str = "identity"
    digits: int | None = None  # the platform's minor digits for every currency not listed below
    digits_by_currency: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.transform not in TRANSFORMS:
            raise ValueError(f"unknown money transform {self.transform!r}: expected one of {', '.join(TRANSFORMS)}")

    def minor_digits(self, currency: str | None) -> int:
        """Decimals of the smallest amount the platform accepts in `currency`."""
        code = (currency or "").upper()
        if code in self.digits_by_currency:
            return int(self.digits_by_currency[code])
        if self.digits is not None:
            return self.digits
        return currency_digits(code or None)

    def from_wire(self, value: Any, currency: str | None) -> float | None:
        """A wire value -> an amount in the account currency (None stays None)."""
        if value is None:
            return None
        if self.transform == "identity":
            return float(value) + 0.0  # the same number as through Decimal, without its cost (a sync converts millions)
        number = Decimal(str(value))
        if self.transform == "micros":
            number = number.scaleb(-6)
        elif self.transform == "minor_units":
            number = number.scaleb(-self.minor_digits(currency))
        return float(number) + 0.0

    def to_wire(self, amount: float, currency: str | None) -> int | float:
        """An amount -> the wire value, rounded to the smallest unit the platform accepts."""
        digits = self.minor_digits(currency)
        rounded = Decimal(repr(quantize(amount, digits)))
        if self.transform == "micros":
            return int(rounded.scaleb(6))
        if self.transform == "minor_units":
            return int(rounded.scaleb(digits))
        return float(rounded)

    def round(self, amount: float, currency: str | None) -> float:
        """`amount` as the platform will hold it once written."""
        return quantize(amount, self.minor_digits(currency))
