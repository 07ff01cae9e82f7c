"""Benchmark: LinkedIn Ads sync and apply against the local Rest.li fake, with latency on every call.

Sync: a fake account of 200 campaign groups, 1,800 campaigns and 8,000 creatives (10,000
entities) with 30 days of activity, read through the real CLI (`rulerun sync --platform
linkedin`); prints the API calls per sync, metric rows per second and wall time.
LinkedIn publishes no fixed request quota (its limits are per application and day, shown
in the Developer Portal), so no share of a limit is printed.

Apply: 300 changes (100 creative pauses, 100 campaign budgets, 100 manual bids) through the
adapter, as the executor makes them one by one today (live-state check, execute, verify)
and as one execute_batch per `max_batch` changes; prints the API calls and wall time of each.

Usage: python benchmarks/bench_sync_linkedin.py [--latency 0.05]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakes.linkedin_fake import (  # noqa: E402
    ACCOUNT,
    CLIENT_ID,
    CLIENT_SECRET,
    TOKEN,
    VERSION,
    LinkedInFake,
    make_adapter,
)

ENV = {
    "LINKEDIN_CLIENT_ID": CLIENT_ID,
    "LINKEDIN_CLIENT_SECRET": CLIENT_SECRET,
    "LINKEDIN_ACCESS_TOKEN": TOKEN,
    "LINKEDIN_AD_ACCOUNT_ID": ACCOUNT,
}
GROUPS, CAMPAIGNS, CREATIVES, DAYS = 200, 1_800, 8_000, 30


def bench_sync(latency: float) -> None:
    first = date.today() - timedelta(days=DAYS)  # the sync reads up to yesterday: exactly DAYS days
    fake = LinkedInFake(groups=GROUPS, campaigns=CAMPAIGNS, creatives=CREATIVES, days=DAYS, first_day=first)
    fake.latency = latency
    try:
        with tempfile.TemporaryDirectory(prefix="rulerun-bench-linkedin-") as tmp:
            root = Path(tmp)
            (root / "rules").mkdir()
            (root / "rulerun.yaml").write_text(
                f"platforms:\n  linkedin:\n    api_version: '{VERSION}'\n"
                f"    accounts:\n      - {{id: '{ACCOUNT}', endpoint: '{fake.url}'}}\n"
            )
            cmd = [sys.executable, "-m", "engine.cli.main", "sync", "--rules", str(root / "rules")]
            cmd += ["--platform", "linkedin", "--since", first.isoformat()]
            env = {**os.environ, **ENV, "COLUMNS": "200"}
            t0 = time.perf_counter()
            res = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
    finally:
        fake.close()
    m = re.search(r"([\d,]+) metric rows, ([\d,]+) API calls", res.stdout)
    if res.returncode != 0 or not m:
        sys.exit(f"linkedin sync failed:\n{res.stdout}\n{res.stderr}")
    rows, calls = int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))
    secs = re.search(r"│ *linkedin .*?│ *([\d.]+) *│ *ok", res.stdout)
    fetch_s = float(secs.group(1)) if secs else wall
    entities = GROUPS + CAMPAIGNS + CREATIVES
    print(
        f"  sync: {entities:,} entities x {DAYS} days: {rows:,} metric rows in {calls} API calls; "
        f"fetch {fetch_s:.2f} s = {rows / fetch_s:,.0f} rows/s ({wall:.2f} s for the whole command)"
    )


def _changes():
    from engine.core.execution import ActionRequest, EntityKey

    def key(level: str, entity_id: int) -> EntityKey:
        return EntityKey("linkedin", ACCOUNT, level, str(entity_id))

    pauses = [
        ActionRequest(f"p{i}", key("ad", 800000001 + i), "pause", {}, {"status": "active"}, {"status": "paused"})
        for i in range(100)
    ]
    budgets = [
        ActionRequest(f"b{i}", key("ad_group", 700000001 + i), "set_budget", {}, {"daily_budget": 80.0},
                      {"daily_budget": 72.0})
        for i in range(100)
    ]  # fmt: skip
    bids = [
        ActionRequest(f"c{i}", key("ad_group", 700000101 + i), "set_bid", {}, {"bid": 7.25}, {"bid": 6.9})
        for i in range(100)
    ]
    return pauses + budgets + bids


def bench_apply(latency: float) -> None:
    for name, execute in (("one by one (check, execute, verify)", _one_by_one), ("execute_batch", _batched)):
        fake = LinkedInFake(groups=10, campaigns=300, creatives=300)
        fake.latency = latency
        try:
            os.environ.update(ENV)
            adapter = make_adapter(fake)
            t0 = time.perf_counter()
            execute(adapter, _changes())
            wall = time.perf_counter() - t0
            calls, writes = len(fake.calls), len(fake.updates)
        finally:
            fake.close()
        print(f"  apply, {name}: {writes} changes in {calls} API calls, {wall:.2f} s")


def _one_by_one(adapter, reqs) -> None:
    for req in reqs:
        adapter.read_state(req.entity)
        adapter.execute(req)
        adapter.read_state(req.entity)


def _batched(adapter, reqs) -> None:
    size = adapter.max_batch
    for start in range(0, len(reqs), size):
        adapter.execute_batch(reqs[start : start + size])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    print(f"LinkedIn benchmark: {args.latency * 1000:.0f} ms added to every API call")
    bench_sync(args.latency)
    bench_apply(args.latency)


if __name__ == "__main__":
    main()
