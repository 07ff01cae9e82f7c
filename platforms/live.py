"""Live platforms: reading an account's entities and daily metrics over its API.

A live adapter serves one account (`Account`, from rulerun.yaml). Besides the write side of
the adapter contract (platforms/adapter.py) it reads:

- `fetch(date_from, date_to)`: the account's entities and its daily metrics for the
  inclusive date range, in the canonical shape of the metrics store (the same columns as a
  `file:` source), normalized through catalog/field_mapping.yaml with `normalize_metrics`
  and `normalize_attribute` (micros and cents converted there, never by hand). A failure
  anywhere raises an AdapterError and returns nothing: the caller never stores half a range.
- `check_connection()`: the cheapest authenticated call, for `rulerun connections`.

Adapters are registered in LIVE_ADAPTERS and imported only when a run uses them, so their
SDKs (google-ads, facebook-business) load only then.
"""

from __future__ import annotations

import importlib
from abc import abstractmethod
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.core.catalog import Catalog, load_catalog
from engine.core.execution import PermanentError
from platforms.adapter import Adapter

LIVE_ADAPTERS: dict[str, str] = {
    "google": "platforms.google.adapter:GoogleAdsAdapter",
    "meta": "platforms.meta.adapter:MetaAdsAdapter",
}


@dataclass(frozen=True)
class Account:
    platform: str
    account_id: str
    timezone: str = "UTC"
    currency: str = "USD"
    endpoint: str | None = None  # a non-default API address (a platform sandbox, or a test server)


@dataclass
class Fetched:
    entities: list[dict[str, Any]] = field(default_factory=list)  # catalog/attributes.yaml names
    metrics: list[dict[str, Any]] = field(default_factory=list)  # date, key columns, additive metrics
    api_calls: int = 0


class LiveAdapter(Adapter):
    """One account of a platform reached over its API."""

    def __init__(self, account: Account, catalog: Catalog | None = None):
        self.account = account
        self.platform = account.platform
        self.catalog = catalog or load_catalog()

    @abstractmethod
    def fetch(self, date_from: date, date_to: date) -> Fetched:
        """Entities and daily metrics for the inclusive range; all or nothing."""

    @abstractmethod
    def check_connection(self) -> str:
        """The cheapest authenticated call; returns what it saw (e.g. the account's name)."""


def normalize_metrics(platform: str, raw: dict[str, Any], catalog: Catalog | None = None) -> dict[str, float | None]:
    """Platform report fields -> canonical additive metrics (unit conversion from the catalog).

    Fields the catalog does not map are ignored; two fields mapped to one metric are summed.
    """
    catalog = catalog or load_catalog()
    out: dict[str, float | None] = {}
    for name, fm in catalog.field_mapping.get(platform, {}).items():
        if name in raw and raw[name] is not None:
            value = fm.convert(float(raw[name]))
            out[fm.target] = (out.get(fm.target) or 0.0) + (value or 0.0)
    return out


def normalize_attribute(platform: str, name: str, value: Any, catalog: Catalog | None = None) -> tuple[str, Any]:
    """A platform attribute field -> (canonical attribute, value), converting money units."""
    catalog = catalog or load_catalog()
    fm = catalog.attribute_mapping.get(platform, {}).get(name)
    if fm is None:
        return name, value
    return fm.target, fm.convert(value)


def live_adapter(account: Account, catalog: Catalog | None = None) -> LiveAdapter:
    spec = LIVE_ADAPTERS.get(account.platform)
    if spec is None:
        raise PermanentError(
            f"no live adapter for {account.platform} yet", platform=account.platform, account_id=account.account_id
        )
    module, _, cls = spec.partition(":")
    return getattr(importlib.import_module(module), cls)(account, catalog)
