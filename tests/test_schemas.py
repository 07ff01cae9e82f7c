"""Schemas and docs come from the registries; the committed files must agree with them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from engine.authoring.schemas import all_schemas, render
from engine.core.actions import ACTIONS
from engine.core.catalog import load_catalog
from engine.output.reference_docs import TOPICS, markdown
from tests.helpers.cli import REPO

SCHEMAS = REPO / "schemas"


@pytest.mark.parametrize("name", sorted(all_schemas()))
def test_committed_schema_matches_the_registries(name):
    path = SCHEMAS / name
    assert path.exists(), f"run `rulerun schema --write schemas` ({name} missing)"
    assert path.read_text() == render(all_schemas()[name]), f"{name} is stale: run `rulerun schema --write schemas`"


def test_no_stray_schema_files():
    assert {p.name for p in SCHEMAS.glob("*.json")} == set(all_schemas())


def _yaml_files():
    return sorted(
        [
            *REPO.joinpath("rules").rglob("*.yaml"),
            *REPO.joinpath("catalog").glob("*.yaml"),
            *REPO.joinpath("platforms").glob("*/catalog.yaml"),
        ]
    )


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_yaml_names_an_existing_schema_and_validates(path):
    first = path.read_text().splitlines()[0]
    m = re.match(r"# yaml-language-server: \$schema=(\S+)$", first)
    assert m, f"{path} should start with a yaml-language-server schema line"
    schema_path = (path.parent / m.group(1)).resolve()
    assert schema_path.exists()
    jsonschema.validate(yaml.safe_load(path.read_text()) or {}, json.loads(schema_path.read_text()))


def test_workflow_schema_lists_every_action_type():
    schema = all_schemas()["workflow.schema.json"]
    action = schema["properties"]["rules"]["items"]["properties"]["action"]
    assert set(action["oneOf"][0]["enum"]) == set(ACTIONS)


def test_docs_cover_every_function_metric_and_action():
    from engine.language.expr.functions import FUNCTIONS

    text = "\n".join(markdown(t) for t in TOPICS)
    for name in [*FUNCTIONS, *load_catalog().metrics, *ACTIONS]:
        assert f"`{name}" in text, name


def test_catalog_is_consistent():
    cat = load_catalog()
    assert not set(cat.metrics) & set(cat.attributes), "a name cannot be both a metric and an attribute"
    for platform, fields in cat.field_mapping.items():
        for fm in fields.values():
            assert fm.target in cat.metrics and cat.metrics[fm.target].kind == "additive", (platform, fm)
    for m in cat.metrics.values():
        assert m.inputs <= set(cat.additive), m
    assert Path(cat.sources["google"].name) and cat.sources["google"].restatement_days == 3
