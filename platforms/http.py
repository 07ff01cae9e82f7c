"""The HTTP layer of the live adapters: one client with retries, backoff and typed errors.

`HttpClient` wraps an `httpx.Client` for one platform account. Every request goes
through the retry policy (engine/core/retry.py, where the whole policy is documented):
429, 5xx, timeouts and failed or dropped connections are tried again, after the wait the
platform asks for in `Retry-After` (seconds or an HTTP date) or with exponential backoff.
Inside a live adapter's write step a request is sent once: the template retries the write
after reading the live state again (platforms/template.py); `retry=False` also sends once.

A platform with its own signals passes two hooks:

- `wait_from(response)`: the seconds the platform asks to wait before the next call, read
  from its headers (default: `Retry-After` on an error response). On an error it becomes
  the error's `retry_after`; on a success (a quota header saying the budget is spent) the
  client pauses that long, through the policy, before returning;
- `error_from(response)`: the typed error a successful response reports in its body (an
  API that answers HTTP 200 with an error code), raised inside the retried call.

After the last attempt, or at once when retrying cannot help, the failure is raised as
the typed error of engine/core/execution.py: RateLimited (429), TransientError (5xx,
timeouts, connection errors), AuthError (401, 403) or PermanentError (any other 4xx); a
platform whose errors say more than their status (a 429 that is a final refusal, not a
quota) passes `refine`, which may return another error for a response (a non-retryable
one is not retried). Messages name the method, the path (without its query string) and
the status, with an excerpt of the response body; header values (tokens) never appear in
errors or logs: they are redacted from the excerpt as well.

A write the client sends outside a write step is retried like a read: adapters send
absolute values (set the budget to X, not add Y) or the platform's idempotency key.

A platform that reports errors inside a successful response (an HTTP 200 whose body says
"rate limited") passes `error_from`: it sees every response below 400 and returns the
typed error the body stands for, which then takes the same retry decisions as a status
code would, or None.

A platform with a documented request rate passes a `pacer` (platforms/ratelimit.py), shared
by every client of that quota in the process: each attempt waits for its turn, so a sync
reading pages in parallel stays within the limit instead of running into it.
"""

from __future__ import annotations

import functools
import logging
import math
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any

import httpx

from engine.core.execution import AdapterError, AuthError, PermanentError, RateLimited, TransientError
from engine.core.retry import RetryPolicy, single_attempt
from engine.core.secrets import scrub
from platforms.ratelimit import CallWindow


class _DropQueryStrings(logging.Filter):
    """httpx logs every request's URL at INFO; query strings can carry tokens (Graph's access_token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(a.copy_with(query=None) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


if not any(isinstance(f, _DropQueryStrings) for f in logging.getLogger("httpx").filters):
    logging.getLogger("httpx").addFilter(_DropQueryStrings())

_EXCERPT = 300  # characters of an error response body kept in the message
_SECRET_MIN = 8  # shorter header values (versions, content types) are not worth redacting
_REDACTED = "[redacted]"


@cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context for every client: building one reads the whole CA bundle (~0.1 s)."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


def retry_after_header(response: httpx.Response) -> float | None:
    """The default `wait_from`: an error response's Retry-After header."""
    if response.status_code < 400:
        return None
    return parse_retry_after(response.headers.get("Retry-After"))


class HttpClient:
    """An HTTP client for one platform account, with retries and typed errors (see the module docstring).

    `policy` is the retry policy (default: `RetryPolicy(max_attempts, max_wait)`); `sleep`
    is what waits between attempts (tests pass a recorder); `headers` are sent with every
    request and treated as secrets; `refine(response, error)` may replace the typed error
    of a failed response (its message is already redacted); `error_from` reads errors out
    of the body of a successful response and `pacer` spaces requests (see the module docstring).
    """

    def __init__(
        self,
        base_url: str,
        *,
        platform: str,
        account_id: str,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30,
        max_attempts: int = 4,
        max_wait: float = 60,
        sleep: Callable[[float], None] = time.sleep,
        policy: RetryPolicy | None = None,
        wait_from: Callable[[httpx.Response], float | None] = retry_after_header,
        error_from: Callable[[httpx.Response], AdapterError | None] | None = None,
        refine: Callable[[httpx.Response, AdapterError], AdapterError] | None = None,
        pacer: CallWindow | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy(max_attempts=max_attempts, max_wait=max_wait)
        self.platform = platform
        self.account_id = account_id
        self.max_attempts = self.policy.max_attempts
        self.max_wait = self.policy.max_wait
        self._sleep = sleep
        self._wait_from = wait_from
        self._error_from = error_from
        self._refine = refine
        self._pacer = pacer
        self.sent = 0  # requests sent, retries included (a sync reports its API calls)
        self._count = threading.Lock()
        self._headers = dict(headers or {})
        self._client = httpx.Client(base_url=base_url, headers=self._headers, timeout=timeout, verify=_tls())

    def request(self, method: str, path: str, *, retry: bool = True, **kw: Any) -> httpx.Response:
        """Send a request (httpx keyword arguments: params, json, headers, ...); the response when below 400.

        Raises RateLimited, TransientError, AuthError or PermanentError once retries are
        exhausted (or at once for the errors retrying cannot fix, or with `retry=False`).
        """
        # query parameters can carry tokens too (Graph's access_token): redact them like headers
        params = kw.get("params") if isinstance(kw.get("params"), Mapping) else {}
        secrets = _secrets({**self._headers, **(kw.get("headers") or {}), **params})

        def send() -> httpx.Response:
            return self._send(method.upper(), path, secrets, kw)

        if not retry:
            with single_attempt():
                return self.policy.run(send, sleep=self._sleep)
        return self.policy.run(send, sleep=self._sleep)

    def json(self, method: str, path: str, **kw: Any) -> Any:
        """`request`, then the decoded JSON body (None for an empty body)."""
        response = self.request(method, path, **kw)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise self._err(PermanentError, f"{method.upper()} {_bare(path)}: the response is not JSON") from None

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals

    def _send(self, method: str, path: str, secrets: list[str], kw: dict[str, Any]) -> httpx.Response:
        what = f"{method} {_bare(path)}"
        if self._pacer is not None:
            self._pacer.wait(self._sleep)
        # `from None`: httpx's own exceptions may quote the URL (query strings can carry tokens)
        with self._count:
            self.sent += 1
        try:
            response = self._client.request(method, path, **kw)
        except httpx.TimeoutException:
            raise self._err(TransientError, f"{what}: timed out") from None
        except httpx.TransportError as exc:
            raise self._err(TransientError, f"{what}: connection failed ({type(exc).__name__})") from None
        if response.status_code < 400:
            reported = self._error_from(response) if self._error_from else None
            if reported is not None:
                reported.message = f"{what}: {reported.message}"
                raise self._own(reported, secrets)
            pause = self._wait_from(response)
            if pause:
                self.policy.pause(pause, sleep=self._sleep, why=f"{self.platform} asks to slow down")
            return response
        error = self._classify(response, what, secrets)
        raise self._refine(response, error) if self._refine else error

    def _classify(self, response: httpx.Response, what: str, secrets: list[str]) -> AdapterError:
        code = response.status_code
        # redact before cutting the excerpt: a cut could leave a token's prefix unmatched
        body = " ".join(_redact(response.text, secrets).split())[:_EXCERPT]
        message = f"{what}: HTTP {code}" + (f": {body}" if body else "")
        details = {"status": code, "body": body}
        retry_after = self._wait_from(response)
        if code == 429:
            return self._err(RateLimited, message, retry_after=retry_after, details=details)
        if code in (401, 403):
            return self._err(AuthError, message, details=details)
        if code >= 500:
            return self._err(TransientError, message, retry_after=retry_after, details=details)
        return self._err(PermanentError, message, details=details)

    def _err(self, cls: type[AdapterError], message: str, **kw: Any) -> AdapterError:
        return cls(message, platform=self.platform, account_id=self.account_id, **kw)

    def _own(self, err: AdapterError, secrets: list[str]) -> AdapterError:
        err.platform = err.platform or self.platform
        err.account_id = err.account_id or self.account_id
        err.message = _redact(err.message, secrets)
        err.args = (err.message,)
        return err


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client of the process: loading the CA bundle takes tens of milliseconds."""
    return httpx.create_ssl_context()


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process: building one (loading the CA bundle) costs about 0.1 s per client."""
    return httpx.create_ssl_context()


def _bare(path: str) -> str:
    return path.split("?", 1)[0]


def _secrets(headers: Mapping[str, str]) -> list[str]:
    """Header values and their parts ("Bearer <token>"), longest first so that a part never masks its whole."""
    found: set[str] = set()
    for value in headers.values():
        for candidate in (str(value), *str(value).split()):
            if len(candidate) >= _SECRET_MIN:
                found.add(candidate)
    return sorted(found, key=len, reverse=True)


def _redact(text: str, secrets: list[str]) -> str:
    return scrub(text, secrets, _REDACTED)
