"""Benchmark: ActiveCampaign sync and an automation enrollment against the local fake, 50 ms added per call.

1. The sync read (the adapter's `fetch`, what `rulerun sync` stores) of an account with
   500 campaigns and 50 lists over 30 days: API calls, rows, wall time, and how close it
   runs to ActiveCampaign's 5 requests a second, which the fake enforces (a 429 past it):
   a read that paced badly would show 429s, one that paced too carefully a wall time far
   above the floor the limit sets.
2. `add_to_automation` of a 40-contact list (one enrollment call per contact, the API
   has no bulk endpoint) and its rollback: calls, wall time, against the same limit.

Usage: python benchmarks/bench_sync_activecampaign.py [--latency 0.05] [--campaigns 500] [--lists 50] [--days 30]
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

from engine.core.execution import ActionRequest, EntityKey  # noqa: E402
from platforms.activecampaign.adapter import PER_SECOND, WINDOW_SECONDS, ActiveCampaignAdapter  # noqa: E402
from platforms.adapter import Account  # noqa: E402
from platforms.ratelimit import CallWindow  # noqa: E402
from tests.fakes.activecampaign_fake import A_WINBACK, ACCOUNT, L_WINBACK, ActiveCampaignFake, env  # noqa: E402

WINDOW = CallWindow(PER_SECOND, WINDOW_SECONDS)  # one account: one window for every adapter, as in a run


def adapter_for(fake: ActiveCampaignFake) -> ActiveCampaignAdapter:
    return ActiveCampaignAdapter(Account("activecampaign", ACCOUNT, endpoint=fake.url), window=WINDOW)


def floor(calls: int) -> float:
    """The least wall time the documented limit allows for `calls` requests: a burst of 5, then 5 a second."""
    return max(0.0, (calls - PER_SECOND) / PER_SECOND)


def sync_fetch(fake: ActiveCampaignFake, days: int) -> None:
    adapter = adapter_for(fake)
    t0 = time.perf_counter()
    got = adapter.fetch(fake.today - timedelta(days=days), fake.today - timedelta(days=1))
    wall = time.perf_counter() - t0
    calls = got.api_calls
    print(
        f"  sync read: {len(got.metrics):,} metric rows and {len(got.entities):,} entities in {calls} API calls, "
        f"{wall:.2f} s ({calls / wall:.2f} calls/s against the limit of {PER_SECOND}/s)"
    )
    print(
        f"  the limit allows {calls} calls in no less than {floor(calls):.2f} s (the adapter keeps 10% under it); "
        f"429s from the fake: {fake.throttled}"
    )


def enroll(fake: ActiveCampaignFake) -> None:
    fake.requests.clear()
    key = EntityKey("activecampaign", ACCOUNT, "segment", L_WINBACK)
    after = {"automation_enrollment": {"automation": A_WINBACK, "contacts": len(fake.members[L_WINBACK])}}
    t0 = time.perf_counter()
    adapter = adapter_for(fake)
    done = adapter.execute(ActionRequest("bench-enroll", key, "add_to_automation", {}, {}, after))
    wall = time.perf_counter() - t0
    posts = sum(1 for r in fake.requests if r[0] == "POST")
    reads = sum(1 for r in fake.requests if r[0] == "GET")
    print(
        f"  enrollment: {done.result['contacts_added']} contacts added with {posts} POST calls and {reads} reads "
        f"in {wall:.2f} s (floor {floor(posts + reads):.2f} s)"
    )
    fake.requests.clear()
    t0 = time.perf_counter()
    assert done.rollback_plan is not None
    adapter_for(fake).rollback(done.rollback_plan, key)
    wall = time.perf_counter() - t0
    deletes = sum(1 for r in fake.requests if r[0] == "DELETE")
    print(f"  rollback: {deletes} DELETE calls and {len(fake.requests) - deletes} reads in {wall:.2f} s")
    print(f"  429s from the fake in all: {fake.throttled}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--campaigns", type=int, default=500)
    parser.add_argument("--lists", type=int, default=50)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    os.environ.update(env())
    fake = ActiveCampaignFake(
        latency=args.latency, campaigns=args.campaigns, lists=args.lists, rate_limit=(PER_SECOND, 1.0)
    )
    try:
        print(
            f"ActiveCampaign benchmark: {len(fake.campaigns):,} campaigns, {len(fake.lists)} lists, "
            f"{args.days} days, {args.latency * 1000:.0f} ms added to every API call, {PER_SECOND} requests/s enforced"
        )
        sync_fetch(fake, args.days)
        enroll(fake)
    finally:
        fake.close()


if __name__ == "__main__":
    main()
