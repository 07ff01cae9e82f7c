"""The contract between `apply` and the platforms: requests, results and typed errors.

Adapters (platforms/adapter.py) turn an ActionRequest into a platform call and report
an ExecResult with the rollback plan, or raise one of the errors below. The executor
retries the retryable ones with backoff (tenacity) within a bound; everything else
fails the action with its message. Error messages never contain credentials.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class EntityKey:
    platform: str
    account_id: str
    level: str
    entity_id: str


@dataclass(frozen=True)
class ActionRequest:
    """One change to make: `before` is what the plan saw, `after` what it wants."""

    action_id: str  # the plan's stable action id (also the idempotency key)
    entity: EntityKey
    type: str
    params: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass
class ExecResult:
    """What the platform confirmed, and how to undo it."""

    result: dict[str, Any] = field(default_factory=dict)
    # {"type": <action type that undoes it>, "params": {...}, "before": {...}, "after": {...}},
    # or None for an irreversible action
    rollback_plan: dict[str, Any] | None = None


class AdapterError(Exception):
    """A platform call failed. `retryable` errors may succeed when tried again."""

    retryable = False

    def __init__(self, message: str, *, platform: str = "", account_id: str = "", details: Any = None):
        super().__init__(message)
        self.message = message
        self.platform = platform
        self.account_id = account_id
        self.details = details

    def __str__(self) -> str:
        where = f"{self.platform} account {self.account_id}: " if self.platform else ""
        return where + self.message


class RateLimited(AdapterError):
    """HTTP 429 or a platform quota error; `retry_after` seconds when the platform says."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class TransientError(AdapterError):
    """5xx, a timeout or a dropped connection: worth another try."""

    retryable = True


class PermanentError(AdapterError):
    """4xx other than 429, validation errors: retrying will not help."""


class AuthError(PermanentError):
    """Missing or invalid credentials."""


class PartialFailure(AdapterError):
    """A batch call where some operations failed: `failed` maps action_id to its error message."""

    def __init__(self, message: str, *, succeeded: dict[str, ExecResult], failed: dict[str, str], **kw: Any):
        super().__init__(message, **kw)
        self.succeeded = succeeded
        self.failed = failed


def with_retries(
    call: Callable[[], T],
    *,
    sleep: Callable[[float], None],
    max_attempts: int = 4,
    max_wait: float = 60.0,
    base: float = 0.2,
) -> T:
    """Run `call`, retrying retryable AdapterErrors with backoff (tenacity), within a bound.

    A RateLimited error's `retry_after` is honoured (capped at `max_wait`); otherwise the
    wait grows exponentially from `base` seconds, with jitter. The last error is re-raised.
    """
    from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

    backoff = wait_exponential(multiplier=base, max=max_wait) + wait_random(0, base)

    def wait(state) -> float:
        exc = state.outcome.exception()
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return min(exc.retry_after, max_wait)
        return backoff(state)

    return Retrying(
        stop=stop_after_attempt(max_attempts),
        wait=wait,
        sleep=sleep,
        reraise=True,
        retry=retry_if_exception(lambda e: isinstance(e, AdapterError) and e.retryable),
    )(call)
