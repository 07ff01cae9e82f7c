"""Platform registry: one package per external system, discovered, loaded only when a run uses it.

Each platform is a folder `platforms/<name>/` whose `__init__.py` declares a `Platform`
subclass (the entity levels it has, which action types it supports at which level, the
environment variables holding its credentials); the class docstring is user documentation
(`rulerun docs platforms`). Platforms shipped elsewhere register a module under the
`rulerun.platforms` entry-point group. Nothing lists platforms by hand: adding a folder
adds a platform.

Declarations are light: SDK-backed adapters (`platforms/<name>/adapter.py`) import their
SDK inside the methods that need it, so validating rules or printing help never loads
google-ads or facebook-business.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from importlib.metadata import entry_points

from platforms.base import Platform

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


__all__ = ["Platform", "all_platforms", "get_platform", "platform_names"]
