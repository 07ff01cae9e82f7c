"""Stoplight Prism between an adapter and its fake: both sides checked against the platform's official description.

`PrismRoute(name, spec)` is one platform's handle; `route(fake)` answers the base URL the
adapter should use for `fake`: one Prism proxy per platform and test session (`prism proxy
--errors` on the description) in front of a switchboard that hands each request to the
fake of the moment, so every request the adapter sends and every answer the fake gives is
validated. A request the real API would reject, or an answer it would never give, comes
back as a 422, 401 or 500 and is logged as "Request terminated with error"; `check()`
fails the test on any new one (an adapter would treat a 500 as transient and retry it, so
its outcome alone could hide a violation). Prism writes that line after it answers, so
`check()` first sends a barrier request (a path the description lacks) and reads the log up
to the barrier's own line. A description stored gzipped (`.gz`) is unpacked to a temporary
file for Prism.

Prism comes from `.ci/prism` (`npm ci --prefix .ci/prism`, pinned in its package-lock.json;
RULERUN_PRISM overrides the binary). Without it, `route` answers the fake's own URL and
`reason()` says why; with RULERUN_REQUIRE_PRISM=1 (set by .ci/run) a missing Prism is an error.
"""

from __future__ import annotations

import atexit
import gzip
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
START_TIMEOUT = 180.0  # seconds for Prism to load a description (the Klaviyo one takes about 40 s)


class _Switchboard(HttpFakeServer):
    """Prism's upstream: passes each request to the current fake."""

    target: Any = None

    def handle(self, method, path, query, headers, body):
        self.target.delay()
        return self.target.handle(method, path, query, headers, body)


class _Prism:
    def __init__(self, binary: str, spec: Path) -> None:
        self.board = _Switchboard()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.log = Path(tempfile.mkstemp(prefix="rulerun-prism-", suffix=".log")[1])
        self.unpacked: Path | None = None
        if spec.suffix == ".gz":
            self.unpacked = Path(tempfile.mkstemp(prefix="rulerun-spec-", suffix=Path(spec.stem).suffix)[1])
            self.unpacked.write_bytes(gzip.decompress(spec.read_bytes()))
            spec = self.unpacked
        self.seen = 0
        self.barriers = 0
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [binary, "proxy", "--errors", "-h", "127.0.0.1", "-p", str(port), str(spec), self.board.url],
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
        if self.unpacked is not None:
            self.unpacked.unlink(missing_ok=True)


def binary() -> str | None:
    given = os.environ.get("RULERUN_PRISM")
    if given:
        return given
    local = REPO / ".ci" / "prism" / "node_modules" / ".bin" / "prism"
    return str(local) if local.exists() else None


def required() -> bool:
    return os.environ.get("RULERUN_REQUIRE_PRISM") == "1"


class PrismRoute:
    """One platform's Prism proxy, started on first use and shared by the test session."""

    def __init__(self, name: str, spec: Path) -> None:
        self.name = name
        self.spec = spec
        self.prism: _Prism | None = None

    def reason(self) -> str | None:
        """Why Prism cannot check the traffic here (None when it can)."""
        if binary() is None:
            install = "npm ci --prefix .ci/prism"
            return f"Prism is not installed ({install}): {self.name} traffic is not checked against the spec"
        return None

    def route(self, fake: Any) -> str:
        """The base URL through which the adapter reaches `fake` (Prism when installed)."""
        why = self.reason()
        if why:
            if required():
                raise RuntimeError(f"RULERUN_REQUIRE_PRISM=1 but {why}")
            return fake.url
        if self.prism is None:
            self.prism = _Prism(binary(), self.spec)  # type: ignore[arg-type]
            atexit.register(self.prism.stop)
        self.prism.board.target = fake
        self.prism.new_violations()  # what an earlier test left is that test's to report
        return self.prism.url

    def check(self) -> None:
        """Fail when Prism saw a request or an answer that the official description forbids since `route`."""
        if self.prism is None:
            return
        found = self.prism.new_violations()
        if found:
            raise AssertionError(
                f"Prism found traffic the {self.name} API description forbids:\n" + "\n".join(found[:20])
            )

    def active(self) -> bool:
        return self.prism is not None
