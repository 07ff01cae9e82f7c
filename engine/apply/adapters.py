"""The adapters one run executes through, per platform and account."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.core.execution import PermanentError
from platforms import adapter_for, live_adapter
from platforms.adapter import Account, Adapter, Baseline


class Platforms:
    """The adapter for each (platform, account) of a run, created on first use.

    Demo sources execute through the local sandbox. Every other source (`live`, and
    `file:` exports) executes through the live adapter of the account as rulerun.yaml
    lists it: file data is only read, so an account rulerun.yaml does not list, or a row
    without an account id, is not connected, with a message saying how to connect it.
    """

    def __init__(self, source: str, state_dir: Path, baseline: Baseline, accounts: list[Account] | None = None):
        self.source, self.state_dir, self.baseline = source, state_dir, baseline
        self.accounts = {(a.platform, a.account_id): a for a in accounts or []}
        self._cache: dict[tuple[str, str | None], Any] = {}

    @property
    def sandbox(self) -> bool:
        """Whether actions land in the demo sandbox, never on a real account."""
        return self.source.startswith("demo")

    def __call__(self, platform: str, account_id: str | None = None) -> Adapter:
        key = (platform, None if self.sandbox else account_id)
        if key not in self._cache:
            self._cache[key] = self._make(platform, account_id)
        return self._cache[key]

    def _make(self, platform: str, account_id: str | None) -> Adapter:
        if self.sandbox:
            return adapter_for(platform, source=self.source, state_dir=self.state_dir, baseline=self.baseline)
        data = "file data" if self.source.startswith("file:") else "the data"
        if not account_id:
            raise NotConnected(
                f"{data} has no account id for {platform}: add an account_id column with the platform's "
                "account id, or use --source live",
                platform=platform,
            )
        account = self.accounts.get((platform, account_id))
        if account is None:
            raise NotConnected(
                f"not in rulerun.yaml: add it under platforms.{platform}.accounts (credentials come from the "
                "environment) to execute on it" + (", or use --source live" if self.source != "live" else ""),
                platform=platform,
                account_id=account_id,
            )
        try:
            return live_adapter(account)
        except PermanentError as exc:
            raise NotConnected(exc.message + ": its actions can be planned, not executed", platform=platform) from None


class NotConnected(PermanentError):
    """No adapter can execute on this (platform, account) in this run: apply cannot carry out its actions."""
