"""Platform registry: one class per external system, loaded only when a run uses it.

A platform declares the entity levels it has, which action types it supports at which
level, the environment variables holding its credentials, and the catalog source its
data feeds. The class docstring is user documentation (`rulerun docs platforms`).
SDK-backed adapters import their SDK inside the methods that need it, so validating
rules or printing help never loads google-ads or facebook-business.
"""

from __future__ import annotations

import importlib
from functools import cache

from platforms.base import Platform

# name -> module that defines it (imported on first use)
PLATFORM_MODULES: dict[str, str] = {
    "meta": "platforms.meta",
    "google": "platforms.google",
    "amazon": "platforms.amazon",
    "tiktok": "platforms.tiktok",
    "linkedin": "platforms.linkedin",
    "pinterest": "platforms.pinterest",
    "klaviyo": "platforms.email",
    "activecampaign": "platforms.email",
    "shopify": "platforms.shopify",
    "clarity": "platforms.cro",
    "vwo": "platforms.cro",
    "mixpanel": "platforms.analytics",
    "ga4": "platforms.analytics",
    "redshift": "platforms.analytics",
}


def platform_names() -> list[str]:
    return list(PLATFORM_MODULES)


@cache
def get_platform(name: str) -> type[Platform]:
    """The Platform class registered as `name` (KeyError when unknown)."""
    module = importlib.import_module(PLATFORM_MODULES[name])
    for obj in vars(module).values():
        if isinstance(obj, type) and issubclass(obj, Platform) and obj is not Platform and obj.name == name:
            return obj
    raise KeyError(name)


def all_platforms() -> list[type[Platform]]:
    return [get_platform(n) for n in PLATFORM_MODULES]


__all__ = ["PLATFORM_MODULES", "Platform", "all_platforms", "get_platform", "platform_names"]
