"""Benchmark: reading a rule file at the size limit (1 MB) with positions and every bound checked.

Builds a workflow of short rules just under engine.core.limits.MAX_FILE_BYTES and times
engine.core.yamlpos.load_text with each available parser (libyaml's event parser and
PyYAML's pure-Python one), plus `rulerun validate` on it end to end (which refuses it:
more rules than a workflow may hold, after reading the whole file).

Usage: python benchmarks/bench_yaml_load.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine.core.limits import MAX_FILE_BYTES
from engine.core.yamlpos import PARSERS, load_text

HEAD = "workflow: daily_optimize\noperator: pinterest\nlevel: ad_group\nwindow: last_7d\nrules:\n"
RULE = "  - id: r{i}\n    when: spend > {i} and outbound_ctr < 0.003\n    action: {{type: change_bid, by_pct: -15}}\n"
OPERATOR = "operator: pinterest\nplatform: pinterest\n"


def big_workflow() -> str:
    parts, size, i = [HEAD], len(HEAD), 0
    while size + len(RULE.format(i=i)) <= MAX_FILE_BYTES:
        parts.append(RULE.format(i=i))
        size += len(parts[-1])
        i += 1
    return "".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    text = big_workflow()
    print(f"rule file: {len(text.encode()):,} bytes, {text.count('  - id:'):,} rules")
    for name in sorted(PARSERS):
        best = min(_timed(lambda name=name: load_text(text, "w.yaml", name)) for _ in range(args.repeat))
        doc, problems = load_text(text, "w.yaml", name)
        assert not problems
        print(f"load_text ({name:7}): {best:6.2f} s  {len(doc.values) / best:12,.0f} values/s")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "rules" / "pinterest"
        folder.mkdir(parents=True)
        (folder / "operator.yaml").write_text(OPERATOR, encoding="utf-8")
        (folder / "daily_optimize.yaml").write_text(text, encoding="utf-8")
        command = [sys.executable, "-m", "engine.cli.main", "validate", "--rules", str(folder.parent)]
        best = min(_timed(lambda: _run(command)) for _ in range(args.repeat))
        print(f"rulerun validate (subprocess, refused after reading): {best:6.2f} s")


def _run(command: list[str]) -> None:
    subprocess.run(command, capture_output=True, check=False)


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
