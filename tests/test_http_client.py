"""The live adapters' HTTP layer (platforms/http.py) against a real local HTTP server."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.core.execution import AdapterError, AuthError, PermanentError, RateLimited, TransientError
from engine.core.retry import MAX_WAIT_ENV, RetryPolicy, single_attempt
from platforms.http import HttpClient, parse_retry_after
from platforms.ratelimit import CallWindow

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
    http = client(server, sleeps)
    assert http.request("GET", "/x").status_code == 200
    assert len(server.requests) == 3 == http.sent
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


def test_refine_turns_a_429_into_a_final_refusal_that_is_not_retried(server, sleeps):
    server.script = [Reply(429, '{"code": 8, "message": "Request blocked as spam"}'), Reply(200)]

    def refine(response, error):
        if response.status_code == 429 and "spam" in response.text.lower():
            return PermanentError(f"refused as spam: {error.message}", platform=error.platform)
        return error

    with pytest.raises(PermanentError, match="refused as spam: GET /x: HTTP 429") as err:
        client(server, sleeps, refine=refine).request("GET", "/x")
    assert not err.value.retryable and len(server.requests) == 1 and sleeps == []
    # an ordinary 429 is left as it was: retried, then successful
    server.script = [Reply(429, '{"code": 8, "message": "Too many requests"}', {"Retry-After": "1"}), Reply(200)]
    assert client(server, sleeps, refine=refine).request("GET", "/x").status_code == 200
    assert sleeps == [1.0]


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


def test_retry_after_over_max_wait_is_not_called_again_in_this_run(server, sleeps):
    # calling again before the platform said would only be refused again: the error goes up at once
    server.script = [Reply(429, "", {"Retry-After": "3600"}), Reply(200)]
    with pytest.raises(RateLimited) as err:
        client(server, sleeps, max_wait=5).request("GET", "/x")
    assert err.value.retry_after == 3600.0
    assert len(server.requests) == 1 and sleeps == []


def test_a_503_with_retry_after_waits_that_long(server, sleeps):
    server.script = [Reply(503, "", {"Retry-After": "3"}), Reply(200)]
    assert client(server, sleeps).request("GET", "/x").status_code == 200
    assert sleeps == [3.0]


def test_retry_after_as_an_http_date(server, sleeps):
    now = datetime(2026, 11, 1, 6, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Sun, 01 Nov 2026 06:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Sun, 01 Nov 2026 05:59:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None and parse_retry_after(None) is None
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    server.script = [Reply(429, "", {"Retry-After": soon}), Reply(200)]
    client(server, sleeps).request("GET", "/x")
    assert len(sleeps) == 1 and 28.0 <= sleeps[0] <= 30.0
    server.script = [Reply(429, "", {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}), Reply(200)]
    with pytest.raises(RateLimited):
        client(server, sleeps, max_wait=7).request("GET", "/x")
    assert len(sleeps) == 1


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


def test_clients_share_one_verifying_tls_context():
    import ssl

    from platforms.http import _tls

    assert _tls() is _tls()  # built once: reading the CA bundle for every client is slow
    assert _tls().verify_mode == ssl.CERT_REQUIRED and _tls().check_hostname


def test_inside_a_write_step_a_request_is_sent_once(server, sleeps):
    server.script = [Reply(503), Reply(200)]
    with single_attempt(), pytest.raises(TransientError):
        client(server, sleeps).request("POST", "/ad_groups")
    assert len(server.requests) == 1 and sleeps == []


def test_a_quota_header_on_a_success_pauses_before_the_next_call(server, sleeps):
    def remaining(response):  # a platform whose header says the window is spent, and when it resets
        if response.headers.get("X-RateLimit-Remaining") == "0":
            return float(response.headers["X-RateLimit-Reset"])
        return None

    server.script = [Reply(200, "{}", {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "4"}), Reply(200, "{}")]
    http = client(server, sleeps, wait_from=remaining)
    http.request("GET", "/a")
    http.request("GET", "/b")
    assert sleeps == [4.0] and len(server.requests) == 2


def test_an_error_in_a_200_body_is_typed_and_retried(server, sleeps):
    def body_code(response):  # an API that answers HTTP 200 with {"code": 40100} when rate limited
        if response.json().get("code") == 40100:
            return RateLimited("request too frequent (code 40100)", retry_after=1.0)
        return None

    server.script = [Reply(200, '{"code": 40100}'), Reply(200, '{"code": 0, "data": {"id": 7}}')]
    assert client(server, sleeps, error_from=body_code).json("GET", "/x")["data"] == {"id": 7}
    assert sleeps == [1.0] and len(server.requests) == 2


def test_a_policy_and_the_environment_cap_the_waits(server, sleeps, monkeypatch):
    server.script = [Reply(500), Reply(500), Reply(200)]
    policy = RetryPolicy(max_attempts=3, base=10.0, jitter=0.0, max_wait=15.0)
    assert client(server, sleeps, policy=policy).request("GET", "/x").status_code == 200
    assert sleeps == [10.0, 15.0]
    monkeypatch.setenv(MAX_WAIT_ENV, "0")
    server.script = [Reply(500), Reply(200)]
    assert client(server, sleeps, policy=policy).request("GET", "/x").status_code == 200
    assert sleeps[2:] == [0.0]


def _envelope_error(response) -> AdapterError | None:
    """An API that answers HTTP 200 with {"code": ...}: 1 is a rate limit, 2 a bad request."""
    code = response.json().get("code")
    if code == 1:
        return RateLimited("too many requests")
    if code == 2:
        return PermanentError(f"bad request: {response.json().get('echo')}")
    return None


def test_an_error_in_a_200_body_takes_the_same_retry_decisions(server, sleeps):
    server.script = [Reply(200, '{"code": 1}'), Reply(200, '{"code": 1}'), Reply(200, '{"code": 0, "id": 7}')]
    http = client(server, sleeps, error_from=_envelope_error)
    assert http.json("GET", "/x") == {"code": 0, "id": 7}
    assert len(server.requests) == 3 and len(sleeps) == 2

    server.script = [Reply(200, '{"code": 1}')]
    with pytest.raises(RateLimited, match="pinterest account 549: GET /x: too many requests"):
        http.request("GET", "/x?page=2")
    assert len(server.requests) == 3 + 4  # max_attempts


def test_a_permanent_error_in_a_200_body_is_not_retried_and_hides_the_token(server, sleeps):
    server.script = [Reply(200, '{"code": 2, "echo": "{auth}"}')]
    with pytest.raises(PermanentError) as err:
        client(server, sleeps, error_from=_envelope_error).request("POST", "/x")
    assert len(server.requests) == 1 and sleeps == []
    assert "sk-live-7f3a9c2e5b1d8f40" not in str(err.value) and "[redacted]" in str(err.value)
    assert (err.value.platform, err.value.account_id) == ("pinterest", "549")


def test_a_shared_pacer_spaces_the_requests_of_every_client(server, sleeps):
    clock = [100.0]
    pacer = CallWindow(1, 0.25, clock=lambda: clock[0])  # one request every 0.25 s
    first, second = client(server, sleeps, pacer=pacer), client(server, sleeps, pacer=pacer)
    for http in (first, second, first):
        http.request("GET", "/x")
    assert sleeps == [0.25, 0.5]  # the clock stood still: each request waits for its own slot
    clock[0] += 10  # a quiet spell: the next request goes at once
    second.request("GET", "/x")
    assert sleeps == [0.25, 0.5] and len(server.requests) == 4


def test_retries_wait_for_a_slot_too(server):
    server.script = [Reply(503), Reply(200)]
    clock, sleeps = [0.0], []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    http = HttpClient(
        server.url, platform="tiktok", account_id="7", sleep=sleep, pacer=CallWindow(1, 1.0, clock=lambda: clock[0])
    )
    http.request("GET", "/x")
    # the backoff (0.5-1.0 s), then what is left of the 1 s slot: the retry goes out at t = 1 s
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and clock[0] == pytest.approx(1.0)


def test_clients_share_one_tls_context(server, sleeps):
    first, second = client(server, sleeps), client(server, sleeps)
    assert first._client._transport._pool._ssl_context is second._client._transport._pool._ssl_context
