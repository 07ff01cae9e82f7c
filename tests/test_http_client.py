"""The live adapters' HTTP layer (platforms/http.py) against a real local HTTP server."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.core.execution import AdapterError, AuthError, PermanentError, RateLimited, TransientError
from platforms.http import HttpClient, parse_retry_after

TOKEN = "Bearer sk-live-7f3a9c2e5b1d8f40"


class Reply:
    def __init__(self, status: int = 200, body: str = '{"ok": true}', headers: dict | None = None, delay: float = 0):
        self.status, self.body, self.headers, self.delay = status, body, headers or {}, delay


class FakeServer:
    """A scripted HTTP server: each request gets the next reply; the last one repeats."""

    def __init__(self) -> None:
        self.script: list[Reply] = [Reply()]
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                with server._lock:
                    server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers)})
                    reply = server.script.pop(0) if len(server.script) > 1 else server.script[0]
                if reply.delay:
                    time.sleep(reply.delay)
                # "{auth}" in a body echoes the Authorization header back, like a careless API
                body = reply.body.replace("{auth}", self.headers.get("Authorization", "")).encode()
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout test)

            do_GET = do_POST = do_DELETE = _reply

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    fake = FakeServer()
    yield fake
    fake.close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def client(server: FakeServer, sleeps: list[float], **kw) -> HttpClient:
    kw.setdefault("headers", {"Authorization": TOKEN})
    return HttpClient(server.url, platform="pinterest", account_id="549", sleep=sleeps.append, **kw)


def test_429_honours_retry_after(server, sleeps):
    server.script = [Reply(429, "slow down", {"Retry-After": "2"}), Reply(200, '{"id": "1"}')]
    assert client(server, sleeps).json("GET", "/ad_accounts/549/campaigns") == {"id": "1"}
    assert sleeps == [2.0]
    assert len(server.requests) == 2


def test_5xx_is_retried_with_growing_backoff(server, sleeps):
    server.script = [Reply(503), Reply(503), Reply(200)]
    assert client(server, sleeps).request("GET", "/x").status_code == 200
    assert len(server.requests) == 3
    # exponential with up to 0.5 s of jitter: 0.5-1.0, then 1.0-1.5
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 1.5


def test_a_timeout_is_retried(server, sleeps):
    server.script = [Reply(200, delay=0.5), Reply(200, '{"late": false}')]
    assert client(server, sleeps, timeout=0.1).json("GET", "/x") == {"late": False}
    assert len(server.requests) == 2 and len(sleeps) == 1


def test_400_is_permanent_and_not_retried(server, sleeps):
    server.script = [Reply(400, '{"message": "Budget too low"}')]
    with pytest.raises(PermanentError) as err:
        client(server, sleeps).request("POST", "/ad_groups", json={"budget": 1})
    assert type(err.value) is PermanentError and not err.value.retryable
    assert str(err.value) == 'pinterest account 549: POST /ad_groups: HTTP 400: {"message": "Budget too low"}'
    assert err.value.details["status"] == 400
    assert len(server.requests) == 1 and sleeps == []


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_auth_errors(server, sleeps, status):
    server.script = [Reply(status, "")]
    with pytest.raises(AuthError, match=f"HTTP {status}"):
        client(server, sleeps).request("GET", "/x")
    assert len(server.requests) == 1


def test_always_500_gives_up_after_max_attempts(server, sleeps):
    server.script = [Reply(500, "boom")]
    with pytest.raises(TransientError, match="HTTP 500: boom") as err:
        client(server, sleeps, max_attempts=3).request("GET", "/x")
    assert err.value.retryable
    assert len(server.requests) == 3 and len(sleeps) == 2


def test_sent_counts_every_request_retries_included(server, sleeps):
    server.script = [Reply(500), Reply(503), Reply(200)]
    http = client(server, sleeps)
    http.request("GET", "/x")
    http.request("GET", "/y")
    assert http.sent == 4 == len(server.requests)


def test_a_429_after_the_last_attempt_is_rate_limited(server, sleeps):
    server.script = [Reply(429, "", {"Retry-After": "1"})]
    with pytest.raises(RateLimited) as err:
        client(server, sleeps, max_attempts=2).request("GET", "/x")
    assert err.value.retry_after == 1.0
    assert len(server.requests) == 2 and sleeps == [1.0]


def test_retry_after_over_max_wait_is_capped(server, sleeps):
    server.script = [Reply(429, "", {"Retry-After": "3600"}), Reply(200)]
    client(server, sleeps, max_wait=5).request("GET", "/x")
    assert sleeps == [5.0]


def test_retry_after_as_an_http_date(server, sleeps):
    now = datetime(2026, 11, 1, 6, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Sun, 01 Nov 2026 06:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Sun, 01 Nov 2026 05:59:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None and parse_retry_after(None) is None
    server.script = [Reply(429, "", {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}), Reply(200)]
    client(server, sleeps, max_wait=7).request("GET", "/x")
    assert sleeps == [7.0]


def test_a_refused_connection_is_transient(sleeps):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    http = HttpClient(f"http://127.0.0.1:{port}", platform="meta", account_id="act_1", headers={}, sleep=sleeps.append)
    with pytest.raises(TransientError, match="connection failed"):
        http.request("GET", "/x", retry=True)
    assert len(sleeps) == 3  # max_attempts=4


def test_retry_false_tries_once(server, sleeps):
    server.script = [Reply(503)]
    with pytest.raises(TransientError):
        client(server, sleeps).request("POST", "/x", retry=False)
    assert len(server.requests) == 1 and sleeps == []


def test_json_of_empty_and_non_json_bodies(server, sleeps):
    http = client(server, sleeps)
    server.script = [Reply(204, "")]
    assert http.json("DELETE", "/x") is None
    server.script = [Reply(200, "<html>")]
    with pytest.raises(PermanentError, match="not JSON"):
        http.json("GET", "/x")


@pytest.mark.parametrize(
    "reply", [Reply(400, '{"echo": "{auth}"}'), Reply(401, "{auth}"), Reply(500, "bad {auth}"), Reply(429, "{auth}")]
)
def test_the_token_never_appears_in_errors_or_logs(server, sleeps, caplog, reply):
    server.script = [reply]
    caplog.set_level(logging.DEBUG)
    with client(server, sleeps, max_attempts=2) as http, pytest.raises(AdapterError) as err:
        http.request("GET", "/x?access_token=qs-secret-123456", headers={"X-Api-Key": "k3y-0123456789"})
    assert server.requests[0]["headers"]["Authorization"] == TOKEN  # it was sent
    exposed = [str(err.value), repr(err.value.args), json.dumps(err.value.details), caplog.text]
    for secret in ("sk-live-7f3a9c2e5b1d8f40", "k3y-0123456789", "qs-secret-123456"):
        assert not any(secret in text for text in exposed)
    assert "[redacted]" in str(err.value)


def test_clients_share_one_tls_context(server, sleeps):
    # building a TLS context loads the CA bundle (about 0.1 s): adapters make a client per account
    a, b = client(server, sleeps), client(server, sleeps)
    context = a._client._transport._pool._ssl_context
    assert context is b._client._transport._pool._ssl_context and context.verify_mode.name == "CERT_REQUIRED"
