"""Benchmark: `rulerun sync` throughput against the platform fakes with 50 ms per API call.

Starts the Google Ads (gRPC), Meta (Graph API) and TikTok (Business API) fakes from
tests/fakes with a latency added to every call, syncs each platform's account through the
real CLI and SDKs, and prints metric rows per second and the number of API calls per sync.
A last Meta sync has a follow-up page fail once (HTTP 500): the read retries that page
alone, so it costs one request more, not a read from page 1 again.

TikTok documents a rate limit (10 requests per second and 600 per minute per app on its
Basic tier) and rulerun paces its calls to it, so its sync also prints the share of that
limit it used, and the same sync unpaced (what rulerun alone reaches at that latency). Then
300 changes to its ad groups, through `rulerun apply` and through the adapter's batch
(`execute_batch`, `max_batch` at a time): API calls made and wall time.

Usage: python benchmarks/bench_sync.py [--latency 0.05] [--platform tiktok] [--ad-groups 10000] [--days 30]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakes.google_ads_fake import TOKEN as GOOGLE_TOKEN  # noqa: E402
from tests.fakes.google_ads_fake import GoogleAdsFake  # noqa: E402
from tests.fakes.meta_graph_fake import ACCOUNT, APP_ID, APP_SECRET, TOKEN, MetaGraphFake  # noqa: E402
from tests.fakes.tiktok_fake import ADVERTISER, TikTokFake  # noqa: E402
from tests.fakes.tiktok_fake import TOKEN as TIKTOK_TOKEN  # noqa: E402

TIKTOK_QPS = 10.0  # TikTok's Basic tier: 10 requests per second (600 per minute) per app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--platform", choices=("all", "meta", "google", "tiktok"), default="all")
    parser.add_argument("--ad-groups", type=int, default=10_000, help="TikTok ad groups to sync")
    parser.add_argument("--days", type=int, default=30, help="days of TikTok data to sync")
    parser.add_argument("--changes", type=int, default=300, help="TikTok changes to apply")
    args = parser.parse_args()
    print(f"rulerun sync benchmark: {args.latency * 1000:.0f} ms added to every API call")
    if args.platform in ("all", "meta", "google"):
        bench_meta_google(args, ("meta", "google") if args.platform == "all" else (args.platform,))
    if args.platform in ("all", "tiktok"):
        bench_tiktok_sync(args)
        if args.changes:
            bench_tiktok_apply(args)


def cli(root: Path, env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess, float]:
    """Run the real CLI in `root`; the result and its wall time (its CPU seconds in `cli.cpu`)."""
    cmd = [sys.executable, "-m", "engine.cli.main", *args, "--rules", str(root / "rules")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=root, env={**os.environ, **env, "COLUMNS": "200"}, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cli.cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return res, time.perf_counter() - t0


def sync_figures(res: subprocess.CompletedProcess, platform: str, wall: float) -> tuple[int, int, float]:
    """Metric rows, API calls and fetch seconds from the sync table (the whole command's wall time if absent)."""
    m = re.search(r"([\d,]+) metric rows, ([\d,]+) API calls", res.stdout)
    if res.returncode != 0 or not m:
        sys.exit(f"{platform} sync failed:\n{res.stdout}\n{res.stderr}")
    secs = re.search(r"│ *" + platform + r" .*?│ *([\d.]+) *│ *ok", res.stdout)
    return int(m.group(1).replace(",", "")), int(m.group(2).replace(",", "")), float(secs.group(1)) if secs else wall


def cli_sync(root: Path, platform: str, since: str, env: dict[str, str]) -> tuple[int, int, float, float]:
    """`rulerun sync --platform P --since S` in a real process: (metric rows, API calls, fetch s, wall s)."""
    res, wall = cli(root, env, "sync", "--platform", platform, "--since", since)
    return (*sync_figures(res, platform, wall), wall)


def tiktok_workspace(root: Path, fake: TikTokFake, rules: dict[str, str] | None = None) -> dict[str, str]:
    """A rules folder and rulerun.yaml for the fake's advertiser; the CLI's environment."""
    folder = root / "rules" / "tiktok"
    folder.mkdir(parents=True)
    (folder / "operator.yaml").write_text("operator: tiktok\nplatform: tiktok\n")
    for name, text in (rules or {}).items():
        (root / "rules" / name).write_text(text)
    (root / "rulerun.yaml").write_text(
        f"platforms:\n  tiktok:\n    accounts:\n      - {{id: '{ADVERTISER}', endpoint: '{fake.url}'}}\n"
    )
    return {"TIKTOK_ACCESS_TOKEN": TIKTOK_TOKEN, "TIKTOK_ADVERTISER_ID": ADVERTISER}


def bench_tiktok_sync(args: argparse.Namespace) -> None:
    first = date.today() - timedelta(days=args.days)
    fake = TikTokFake(ad_groups=args.ad_groups, days=args.days, first_day=first, latency=args.latency)
    try:
        for level in ("AUCTION_ADGROUP", "AUCTION_CAMPAIGN"):  # the fake computes its report before the clock runs
            fake.report_rows(level, first, fake.last_day)
        print(f"  tiktok: {args.ad_groups:,} ad groups x {args.days} days")
        for label, qps in (("paced to the rate limit", TIKTOK_QPS), ("unpaced", 1e6)):
            with tempfile.TemporaryDirectory(prefix="rulerun-bench-tiktok-") as tmp:
                root = Path(tmp)
                env = {**tiktok_workspace(root, fake), "RULERUN_TIKTOK_MAX_QPS": str(qps)}
                res, wall = cli(root, env, "sync", "--platform", "tiktok", "--since", first.isoformat())
                rows, calls, fetch_s = sync_figures(res, "tiktok", wall)
                rate = calls / fetch_s
                print(
                    f"    {label}: {rows:,} metric rows in {calls} API calls; fetch {fetch_s:.2f} s "
                    f"= {rows / fetch_s:,.0f} rows/s, {rate:.1f} calls/s = {rate / TIKTOK_QPS:.0%} of the "
                    f"{TIKTOK_QPS:.0f}/s limit ({wall:.2f} s for the whole command, {cli.cpu:.1f} s of its CPU)"
                )
    finally:
        fake.close()


APPLY_RULES = {
    "tiktok/trim.yaml": "workflow: trim\noperator: tiktok\nlevel: ad_group\nwindow: last_7d\nrules:\n"
    "  - id: trim_budgets\n    when: status == 'active' and spend > 0\n"
    "    action: {type: change_budget, by_pct: -5}\n",
    "guardrails.yaml": "max_actions_per_hour: 1000000\n",
}


def calls_by_kind(fake: TikTokFake, since: int) -> str:
    kinds = {"sync": 0, "state reads": 0, "writes": 0}
    for method, endpoint, _ in fake.requests[since:]:
        if method == "POST":
            kinds["writes"] += 1
        elif endpoint == "report/integrated/get" or "filtering" not in _:
            kinds["sync"] += 1
        else:
            kinds["state reads"] += 1
    return f"{len(fake.requests) - since} API calls (" + ", ".join(f"{k} {v}" for k, v in kinds.items()) + ")"


def bench_tiktok_apply(args: argparse.Namespace) -> None:
    from engine.core.execution import ActionRequest, EntityKey
    from platforms.adapter import Account
    from platforms.tiktok.adapter import TikTokAdsAdapter

    n = args.changes
    first = date.today() - timedelta(days=7)
    fake = TikTokFake(ad_groups=n, days=7, first_day=first, latency=args.latency)
    try:
        with tempfile.TemporaryDirectory(prefix="rulerun-bench-tiktok-apply-") as tmp:
            root = Path(tmp)
            env = {**tiktok_workspace(root, fake, APPLY_RULES), "RULERUN_TIKTOK_MAX_QPS": str(TIKTOK_QPS)}
            since = len(fake.requests)
            res, wall = cli(root, env, "apply", "--source", "live")
            done = re.search(r"(\d+) executed", res.stdout)
            if res.returncode != 0 or not done:
                sys.exit(f"tiktok apply failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
            print(
                f"  tiktok apply of {done.group(1)} budget changes (rulerun apply --source live, paced): "
                f"{calls_by_kind(fake, since)}; {wall:.2f} s for the whole command"
            )
        os.environ.update(env)  # the adapter reads its credentials from the environment
        adapter = TikTokAdsAdapter(Account("tiktok", ADVERTISER, endpoint=fake.url), max_qps=TIKTOK_QPS)
        reqs = []
        for i, (gid, group) in enumerate(fake.adgroups.items()):
            key = EntityKey("tiktok", ADVERTISER, "ad_group", gid)
            if i % 2:
                reqs.append(ActionRequest(f"p{i}", key, "pause", {}, {"status": "active"}, {"status": "paused"}))
            else:
                budget = float(group["budget"])
                after = {"daily_budget": round(budget * 0.9, 2)}
                reqs.append(ActionRequest(f"b{i}", key, "change_budget", {}, {"daily_budget": budget}, after))
        since = len(fake.requests)
        t0 = time.perf_counter()
        for start in range(0, len(reqs), adapter.max_batch):
            adapter.execute_batch(reqs[start : start + adapter.max_batch])
        wall = time.perf_counter() - t0
        print(
            f"  tiktok batch of {len(reqs)} changes (half pauses, half budgets; execute_batch, "
            f"{adapter.max_batch} at a time, paced): {calls_by_kind(fake, since)}; {wall:.2f} s"
        )
    finally:
        fake.close()


def bench_meta_google(args: argparse.Namespace, platforms: tuple[str, ...]) -> None:
    meta, google = MetaGraphFake(latency=args.latency, page_size=25), GoogleAdsFake(latency=args.latency)
    env = {
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
            runs = (("meta", "2026-01-01", False), ("google", "2026-03-01", False), ("meta", "2026-01-01", True))
            for platform, since, fault in runs:
                if platform not in platforms:
                    continue
                if fault:
                    meta.fail_page(2)  # the second follow-up page answers 500 once
                served = len(meta.requests) + len(google.calls)
                res, wall = cli(root, env, "sync", "--platform", platform, "--since", since)
                rows, calls, fetch_s = sync_figures(res, platform, wall)
                served = len(meta.requests) + len(google.calls) - served
                label = f"{platform}, a page failing once" if fault else platform
                print(
                    f"  {label}: {rows:,} metric rows in {calls} API calls ({served} requests served); "
                    f"fetch {fetch_s:.2f} s = {rows / fetch_s:,.0f} rows/s ({wall:.2f} s for the whole command)"
                )
    finally:
        meta.close()
        google.stop()


if __name__ == "__main__":
    main()
