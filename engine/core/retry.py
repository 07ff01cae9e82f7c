"""The retry policy: which platform calls are tried again, when, and how often. The one place for it.

**Where retries live: per API call**, in the adapter that makes the call, and nowhere above it.

- HTTP platforms: `platforms.http.HttpClient` puts every request through the policy.
- SDK platforms: the adapter passes every SDK call through `LiveAdapter.call`
  (platforms/template.py): each gRPC call of Google Ads, each Graph API call of Meta, each
  page of a paged read. A read that fails on page 50 retries page 50, never page 1.
- The demo sandbox (platforms/sandbox.py) puts each of its calls through it as well, so
  its injected faults (`RULERUN_SANDBOX_FAULTS`) exercise the same policy.
- `rulerun sync` and `rulerun apply` do not retry on top: an account whose read still
  fails is reported failed and keeps its stored rows, an action whose call still fails is
  logged failed; the next run tries again.

**Writes are retried only after reading again.** Inside the write step of a live adapter
(`LiveAdapter.execute`, `execute_batch`, `rollback`) every call runs once
(`single_attempt`); the template retries the step as a whole under this policy: it reads
the live state again and writes only what is not so yet. A write whose response was lost
is therefore never sent twice blindly, and a batch retries only the changes that failed.

**What is retried**: `RateLimited` and `TransientError` (engine/core/execution.py,
`retryable`): HTTP 429 and 5xx, timeouts, dropped connections, quota errors. Anything else
fails at once.

**How long it waits** before attempt n+1 (at most `max_attempts` attempts in all, 4 by default):

- what the platform asked for, when it said (`retry_after`: HTTP `Retry-After`, Google's
  quota retry delay, Meta's `estimated_time_to_regain_access`); when that is longer than
  `max_wait` (60 s), the call is not tried again in this run: the error is raised at once;
- otherwise exponential backoff with jitter, `base * 2**(n-1)` plus up to `jitter`
  seconds, capped at `max_wait` (0.5-1 s, 1-1.5 s, 2-2.5 s with the defaults).

**Pauses**: a platform whose successful responses say a budget is nearly spent (Meta's
usage headers, quota headers) pauses before its next call through `pause`, capped the same way.

**Sleeping** goes through the `sleep` callable the caller passes (adapters keep it as
`sleep`), so tests record the waits instead of sleeping. The environment variable
`RULERUN_RETRY_MAX_WAIT` (seconds) lowers `max_wait` for every policy, for a run with a
deadline; 0 retries at once and never waits for a platform's pause.

Platforms may declare their own policy (`LiveAdapter.retry_policy`) when their
documentation asks for other numbers.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from engine.core.execution import AdapterError

T = TypeVar("T")
MAX_WAIT_ENV = "RULERUN_RETRY_MAX_WAIT"

log = logging.getLogger("rulerun.retry")

Sleep = Callable[[float], None]
# An exception -> the typed error it stands for (None: not a platform error, never retried)
Classify = Callable[[BaseException], AdapterError | None]

_single: ContextVar[bool] = ContextVar("rulerun_single_attempt", default=False)
_warned: set[str] = set()


def typed(exc: BaseException) -> AdapterError | None:
    """The default classification: AdapterErrors are themselves, anything else is not retried."""
    return exc if isinstance(exc, AdapterError) else None


@contextmanager
def single_attempt() -> Iterator[None]:
    """Calls made inside run once: the caller retries the whole step (a write, after reading again)."""
    token = _single.set(True)
    try:
        yield
    finally:
        _single.reset(token)


@dataclass(frozen=True)
class RetryPolicy:
    """How a platform call is retried (see the module docstring)."""

    max_attempts: int = 4
    max_wait: float = 60.0
    base: float = 0.5
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.max_wait, self.base, self.jitter) < 0:
            raise ValueError("max_wait, base and jitter must not be negative")

    def run(self, call: Callable[[], T], *, sleep: Sleep, classify: Classify = typed) -> T:
        """`call()`, tried again on retryable errors as the policy says; the last error is raised as it came."""
        from tenacity import RetryCallState, Retrying, retry_if_exception

        attempts = 1 if _single.get() else self.max_attempts
        cap = self.cap()

        def error(state: RetryCallState) -> AdapterError | None:
            exc = state.outcome.exception() if state.outcome else None
            return classify(exc) if exc is not None else None

        def stop(state: RetryCallState) -> bool:
            asked = getattr(error(state), "retry_after", None)
            return state.attempt_number >= attempts or (asked is not None and asked > cap)

        def wait(state: RetryCallState) -> float:
            return self.wait(state.attempt_number, error(state), cap) or 0.0

        def before_sleep(state: RetryCallState) -> None:
            seconds = state.next_action.sleep if state.next_action else 0.0
            attempt = state.attempt_number + 1
            log.info("%s; retrying in %.2f s (attempt %d of %d)", error(state), seconds, attempt, attempts)

        def retryable(exc: BaseException) -> bool:
            err = classify(exc)
            return err is not None and err.retryable

        retrying = Retrying(
            stop=stop,
            wait=wait,
            retry=retry_if_exception(retryable),
            sleep=sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(call)

    def wait(self, attempt: int, error: AdapterError | None, cap: float | None = None) -> float | None:
        """Seconds to wait after failed attempt `attempt`; None when the platform asks for longer than the cap."""
        cap = self.cap() if cap is None else cap
        asked = error.retry_after if error is not None else None
        if asked is not None:
            return asked if asked <= cap else None
        return min(cap, self.base * 2 ** (attempt - 1) + random.uniform(0, self.jitter))

    def pause(self, seconds: float, *, sleep: Sleep, why: str) -> None:
        """Wait `seconds` (capped) before the next call, because the platform's responses ask to slow down."""
        seconds = min(seconds, self.cap())
        if seconds > 0:
            log.info("%s; pausing %.2f s", why, seconds)
            sleep(seconds)

    def cap(self) -> float:
        """`max_wait`, lowered by RULERUN_RETRY_MAX_WAIT when that is set."""
        raw = os.environ.get(MAX_WAIT_ENV, "").strip()
        if not raw:
            return self.max_wait
        try:
            limit = float(raw)
        except ValueError:
            limit = -1.0
        if not limit >= 0:  # also NaN
            if raw not in _warned:
                _warned.add(raw)
                log.warning("%s=%r is not a number of seconds (0 or more): ignored", MAX_WAIT_ENV, raw)
            return self.max_wait
        return min(self.max_wait, limit)
