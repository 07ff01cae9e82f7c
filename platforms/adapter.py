"""The adapter contract: how `rulerun sync` reads one platform account and `rulerun apply` changes it.

An adapter turns an `ActionRequest` (engine/core/execution.py) into platform calls and
reports an `ExecResult`, or raises one of the typed `AdapterError`s there. Adapters
retry `RateLimited` and `TransientError` themselves, per API call, under the one retry
policy (engine/core/retry.py); the executor fails the action on any error that reaches it.

Every change an adapter makes comes with a **rollback plan**, a plain dict that the
action log stores and `rollback` applies later (`RollbackPlan.to_dict`, engine/core/actions.py)::

    {"type": "enable", "params": {},
     "before": {"status": "paused"},    # the state the change left (what rollback expects)
     "after": {"status": "active"}}     # the state rollback restores

The state dicts use the state keys of the action types (engine/core/actions.py):
`status`, `daily_budget`, `bid`, and `negative_keyword` (a dict, or None when absent).
The undo of each action type is declared there: pause <-> enable, set_budget back to the
old amount (also for change_budget), set_bid back to the old bid (also for change_bid),
and add_negative_keyword <-> `remove_negative_keyword` (an adapter-level operation, not a
rule action type). `notify` changes nothing: its result is `{"notified": True}` and its
rollback plan is None. Rolling back returns a plan of its own, so a rollback can be
undone too. A platform may add details to a plan's params (a resource name, the
campaigns a shared budget serves).

Two kinds of adapters implement this contract: the demo sandbox (platforms/sandbox.py),
a local store, and live adapters (platforms/template.py), one account of a platform over
its API. `platforms.adapter_for` picks one for a run.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.core.execution import (
    ActionRequest,
    AdapterError,
    AuthError,
    EntityKey,
    ExecResult,
    PartialFailure,
    PermanentError,
)

# The caller's view of an entity before any change: {"status", "daily_budget", "bid", ...}
# as the metrics store has it, or None when the entity is unknown.
Baseline = Callable[[EntityKey], dict[str, Any] | None]


@dataclass(frozen=True)
class Account:
    """One platform account from rulerun.yaml."""

    platform: str
    account_id: str
    timezone: str = "UTC"
    currency: str = "USD"  # ISO 4217: the unit of every amount read or written
    endpoint: str | None = None  # a non-default API address (a platform sandbox, or a test server)
    region: str | None = None  # the platform's API region where it has several (Amazon: NA, EU, FE)
    api_version: str | None = None  # the API version to call, where the platform versions per request


@dataclass
class Fetched:
    """What one read of an account returned, in the canonical shape of the metrics store."""

    entities: list[dict[str, Any]] = field(default_factory=list)  # catalog/attributes.yaml names
    metrics: list[dict[str, Any]] = field(default_factory=list)  # date, key columns, additive metrics
    api_calls: int = 0
    # what the read could not do although the rest landed (a report over its daily quota), for people
    warnings: list[str] = field(default_factory=list)
    # levels whose stored metric rows this read did not replace (their report was not read): kept as they are
    kept_levels: tuple[str, ...] = ()


class Adapter(ABC):
    """One platform's executor. Subclasses document themselves in their docstring.

    Implementations import their SDK inside the methods that need it (never at module
    level), and never put credential values in errors, results or logs.
    """

    platform: str
    # The most requests one `execute_batch` call takes: `rulerun apply` groups an account's
    # actions in batches of this size (1: one call per action).
    max_batch: int = 1

    def check_credentials(self) -> None:
        """Raise AuthError naming the missing environment variables (names only, never values).

        The default checks the variables the platform declares (platforms/<name>/__init__.py).
        """
        from platforms import get_platform

        try:
            names = get_platform(self.platform).credentials
        except KeyError:
            raise PermanentError(f"unknown platform {self.platform!r}") from None
        missing = [name for name in names if not os.environ.get(name)]
        if missing:
            raise AuthError(f"missing credentials: set {', '.join(missing)}", platform=self.platform)

    @abstractmethod
    def read_state(self, key: EntityKey) -> dict[str, Any]:
        """The entity's live state: {"status", "daily_budget", "bid", "negative_keywords"}.

        Only the keys the entity's level has are present; `negative_keywords` is a list of
        {"text", "match_type", "scope"}. Raises PermanentError for an unknown entity.
        """

    @abstractmethod
    def execute(self, req: ActionRequest) -> ExecResult:
        """Make the change `req.after` describes; return the platform's confirmation and rollback plan.

        `req.action_id` is the idempotency key: executing the same id again must not change
        anything twice.
        """

    @abstractmethod
    def rollback(self, plan: dict[str, Any], key: EntityKey) -> ExecResult:
        """Apply a rollback plan made by `execute` (or by an earlier `rollback`) to `key`.

        Returns the rollback plan of the rollback, so that it can be undone in turn.
        """

    def execute_batch(self, reqs: list[ActionRequest]) -> dict[str, ExecResult]:
        """Execute several requests; {action_id: result} when all succeed.

        When some fail, raises PartialFailure with the results of those that succeeded
        (they stay applied) and the error message of each failure. This default runs them
        one by one; adapters whose platform has a batch endpoint override it.
        """
        succeeded: dict[str, ExecResult] = {}
        failed: dict[str, str] = {}
        for req in reqs:
            try:
                succeeded[req.action_id] = self.execute(req)
            except AdapterError as exc:
                failed[req.action_id] = str(exc)
        if failed:
            raise PartialFailure(
                f"{len(failed)} of {len(reqs)} changes failed",
                succeeded=succeeded,
                failed=failed,
                platform=self.platform,
            )
        return succeeded
