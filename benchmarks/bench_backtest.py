"""Benchmark: `rulerun backtest` over the demo's 93 days with the shipped workflows.

Prints the wall time of the command end to end (a subprocess, on a store already loaded,
so loading the demo is not counted), and of the replay alone in-process, batched (every
day's window sums and verdicts in one query per platform and level, as the command runs)
and day by day (every day evaluated on its own, as `rulerun evaluate` would), with the
ratio. Both replays must report the same counts.

Usage: python benchmarks/bench_backtest.py [--repeat 3] [--workflow ID ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine.authoring.backtest import run_backtest
from engine.core.catalog import load_catalog
from engine.data.sources import parse_source
from engine.data.store import Store
from engine.evaluation.evaluate import default_as_of
from engine.rules.loader import load_project

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workflow", action="append", default=None, help="a workflow id (default: all shipped)")
    args = parser.parse_args()
    catalog = load_catalog()
    project = load_project(REPO / "rules", catalog)
    workflows = project.select(args.workflow)
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        with Store(state) as store:
            loaded = store.load(parse_source("demo"), catalog)
            last = default_as_of(loaded)
            first = loaded.info.min_date or last
            n_days = (last - first).days + 1
            print(f"{len(workflows)} workflows, {first} to {last} ({n_days} days)")
            results = {}
            for batched in (True, False):
                label = "batched" if batched else "day by day"
                best = float("inf")
                for _ in range(args.repeat if batched else 1):
                    t0 = time.perf_counter()
                    bt = run_backtest(store.con, loaded, catalog, project, workflows, first, last, batched=batched)
                    best = min(best, time.perf_counter() - t0)
                results[batched] = (best, bt.total())
                print(f"replay, {label:10}: {best:6.2f} s  ({best / n_days * 1000:6.1f} ms per day)")
            (fast, counts), (slow, reference) = results[True], results[False]
            same = {k: v for k, v in counts.items() if k != "spend"} == {
                k: v for k, v in reference.items() if k != "spend"
            }
            print(f"speed-up: {slow / fast:.1f}x; same counts: {same}")
        command = [sys.executable, "-m", "engine.cli.main", "backtest", "--state-dir", str(state)]
        command += [arg for w in args.workflow or [] for arg in ("--workflow", w)]
        best = min(_timed(command) for _ in range(args.repeat))
        print(f"rulerun backtest (subprocess, store loaded): {best:6.2f} s")


def _timed(command: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True, cwd=REPO)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
