"""JSON Schemas (draft 2020-12) of the rules folder, the data contract, the plan and the
catalog, generated from the registries.

The loader validates rule files with these very schemas. The rule-test and workspace
schemas live beside the code that reads those files; `engine/authoring/schemas.py`
publishes them all (`rulerun schema`, schemas/).
"""

from __future__ import annotations

from functools import cache

from engine.core.actions import ACTIONS
from engine.core.catalog import load_catalog
from engine.core.plan import STATUSES
from engine.core.platform_catalog import fragment_schema
from engine.language import windows
from engine.rules.autonomy import LEVELS
from engine.rules.durations import PATTERN as DURATION
from engine.rules.guardrails import GUARDRAILS
from platforms import all_platforms

DRAFT = "https://json-schema.org/draft/2020-12/schema"
BASE = "https://rulerun.dev/schemas/"
NAME = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
RULE_ID = r"^[A-Za-z][A-Za-z0-9_-]{0,79}$"


def _doc(obj: type) -> str:
    return " ".join((obj.__doc__ or "").split())


def _levels() -> list[str]:
    return sorted({lvl for p in all_platforms() for lvl in p.levels})


def _action_schema() -> dict:
    variants = []
    for name, cls in ACTIONS.items():
        params = cls.params_schema
        props = {"type": {"const": name}, **params.get("properties", {})}
        variant = {
            "type": "object",
            "description": _doc(cls),
            "properties": props,
            "required": ["type"],
            "additionalProperties": False,
        }
        for key in ("oneOf",):
            if key in params:
                variant[key] = params[key]
        if "required" in params:
            variant["required"] = ["type", *params["required"]]
        variants.append(variant)
    return {
        "description": "What to do when the rule fires: an action type name, or a mapping with `type` "
        "and the type's parameters.",
        "oneOf": [
            {"enum": sorted(ACTIONS), "description": "An action type with no parameters."},
            {
                "type": "object",
                "required": ["type"],
                "properties": {"type": {"enum": sorted(ACTIONS)}},
                "oneOf": variants,
            },
        ],
    }


def _rule_schema() -> dict:
    return {
        "type": "object",
        "description": "One rule: when the condition holds for an entity, propose the action.",
        "required": ["id", "when", "action"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "pattern": RULE_ID, "description": "Unique within the workflow."},
            "description": {"type": "string"},
            "when": {
                "type": "string",
                "minLength": 1,
                "description": "Condition in the rule expression language (see `rulerun docs`).",
            },
            "action": _action_schema(),
            "cooldown": {
                "type": "string",
                "pattern": DURATION,
                "description": "Minimum time between two actions of this rule on one entity: 30m, 12h, 3d.",
            },
            "priority": {
                "type": "integer",
                "minimum": 0,
                "maximum": 1000,
                "description": "Higher wins when rules conflict on one entity and attribute.",
            },
            "level": {
                "enum": _levels(),
                "description": "Entity level for this rule (default: the workflow's).",
            },
            "window": {
                "type": "string",
                "pattern": windows.PATTERN,
                "description": "Metric window for this rule (default: the workflow's).",
            },
            "enabled": {"type": "boolean", "default": True},
        },
    }


def workflow_schema() -> dict:
    return {
        "$schema": DRAFT,
        "$id": BASE + "workflow.schema.json",
        "title": "rulerun workflow",
        "description": "A workflow file in an operator folder: cadence, level, window and rules.",
        "type": "object",
        "required": ["workflow", "operator", "level", "window", "rules"],
        "additionalProperties": False,
        "properties": {
            "workflow": {
                "type": "string",
                "pattern": NAME,
                "description": "Workflow name; equals the file name.",
            },
            "operator": {
                "type": "string",
                "pattern": NAME,
                "description": "The operator folder it belongs to.",
            },
            "description": {"type": "string"},
            "schedule": {"type": "string", "description": 'Cron schedule (5 fields), e.g. "0 6 * * *".'},
            "level": {"enum": _levels(), "description": "Entity level the rules evaluate."},
            "window": {"type": "string", "pattern": windows.PATTERN, "description": windows.WINDOW_HINT},
            "enabled": {"type": "boolean", "default": True},
            "rules": {"type": "array", "minItems": 1, "items": _rule_schema()},
        },
    }


def operator_schema() -> dict:
    value = {"type": "number"}
    return {
        "$schema": DRAFT,
        "$id": BASE + "operator.schema.json",
        "title": "rulerun operator",
        "description": "operator.yaml: the operator's platform and thresholds.",
        "type": "object",
        "required": ["operator", "platform"],
        "additionalProperties": False,
        "properties": {
            "operator": {
                "type": "string",
                "pattern": NAME,
                "description": "Operator name; equals the folder name.",
            },
            "platform": {"enum": [p.name for p in all_platforms()]},
            "description": {"type": "string"},
            "guardrails": {
                "type": "object",
                "description": "Per-operator guardrails: may only tighten the global ones (rules/guardrails.yaml).",
                "additionalProperties": False,
                "properties": _guardrail_properties(),
            },
            "escalation": {
                "type": "array",
                "description": "Conditions over action.* and the entity that send an action to human approval, "
                "added to the built-in defaults.",
                "items": {
                    "type": "object",
                    "required": ["id", "when"],
                    "additionalProperties": False,
                    "properties": {
                        "id": {"type": "string", "pattern": RULE_ID},
                        "when": {"type": "string", "minLength": 1},
                        "reason": {"type": "string"},
                    },
                },
            },
            "autonomy": {
                "type": "object",
                "description": "Autonomy per action type (and `default`): off, dry_run, approve or auto.",
                "additionalProperties": False,
                "properties": {k: {"enum": list(LEVELS)} for k in ["default", *sorted(ACTIONS)]},
            },
            "thresholds": {
                "type": "object",
                "description": "Named numbers for rules (`thresholds.<name>`): a number, or per-product "
                "values with a `default` for every other product.",
                "propertyNames": {"pattern": NAME},
                "additionalProperties": {
                    "oneOf": [
                        value,
                        {
                            "type": "object",
                            "required": ["default"],
                            "propertyNames": {"pattern": NAME},
                            "additionalProperties": value,
                        },
                    ]
                },
            },
        },
    }


def _guardrail_properties() -> dict:
    props = {}
    for g in GUARDRAILS.values():
        spec: dict = {"description": f"{g.description} Default: {g.default}."}
        if g.type == "boolean":
            spec["type"] = "boolean"
        else:
            spec["type"] = "integer" if g.type == "integer" else "number"
            spec["minimum"] = 0
            if g.maximum is not None:
                spec["maximum"] = g.maximum
        props[g.name] = spec
    return props


def guardrails_schema() -> dict:
    props = _guardrail_properties()
    return {
        "$schema": DRAFT,
        "$id": BASE + "guardrails.schema.json",
        "title": "rulerun guardrails",
        "description": "rules/guardrails.yaml: global hard limits. Missing keys keep their built-in defaults.",
        "type": "object",
        "additionalProperties": False,
        "properties": props,
    }


def table_schema(kind: str) -> dict:
    cat = load_catalog()
    json_types = {
        "string": "string",
        "number": "number",
        "boolean": "boolean",
        "date": "string",
        "labels": "array",
    }
    if kind == "entities":
        props = {}
        for a in cat.attributes.values():
            t = json_types[a.type]
            spec: dict = {"type": [t, "null"] if not a.key else t, "description": a.description}
            if a.type == "date":
                spec["format"] = "date"
            if a.type == "labels":
                spec = {
                    "description": a.description,
                    "oneOf": [
                        {"type": "array", "items": {"type": "string"}},
                        {"type": "string"},
                        {"type": "null"},
                    ],
                }
            props[a.name] = spec
        required = [a.name for a in cat.attributes.values() if a.key]
    else:
        props = {"date": {"type": "string", "format": "date"}}
        props |= {k: {"type": "string"} for k in ("platform", "account_id", "level", "entity_id")}
        for m in cat.additive:
            metric = cat.metrics[m]
            props[m] = {
                "type": ["number", "null"],
                "minimum": 0,
                "description": f"{metric.description} ({metric.unit})",
            }
        required = ["date", "platform", "account_id", "level", "entity_id"]
    return {
        "$schema": DRAFT,
        "$id": BASE + f"{kind.replace('_', '-')}.schema.json",
        "title": f"rulerun data: one row of {kind}",
        "description": f"One row of the `{kind}` table (a CSV row, a JSONL line or a Parquet row).",
        "type": "object",
        "required": required,
        "properties": props,
    }


def plan_schema() -> dict:
    string_or_null = {"type": ["string", "null"]}
    action = {
        "type": "object",
        "required": [
            "workflow",
            "rule_id",
            "platform",
            "account_id",
            "level",
            "entity_id",
            "entity_name",
            "type",
            "params",
            "before",
            "after",
            "status",
            "reasons",
            "evidence",
            "guardrails",
        ],
        "properties": {
            "action_id": {"type": "string", "description": "Stable id of this action within the plan."},
            "workflow": {"type": "string", "description": "operator/workflow"},
            "rule_id": {"type": "string"},
            "platform": {"type": "string"},
            "account_id": {"type": "string"},
            "level": {"type": "string"},
            "entity_id": {"type": "string"},
            "entity_name": string_or_null,
            "type": {"enum": sorted(ACTIONS)},
            "params": {"type": "object"},
            "before": {"type": "object"},
            "after": {"type": "object"},
            "status": {"enum": list(STATUSES)},
            "reasons": {"type": "array", "items": {"type": "string"}},
            "evidence": {"type": "object", "description": "The values that made the rule fire."},
            "guardrails": {
                "type": "array",
                "description": "Every guardrail, conflict, escalation and autonomy step that touched the action.",
                "items": {
                    "type": "object",
                    "required": ["name", "effect", "message"],
                    "properties": {
                        "name": {"type": "string"},
                        "effect": {"enum": ["clamp", "block", "skip", "needs_approval"]},
                        "message": {"type": "string"},
                    },
                },
            },
            "priority": {"type": "integer"},
            "cooldown": string_or_null,
            "autonomy": {"enum": list(LEVELS), "description": "The operator's autonomy for this action type."},
        },
    }
    return {
        "$schema": DRAFT,
        "$id": BASE + "plan.schema.json",
        "title": "rulerun plan",
        "description": "The output of `rulerun evaluate --format json`: stable across versions.",
        "type": "object",
        "required": ["run_id", "mode", "source", "as_of", "actions", "summary", "data_quality", "errors"],
        "properties": {
            "format_version": {"const": 1},
            "run_id": {"type": "string"},
            "mode": {"enum": ["dry_run", "apply"]},
            "source": {"type": "string"},
            "as_of": {"type": "string", "format": "date"},
            "generated_at": {"type": "string", "format": "date-time"},
            "rules_digest": {"type": "string"},
            "workflows": {"type": "array", "items": {"type": "string"}},
            "actions": {"type": "array", "items": action},
            "summary": {
                "type": "object",
                "required": ["actions", "by_type", "by_status", "entities_evaluated", "rules_evaluated"],
                "properties": {
                    "actions": {"type": "integer"},
                    "by_type": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "by_status": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "by_workflow": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "entities_evaluated": {"type": "integer"},
                    "rules_evaluated": {"type": "integer"},
                    "spend_affected": {"type": "number"},
                    "conflicts": {"type": "array", "items": {"type": "object"}},
                    "suppressed_by_autonomy": {"type": "integer"},
                    "text": {"type": "string"},
                },
            },
            "data_quality": {"type": "array", "items": {"type": "object"}},
            "errors": {"type": "array", "items": {"type": "object"}},
        },
    }


def catalog_schemas() -> dict[str, dict]:
    def doc(name: str, title: str, body: dict) -> dict:
        return {"$schema": DRAFT, "$id": BASE + name, "title": title, "type": "object", **body}

    metric = {
        "type": "object",
        "required": ["unit"],
        "additionalProperties": False,
        "properties": {
            "unit": {"enum": ["money", "count", "ratio"]},
            "description": {"type": "string"},
            "formula": {"type": "string"},
        },
    }
    share = {
        "type": "object",
        "required": ["min", "max"],
        "additionalProperties": False,
        "properties": {
            "min": {"type": "number", "minimum": 0, "maximum": 1},
            "max": {"type": "number", "minimum": 0, "maximum": 1},
        },
    }
    return {
        "catalog-metrics.schema.json": doc(
            "catalog-metrics.schema.json",
            "rulerun catalog: metrics",
            {
                "additionalProperties": False,
                "properties": {
                    "additive": {"type": "object", "additionalProperties": metric},
                    "derived": {
                        "type": "object",
                        "additionalProperties": {**metric, "required": ["formula"]},
                    },
                    "truth": {"type": "object", "additionalProperties": {**metric, "required": ["formula"]}},
                },
            },
        ),
        "catalog-attributes.schema.json": doc(
            "catalog-attributes.schema.json",
            "rulerun catalog: attributes",
            {
                "properties": {
                    "attributes": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "required": ["type"],
                            "additionalProperties": False,
                            "properties": {
                                "type": {"enum": ["string", "number", "boolean", "date", "labels"]},
                                "key": {"type": "boolean"},
                                "description": {"type": "string"},
                            },
                        },
                    }
                }
            },
        ),
        "catalog-concepts.schema.json": doc(
            "catalog-concepts.schema.json",
            "rulerun catalog: concepts",
            {
                "additionalProperties": False,
                "properties": {
                    "concepts": {
                        "description": "Concept -> system -> that system's name for it (and a `note`).",
                        "type": "object",
                        "additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}},
                    }
                },
            },
        ),
        "catalog-budget-allocation.schema.json": doc(
            "catalog-budget-allocation.schema.json",
            "rulerun catalog: budget allocation",
            {
                "additionalProperties": False,
                "properties": {
                    "budget_allocation": {
                        "description": "Target share of total ad budget per platform (or `testing`).",
                        "type": "object",
                        "additionalProperties": share,
                    }
                },
            },
        ),
        "platform-catalog.schema.json": doc(
            "platform-catalog.schema.json",
            "rulerun platform catalog fragment (platforms/<name>/catalog.yaml)",
            fragment_schema(),
        ),
    }


@cache
def rule_file_schema(kind: str) -> dict:
    """The schema the loader validates a rules-folder file of `kind` with (workflow, operator, guardrails)."""
    return {"workflow": workflow_schema, "operator": operator_schema, "guardrails": guardrails_schema}[kind]()
