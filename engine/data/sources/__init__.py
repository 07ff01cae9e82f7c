"""Data sources: where entities and daily metrics come from.

A source materializes two tables in the canonical shape of DESIGN.md into a DuckDB
schema: `<schema>.entities` (columns of catalog/attributes.yaml) and
`<schema>.metrics_daily` (date, key columns, every additive metric of
catalog/metrics.yaml). Sources are registered by kind and parsed from a spec string:
`demo`, `demo:ad_groups=1000000,days=30`, `file:DIR`.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from engine.core.errors import UsageError

if TYPE_CHECKING:
    import duckdb

    from engine.core.catalog import Catalog


@dataclass
class SourceInfo:
    """What a materialized source holds, recorded in the store beside the data."""

    present_metrics: frozenset[str]
    min_date: date | None
    max_date: date | None
    entity_rows: int
    metric_rows: int
    data_quality: list[dict] = field(default_factory=list)


class Source(ABC):
    """A data source. Subclasses register themselves in SOURCES by `kind`."""

    kind: ClassVar[str]

    @abstractmethod
    def describe(self) -> str:
        """The spec string that names this source (shown in plans)."""

    @abstractmethod
    def fingerprint(self) -> str:
        """A cheap digest that changes whenever the data would change."""

    @abstractmethod
    def materialize(self, con: duckdb.DuckDBPyConnection, schema: str, catalog: Catalog) -> SourceInfo:
        """Create `<schema>.entities` and `<schema>.metrics_daily` on `con`.

        Must raise engine.core.errors.DataError (with every problem found) before creating
        anything when the input is invalid; the caller runs this in a transaction.
        """


# kind -> "module:Class"; imported only when a run uses that kind of source.
SOURCES: dict[str, str] = {
    "demo": "engine.data.sources.demo:DemoSource",
    "file": "engine.data.sources.files:FileSource",
}


def parse_source(spec: str) -> Source:
    """Build a Source from its spec string (`demo`, `demo:k=v,...`, `file:DIR`)."""
    kind, _, arg = spec.partition(":")
    if kind == "live":
        raise UsageError("the live source is read through the metrics store", hint="run `rulerun sync` first")
    if kind not in SOURCES:
        raise UsageError(
            f"unknown source {spec!r}",
            hint="use --source demo, demo:ad_groups=N,days=D, file:DIR, or live (the accounts of rulerun.yaml)",
        )
    module_name, _, class_name = SOURCES[kind].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls.from_spec(arg)
