"""Benchmark: `rulerun sync` throughput against the platform fakes with 50 ms per API call.

Starts the Google Ads (gRPC) and Meta (Graph API) fakes from tests/fakes with a latency
added to every call, syncs each platform's account through the real CLI and SDKs, and
prints metric rows per second and the number of API calls per sync. A last Meta sync has a
follow-up page fail once (HTTP 500): the read retries that page alone, so it costs one call
more, not a read from page 1 again.

Usage: python benchmarks/bench_sync.py [--latency 0.05]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakes.google_ads_fake import TOKEN as GOOGLE_TOKEN  # noqa: E402
from tests.fakes.google_ads_fake import GoogleAdsFake  # noqa: E402
from tests.fakes.meta_graph_fake import ACCOUNT, APP_ID, APP_SECRET, TOKEN, MetaGraphFake  # noqa: E402


def cli_sync(root: Path, platform: str, since: str, env: dict[str, str]) -> tuple[int, int, float, float]:
    """`rulerun sync --platform P --since S` in a real process: (metric rows, API calls, fetch s, wall s)."""
    cmd = [sys.executable, "-m", "engine.cli.main", "sync", "--rules", str(root / "rules")]
    cmd += ["--platform", platform, "--since", since]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=root, env={**env, "COLUMNS": "200"}, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    m = re.search(r"([\d,]+) metric rows, ([\d,]+) API calls", res.stdout)
    if res.returncode != 0 or not m:
        sys.exit(f"{platform} sync failed:\n{res.stdout}\n{res.stderr}")
    rows, calls = int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))
    secs = re.search(r"│ *" + platform + r" .*?│ *([\d.]+) *│ *ok", res.stdout)
    return rows, calls, float(secs.group(1)) if secs else wall, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    meta, google = MetaGraphFake(latency=args.latency, page_size=25), GoogleAdsFake(latency=args.latency)
    env = {
        **os.environ,
        "META_APP_ID": APP_ID,
        "META_APP_SECRET": APP_SECRET,
        "META_ACCESS_TOKEN": TOKEN,
        "META_AD_ACCOUNT_ID": f"act_{ACCOUNT}",
        "RULERUN_META_POLL_INTERVAL": "0",
        "GOOGLE_ADS_DEVELOPER_TOKEN": "dev",
        "GOOGLE_ADS_ACCESS_TOKEN": GOOGLE_TOKEN,
    }
    try:
        with tempfile.TemporaryDirectory(prefix="rulerun-bench-sync-") as tmp:
            root = Path(tmp)
            shutil.copytree(REPO / "rules", root / "rules")
            (root / "rulerun.yaml").write_text(
                "platforms:\n"
                f"  meta:\n    accounts:\n      - {{id: act_{ACCOUNT}, endpoint: '{meta.url}'}}\n"
                f"  google:\n    accounts:\n      - {{id: '123-456-7890', endpoint: 'http://{google.endpoint}'}}\n"
            )
            print(f"rulerun sync benchmark: {args.latency * 1000:.0f} ms added to every API call")
            runs = (("meta", "2026-01-01", ""), ("google", "2026-03-01", ""), ("meta", "2026-01-01", "fail"))
            for platform, since, fault in runs:
                if fault:
                    meta.fail_page(2)  # the second follow-up page answers 500 once
                served = len(meta.requests) + len(google.calls)
                rows, calls, fetch_s, wall = cli_sync(root, platform, since, env)
                served = len(meta.requests) + len(google.calls) - served
                label = f"{platform}, a page failing once" if fault else platform
                print(
                    f"  {label}: {rows:,} metric rows in {calls} API calls ({served} served by the fake); "
                    f"fetch {fetch_s:.2f} s "
                    f"= {rows / fetch_s:,.0f} rows/s ({wall:.2f} s for the whole command)"
                )
    finally:
        meta.close()
        google.stop()


if __name__ == "__main__":
    main()
