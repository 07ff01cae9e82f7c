"""Benchmark: `rulerun apply` throughput on the demo sandbox.

Runs the benchmark rule set (20 rules x 6 operators, see bench_evaluate.py) on the demo with
bulk ad groups, with the hourly rate limit lifted, and reports how many actions per second
the exactly-once protocol executes end to end: rate-limit and cooldown lookups,
pre-execution checks (credentials, live state read, guardrails), intent and outcome
records in the SQLite action log, the sandbox call and the verification read.

Usage: python benchmarks/bench_apply.py [--ad-groups 20000]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_evaluate import AD_PLATFORMS


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ad-groups", type=int, default=5_000)
    args = parser.parse_args()
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
            f"demo:ad_groups={args.ad_groups},days=30",
            "--profile",
        ]
        t0 = time.perf_counter()
        res = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if res.returncode != 0:
            sys.exit(f"apply failed ({res.returncode}):\n{res.stderr}")
    m = re.search(r"execute ([0-9.]+)s for (\d+) executed", res.stderr)
    seconds, executed = float(m.group(1)), int(m.group(2))
    print(f"rulerun apply benchmark: demo with {args.ad_groups:,} bulk ad groups, SQLite action log, sandbox platform")
    print(f"  {res.stdout.strip()}")
    print(
        f"  whole command {wall:.2f} s wall; execution stage {seconds:.2f} s for {executed:,} actions "
        f"= {executed / seconds:,.0f} actions/s"
    )


if __name__ == "__main__":
    main()
