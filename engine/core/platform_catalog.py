"""A platform's catalog fragment: `platforms/<name>/catalog.yaml`.

Each platform folder holds what the catalog knows about that platform: its data source
(freshness SLA, restatement window, credibility), how its fields map to canonical
metrics and attributes, its conversion over-reporting ratio, its benchmarks, its status
vocabulary and its traits. The platform's name is its folder's. This module holds the
fragment's vocabulary and JSON Schema and reads one fragment into validated data, with
every problem at file:line:col; engine/core/catalog.py merges the fragments with the
cross-platform catalog.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.core.errors import Diagnostic, DiagnosticsError
from engine.core.money import TRANSFORMS
from engine.core.yamlpos import Document, load_file

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

FRAGMENT_FILE = "catalog.yaml"


# The canonical entity statuses every platform's own status values map to.
STATUSES = ("active", "paused", "removed", "archived")

# Traits a platform may declare (name -> what declaring it means).
TRAITS = {
    "learning_phase": "Entities still in the platform's learning phase must not be changed: "
    "the learning_phase_no_changes guardrail blocks every change to them.",
}

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"


class CatalogError(DiagnosticsError):
    """The catalog or a platform's catalog fragment is invalid."""


def _mapping_entry(target: str, what: str) -> dict:
    return {
        "type": "object",
        "required": [target],
        "additionalProperties": False,
        "properties": {
            target: {"type": "string", "description": f"The canonical {what} (catalog/{what}s.yaml)."},
            "transform": {
                "enum": list(TRANSFORMS),
                "default": "identity",
                "description": "Unit conversion (engine/core/money.py): micros divides by 1,000,000 and rounds to "
                "the currency's smallest unit; minor_units divides by 10 to the currency's digits (or the "
                "platform's own digits, `money:` below).",
            },
        },
    }


def fragment_schema() -> dict:
    """The JSON Schema body of a platform catalog fragment."""
    return {
        "description": "What the catalog knows about one platform; the platform's name is its folder's.",
        "type": "object",
        "required": ["source"],
        "additionalProperties": False,
        "properties": {
            "source": {
                "description": "The platform as a data source.",
                "type": "object",
                "required": ["type", "freshness_sla_hours"],
                "additionalProperties": False,
                "properties": {
                    "type": {"type": "string", "description": "ad_platform, email_marketing, commerce_platform, ..."},
                    "freshness_sla_hours": {
                        "type": "number",
                        "minimum": 0,
                        "description": "How old the newest data may be before acting on it is a bug: "
                        "the safety pipeline blocks actions on staler data.",
                    },
                    "restatement_days": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "How many recent days the platform may still revise (sync re-reads them).",
                    },
                    "settle_days": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "How many of the newest days are too young to act on (the platform "
                        "still revises them): `rulerun lint` warns about a rule whose window reaches into them "
                        "(`unsettled-window`); such rules end their windows that many days back "
                        "(`last_7d_ending_3d_ago`).",
                    },
                    "covers": {"type": "array", "items": {"type": "string"}},
                    "missing": {"type": "array", "items": {"type": "string"}},
                    "credibility": {"type": "string", "description": "Qualitative: high, medium, low_for_conversions."},
                    "notes": {"type": "string"},
                    "truth": {
                        "type": "boolean",
                        "description": "The source of truth for orders and revenue (`truth.<name>` in rules).",
                    },
                },
            },
            "credibility_ratio": {
                "type": "number",
                "exclusiveMinimum": 0,
                "description": "Seed of the platform-reported conversions divided by Shopify orders "
                "(`credibility_ratio` in rules reads it when no live weekly ratio is measured; 1.0 when not given).",
            },
            "field_mapping": {
                "description": "Platform metric field -> canonical additive metric. A metric the platform "
                "does not map is not available on it.",
                "type": "object",
                "additionalProperties": _mapping_entry("metric", "metric"),
            },
            "attribute_mapping": {
                "description": "Platform attribute field -> canonical attribute, for fields needing a conversion.",
                "type": "object",
                "additionalProperties": _mapping_entry("attribute", "attribute"),
            },
            "money": {
                "description": "The platform's own minor digits where they differ from the currency's "
                "(ISO 4217 / CLDR): `minor_units` transforms use them.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "digits": {"type": "integer", "minimum": 0, "maximum": 6},
                    "digits_by_currency": {
                        "type": "object",
                        "propertyNames": {"pattern": "^[A-Z]{3}$"},
                        "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 6},
                    },
                    "source": {"type": "string", "description": "Where the platform documents it."},
                },
            },
            "benchmarks": {
                "description": "Benchmarks usable in rules as `benchmarks.<name>` on this platform.",
                "type": "object",
                "propertyNames": {"pattern": NAME_PATTERN},
                "additionalProperties": {"type": "number"},
            },
            "statuses": {
                "description": "The platform's own status values (matched ignoring case) -> canonical status.",
                "type": "object",
                "additionalProperties": {"enum": list(STATUSES)},
            },
            "traits": {
                "description": "Platform traits the engine acts on.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    name: {
                        "type": ["boolean", "string"],
                        "description": doc + " A string also turns it on, and says how the platform's adapter "
                        "derives it where the platform does not report it; the guardrail quotes it.",
                    }
                    for name, doc in TRAITS.items()
                },
            },
        },
    }


@dataclass(frozen=True)
class Fragment:
    """One platform's validated catalog fragment."""

    platform: str
    file: str
    data: dict[str, Any]


def read_fragment(
    platform: str, path: Path, metrics: Mapping[str, str], attributes: frozenset[str]
) -> tuple[Fragment | None, list[Diagnostic]]:
    """Read and validate `path`; `metrics` maps each canonical metric to its kind.

    Returns the fragment (None when invalid) and every problem found.
    """
    doc, problems = load_file(path)
    if doc is None:
        return None, problems
    if doc.data is None:
        return None, [*problems, Diagnostic(doc.file, 1, 1, "platform catalog fragment is empty", _SCHEMA_HINT)]
    if not isinstance(doc.data, dict):
        return None, [*problems, doc.diag((), "platform catalog fragment must be a mapping of keys", _SCHEMA_HINT)]
    for err in sorted(_validator().iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))):
        problems.extend(_explain(doc, tuple(err.absolute_path), err))
    if not problems:
        problems.extend(_semantic_problems(doc, metrics, attributes))
    return (None if problems else Fragment(platform, doc.file, doc.data)), problems


_SCHEMA_HINT = "see schemas/platform-catalog.schema.json for its keys"


@cache
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # only when a catalog is loaded, not on import

    return Draft202012Validator(fragment_schema())


def _semantic_problems(doc: Document, metrics: Mapping[str, str], attributes: frozenset[str]) -> list[Diagnostic]:
    out = []
    for fld, spec in (doc.data.get("field_mapping") or {}).items():
        metric, where = spec["metric"], ("field_mapping", fld, "metric")
        if metric not in metrics:
            out.append(
                doc.diag(
                    where,
                    f"field {fld!r} maps to metric {metric!r}, which the catalog does not define",
                    _did_you_mean(
                        metric,
                        [m for m, k in metrics.items() if k == "additive"],
                        "define it under `additive:` in catalog/metrics.yaml",
                    ),
                )
            )
        elif metrics[metric] != "additive":
            out.append(
                doc.diag(
                    where,
                    f"field {fld!r} maps to {metric!r}, a {metrics[metric]} metric",
                    "map platform fields to additive metrics; derived ones are computed from them",
                )
            )
    for fld, spec in (doc.data.get("attribute_mapping") or {}).items():
        attribute = spec["attribute"]
        if attribute not in attributes:
            out.append(
                doc.diag(
                    ("attribute_mapping", fld, "attribute"),
                    f"field {fld!r} maps to attribute {attribute!r}, which the catalog does not define",
                    _did_you_mean(attribute, sorted(attributes), "define it in catalog/attributes.yaml"),
                )
            )
    seen: dict[str, str] = {}
    for value in doc.data.get("statuses") or {}:
        first = seen.setdefault(value.casefold(), value)
        if first != value:
            out.append(
                doc.diag(
                    ("statuses", value),
                    f"status {value!r} repeats {first!r} (statuses ignore case)",
                    "keep one of them",
                    key=True,
                )
            )
    return out


def _did_you_mean(value: str, options: list[str], otherwise: str) -> str:
    close = difflib.get_close_matches(value, options, n=1)
    return f"did you mean {close[0]!r}? Otherwise {otherwise}" if close else otherwise[0].upper() + otherwise[1:]


def _where(path: tuple) -> str:
    return ".".join(map(str, path)) or "the fragment"


def _explain(doc: Document, path: tuple, err: Any) -> list[Diagnostic]:
    """One jsonschema error as diagnostics at the offending key or value."""
    v, where = err.validator, _where(path)
    if v == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        out = []
        for key in (k for k in err.instance if k not in allowed):
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "allowed: " + ", ".join(allowed)
            out.append(doc.diag((*path, key), f"unknown key {key!r} in {where}", hint, key=True))
        return out
    if v == "required":
        missing = [k for k in err.validator_value if k not in err.instance]
        return [doc.diag(path, f"missing required key {k!r} in {where}", _SCHEMA_HINT) for k in missing]
    if v == "type":
        want = {"object": "mapping", "array": "list"}.get(err.validator_value, err.validator_value)
        return [doc.diag(path, f"{where}: expected a {want}, got {err.instance!r}")]
    if v == "enum":
        options = [str(o) for o in err.validator_value]
        close = difflib.get_close_matches(str(err.instance), options, n=1)
        hint = f"did you mean {close[0]!r}?" if close else "one of: " + ", ".join(options)
        return [doc.diag(path, f"{where}: {err.instance!r} is not allowed", hint)]
    if v == "pattern":  # benchmark names (propertyNames): err.instance is the key
        return [
            doc.diag(
                (*path, err.instance),
                f"{where}: {err.instance!r} is not a valid name",
                "use letters, digits and underscores, starting with a letter",
                key=True,
            )
        ]
    if v in ("minimum", "exclusiveMinimum"):
        words = "at least" if v == "minimum" else "above"
        return [doc.diag(path, f"{where}: {err.instance!r} must be {words} {err.validator_value}")]
    return [doc.diag(path, f"{where}: {err.message}")]


def read_fragments(files: Mapping[str, Path], metrics: Mapping[str, str], attributes: frozenset[str]) -> list[Fragment]:
    """Read every platform's fragment (`files`: platform -> path); raise CatalogError
    listing every problem of every fragment when any is invalid."""
    fragments, problems = [], []
    for platform, path in files.items():
        fragment, found = read_fragment(platform, path, metrics, attributes)
        problems.extend(found)
        if fragment is not None:
            fragments.append(fragment)
    if problems:
        raise CatalogError(problems, "invalid platform catalog fragment")
    return fragments
