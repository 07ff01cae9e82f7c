"""Platform registry: one package per external system, discovered, loaded only when a run uses it.

Each platform is a folder `platforms/<name>/` whose `__init__.py` declares a `Platform`
subclass (the entity levels it has, which action types it supports at which level, the
environment variables holding its credentials); the class docstring is user documentation
(`rulerun docs platforms`). Platforms shipped elsewhere register a module under the
`rulerun.platforms` entry-point group. Nothing lists platforms by hand: adding a folder
adds a platform.

A platform has a live adapter when `platforms/<name>/adapter.py` exists and defines a
subclass of `platforms.template.LiveAdapter` (`live_adapter`); it is imported only when a
run uses it, and imports its SDK inside the methods that need it, so validating rules or
printing help never loads google-ads or facebook-business. With a demo source every
platform executes through the local sandbox instead (`adapter_for`).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from importlib.metadata import entry_points
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

from platforms.base import Platform

if TYPE_CHECKING:
    from engine.core.catalog import Catalog
    from platforms.adapter import Account, Adapter, Baseline
    from platforms.template import LiveAdapter

ENTRY_POINT_GROUP = "rulerun.platforms"


@cache
def _modules() -> dict[str, str]:
    """name -> module declaring it: the folders under platforms/, then entry points."""
    found = {info.name: f"{__name__}.{info.name}" for info in pkgutil.iter_modules(__path__) if info.ispkg}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value.partition(":")[0])
    return dict(sorted(found.items()))


def platform_names() -> list[str]:
    return list(_modules())


@cache
def get_platform(name: str) -> type[Platform]:
    """The Platform class registered as `name` (KeyError when unknown)."""
    module = importlib.import_module(_modules()[name])
    for obj in vars(module).values():
        if isinstance(obj, type) and issubclass(obj, Platform) and obj is not Platform and obj.name == name:
            return obj
    raise KeyError(name)


def all_platforms() -> list[type[Platform]]:
    return [get_platform(n) for n in _modules()]


def has_live_adapter(name: str) -> bool:
    """Whether `name` has a live adapter module (found without importing it or its SDK)."""
    module = _modules().get(name)
    return module is not None and find_spec(f"{module}.adapter") is not None


@cache
def live_adapter_class(name: str) -> type[LiveAdapter] | None:
    """The LiveAdapter subclass `platforms/<name>/adapter.py` defines; None when there is none."""
    from platforms.template import LiveAdapter

    if not has_live_adapter(name):
        return None
    module = importlib.import_module(f"{_modules()[name]}.adapter")
    found = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, LiveAdapter) and obj.__module__ == module.__name__
    ]
    return found[0] if len(found) == 1 else None


def live_adapter(account: Account, catalog: Catalog | None = None) -> LiveAdapter:
    """The live adapter serving `account`; PermanentError when its platform has none."""
    from engine.core.execution import PermanentError

    cls = live_adapter_class(account.platform) if account.platform in _modules() else None
    if cls is None:
        raise PermanentError(
            f"no live adapter for {account.platform} yet", platform=account.platform, account_id=account.account_id
        )
    return cls(account, catalog)


def adapter_for(platform: str, *, source: str, state_dir: Path, baseline: Baseline) -> Adapter:
    """The adapter that executes `platform`'s actions for a run reading from `source`.

    A demo source (`demo`, `demo:ad_groups=N`, ...) executes every platform through the
    sandbox in `state_dir`, whose entities start from `baseline`. Live accounts go through
    `live_adapter`; other sources have no adapter: PermanentError.
    """
    if source.startswith("demo"):
        from platforms.sandbox import DemoSandbox

        return DemoSandbox(state_dir, baseline, platform=platform)
    from engine.core.execution import PermanentError

    raise PermanentError(f"no live adapter for {platform} yet", platform=platform)


__all__ = [
    "Platform",
    "adapter_for",
    "all_platforms",
    "get_platform",
    "has_live_adapter",
    "live_adapter",
    "live_adapter_class",
    "platform_names",
]
