"""Property: the Shopify adapter paces its queries on the cost bucket exactly.

For random shops (orders, page sizes, line items per order) and random starting buckets,
a read through cursor pages against the fake's leaky bucket (on a virtual clock that the
adapter's sleeps advance):

- a query whose cost the adapter knows (it asked for it before) is never refused: the
  adapter waited until the bucket held it;
- no wait is longer than needed: when it arrives after a wait, the bucket holds at most 10 ms
  of restore (the rounding of a wait) beyond what the query asks;
- a refused query (its first time, its cost unknown) is sent again once, after the wait the
  refusal computes, and goes through;
- the points used never exceed what the bucket held at the start plus what it restored.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platforms.adapter import Account
from platforms.shopify.adapter import ShopifyAdapter
from tests.fakes.shopify_fake import SHOP, TOKEN, ShopifyFake, VirtualClock


@pytest.fixture(scope="module")
def fake():
    before = os.environ.get("SHOPIFY_ACCESS_TOKEN")
    os.environ["SHOPIFY_ACCESS_TOKEN"] = TOKEN
    server = ShopifyFake()
    yield server
    server.close()
    if before is None:
        os.environ.pop("SHOPIFY_ACCESS_TOKEN", None)
    else:
        os.environ["SHOPIFY_ACCESS_TOKEN"] = before


@settings(max_examples=12)  # each example is a whole read over HTTP
@given(
    orders=st.integers(min_value=0, max_value=200),
    page=st.integers(min_value=10, max_value=60),
    lines=st.integers(min_value=1, max_value=6),
    start=st.floats(min_value=0, max_value=2000),
    restore=st.sampled_from([50.0, 100.0, 200.0]),
)
def test_pacing_never_trips_the_bucket_nor_waits_longer_than_it_needs(fake, orders, page, lines, start, restore):
    clock = VirtualClock()
    fake.clock, fake._at, fake.available, fake.restore = clock, clock.now, start, restore
    fake.throttled, fake.points_used, fake.arrivals = 0, 0.0, []
    fake.generate(orders, 4, seed=orders)
    adapter = ShopifyAdapter(Account("shopify", SHOP, endpoint=fake.endpoint))
    adapter.sleep, adapter.clock = clock.sleep, clock
    adapter.ORDERS_PAGE, adapter.LINE_ITEMS, adapter.BULK_OVER = page, lines, 10**9
    got = adapter.fetch(fake.today - timedelta(days=4), fake.today - timedelta(days=1))

    assert sum(r["orders"] for r in got.metrics if r["level"] == "account") == sum(
        1 for o in fake.orders_list if not o["test"] and o["createdAt"] >= f"{(fake.today - timedelta(days=4))}T05"
    )
    ended = set(clock.ends)
    seen: set[str] = set()
    refused_before = False
    for operation, available, requested, at in fake.arrivals:
        refused = requested > available + 1e-6
        if operation in seen or refused_before:
            assert not refused, (operation, available, requested)  # its cost was known: it was paced
        if at in ended:  # the first query after a wait: the wait was no longer than the bucket needed
            ended.discard(at)
            assert available - requested <= restore * 0.01 + 1e-6, (operation, available, requested)
        refused_before = refused
        seen.add(operation)
    assert fake.points_used <= start + restore * (clock.now - 1000.0) + 1e-6
