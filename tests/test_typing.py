"""engine/ and platforms/ type-check clean under mypy ([tool.mypy] in pyproject.toml), in CI."""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.helpers.cli import REPO

# mypy's incremental cache makes a re-run over unchanged code take about a second instead of
# fifteen; it lives outside the repository, one per checkout so that checkouts do not share it.
CACHE = Path(tempfile.gettempdir()) / f"rulerun-mypy-{hashlib.sha256(str(REPO).encode()).hexdigest()[:12]}"
# one worker runs both tests, one after the other: the second reads the cache the first wrote
pytestmark = pytest.mark.xdist_group("mypy")


def mypy(*args: str) -> subprocess.CompletedProcess:
    if importlib.util.find_spec("mypy") is None:  # fail, never skip: the check would silently vanish
        pytest.fail("mypy is not installed: pip install -e '.[test]'")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(CACHE), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_engine_and_platforms_type_check():
    res = mypy()
    assert res.returncode == 0, res.stdout + res.stderr
    checked = len(list((REPO / "engine").rglob("*.py"))) + len(list((REPO / "platforms").rglob("*.py")))
    # every module of both packages is checked, not only the ones something imports
    assert f"Success: no issues found in {checked} source files" in res.stdout


def test_a_type_error_fails_the_check(tmp_path):
    bad = tmp_path / "misuse.py"
    # a real module of the engine, called with the wrong type: the check follows the import
    bad.write_text(
        "from engine.core.money import round_amount\n\n\n"
        "def total() -> float:\n"
        "    return round_amount('12.5', 'EUR')\n"
    )
    res = mypy(str(bad))
    assert res.returncode == 1, res.stdout + res.stderr
    assert 'Argument 1 to "round_amount" has incompatible type "str"' in res.stdout
