"""Benchmark: `rulerun evaluate --dry-run --format json` on the demo at scale.

Measures, on this machine:
- end-to-end wall time and peak RSS of the command (cold: the demo is materialized into the
  store; warm: the store is reused), with 20 rules over N ad groups x D days;
- the evaluation stage's throughput (entity-rule evaluations per second);
- the naive design for comparison: the same 20 rules evaluated entity by entity with simpleeval
  on pre-parsed ASTs (measured on a sample, reported as a rate), and the ratio;
- the wall time of `rulerun --help` and `rulerun validate` on the shipped library.

Usage: python benchmarks/bench_evaluate.py [--ad-groups 1000000] [--days 30] [--sample 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
AD_PLATFORMS = ("meta", "google", "amazon", "tiktok", "linkedin", "pinterest")

# Selective, like real rules: each combines a condition with enough volume to act on.
RULES = [
    ("pause_no_conversions", "spend > 5 * thresholds.target_cpa and conversions == 0", "pause"),
    ("pause_high_cpa", "cpa > 4 * thresholds.target_cpa and spend > 400", "pause"),
    ("lower_bid_low_ctr", "ctr < 0.002 and impressions >= 20000", "{type: change_bid, by_pct: -15}"),
    ("raise_bid_high_roas", "roas >= 6 and conversions >= 10", "{type: change_bid, by_pct: 10}"),
    ("lower_bid_cpc_jump", "cpc > 2 * prev.cpc and clicks > 50", "{type: change_bid, by_pct: -10}"),
    ("notify_spend_jump", "pct_change(spend, prev.spend) > 150 and spend > 300", "notify"),
    ("notify_expensive_cpm", "cpm > 200 and impressions > 1000", "notify"),
    ("pause_low_roas", "roas < 0.3 and spend > 800", "pause"),
    ("enable_recovered", "status == 'paused' and roas > 3 and lifetime.conversions > 10", "enable"),
    ("notify_low_cvr", "cvr < 0.001 and clicks > 500", "notify"),
    (
        "lower_bid_recent_drought",
        "last_3d.spend > 0.8 * spend and last_3d.conversions == 0 and spend > 300",
        "{type: change_bid, by_pct: -20}",
    ),
    ("notify_dark", "impressions == 0 and status == 'active' and days_since(created_at) > 14", "notify"),
    ("raise_bid_cheap_cpa", "cpa < 0.2 * thresholds.target_cpa and conversions >= 10", "{type: change_bid, by_pct: 5}"),
    ("notify_adjusted_cpa", "adjusted_cpa > 8 * thresholds.target_cpa and spend > 500", "notify"),
    ("pause_big_spend_weak", "spend > 1500 and conversions < 2 and ctr < 0.005", "pause"),
    ("notify_ctr_swing", "abs(pct_change(ctr, prev.ctr)) > 80 and impressions > 50000", "notify"),
    ("lower_bid_small_baskets", "aov < 15 and conversions > 20", "{type: change_bid, by_pct: -5}"),
    ("notify_spend_no_cpa", "is_null(cpa) and spend > 1500", "notify"),
    ("pause_rounded_cpa", "round(cpa, 2) > 800 and impressions > 10000", "pause"),
    ("notify_costly_clicks", "max(cpc, cpm / 1000) > 8 and min(ctr, cvr) < 0.001", "notify"),
]


def write_rules(root: Path) -> Path:
    rules = root / "rules"
    for platform in AD_PLATFORMS:
        folder = rules / platform
        folder.mkdir(parents=True)
        (folder / "operator.yaml").write_text(
            f"operator: {platform}\nplatform: {platform}\nthresholds:\n  target_cpa: 80\n"
        )
        body = "".join(f'  - id: {rid}\n    when: "{when}"\n    action: {action}\n' for rid, when, action in RULES)
        (folder / "bench.yaml").write_text(
            f"workflow: bench\noperator: {platform}\nlevel: ad_group\nwindow: last_7d\nrules:\n{body}"
        )
    return rules


def run_measured(args: list[str], stdout_path: Path) -> tuple[float, int, str, int]:
    """Wall seconds, peak RSS (bytes), stderr and exit code of one command."""
    with stdout_path.open("wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.PIPE, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    return wall, usage.ru_maxrss * 1024, stderr, os.waitstatus_to_exitcode(status)


def profile_of(stderr: str) -> dict[str, float]:
    line = next((ln for ln in stderr.splitlines() if ln.startswith("profile:")), "")
    stages = {k: float(v) for k, v in re.findall(r"(\w+) ([0-9.]+)s", line)}
    m = re.search(r"([0-9,]+) entity-rule evaluations", line)
    stages["evaluations"] = float(m.group(1).replace(",", "")) if m else 0.0
    return stages


def naive_rate(rules_dir: Path, state_dir: Path, source: str, sample: int) -> tuple[float, int]:
    """Entity-rule evaluations per second of simpleeval with pre-parsed ASTs, one entity at a time."""
    sys.path.insert(0, str(REPO))
    from engine.core.catalog import load_catalog
    from engine.data.metrics import MetricsService
    from engine.data.sources import parse_source
    from engine.data.store import Store
    from engine.evaluation.evaluate import GroupEvaluator, default_as_of, group_rules
    from engine.evaluation.explain import ref_value
    from engine.language.expr.reference import Reference
    from engine.rules.loader import load_project

    catalog = load_catalog()
    project = load_project(rules_dir, catalog)
    with Store(state_dir) as store:
        loaded = store.load(parse_source(source), catalog)
        metrics = MetricsService(store.con, loaded, catalog, default_as_of(loaded))
        group = max(group_rules(project.workflows), key=lambda g: len(g.rules))
        ev = GroupEvaluator(metrics, project, group)
        ev.aggregate()
        cur = store.con.execute(f"SELECT * FROM {ev.table} LIMIT {int(sample)}")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        ev.drop()
        wf = group.rules[0][0]
        # Values are prepared outside the timed loop: the naive design is timed at its best.
        prepared = []
        for row in rows:
            variables = {}
            for _, rule in group.rules:
                for var, ref in rule.when.variables.items():
                    variables[(rule.id, var)] = ref_value(metrics, project, wf, ref, row)
            prepared.append(variables)
        exprs = [rule.when for _, rule in group.rules]
        reference = Reference({"as_of": metrics.as_of})  # one simpleeval instance, reused: the naive design at its best
        evaluator = reference.evaluator
        t0 = time.perf_counter()
        for variables in prepared:
            for expr, (_, rule) in zip(exprs, group.rules, strict=True):
                evaluator.names = {var: variables[(rule.id, var)] for var in expr.variables}
                evaluator._eval(expr.pyast)
        seconds = time.perf_counter() - t0
    n = len(prepared) * len(exprs)
    return n / seconds, n


def median_wall(args: list[str], runs: int = 10) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ad-groups", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--sample", type=int, default=20_000, help="entities for the naive measurement")
    args = parser.parse_args()
    rulerun = [sys.executable, "-m", "engine.cli.main"]
    source = f"demo:ad_groups={args.ad_groups},days={args.days}"
    with tempfile.TemporaryDirectory(prefix="rulerun-bench-") as tmp:
        root = Path(tmp)
        rules = write_rules(root)
        state = root / "state"
        cmd = [
            *rulerun,
            "evaluate",
            "--dry-run",
            "--format",
            "json",
            "--rules",
            str(rules),
            "--state-dir",
            str(state),
            "--source",
            source,
            "--profile",
        ]
        results = {}
        for phase in ("cold", "warm"):
            out = root / f"plan-{phase}.json"
            wall, rss, stderr, code = run_measured(cmd, out)
            if code != 0:
                sys.exit(f"evaluate failed ({code}):\n{stderr}")
            results[phase] = {
                "wall_s": wall,
                "peak_rss_mib": rss / 2**20,
                "stages": profile_of(stderr),
                "plan_mib": out.stat().st_size / 2**20,
            }
            results[phase]["actions"] = len(json.loads(out.read_text())["actions"]) if phase == "warm" else None
        warm = results["warm"]["stages"]
        batch_rate = warm["evaluations"] / warm["evaluate"]
        naive, naive_n = naive_rate(rules, state, source, args.sample)
        help_s = median_wall([*rulerun, "--help"])
        validate_s = median_wall([*rulerun, "validate"])

    print(
        f"rulerun benchmark: {args.ad_groups:,} bulk ad groups x {args.days} days, {len(RULES)} rules "
        f"x {len(AD_PLATFORMS)} operators, {os.cpu_count()} cores"
    )
    for phase in ("cold", "warm"):
        r = results[phase]
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in r["stages"].items() if k not in ("evaluations", "total"))
        print(
            f"  end-to-end ({phase}): {r['wall_s']:.2f} s wall, {r['peak_rss_mib']:.0f} MiB peak RSS, "
            f"plan {r['plan_mib']:.1f} MiB  [{stages}]"
        )
    print(f"  actions in plan: {results['warm']['actions']:,}")
    print(
        f"  evaluation stage: {warm['evaluations']:,.0f} entity-rule evaluations in {warm['evaluate']:.3f} s "
        f"= {batch_rate / 1e6:,.0f} M/s"
    )
    print(f"  naive (simpleeval, pre-parsed ASTs, {naive_n:,} evaluations): {naive / 1e6:,.3f} M/s")
    print(f"  batch / naive on the evaluation stage: {batch_rate / naive:,.0f}x")
    print(f"  rulerun --help: {help_s * 1000:.0f} ms (median of 10)")
    print(f"  rulerun validate (shipped library): {validate_s * 1000:.0f} ms (median of 10)")
    out_dir = REPO / "benchmarks" / "out"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "last.json").write_text(
        json.dumps(
            {
                "ad_groups": args.ad_groups,
                "days": args.days,
                "rules": len(RULES),
                "results": results,
                "batch_rate": batch_rate,
                "naive_rate": naive,
                "help_s": help_s,
                "validate_s": validate_s,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
