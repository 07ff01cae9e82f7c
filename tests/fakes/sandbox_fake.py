"""The demo sandbox (platforms/sandbox.py) as a contract-suite platform: it is its own fake.

It executes Google's declared actions on a small baseline of entities; faults use the
sandbox's own fault specification (`faults=`), so `fail_next` must come before `adapter()`.
"""

from __future__ import annotations

from typing import Any

from engine.core.execution import EntityKey
from platforms.sandbox import DemoSandbox

ACCOUNT = "111"


def _key(level: str, entity_id: str) -> EntityKey:
    return EntityKey("google", ACCOUNT, level, entity_id)


class ContractHarness:
    platform = "google"
    faults = ("rate_limit", "transient", "permanent")
    secrets: list[str] = []  # the sandbox takes no credentials

    def __init__(self, tmp_path, monkeypatch) -> None:
        self.dir = tmp_path / "sandbox"
        self.currency = "USD"
        self.baseline: dict[EntityKey, dict[str, Any]] = {
            _key("campaign", "c1"): {"status": "active", "daily_budget": 650.0, "bid": None},
            _key("campaign", "c2"): {"status": "paused", "daily_budget": 120.0, "bid": None},
            _key("ad_group", "ag1"): {"status": "active", "daily_budget": None, "bid": 1.5},
            _key("ad_group", "ag2"): {"status": "paused", "daily_budget": None, "bid": 0.8},
            _key("keyword", "kw1"): {"status": "active", "daily_budget": None, "bid": 2.4},
            _key("keyword", "kw2"): {"status": "paused", "daily_budget": None, "bid": 0.9},
            _key("search_term", "ag1~free camera"): {"status": "active", "daily_budget": None, "bid": None},
        }
        self._faults: list[str] = []

    def _base(self, key: EntityKey) -> dict[str, Any] | None:
        state = self.baseline.get(key)
        return {**state, "currency": self.currency} if state is not None else None

    def adapter(self, currency: str = "USD") -> DemoSandbox:
        self.currency = currency
        spec, self._faults = ",".join(self._faults), []
        return DemoSandbox(self.dir, self._base, platform="google", faults=spec)

    def entity(self, action_type: str, level: str) -> EntityKey:
        if level == "search_term":
            return _key("search_term", "ag1~free camera")
        ids = {"campaign": ("c1", "c2"), "ad_group": ("ag1", "ag2"), "keyword": ("kw1", "kw2")}[level]
        return _key(level, ids[1] if action_type == "enable" else ids[0])

    def negative(self, key: EntityKey) -> dict[str, Any]:
        return {"text": key.entity_id.split("~", 1)[1], "match_type": "exact", "scope": "campaign"}

    def writes(self) -> int:
        return len(DemoSandbox(self.dir, self._base, faults="").changes())

    def fail_next(self, kind: str) -> None:
        self._faults.append({"rate_limit": "429", "transient": "503", "permanent": "fail:contract-fault"}[kind])

    def fail_in_batch(self, key: EntityKey) -> None:
        self._faults.append("partial")  # the sandbox fails the last change of the batch: the suite puts `key` last

    def use_jpy(self) -> tuple[EntityKey, str]:
        self.baseline[_key("campaign", "c1")]["daily_budget"] = 5000.0
        return _key("campaign", "c1"), "daily_budget"

    def wire(self, key: EntityKey, attribute: str) -> Any:
        return self.adapter(self.currency).read_state(key)[attribute]

    def close(self) -> None:
        pass
