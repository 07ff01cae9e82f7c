"""Benchmark: Klaviyo sync against the local fake with 50 ms added per API call.

1. A first sync read (the adapter's `fetch`, what `rulerun sync` stores) of an account
   with 500 email campaigns and 50 flows over 90 days: API calls by kind, report calls
   per report endpoint, waits, wall time and the share of each report's daily quota
   (225 a day). The fake enforces the documented 2 calls a minute per report endpoint
   (a 429 past it), so a read that paced badly would show 429s.
2. A second sync at once, where the per-minute limit binds, with the limit scaled to
   2 calls per 6 s (so the run stays short), enforced by the fake and paced by the
   adapter: the seconds it waited against the least the limit requires.

Usage: python benchmarks/bench_sync_klaviyo.py [--latency 0.05] [--campaigns 500] [--flows 50] [--days 90]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from platforms.adapter import Account  # noqa: E402
from platforms.klaviyo.adapter import REPORTS, KlaviyoAdapter  # noqa: E402
from platforms.ratelimit import CallWindow  # noqa: E402
from tests.fakes.klaviyo_fake import ACCOUNT, KlaviyoFake, env  # noqa: E402

MARGIN = KlaviyoAdapter.REPORT_MARGIN


class Waits:
    """Real sleeps, added up."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0

    def __call__(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        time.sleep(seconds)


def kinds(fake: KlaviyoFake, since: int) -> Counter:
    return Counter(f"{m} {p.split('/')[2]}" for m, p, _, _ in fake.requests[since:])


def read(fake: KlaviyoFake, days: int, windows: dict[str, CallWindow], label: str) -> dict[str, int]:
    waits = Waits()
    adapter = KlaviyoAdapter(Account("klaviyo", ACCOUNT, endpoint=fake.url), sleep=waits, windows=windows)
    today = datetime.now(UTC).date()
    since = len(fake.requests)
    t0 = time.perf_counter()
    got = adapter.fetch(today - timedelta(days=days), today - timedelta(days=1))
    wall = time.perf_counter() - t0
    by_kind = ", ".join(f"{k} {n}" for k, n in sorted(kinds(fake, since).items()))
    reports = ", ".join(f"{k} {n}" for k, n in adapter.report_calls.items())
    print(f"  {label}: {len(got.metrics):,} metric rows, {len(got.entities):,} entities, {got.api_calls} API calls")
    print(f"    by endpoint: {by_kind}")
    print(
        f"    report calls: {reports} ({max(adapter.report_calls.values()) / KlaviyoAdapter.REPORTS_PER_DAY:.1%} "
        f"of the busiest report's daily quota); waits: {waits.count} totalling {waits.total:.2f} s; "
        f"429s from the fake: {fake.throttled}; wall {wall:.2f} s"
    )
    return adapter.report_calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--campaigns", type=int, default=500)
    parser.add_argument("--flows", type=int, default=50)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    os.environ.update(env())
    print(
        f"Klaviyo benchmark: {args.campaigns} campaigns, {args.flows} flows, {args.days} days, "
        f"{args.latency * 1000:.0f} ms added to every API call"
    )
    fake = KlaviyoFake(latency=args.latency, campaigns=args.campaigns, flows=args.flows, report_limit=(2, 60.0))
    try:
        read(
            fake, args.days, {r: CallWindow(2, 60.0 + MARGIN) for r in REPORTS}, "first sync (2 report calls a minute)"
        )
    finally:
        fake.close()
    period = 6.0
    fake = KlaviyoFake(latency=args.latency, campaigns=args.campaigns, flows=args.flows, report_limit=(2, period))
    try:
        windows = {
            r: CallWindow(2, period + MARGIN) for r in REPORTS
        }  # process-wide in a real run: shared by both syncs
        first = read(fake, args.days, windows, f"sync 1 of 2 (limit scaled to 2 calls / {period:.0f} s)")
        t0 = time.perf_counter()
        second = read(fake, args.days, windows, "sync 2 of 2, at once")
        both = time.perf_counter() - t0
        busiest = max(first[r] + second[r] for r in REPORTS)
        floor = max(
            0.0, (busiest - 2) / 2 * (period + MARGIN)
        )  # past the first 2, each pair of calls needs a new window
        print(
            f"    the limit admits the busiest report's {busiest} calls in no less than {floor:.1f} s from the first;"
        )
        print(f"    the second sync took {both:.2f} s in all")
    finally:
        fake.close()


if __name__ == "__main__":
    main()
