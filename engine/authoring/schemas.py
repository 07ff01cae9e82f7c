"""Every JSON Schema rulerun publishes (`rulerun schema`, the committed schemas/ folder).

A test fails when the committed files and the registries they are generated from disagree;
`rulerun schema --write schemas` regenerates them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from engine.authoring.ruletests import rule_test_schema
from engine.core.errors import UsageError
from engine.rules.schemagen import (
    catalog_schemas,
    guardrails_schema,
    operator_schema,
    plan_schema,
    table_schema,
    workflow_schema,
)
from engine.rules.workspace import SCHEMA as WORKSPACE_SCHEMA


@cache
def all_schemas() -> dict[str, dict]:
    """File name -> schema, for every schema rulerun publishes."""
    return {
        "workflow.schema.json": workflow_schema(),
        "operator.schema.json": operator_schema(),
        "guardrails.schema.json": guardrails_schema(),
        "plan.schema.json": plan_schema(),
        "entities.schema.json": table_schema("entities"),
        "metrics-daily.schema.json": table_schema("metrics_daily"),
        "workspace.schema.json": WORKSPACE_SCHEMA,
        "rule-test.schema.json": rule_test_schema(),
        **catalog_schemas(),
    }


def render(schema: dict) -> str:
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in all_schemas().items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


@dataclass
class SchemaList:
    names: list[str]  # without `.schema.json`


@dataclass
class SchemaDocument:
    name: str
    schema: dict


@dataclass
class SchemasWritten:
    paths: list[Path]


def list_schemas() -> SchemaList:
    return SchemaList([key.removesuffix(".schema.json") for key in all_schemas()])


def get_schema(name: str) -> SchemaDocument:
    """One schema by name (`workflow` or `workflow.schema.json`); a usage error listing them all otherwise."""
    key = name if name.endswith(".schema.json") else f"{name}.schema.json"
    schemas = all_schemas()
    if key not in schemas:
        raise UsageError(f"no schema {name!r}", hint="schemas: " + ", ".join(list_schemas().names))
    return SchemaDocument(key, schemas[key])


def write_schemas(directory: Path) -> SchemasWritten:
    return SchemasWritten(write_all(directory))
