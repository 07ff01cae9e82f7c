"""Benchmark: Pinterest sync and apply against the local fake with 50 ms added per API call.

1. The sync read (the adapter's `fetch`, what `rulerun sync` stores) of an account with
   10,000 ad groups (10 a campaign, one Pin each) over 30 days: API calls, metric rows per
   second, wall time, and the share of the documented ads_analytics limit (300 a minute)
   it used. The fake enforces that limit (a 429 past it), so a read that paced badly would
   show 429s.
2. The same reads where the analytics limit binds: the limit scaled to 30 calls per 6 s
   (the same 5 a second, so the run stays short), enforced by the fake and paced by the
   adapter; prints the analytics calls per second reached against that rate.
3. Apply of 300 changes (pause 300 ad groups) through the adapter's batch path, the one the
   executor calls: PATCH calls (at most ceil(300 / 30)), other calls, wall time.

Usage: python benchmarks/bench_sync_pinterest.py [--latency 0.05] [--ad-groups 10000] [--days 30]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.core.execution import ActionRequest, EntityKey  # noqa: E402
from platforms.adapter import Account  # noqa: E402
from platforms.pinterest.adapter import PinterestAdapter  # noqa: E402
from platforms.ratelimit import CallWindow  # noqa: E402
from tests.fakes.pinterest_fake import ACCOUNT, PinterestFake, env  # noqa: E402

LIMIT = 300  # ads_analytics calls a minute (Standard access)


def analytics_calls(fake: PinterestFake) -> list:
    return [r for r in fake.requests if r[1].endswith("/analytics") or r[1].endswith("/reports")]


def sync_fetch(fake: PinterestFake, days: int) -> None:
    """The adapter's read of the whole account (what `rulerun sync` stores), under the real limit."""
    adapter = PinterestAdapter(Account("pinterest", ACCOUNT, endpoint=fake.url))
    t0 = time.perf_counter()
    got = adapter.fetch(fake.today - timedelta(days=days), fake.today - timedelta(days=1))
    wall = time.perf_counter() - t0
    rows = len(got.metrics)
    analytics = len(analytics_calls(fake))
    minutes = max(wall, 60.0) / 60  # the limit counts calls a minute: a shorter read still spends one minute's
    print(
        f"  sync read: {rows:,} metric rows and {len(got.entities):,} entities in {got.api_calls} API calls "
        f"({analytics} analytics); {wall:.2f} s = {rows / wall:,.0f} rows/s"
    )
    print(
        f"  analytics limit: {analytics} of {LIMIT} calls in the minute = {analytics / minutes / LIMIT:.0%} used; "
        f"429s from the fake: {fake.throttled}"
    )


def sync_binding(fake: PinterestFake, days: int) -> None:
    calls, period = 30, 6.0
    fake.requests.clear()
    fake.analytics_limit, fake.throttled = (calls, period), 0
    adapter = PinterestAdapter(
        Account("pinterest", ACCOUNT, endpoint=fake.url), window=CallWindow(calls, period), workers=4
    )
    t0 = time.perf_counter()
    got = adapter.fetch(fake.today - timedelta(days=days), fake.today - timedelta(days=1))
    wall = time.perf_counter() - t0
    n = len(analytics_calls(fake))
    rate = calls / period
    floor = (n - calls) / rate  # past the first window's burst, the limit admits `rate` calls a second
    print(
        f"  limit binding ({calls} calls / {period:.0f} s = {rate:.0f}/s, the documented rate): {n} analytics calls, "
        f"{len(got.metrics):,} rows in {wall:.2f} s; the limit allows them in no less than {floor:.2f} s, "
        f"so {floor / wall:.0%} of the limit used while it binds; 429s: {fake.throttled}"
    )


def apply_batch(fake: PinterestFake, changes: int) -> None:
    fake.requests.clear()
    fake.analytics_limit = None
    adapter = PinterestAdapter(Account("pinterest", ACCOUNT, endpoint=fake.url))
    groups = list(fake.ad_groups)[:changes]
    reqs = [
        ActionRequest(
            f"bench-{g}",
            EntityKey("pinterest", ACCOUNT, "ad_group", g),
            "pause",
            {},
            {"status": "active"},
            {"status": "paused"},
        )
        for g in groups
    ]
    t0 = time.perf_counter()
    done = {}
    for i in range(0, len(reqs), adapter.max_batch * 10):  # the executor hands over batches of its own size
        done.update(adapter.execute_batch(reqs[i : i + adapter.max_batch * 10]))
    wall = time.perf_counter() - t0
    patches = sum(1 for r in fake.requests if r[0] == "PATCH")
    reads = sum(1 for r in fake.requests if r[0] == "GET")
    print(
        f"  apply: {len(done)} of {changes} changes executed with {patches} PATCH calls "
        f"(at most {math.ceil(changes / adapter.max_batch)}) and {reads} state reads; {wall:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--ad-groups", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--changes", type=int, default=300)
    args = parser.parse_args()
    os.environ.update(env())
    fake = PinterestFake(latency=args.latency)
    fake.bulk(ad_groups=args.ad_groups, per_campaign=10)
    fake.analytics_limit = (LIMIT, 60.0)
    try:
        print(
            f"Pinterest benchmark: {args.ad_groups:,} ad groups x {args.days} days, "
            f"{args.latency * 1000:.0f} ms added to every API call"
        )
        sync_fetch(fake, args.days)
        sync_binding(fake, args.days)
        apply_batch(fake, args.changes)
    finally:
        fake.close()


if __name__ == "__main__":
    main()
