"""The data catalog: metrics, attributes, sources, field mapping, credibility, benchmarks.

Everything the engine knows about metrics and platforms' fields comes from the YAML files
in catalog/; code reads the catalog and never repeats it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from engine.core.resources import catalog_dir

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

TRANSFORMS = {"identity": 1.0, "micros": 1_000_000.0, "cents": 100.0}


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
    covers: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    notes: str = ""
    truth: bool = False


@dataclass(frozen=True)
class FieldMap:
    platform: str
    field: str
    target: str  # canonical metric or attribute
    transform: str = "identity"

    def convert(self, value: float | None) -> float | None:
        if value is None:
            return None
        return float(value) / TRANSFORMS[self.transform]


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

    # STAND-IN: replaced by the `statuses:` section of each platform's catalog fragment.
    def status_vocabulary(self, platform: str) -> dict[str, str]:
        """The platform's status values (lower case) -> canonical status; canonical names always included."""
        own = {
            "meta": {"active": "active", "paused": "paused", "archived": "archived", "deleted": "removed"},
            "google": {"enabled": "active", "paused": "paused", "removed": "removed"},
            "amazon": {"enabled": "active", "paused": "paused", "archived": "archived"},
            "tiktok": {"enable": "active", "disable": "paused", "delete": "removed"},
            "pinterest": {"active": "active", "paused": "paused", "archived": "archived"},
            "linkedin": {"active": "active", "paused": "paused", "archived": "archived", "canceled": "removed",
                         "draft": "paused"},
        }  # fmt: skip
        return {s: s for s in ("active", "paused", "removed", "archived")} | own.get(platform, {})

    def credibility_ratio(self, platform: str) -> float:
        return self.credibility.get(platform, 1.0)

    def entity_columns(self) -> list[tuple[str, str]]:
        return [(a.name, a.duckdb_type) for a in self.attributes.values()]

    def metric_columns(self) -> list[tuple[str, str]]:
        cols = [("date", "DATE")] + [(k, "VARCHAR") for k in KEY_COLUMNS]
        return cols + [(m, "DOUBLE") for m in self.additive]


def _names_in(formula: str) -> frozenset[str]:
    tree = ast.parse(formula, mode="eval")
    return frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))


def _read(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def _field_maps(section: dict, key: str) -> dict[str, dict[str, FieldMap]]:
    return {
        platform: {
            fld: FieldMap(platform, fld, spec[key], spec.get("transform", "identity"))
            for fld, spec in (fields or {}).items()
        }
        for platform, fields in (section or {}).items()
    }


@cache
def load_catalog(directory: str | None = None) -> Catalog:
    """Load the catalog from `directory` (default: the shipped catalog/)."""
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

    sources = {
        name: SourceSpec(
            name=name,
            type=spec["type"],
            freshness_sla_hours=float(spec["freshness_sla_hours"]),
            credibility=spec.get("credibility", "medium"),
            restatement_days=int(spec.get("restatement_days", 0)),
            covers=tuple(spec.get("covers", ())),
            missing=tuple(spec.get("missing", ())),
            notes=spec.get("notes", ""),
            truth=bool(spec.get("truth", False)),
        )
        for name, spec in (_read(root / "sources.yaml").get("sources") or {}).items()
    }

    mapping_doc = _read(root / "field_mapping.yaml")
    credibility_doc = _read(root / "credibility.yaml")
    benchmarks_doc = _read(root / "benchmarks.yaml")
    return Catalog(
        metrics=metrics,
        attributes=attributes,
        sources=sources,
        field_mapping=_field_maps(mapping_doc.get("platforms"), "metric"),
        attribute_mapping=_field_maps(mapping_doc.get("attributes"), "attribute"),
        credibility={k: float(v) for k, v in (credibility_doc.get("conversions_vs_shopify_ratio") or {}).items()},
        benchmarks={
            p: {k: float(v) for k, v in vals.items()} for p, vals in (benchmarks_doc.get("platforms") or {}).items()
        },
        truth=truth,
        budget_allocation=benchmarks_doc.get("budget_allocation") or {},
        concepts=mapping_doc.get("concepts") or {},
    )
