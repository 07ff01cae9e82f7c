"""What every platform fake shares: a server on 127.0.0.1 (a free port), recorded requests,
a queue of injected faults, and an optional latency per call (for benchmarks; tests leave it 0).

A gRPC fake binds its own server and uses `FakeServer` for the rest; an HTTP fake subclasses
`HttpFakeServer` and answers `respond(method, path, params, headers)`, or overrides
`handle(method, path, query, headers, body)` when it needs the raw query (repeated keys) or
body (JSON).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"


@dataclass
class Fault:
    kind: str  # what the fake answers instead (each fake documents its kinds)
    n: int  # for how many calls
    method: str | None  # only calls of this method (None: any)


class FakeServer:
    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = latency
        self.calls: list[tuple[str, Any]] = []  # (method, request) in arrival order
        self.faults: list[Fault] = []
        self.lock = threading.RLock()

    def fail_next(self, kind: str, n: int = 1, method: str | None = None) -> None:
        """The next `n` calls (of `method`, or any) answer with the fault `kind`."""
        with self.lock:
            self.faults.append(Fault(kind, n, method))

    def record(self, method: str, request: Any) -> str | None:
        """Record a call; the kind of the fault it must answer with, if one is queued for it."""
        with self.lock:
            self.calls.append((method, request))
            fault = next((f for f in self.faults if f.method is None or f.method == method), None)
            if fault is None:
                return None
            fault.n -= 1
            if fault.n <= 0:
                self.faults.remove(fault)
            return fault.kind

    def methods_called(self) -> list[str]:
        return [m for m, _ in self.calls]

    def delay(self) -> None:
        if self.latency:
            time.sleep(self.latency)


class HttpFakeServer(FakeServer):
    """A threaded HTTP server; `url` is its address."""

    def __init__(self, *, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake._serve(self, "GET")

            def do_POST(self):
                fake._serve(self, "POST")

            def do_PATCH(self):
                fake._serve(self, "PATCH")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def respond(
        self, method: str, path: str, params: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        raise NotImplementedError

    def handle(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        """Answer one request; this default passes the query (and a POSTed form) to `respond` as params."""
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        if method == "POST":
            params.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
        return self.respond(method, path.rstrip("/"), params, headers)

    def _serve(self, h: BaseHTTPRequestHandler, method: str) -> None:
        self.delay()
        parts = urlsplit(h.path)
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        status, body, headers = self.handle(method, parts.path, parts.query, dict(h.headers), raw)
        h.send_response(status)
        h.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(body)
