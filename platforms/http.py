"""The HTTP layer of the live adapters: one client with retries, backoff and typed errors.

`HttpClient` wraps an `httpx.Client` for one platform account. A request that fails
for a reason worth another try is retried (tenacity) up to `max_attempts` in all:

- 429: after the wait the platform asks for in `Retry-After` (seconds or an HTTP date),
  capped at `max_wait`; without one, like the others below;
- 5xx, a timeout, a failed or dropped connection: exponential backoff with jitter
  (0.5 s, 1 s, 2 s, ... plus up to 0.5 s, capped at `max_wait`).

After the last attempt, or at once when retrying cannot help, the failure is raised as
the typed error of engine/execution.py: RateLimited (429, with `retry_after`),
TransientError (5xx, timeouts, connection errors), AuthError (401, 403) or
PermanentError (any other 4xx). Messages name the method, the path (without its query
string) and the status, with an excerpt of the response body; header values (tokens)
never appear in errors or logs: they are redacted from the excerpt as well.

Retrying a request that timed out may repeat it: adapters send absolute values (set the
budget to X, not add Y) or the platform's idempotency key, or pass `retry=False`.
"""

from __future__ import annotations

import functools
import logging
import math
import random
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from engine.core.execution import AdapterError, AuthError, PermanentError, RateLimited, TransientError

log = logging.getLogger("rulerun.http")


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


class HttpClient:
    """An HTTP client for one platform account, with retries and typed errors (see the module docstring).

    `sleep` is what waits between attempts (tests pass a recorder); `headers` are sent
    with every request and treated as secrets.
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
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.platform = platform
        self.account_id = account_id
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self._sleep = sleep
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
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts if retry else 1),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: isinstance(exc, AdapterError) and exc.retryable),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        return retrying(self._send, method.upper(), path, secrets, kw)

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
            return response
        raise self._classify(response, what, secrets)

    def _classify(self, response: httpx.Response, what: str, secrets: list[str]) -> AdapterError:
        code = response.status_code
        # redact before cutting the excerpt: a cut could leave a token's prefix unmatched
        body = " ".join(_redact(response.text, secrets).split())[:_EXCERPT]
        message = f"{what}: HTTP {code}" + (f": {body}" if body else "")
        details = {"status": code, "body": body}
        if code == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return self._err(RateLimited, message, retry_after=retry_after, details=details)
        if code in (401, 403):
            return self._err(AuthError, message, details=details)
        if code >= 500:
            return self._err(TransientError, message, details=details)
        return self._err(PermanentError, message, details=details)

    def _err(self, cls: type[AdapterError], message: str, **kw: Any) -> AdapterError:
        return cls(message, platform=self.platform, account_id=self.account_id, **kw)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_wait)
        return min(self.max_wait, 0.5 * 2 ** (state.attempt_number - 1) + random.uniform(0, 0.5))

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.info("%s; retrying in %.2f s (attempt %d of %d)", exc, wait, state.attempt_number + 1, self.max_attempts)


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
    for secret in secrets:
        text = text.replace(secret, _REDACTED)
    return text
