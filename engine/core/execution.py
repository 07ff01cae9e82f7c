"""The contract between `apply` and the platforms: requests, results and typed errors.

Adapters (platforms/adapter.py) turn an ActionRequest into a platform call and report
an ExecResult with the rollback plan, or raise one of the errors below. The retryable
ones are retried per API call, inside the adapter, by the one retry policy
(engine/core/retry.py); an error that reaches the executor fails the action with its
message. Error messages never contain credentials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    """A platform call failed. `retryable` errors may succeed when tried again, after
    `retry_after` seconds when the platform said how long (a Retry-After header, a quota delay)."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        platform: str = "",
        account_id: str = "",
        details: Any = None,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.platform = platform
        self.account_id = account_id
        self.details = details
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f"{self.platform} account {self.account_id}: " if self.platform else ""
        return where + self.message


class RateLimited(AdapterError):
    """HTTP 429 or a platform quota error; `retry_after` seconds when the platform says."""

    retryable = True


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
