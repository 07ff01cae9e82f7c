"""Benchmark: `rulerun apply` throughput on the demo sandbox, and Google Ads calls per apply.

1. Runs the benchmark rule set (20 rules x 6 operators, see bench_evaluate.py) on the demo
   with bulk ad groups, with the hourly rate limit lifted, and reports how many actions per
   second the exactly-once protocol executes end to end: rate-limit and cooldown lookups,
   pre-execution checks (credentials, live state read, guardrails), intent and outcome
   records in the SQLite action log, the sandbox call and the verification read. Once one
   action per call (the sandbox's default), once in batches (RULERUN_SANDBOX_BATCH).
2. Applies `--changes` bid changes to a Google Ads account through the real SDK against the
   local gRPC fake (tests/fakes, `--latency` seconds added to every call), in process with a
   SQLite action log, and counts the mutate calls: ceil(changes / batch size) in batches,
   one per change without.

Usage: python benchmarks/bench_apply.py [--ad-groups 5000] [--changes 300] [--batch 100] [--latency 0.01]
"""

from __future__ import annotations

import argparse
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO))
from bench_evaluate import AD_PLATFORMS  # noqa: E402

GOOGLE_ACCOUNT = "123-456-7890"


def write_apply_rules(root: Path) -> Path:
    """One operator per ad platform whose rule lowers every delivering manual bid by 5%."""
    rules = root / "rules"
    for platform in AD_PLATFORMS:
        folder = rules / platform
        folder.mkdir(parents=True)
        (folder / "operator.yaml").write_text(f"operator: {platform}\nplatform: {platform}\n")
        (folder / "trim.yaml").write_text(
            f"workflow: trim\noperator: {platform}\nlevel: ad_group\nwindow: last_7d\nrules:\n"
            "  - id: trim_bids\n    when: status == 'active' and impressions > 0 and not is_null(bid)\n"
            "    action: {type: change_bid, by_pct: -5}\n"
        )
    (rules / "guardrails.yaml").write_text("max_actions_per_hour: 1000000\n")
    return rules


def demo_apply(ad_groups: int, batch: int) -> None:
    with tempfile.TemporaryDirectory(prefix="rulerun-bench-apply-") as tmp:
        root = Path(tmp)
        rules = write_apply_rules(root)
        cmd = [
            sys.executable,
            "-m",
            "engine.cli.main",
            "apply",
            "--rules",
            str(rules),
            "--source",
            f"demo:ad_groups={ad_groups},days=30",
            "--profile",
        ]
        env = {**os.environ, "RULERUN_SANDBOX_BATCH": str(batch)}
        t0 = time.perf_counter()
        res = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if res.returncode != 0:
            sys.exit(f"apply failed ({res.returncode}):\n{res.stderr}")
    m = re.search(r"execute ([0-9.]+)s for (\d+) executed", res.stderr)
    seconds, executed = float(m.group(1)), int(m.group(2))
    print(f"  sandbox batch size {batch}: {res.stdout.strip()}")
    print(
        f"    whole command {wall:.2f} s wall; execution stage {seconds:.2f} s for {executed:,} actions "
        f"= {executed / seconds:,.0f} actions/s"
    )


def google_apply(changes: int, batch: int, latency: float) -> None:
    """`changes` bid cuts on one Google Ads account, executed by the executor through the SDK and the fake."""
    from google.oauth2.credentials import Credentials

    from engine.apply.actionlog import open_log
    from engine.apply.executor import Executor
    from engine.core.plan import PlannedAction
    from platforms.adapter import Account
    from platforms.google.adapter import GoogleAdsAdapter
    from tests.fakes.google_ads_fake import TOKEN, GoogleAdsFake, bulk_account

    os.environ["GOOGLE_ADS_DEVELOPER_TOKEN"] = "bench-dev-token"
    fake = GoogleAdsFake(bulk_account(changes), latency=latency)
    adapter = GoogleAdsAdapter(
        Account("google", GOOGLE_ACCOUNT, endpoint=fake.endpoint), credentials=Credentials(token=TOKEN), insecure=True
    )
    adapter.max_batch = batch
    actions = [
        PlannedAction(
            workflow="google/trim",
            rule_id="trim_bids",
            platform="google",
            account_id=GOOGLE_ACCOUNT,
            level="ad_group",
            entity_id=str(1000 + i),
            entity_name=None,
            type="change_bid",
            params={"by_pct": -5},
            before={"bid": 1.0},
            after={"bid": 0.95},
            action_id=f"bench-{i}",
        )
        for i in range(changes)
    ]
    try:
        with tempfile.TemporaryDirectory(prefix="rulerun-bench-google-") as tmp, open_log(None, Path(tmp)) as log:
            executor = Executor(
                log,
                lambda platform, account_id=None: adapter,
                lambda a: {"max_actions_per_hour": 1_000_000},
                lambda a: None,
                "bench",
                "bench",
            )
            t0 = time.perf_counter()
            executor.run_all(actions)
            seconds = time.perf_counter() - t0
        calls = Counter(method for method, _ in fake.calls)
    finally:
        adapter.close()
        fake.stop()
    executed = executor.outcome.counts["executed"]
    mutates = calls["MutateAdGroupsRequest"]
    print(
        f"  batch size {batch}: {executed} executed, {mutates} mutate call(s) "
        f"(ceil({changes}/{batch}) = {math.ceil(changes / batch)}), "
        f"{calls['SearchGoogleAdsStreamRequest']} GAQL reads (gate, write step, verification); "
        f"{seconds:.2f} s = {executed / seconds:,.0f} actions/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ad-groups", type=int, default=5_000)
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--batch", type=int, default=100, help="batch size for the batched runs")
    parser.add_argument("--latency", type=float, default=0.01, help="seconds added to every Google Ads call")
    args = parser.parse_args()
    print(f"rulerun apply benchmark: demo with {args.ad_groups:,} bulk ad groups, SQLite action log, sandbox platform")
    for batch in (1, args.batch):
        demo_apply(args.ad_groups, batch)
    print(
        f"Google Ads: {args.changes} bid changes through the google-ads SDK against the local gRPC fake, "
        f"{args.latency * 1000:.0f} ms per call"
    )
    for batch in (1, args.batch):
        google_apply(args.changes, batch, args.latency)


if __name__ == "__main__":
    main()
