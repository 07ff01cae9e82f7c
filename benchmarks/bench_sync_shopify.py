"""Benchmark: Shopify sync against the local GraphQL fake with 50 ms added per API call.

The sync read (the adapter's `fetch`, what `rulerun sync` stores) of a shop with 100,000
orders over 90 days, under the cost bucket of a standard shop (2,000 points, refilled at 100
a second, PLATFORM-FACTS 6.5) that the fake enforces, twice: as the adapter reads it (one
bulk operation, since the range holds more than `BULK_OVER` orders) and forced through
cursor pages (`--paged-only` runs only that). Prints the API calls, the cost points the
answers used against the points the bucket made available over the read (its maximum plus
what it restored meanwhile), the THROTTLED refusals, and the wall time.

The waits for the bucket are what a live standard shop imposes: at 100 points a second they
add up to far more than the calls themselves. They pass on a virtual clock that both the
adapter and the fake's bucket read (the real 50 ms per call still passes), so the run takes
minutes; the report prints the measured wall time, the bucket waits, and their sum (the wall
time a live shop would take). `--real-waits` sleeps them for real (use it with fewer orders).
The fake completes a bulk operation after two polls; a live one takes longer.

Usage: python benchmarks/bench_sync_shopify.py [--orders 100000] [--days 90] [--latency 0.05] [--paged-only]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from platforms.adapter import Account  # noqa: E402
from platforms.shopify.adapter import ShopifyAdapter  # noqa: E402
from tests.fakes.shopify_fake import SHOP, TOKEN, ShopifyFake  # noqa: E402


class Clock:
    """Real time plus the waits that were not slept."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.skipped

    def sleep(self, seconds: float) -> None:
        self.skipped += seconds


def run(args: argparse.Namespace, *, paged: bool) -> None:
    clock = Clock()
    fake = ShopifyFake(latency=args.latency, clock=time.monotonic if args.real_waits else clock)
    fake.generate(args.orders, args.days)
    fake.bulk_polls = 2
    adapter = ShopifyAdapter(
        Account("shopify", SHOP, timezone="America/New_York", endpoint=fake.endpoint), poll_interval=1.0
    )
    if paged:
        adapter.BULK_OVER = 10**12
    if not args.real_waits:
        adapter.sleep = clock.sleep
        adapter.clock = clock
    start_clock = clock()
    try:
        t0 = time.perf_counter()
        got = adapter.fetch(fake.today - timedelta(days=args.days), fake.today - timedelta(days=1))
        wall = time.perf_counter() - t0
    finally:
        fake.close()
    span = clock() - start_clock if not args.real_waits else wall
    available = fake.maximum + fake.restore * span
    orders = sum(r["orders"] for r in got.metrics if r["level"] == "account")
    print(f"  {'cursor pages' if paged else 'as the adapter reads it (bulk operation)'}:")
    print(
        f"    {orders:,.0f} orders (test orders left out) -> {len(got.metrics):,} metric rows and "
        f"{len(got.entities):,} entities in {got.api_calls:,} API calls ({len(fake.requests):,} requests "
        f"with retries; {fake.throttled} THROTTLED)"
    )
    print(
        f"    cost: {fake.points_used:,.0f} points used of {available:,.0f} available over the read "
        f"({fake.points_used / available:.0%}); {fake.points_used / max(orders, 1):.2f} points an order"
    )
    if args.real_waits:
        print(f"    wall time: {wall:.1f} s (waits slept: bucket {adapter.waited:.1f} s)")
    else:
        print(
            f"    wall time: {wall:.1f} s measured + {clock.skipped:,.1f} s of waits on the virtual clock "
            f"(bucket {adapter.waited:,.1f} s, the rest polls) = {wall + clock.skipped:,.1f} s "
            f"({(wall + clock.skipped) / 60:,.1f} min) on a live standard shop"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--paged-only", action="store_true", help="only the read through cursor pages")
    parser.add_argument("--real-waits", action="store_true", help="sleep the waits for real")
    args = parser.parse_args()
    os.environ["SHOPIFY_ACCESS_TOKEN"] = TOKEN
    print(
        f"Shopify benchmark: {args.orders:,} orders over {args.days} days, {args.latency * 1000:.0f} ms added to "
        "every API call, the bucket of a standard shop (2,000 points restored at 100/s)"
    )
    if not args.paged_only:
        run(args, paged=False)
    run(args, paged=True)


if __name__ == "__main__":
    main()
