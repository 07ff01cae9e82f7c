"""Every key of every file kind, given a value of the wrong shape: a positioned error, never a crash.

operator.yaml, a workflow, guardrails.yaml, rulerun.yaml and a rule test file: each key (and
the first item of each list) gets a string, a list, a mapping, null, a number or a boolean
(two of them in CI, all six with HYPOTHESIS_PROFILE=nightly). Loading either succeeds (the
shape happened to be allowed) or raises diagnostics that all name file and line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.authoring.ruletests import load_tests, rule_test_schema
from engine.core.catalog import load_catalog
from engine.core.errors import DiagnosticsError
from engine.rules.loader import load_project
from engine.rules.schemagen import rule_file_schema
from engine.rules.workspace import SCHEMA as WORKSPACE_SCHEMA
from engine.rules.workspace import Workspace
from tests.fuzz.shapes import NIGHTLY, SHAPES, dump, key_paths, replaced, samples, write_folder

SAMPLES = samples()
TEXTS = {kind: (rel, dump(data)) for kind, (rel, data) in SAMPLES.items()}
PATHS = [(kind, path) for kind, (_, data) in SAMPLES.items() for path in key_paths(data)]
# CI: every key gets two shapes of different kinds (text or null, list or number, mapping or
# boolean, in turn); nightly: all six.
CASES = [
    (kind, path, shape)
    for i, (kind, path) in enumerate(PATHS)
    for shape in (SHAPES if NIGHTLY else (SHAPES[i % 3], SHAPES[i % 3 + 3]))
]


def load(root: Path, kind: str) -> None:
    rules = root / "rules"
    if kind == "config":
        Workspace.resolve(str(rules), None)
    elif kind == "test":
        load_tests([rules / "meta" / "daily_optimize.test.yaml"], rules, load_catalog())
    else:
        load_project(rules, load_catalog())


def test_the_samples_are_valid_and_hold_every_key(tmp_path):
    write_folder(tmp_path, TEXTS)
    for kind in SAMPLES:
        load(tmp_path, kind)
    workflow, tests = rule_file_schema("workflow"), rule_test_schema()
    for kind, schema, at in (
        ("operator", rule_file_schema("operator"), ()),
        ("workflow", workflow, ()),
        ("workflow", workflow["properties"]["rules"]["items"], ("rules", 0)),
        ("guardrails", rule_file_schema("guardrails"), ()),
        ("config", WORKSPACE_SCHEMA, ()),
        ("test", tests, ()),
        ("test", tests["properties"]["tests"]["items"], ("tests", 0)),
    ):
        data = SAMPLES[kind][1]
        for step in at:
            data = data[step]
        assert set(schema["properties"]) <= set(data), (kind, at, set(schema["properties"]) - set(data))


@pytest.mark.parametrize(("kind", "path", "shape"), CASES, ids=lambda v: repr(v)[:40])
def test_a_value_of_the_wrong_shape_is_a_positioned_error(tmp_path, kind, path, shape):
    rel, data = SAMPLES[kind]
    write_folder(tmp_path, {**TEXTS, kind: (rel, dump(replaced(data, path, shape)))})
    try:
        load(tmp_path, kind)
    except DiagnosticsError as exc:
        assert exc.diagnostics
        unplaced = [d.format() for d in exc.diagnostics if not d.file or d.line is None]
        assert not unplaced
