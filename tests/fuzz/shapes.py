"""Valid samples of every file kind a rules folder holds, and every key in them, for wrong-shape probes."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from tests.helpers.cli import REPO

# One value of each YAML shape; each probe puts one where another is expected.
SHAPES: list[Any] = ["abc", ["x"], {"k": 1}, None, 7, True]

# The nightly profile (HYPOTHESIS_PROFILE=nightly) probes more: see tests/conftest.py.
NIGHTLY = os.environ.get("HYPOTHESIS_PROFILE") == "nightly"


def _shipped(rel: str) -> Any:
    return yaml.safe_load((REPO / "rules" / rel).read_text(encoding="utf-8"))


def samples() -> dict[str, tuple[str, Any]]:
    """kind -> (path in the folder, data): every top-level and nested key of each kind is present."""
    operator = _shipped("meta/operator.yaml") | {
        "guardrails": {"max_bid_change_pct": 10, "brand_campaigns_no_auto_pause": True, "min_conversions_for_scale": 8},
        "escalation": [{"id": "big_change", "when": "action.delta_per_day > 100", "reason": "large change"}],
        "autonomy": {"pause": "approve"},
    }
    workflow = _shipped("meta/daily_optimize.yaml") | {"description": "daily", "enabled": True}
    workflow["rules"][0] |= {"priority": 2, "enabled": True, "cooldown": "3d", "level": "campaign", "window": "last_3d"}
    test = _shipped("meta/daily_optimize.test.yaml")
    test["tests"].insert(
        0,
        {
            "name": "every key",
            "as_of": date(2026, 11, 1),
            "entities": [
                {"id": "c1", "level": "campaign", "account": "acct", "daily_budget": 100, "is_brand": False},
                {
                    "id": "ad1",
                    "level": "ad",
                    "platform": "meta",
                    "account": "acct",
                    "parent": "c1",
                    "name": "Ad",
                    "status": "active",
                    "daily_budget": 10,
                    "bid": 1.5,
                    "is_brand": False,
                    "product": "bot",
                    "learning_phase": False,
                    "labels": ["x"],
                    "created_at": date(2026, 1, 1),
                    "currency": "USD",
                    "bidding_strategy": "manual",
                    "match_type": "exact",
                },
            ],
            "metrics": {"ad1": {"spend": "100 x 7", "impressions": [5000, 5000, 5000]}},
            "truth": {"revenue": "300 x 7"},
            "expect": [
                {
                    "rule": "pause_high_cpa_ads",
                    "entity": "ad1",
                    "type": "pause",
                    "status": "planned",
                    "params": {},
                    "before": {"status": "active"},
                    "after": {"status": "paused"},
                    "guardrails": [],
                }
            ],
            "expect_no": [{"rule": "scale_winning_campaigns", "entity": "c1"}],
        },
    )
    config = {
        "state_dir": ".state",
        "source": "demo",
        "timezone": "Europe/Berlin",
        "action_log": {"url_env": "RULERUN_LOG_URL"},
        "approvals": {"expire_after": "3d"},
        "products": ["bot", "dot", "board"],
        "platforms": {
            "google": {
                "accounts": [{"id": "123", "timezone": "UTC", "currency": "USD", "endpoint": "http://127.0.0.1:1"}],
                "concurrency": 2,
            }
        },
    }
    return {
        "operator": ("rules/meta/operator.yaml", operator),
        "workflow": ("rules/meta/daily_optimize.yaml", workflow),
        "guardrails": ("rules/guardrails.yaml", _shipped("guardrails.yaml")),
        "test": ("rules/meta/daily_optimize.test.yaml", test),
        "config": ("rulerun.yaml", config),
    }


def key_paths(data: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every key and list position; of a list only the first item's, as the others share its schema."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield (*prefix, k)
            yield from key_paths(v, (*prefix, k))
    elif isinstance(data, list) and data:
        yield (*prefix, 0)
        yield from key_paths(data[0], (*prefix, 0))


def replaced(data: Any, path: tuple, value: Any) -> Any:
    out = copy.deepcopy(data)
    node = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_NoAliases, sort_keys=False, allow_unicode=True)


def write_folder(root: Path, files: dict[str, tuple[str, str]]) -> Path:
    """Write every file (relative path, YAML text) under root; returns the rules folder."""
    for rel, text in files.values():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "rules"
