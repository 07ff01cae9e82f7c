"""Stoplight Prism between the Pinterest adapter and its fake: both sides checked against the official description.

`route(fake)` answers the base URL the adapter should use for `fake`: one Prism proxy per
test session (`prism proxy --errors` on tests/specs/pinterest-v5.openapi.yaml) in front of
a switchboard that hands each request to the fake of the moment, so every request the
adapter sends and every answer the fake gives is validated. A request the real API would
reject, or an answer it would never give, comes back as a 422, 401 or 500 and is logged as
"Request terminated with error"; `check()` fails the test on any new one (the adapter
would treat a 500 as transient and retry it, so its outcome alone could hide a
violation). Prism writes that line after it answers, so `check()` first sends a barrier
request (a path the description lacks) and reads the log up to the barrier's own line.

Prism comes from `.ci/prism` (`npm ci --prefix .ci/prism`, pinned in its package-lock.json;
RULERUN_PRISM overrides the binary). Without it, `route` answers the fake's own URL and
`reason()` says why; with RULERUN_REQUIRE_PRISM=1 (set by .ci/run) a missing Prism is an error.
"""

from __future__ import annotations

import atexit
import os
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.fakes.base import HttpFakeServer

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "tests" / "specs" / "pinterest-v5.openapi.yaml"
START_TIMEOUT = 120.0  # seconds for Prism to load the description (about 16 s here)


class _Switchboard(HttpFakeServer):
    """Prism's upstream: passes each request to the current fake."""

    target: Any = None

    def handle(self, method, path, query, headers, body):
        self.target.delay()
        return self.target.handle(method, path, query, headers, body)


class _Prism:
    def __init__(self, binary: str) -> None:
        self.board = _Switchboard()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.log = Path(tempfile.mkstemp(prefix="rulerun-prism-", suffix=".log")[1])
        self.seen = 0
        self.barriers = 0
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [binary, "proxy", "--errors", "-h", "127.0.0.1", "-p", str(port), str(SPEC), self.board.url],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while "Prism is listening" not in self.text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Prism did not start:\n{self.text()[-2000:]}")
            time.sleep(0.2)  # waiting for a real subprocess to come up, not for the code under test
        self.new_violations()

    def text(self) -> str:
        return re.sub(r"\x1b\[[0-9;]*m", "", self.log.read_text(errors="replace"))

    def new_violations(self) -> list[str]:
        """Requests Prism refused or answers it rejected since the last call (after a barrier request)."""
        import httpx

        self.barriers += 1
        barrier = f"/rulerun-barrier/{self.barriers}"
        httpx.get(self.url + barrier, timeout=30)
        deadline = time.monotonic() + 30
        while True:
            text = self.text()
            end = text.find(f"{barrier} ✖")
            if end >= 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("Prism stopped logging")
            time.sleep(0.01)  # Prism's log is written by another process
        fresh = text[self.seen : end]
        self.seen = text.find("\n", end) + 1 or len(text)
        return [line for line in fresh.splitlines() if "Request terminated with error" in line]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.board.close()
        self.log.unlink(missing_ok=True)


_prism: _Prism | None = None


def binary() -> str | None:
    given = os.environ.get("RULERUN_PRISM")
    if given:
        return given
    local = REPO / ".ci" / "prism" / "node_modules" / ".bin" / "prism"
    return str(local) if local.exists() else None


def required() -> bool:
    return os.environ.get("RULERUN_REQUIRE_PRISM") == "1"


def reason() -> str | None:
    """Why Prism cannot check the traffic here (None when it can)."""
    if binary() is None:
        return "Prism is not installed (npm ci --prefix .ci/prism): Pinterest traffic is not checked against the spec"
    return None


def route(fake: Any) -> str:
    """The base URL through which the adapter reaches `fake` (Prism when installed)."""
    global _prism
    why = reason()
    if why:
        if required():
            raise RuntimeError(f"RULERUN_REQUIRE_PRISM=1 but {why}")
        return fake.url
    if _prism is None:
        _prism = _Prism(binary())
        atexit.register(_prism.stop)
    _prism.board.target = fake
    _prism.new_violations()  # what an earlier test left is that test's to report
    return _prism.url


def check() -> None:
    """Fail when Prism saw a request or an answer that the official description forbids since `route`."""
    if _prism is None:
        return
    found = _prism.new_violations()
    if found:
        raise AssertionError("Prism found traffic the Pinterest API description forbids:\n" + "\n".join(found[:20]))


def active() -> bool:
    return _prism is not None
