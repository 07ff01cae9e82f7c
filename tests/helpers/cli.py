"""Run `rulerun` as a user would: in-process through Click's runner, or as a real process.

In-process is the default: it runs the same command tree (`engine.cli.main:main`) with the
given arguments, working directory and environment, without paying an interpreter start and
the engine's imports on every call. `process=True` runs `python -m engine.cli.main` in a
subprocess, for what only a real process shows: the exit code the shell sees, signals,
timeouts, and which modules a bare start imports.

An exception that escapes a command in-process is re-raised: a user would have seen a
traceback, so the test fails with it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BASE_ENV = {"COLUMNS": "200", "NO_COLOR": "1"}


@dataclass
class Completed:
    """What `subprocess.run` returns, for the attributes tests read."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def run(
    *args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120, process: bool = False
) -> Completed | subprocess.CompletedProcess:
    # The crash hook kills the process that runs the command: never the test runner's.
    if process or "RULERUN_CRASH_AT" in (env or {}):
        full_env = {**os.environ, **BASE_ENV, **(env or {})}
        full_env.pop("RULERUN_STATE_DIR", None)
        return subprocess.run(
            [sys.executable, "-m", "engine.cli.main", *args],
            cwd=cwd or REPO,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    from click.testing import CliRunner

    from engine.cli.main import main

    overrides: dict[str, str | None] = {"RULERUN_STATE_DIR": None, **BASE_ENV, **(env or {})}
    with _cwd(cwd or REPO):
        result = CliRunner().invoke(main, list(args), env=overrides, prog_name="rulerun")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception.with_traceback(result.exc_info[2] if result.exc_info else None)
    return Completed(["rulerun", *args], result.exit_code, result.stdout, result.stderr)
