"""A private copy of the code layout (engine and platforms side by side), to change a
platform folder without touching the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers.cli import REPO


def copy_layout(root: Path) -> Path:
    """Copy the engine and platforms packages under `root`; the shipped data folders are linked."""
    ignore = shutil.ignore_patterns("__pycache__")
    for package in ("engine", "platforms"):
        shutil.copytree(REPO / package, root / package, ignore=ignore)
    for data in ("catalog", "schemas", "rules"):
        (root / data).symlink_to(REPO / data)
    return root


def run_in(root: Path, *args: str) -> subprocess.CompletedProcess:
    """Run python with `args` against the copy at `root`."""
    env = {**os.environ, "PYTHONPATH": str(root), "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("RULERUN_STATE_DIR", None)
    return subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=120)
