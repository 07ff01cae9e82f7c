"""Wire money conversions (engine/core/money.py): the identity fast path reads numbers as Decimal would."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from engine.core.money import WireMoney

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15)
decimal_text = st.decimals(min_value=-(10**12), max_value=10**12, allow_nan=False, places=6).map(str)


@given(st.one_of(finite, st.integers(-(10**15), 10**15), decimal_text))
def test_identity_reads_a_wire_value_as_its_exact_decimal(value):
    got = WireMoney("identity").from_wire(value, "USD")
    assert got == float(Decimal(str(value))) and str(got) != "-0.0"


def test_none_stays_none_and_transforms_still_scale():
    assert WireMoney("identity").from_wire(None, "USD") is None
    assert WireMoney("micros").from_wire(12_340_000, "USD") == 12.34
    assert WireMoney("minor_units").from_wire("5000", "JPY") == 5000.0
