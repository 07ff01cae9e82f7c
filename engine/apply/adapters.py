"""The adapters one run executes through, per platform and account."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.core.execution import PermanentError
from platforms import adapter_for, live_adapter
from platforms.adapter import Account, Adapter, Baseline


class Platforms:
    """The adapter for each (platform, account) of a run, created on first use.

    Demo sources execute through the local sandbox; `live` uses each account's live
    adapter from rulerun.yaml (an account it does not list is not connected).
    """

    def __init__(self, source: str, state_dir: Path, baseline: Baseline, accounts: list[Account] | None = None):
        self.source, self.state_dir, self.baseline = source, state_dir, baseline
        self.accounts = {(a.platform, a.account_id): a for a in accounts or []}
        self._cache: dict[tuple[str, str | None], Any] = {}

    def __call__(self, platform: str, account_id: str | None = None) -> Adapter:
        key = (platform, None if self.source != "live" else account_id)
        if key not in self._cache:
            self._cache[key] = self._make(platform, account_id)
        return self._cache[key]

    def _make(self, platform: str, account_id: str | None) -> Adapter:
        if self.source == "live":
            account = self.accounts.get((platform, account_id)) if account_id is not None else None
            if account is None:
                raise PermanentError(
                    "account not configured in rulerun.yaml", platform=platform, account_id=account_id or ""
                )
            return live_adapter(account)
        return adapter_for(platform, source=self.source, state_dir=self.state_dir, baseline=self.baseline)
