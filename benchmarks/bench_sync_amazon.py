"""Benchmark: Amazon Ads sync and apply against the local fake with 50 ms added to every call.

Sync: `rulerun sync` (a real process, bench_sync.cli_sync) of one profile with about
10,000 entities (campaigns of 10 ad groups, each with 5 keywords and 4 product targets, and
a search term per ad group) over 30 days; prints the API calls, metric rows per second and
wall time. The fake finishes a report at its first poll: Amazon's own report generation
(minutes, at worst hours) is not part of the figure. Amazon documents no fixed rate limit
(it throttles dynamically), so there is no share of a limit to print.

Apply: 300 keyword bid changes run by the executor (engine/apply/executor.py, in process,
SQLite action log), once one action per call and once in batches of the adapter's
`max_batch`; prints the API calls (writes and state reads) and the wall time of each.

Usage: python benchmarks/bench_sync_amazon.py [--latency 0.05] [--entities 10000] [--days 30] [--changes 300]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_sync import cli_sync  # noqa: E402

from tests.fakes.amazon_ads_fake import ENV, PROFILE, AmazonAdsFake  # noqa: E402


def bench_sync(latency: float, entities: int, days: int) -> None:
    today = datetime.now(UTC).date()
    fake = AmazonAdsFake(page_size=100, report_polls=0, latency=latency)
    fake.bulk(entities, days=days, first_day=today - timedelta(days=days))
    try:
        with tempfile.TemporaryDirectory(prefix="rulerun-bench-amazon-") as tmp:
            root = Path(tmp)
            (root / "rules").mkdir()
            (root / "rulerun.yaml").write_text(
                f"platforms:\n  amazon:\n    accounts:\n      - {{id: '{PROFILE}', endpoint: '{fake.url}'}}\n"
            )
            since = (today - timedelta(days=days)).isoformat()
            rows, calls, fetch_s, wall = cli_sync(root, "amazon", since, {**os.environ, **ENV})
        listed = len(fake.campaigns) + len(fake.ad_groups) + len(fake.keywords) + len(fake.targets)
        print(
            f"  sync: {listed:,} entities (+{len(fake.search_terms):,} search terms) x {days} days: "
            f"{rows:,} metric rows in {calls} API calls; fetch {fetch_s:.2f} s = {rows / fetch_s:,.0f} rows/s "
            f"({wall:.2f} s for the whole command)"
        )
    finally:
        fake.close()


def bench_apply(latency: float, changes: int) -> None:
    """`changes` keyword bid cuts executed by the executor (in process, SQLite action log) through the fake."""
    from engine.apply.actionlog import open_log
    from engine.apply.executor import Executor
    from engine.core.plan import PlannedAction
    from platforms.adapter import Account
    from platforms.amazon.adapter import AmazonAdsAdapter

    os.environ.update(ENV)
    for batch in (1, AmazonAdsAdapter.max_batch):
        fake = AmazonAdsFake(page_size=100, latency=latency)
        fake.bulk(changes * 2)  # 5 keywords per ad group, 50 per campaign: `changes` keywords
        adapter = AmazonAdsAdapter(Account("amazon", PROFILE, endpoint=fake.url))
        adapter.max_batch = batch
        actions = [
            PlannedAction(
                workflow="amazon/trim",
                rule_id="trim_bids",
                platform="amazon",
                account_id=PROFILE,
                level="keyword",
                entity_id=kid,
                entity_name=None,
                type="change_bid",
                params={"by_pct": -5},
                before={"bid": 2.1},
                after={"bid": 2.0},
                action_id=f"bench-{kid}",
            )
            for kid in list(fake.keywords)[:changes]
        ]
        try:
            with tempfile.TemporaryDirectory(prefix="rulerun-bench-amazon-") as tmp, open_log(None, Path(tmp)) as log:
                executor = Executor(
                    log,
                    lambda platform, account_id=None, adapter=adapter: adapter,
                    lambda a: {"max_actions_per_hour": 1_000_000},
                    lambda a: None,
                    "bench",
                    "bench",
                )
                t0 = time.perf_counter()
                executor.run_all(actions)
                seconds = time.perf_counter() - t0
        finally:
            adapter.close()
            fake.close()
        executed = executor.outcome.counts["executed"]
        api = [r for r in fake.requests if r["kind"] == "api"]
        reads = sum(1 for r in api if r["path"].endswith("/list"))
        print(
            f"  apply, batch size {batch}: {executed} of {changes} executed in {len(fake.requests)} API calls "
            f"({fake.write_calls()} writes, {reads} state reads: gate, write step, verification); {seconds:.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--changes", type=int, default=300)
    args = parser.parse_args()
    print(f"Amazon Ads benchmark: {args.latency * 1000:.0f} ms added to every API call")
    bench_sync(args.latency, args.entities, args.days)
    bench_apply(args.latency, args.changes)


if __name__ == "__main__":
    main()
