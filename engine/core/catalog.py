"""The data catalog: metrics, attributes, sources, field mapping, credibility, benchmarks.

Everything the engine knows about metrics and platforms' fields comes from YAML: what is
cross-platform (canonical metrics and derived formulas, truth formulas, attributes,
concepts, budget allocation) from catalog/, and what belongs to one platform (its source,
field and attribute mapping, credibility ratio, benchmarks, statuses, traits) from that
platform's fragment, platforms/<name>/catalog.yaml. The loaded Catalog is their merge;
code reads it and never repeats it.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from engine.core.money import WireMoney
from engine.core.platform_catalog import FRAGMENT_FILE, Fragment, read_fragments
from engine.core.resources import catalog_dir, platform_files
from engine.core.yamlpos import load_data

KEY_COLUMNS: tuple[str, ...] = ("platform", "account_id", "level", "entity_id")
METRIC_KEY_COLUMNS: tuple[str, ...] = ("date", *KEY_COLUMNS)

# How each attribute type is stored in DuckDB.
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "labels": "VARCHAR[]",
}


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str  # "additive" or "derived"
    unit: str
    description: str
    formula: str | None = None
    inputs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str
    description: str
    key: bool = False

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.type]


@dataclass(frozen=True)
class SourceSpec:
    name: str
    type: str
    freshness_sla_hours: float
    credibility: str
    restatement_days: int = 0
    settle_days: int = 0  # the newest days rules should not act on (lint: unsettled-window)
    covers: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    notes: str = ""
    truth: bool = False


@dataclass(frozen=True)
class FieldMap:
    platform: str
    field: str
    target: str  # canonical metric or attribute
    money: WireMoney = dataclasses.field(default_factory=WireMoney)  # the unit conversion (engine/core/money.py)

    @property
    def transform(self) -> str:
        return self.money.transform

    def convert(self, value: float | None, currency: str | None = None) -> float | None:
        """The platform's value -> the canonical one (money in `currency`, the account's)."""
        return self.money.from_wire(value, currency)


class StatusVocabulary(Mapping[str, str]):
    """A platform's status values -> canonical status; lookups ignore case."""

    def __init__(self, values: Mapping[str, str]):
        self._values = dict(values)
        self._folded = {k.casefold(): v for k, v in values.items()}

    def __getitem__(self, status: str) -> str:
        return self._folded[status.casefold()]

    def __contains__(self, status: object) -> bool:
        return isinstance(status, str) and status.casefold() in self._folded

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"StatusVocabulary({self._values!r})"


@dataclass
class Catalog:
    metrics: dict[str, Metric]
    attributes: dict[str, Attribute]
    sources: dict[str, SourceSpec]
    field_mapping: dict[str, dict[str, FieldMap]]
    attribute_mapping: dict[str, dict[str, FieldMap]]
    credibility: dict[str, float]
    benchmarks: dict[str, dict[str, float]]
    truth: dict[str, Metric] = field(default_factory=dict)
    budget_allocation: dict[str, dict[str, float]] = field(default_factory=dict)
    concepts: dict[str, dict[str, str]] = field(default_factory=dict)
    traits: dict[str, frozenset[str]] = field(default_factory=dict)
    trait_notes: dict[str, dict[str, str]] = field(default_factory=dict)  # how an adapter derives a trait
    statuses: dict[str, StatusVocabulary] = field(default_factory=dict)

    @property
    def additive(self) -> list[str]:
        return [m.name for m in self.metrics.values() if m.kind == "additive"]

    @property
    def derived(self) -> list[str]:
        return [m.name for m in self.metrics.values() if m.kind == "derived"]

    def mapped_metrics(self, platform: str) -> frozenset[str]:
        """Additive metrics the platform reports (per the field mapping)."""
        return frozenset(f.target for f in self.field_mapping.get(platform, {}).values())

    def metrics_available(self, platform: str) -> frozenset[str]:
        """Every metric (additive or derived) a rule may use on this platform.

        A platform with no field mapping at all (the `file:` and `demo` sources may carry
        platforms the catalog does not know) gets every metric.
        """
        if platform not in self.field_mapping:
            return frozenset(self.metrics)
        mapped = self.mapped_metrics(platform)
        derived = {m.name for m in self.metrics.values() if m.kind == "derived" and m.inputs <= mapped}
        return frozenset(mapped | derived)

    def credibility_ratio(self, platform: str) -> float:
        return self.credibility.get(platform, 1.0)

    def has_trait(self, platform: str, trait: str) -> bool:
        """Whether the platform's fragment declares `trait` (engine/core/platform_catalog.py TRAITS)."""
        return trait in self.traits.get(platform, ())

    def trait_note(self, platform: str, trait: str) -> str | None:
        """How the platform's adapter derives `trait`, when the fragment says (the trait's string value)."""
        return self.trait_notes.get(platform, {}).get(trait)

    def status_vocabulary(self, platform: str) -> StatusVocabulary:
        """The platform's own status values -> canonical status (empty when it declares none)."""
        return self.statuses.get(platform, StatusVocabulary({}))

    def entity_columns(self) -> list[tuple[str, str]]:
        return [(a.name, a.duckdb_type) for a in self.attributes.values()]

    def metric_columns(self) -> list[tuple[str, str]]:
        cols = [("date", "DATE")] + [(k, "VARCHAR") for k in KEY_COLUMNS]
        return cols + [(m, "DOUBLE") for m in self.additive]


def _names_in(formula: str) -> frozenset[str]:
    tree = ast.parse(formula, mode="eval")
    return frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))


def _read(path: Path) -> dict:
    return load_data(path) or {}


def _field_maps(fragments: list[Fragment], section: str, key: str) -> dict[str, dict[str, FieldMap]]:
    def unit(f: Fragment, transform: str) -> WireMoney:
        own = f.data.get("money") or {}
        return WireMoney(transform, own.get("digits"), dict(own.get("digits_by_currency") or {}))

    return {
        f.platform: {
            fld: FieldMap(f.platform, fld, spec[key], unit(f, spec.get("transform", "identity")))
            for fld, spec in f.data[section].items()
        }
        for f in fragments
        if section in f.data
    }


def _source(name: str, spec: dict) -> SourceSpec:
    return SourceSpec(
        name=name,
        type=spec["type"],
        freshness_sla_hours=float(spec["freshness_sla_hours"]),
        credibility=spec.get("credibility", "medium"),
        restatement_days=int(spec.get("restatement_days", 0)),
        settle_days=int(spec.get("settle_days", 0)),
        covers=tuple(spec.get("covers", ())),
        missing=tuple(spec.get("missing", ())),
        notes=spec.get("notes", ""),
        truth=bool(spec.get("truth", False)),
    )


@cache
def load_catalog(directory: str | None = None, platforms_directory: str | None = None) -> Catalog:
    """Load the catalog: the cross-platform files of `directory` (default: the shipped
    catalog/) merged with the fragment of every platform folder under
    `platforms_directory` (default: the platforms package) that has a catalog.yaml.

    Raises CatalogError, naming file, line and column, when a fragment is invalid.
    """
    root = Path(directory) if directory else catalog_dir()
    metrics_doc = _read(root / "metrics.yaml")
    metrics: dict[str, Metric] = {}
    for name, spec in (metrics_doc.get("additive") or {}).items():
        metrics[name] = Metric(name, "additive", spec.get("unit", "count"), spec.get("description", ""))
    for name, spec in (metrics_doc.get("derived") or {}).items():
        formula = str(spec["formula"])
        inputs = _names_in(formula) - {"credibility_ratio"}
        metrics[name] = Metric(name, "derived", spec.get("unit", "ratio"), spec.get("description", ""), formula, inputs)

    truth = {
        name: Metric(
            name,
            "truth",
            spec.get("unit", "ratio"),
            spec.get("description", ""),
            str(spec["formula"]),
            _names_in(str(spec["formula"])),
        )
        for name, spec in (metrics_doc.get("truth") or {}).items()
    }

    attributes = {
        name: Attribute(name, spec["type"], spec.get("description", ""), bool(spec.get("key", False)))
        for name, spec in (_read(root / "attributes.yaml").get("attributes") or {}).items()
    }

    files = platform_files(FRAGMENT_FILE, Path(platforms_directory) if platforms_directory else None)
    fragments = read_fragments(files, {m.name: m.kind for m in metrics.values()}, frozenset(attributes))
    return Catalog(
        metrics=metrics,
        attributes=attributes,
        sources={f.platform: _source(f.platform, f.data["source"]) for f in fragments},
        field_mapping=_field_maps(fragments, "field_mapping", "metric"),
        attribute_mapping=_field_maps(fragments, "attribute_mapping", "attribute"),
        credibility={
            f.platform: float(f.data["credibility_ratio"]) for f in fragments if "credibility_ratio" in f.data
        },
        benchmarks={
            f.platform: {k: float(v) for k, v in f.data["benchmarks"].items()}
            for f in fragments
            if "benchmarks" in f.data
        },
        truth=truth,
        budget_allocation=_read(root / "budget_allocation.yaml").get("budget_allocation") or {},
        concepts=_read(root / "concepts.yaml").get("concepts") or {},
        traits={
            f.platform: frozenset(t for t, on in f.data.get("traits", {}).items() if on)
            for f in fragments
            if any(f.data.get("traits", {}).values())
        },
        trait_notes={
            f.platform: {t: note for t, note in f.data["traits"].items() if isinstance(note, str)}
            for f in fragments
            if any(isinstance(note, str) for note in f.data.get("traits", {}).values())
        },
        statuses={f.platform: StatusVocabulary(f.data["statuses"]) for f in fragments if "statuses" in f.data},
    )
