"""Rule unit tests (`rulerun test`): small made-up accounts, the actions you expect, checked in CI.

In the spirit of `promtool test rules`: a test file sits beside the workflow it tests,
`rules/<operator>/<workflow>.test.yaml`. Each test describes a few entities and their daily
metrics, evaluates the workflow on them as of a date, and checks which actions come out and
with which final status. The whole safety pipeline runs (conflicts, guardrails, escalation,
autonomy), so a test can say "this brand campaign's pause is blocked".

```yaml
# yaml-language-server: $schema=../../schemas/rule-test.schema.json
workflow: daily_optimize            # the workflow in this folder (daily_optimize.yaml)
as_of: 2026-11-01                   # optional: the evaluation date of every test below
tests:
  - name: expensive ad group with poor outbound CTR is paused
    as_of: 2026-11-01               # the evaluation date (here, or once at the top)
    entities:
      - {id: g1, bid: 1.20, daily_budget: 50, product: bot}
    metrics:
      g1:
        spend: 120 x 7              # 120 on each of the 7 days before as_of
        impressions: [9000, 9000, 9000, 9000, 9000, 9000, 9000]
        outbound_clicks: 9 x 7
    expect:
      - {rule: pause_expensive_low_outbound, entity: g1, type: pause, status: planned}
      - {rule: lower_bid_low_outbound_ctr, entity: g1, status: skipped, after: {bid: 1.02}}
    expect_no:
      - {rule: pause_expensive_low_outbound, entity: g2}
```

Top level
---------
- `workflow` (required): the name of a workflow in the same folder.
- `as_of`: the default evaluation date (YYYY-MM-DD) of the tests.
- `tests` (required): the list of tests.

A test
------
- `name` (required, unique in the file).
- `as_of`: the evaluation date; the test's data ends the day before, so it is always fresh.
- `entities` (required): campaigns, ad groups, keywords, ... Only `id` is required (text or a
  number, unique in the test). Defaults: `level` the workflow's level, `platform` the
  operator's platform, `account` "test", `name` the id (a search term's name is its text),
  `status` active, `is_brand` false, `learning_phase` false. `parent` is the id of another
  entity of the test (same platform and account) and builds hierarchies (brand campaign > ad
  group > search term). `daily_budget`, `bid`, `product`, `labels` (a list), `created_at`,
  `currency`, `bidding_strategy` and `match_type` are null unless given (a null bid means
  automated bidding). Every entity gets a row of metrics for every day of the test.
- `metrics`: per entity id, per additive metric (spend, impressions, clicks, outbound_clicks,
  conversions, conversion_value, ...; derived ones such as cpa or outbound_ctr are computed),
  the daily values ending the day before as_of:
  - `120 x 7`: 120 on each of the 7 days before as_of (`120 x 7 days` works too);
  - `[100, 80, 120]`: one value per day, the last one for the day before as_of (null: no value).
  Days and metrics not given are 0 (null for a metric the entity's platform does not report).
  A series may not be longer than the workflow reads: `last_7d` reads 7 days, `prev.` doubles
  its window, `lifetime` reads everything.
- `truth`: the Shopify store's daily `revenue`, `orders`, `new_customers`, `sessions` and `net_revenue`, in the
  same notation. They feed `truth.*` and the blended MER of the budget guardrail (revenue over
  the spend of the test's entities, read at the campaign level when the test has campaigns,
  else at the ad group, ad or account level); without them MER is unknown and every budget
  increase is blocked, saying why.
- `expect`: actions that must be proposed. Each item must match at least one action on the keys
  it gives: `rule`, `entity`, `type`, `status` (the final status: planned, clamped, blocked,
  needs_approval or skipped), `params` (a subset of the rule's action parameters), `before` and
  `after` (a subset of the change; money compared to the cent) and `guardrails` (names that
  touched the action: a guardrail of rules/guardrails.yaml, `conflict`,
  `escalation:<id>` or `autonomy`; `[]` means none did). `expect: []` means no action at all.
- `expect_no`: actions that must not be proposed: no action may match any item (`{entity: g1}`
  alone: nothing at all for g1).
A test needs `expect` or `expect_no`. When a test fails, the actions printed under "got" are in
the notation of `expect`, so a correct one can be pasted.

Running
-------
`rulerun test [PATH ...] [--run REGEX] [--junit FILE] [--format text|github]` finds the
`*.test.yaml` files under the paths (default: the rules folder), checks them all first (every
problem at file:line:col, exit 1), runs the tests whose `<file>::<name>` matches REGEX, prints
each failure with what was expected and what was proposed instead, and ends with
`N passed, N failed` (exit 0 when all pass, else 1).
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import json
import math
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from engine.core.actions import ACTIONS
from engine.core.catalog import Catalog, load_catalog
from engine.core.errors import Diagnostic, UsageError, ValidationFailed
from engine.core.limits import (
    MAX_TEST_CONDITION_PARTS,
    MAX_TEST_DAILY_VALUES,
    MAX_TEST_ENTITY_DAYS,
    MAX_TESTS_PER_FILE,
    cap_per_file,
)
from engine.core.plan import PlannedAction
from engine.core.yamlpos import Document, display_path, load_file
from engine.data.metrics import TRUTH_METRICS
from engine.data.rows import insert_rows
from engine.data.sources import SourceInfo
from engine.data.store import LoadedSource
from engine.evaluation.evaluate import build_plan
from engine.language import windows
from engine.language.sql import quote_ident
from engine.rules.escalation import DEFAULT_ESCALATIONS
from engine.rules.guardrails import GUARDRAILS
from engine.rules.loader import _explain, load_project
from engine.rules.model import Project, Workflow
from engine.rules.workspace import Workspace
from platforms import all_platforms, get_platform, platform_names

SUFFIXES = (".test.yaml", ".test.yml")
DEFAULT_ACCOUNT = "test"
FINAL_STATUSES = ("planned", "clamped", "blocked", "needs_approval", "skipped")
TRUTH_ENTITY = "_truth_store"
MATCH_KEYS = ("rule", "entity", "type", "status", "params", "before", "after", "guardrails")
SERIES = re.compile(r"^\s*(?P<value>-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*[x×]\s*(?P<days>[0-9]+)\s*(?:d|days?)?\s*$")
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
SERIES_HINT = (
    "write VALUE x DAYS (`120 x 7`: 120 on each of the 7 days before as_of) "
    "or a list of daily values ending the day before as_of ([100, 120, 90])"
)
DATE_HINT = "write the date as YYYY-MM-DD, e.g. 2026-11-01"
_PLACE_HINT = "test files live beside their workflow: rules/<operator>/<workflow>.test.yaml"

# --------------------------------------------------------------------------- schema

_ID = {"type": ["string", "integer"], "minLength": 1}  # platform ids are often numbers: 23851234
_DATE = {"description": "A date, YYYY-MM-DD.", "format": "date", "pattern": ISO_DATE.pattern}
_SERIES = {
    "description": "Daily values ending the day before as_of: `120 x 7` (120 on each of the 7 days) "
    "or a list, oldest first ([100, 120, 90]; null: no value that day).",
    "anyOf": [
        {"type": "string", "pattern": SERIES.pattern},
        {"type": "array", "minItems": 1, "items": {"type": ["number", "null"], "minimum": 0}},
    ],
}
_ATTRIBUTE_TYPES = {
    "string": {"type": ["string", "null"]},
    "number": {"type": ["number", "null"]},
    "boolean": {"type": ["boolean", "null"]},
    "date": _DATE,
    "labels": {"type": ["array", "null"], "items": {"type": "string"}},
}
# Entity keys a test writes differently from the table columns: shorter, and id-based.
_RENAMED = {"entity_id": "id", "account_id": "account", "parent_id": "parent"}


def _entity_schema(catalog: Catalog) -> dict:
    props: dict[str, Any] = {
        "id": {**_ID, "description": "Entity id, unique in the test."},
        "level": {
            "enum": sorted({lvl for p in all_platforms() for lvl in p.levels}),
            "description": "Default: the workflow's level.",
        },
        "platform": {"enum": platform_names(), "description": "Default: the operator's platform."},
        "account": {**_ID, "description": f"Default: {DEFAULT_ACCOUNT!r}."},
        "parent": {**_ID, "description": "Id of the parent entity in this test."},
    }
    for name, attr in catalog.attributes.items():
        if name not in _RENAMED and name not in props:
            props[name] = {**_ATTRIBUTE_TYPES[attr.type], "description": attr.description}
    return {"type": "object", "additionalProperties": False, "required": ["id"], "properties": props}


def _matcher_schema() -> dict:
    subset = {"type": "object", "description": "Keys that must be present with these values (money to the cent)."}
    return {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {
            "rule": {"type": "string", "description": "Rule id in the workflow."},
            "entity": {**_ID, "description": "Entity id in the test."},
            "type": {"enum": sorted(ACTIONS), "description": "Action type."},
            "status": {"enum": list(FINAL_STATUSES), "description": "Final status after the safety pipeline."},
            "params": {**subset, "description": "A subset of the rule's action parameters."},
            "before": subset,
            "after": subset,
            "guardrails": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Names that touched the action (all must be there); [] means none.",
            },
        },
    }


@functools.cache
def rule_test_schema() -> dict:
    """The JSON Schema of a test file (schemas/rule-test.schema.json)."""
    catalog = load_catalog()
    additive = [m for m in catalog.metrics.values() if m.kind == "additive"]
    metrics = {
        "type": "object",
        "additionalProperties": False,
        "properties": {m.name: {**_SERIES, "description": m.description} for m in additive},
    }
    matcher = _matcher_schema()
    test = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "entities"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "as_of": {**_DATE, "description": "Evaluation date; the data ends the day before."},
            "entities": {"type": "array", "minItems": 1, "items": _entity_schema(catalog)},
            "metrics": {
                "type": "object",
                "description": "Entity id -> metric -> daily values.",
                "additionalProperties": metrics,
            },
            "truth": {
                "type": "object",
                "description": "The Shopify store's daily values (truth.* and blended MER).",
                "additionalProperties": False,
                "properties": {m: _SERIES for m in TRUTH_METRICS},
            },
            "expect": {"type": "array", "items": matcher, "description": "Actions that must be proposed."},
            "expect_no": {
                "type": "array",
                "minItems": 1,
                "items": matcher,
                "description": "Actions that must not be proposed.",
            },
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://rulerun.dev/schemas/rule-test.schema.json",
        "title": "rulerun rule tests",
        "description": "Unit tests of a workflow: rules/<operator>/<workflow>.test.yaml (`rulerun test`).",
        "type": "object",
        "additionalProperties": False,
        "required": ["workflow", "tests"],
        "properties": {
            "workflow": {"type": "string", "description": "The workflow in this folder."},
            "as_of": {**_DATE, "description": "Default evaluation date of the tests."},
            "tests": {"type": "array", "minItems": 1, "items": test},
        },
    }


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Expectation:
    """One `expect` or `expect_no` item: the keys an action must (not) match."""

    fields: dict[str, Any]
    line: int


@dataclass
class RuleTest:
    """One test, checked and ready to run."""

    file: str
    name: str
    line: int
    project: Project
    workflow: Workflow
    as_of: date
    entities: list[dict[str, Any]]
    metrics: list[dict[str, Any]]
    expect: list[Expectation]
    expect_no: list[Expectation]
    expect_nothing: int | None = None  # line of `expect: []`: no action at all

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"


@dataclass
class Outcome:
    test: RuleTest
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures


# --------------------------------------------------------------------------- reading files


def _read_yaml(path: Path) -> tuple[Document | None, list[Diagnostic]]:
    return load_file(path)


def _plain(value: Any) -> Any:
    """YAML data as JSON would have it: dates become ISO text (the schema and checks see text)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _suggest(name: str, choices, what: str) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else f"{what}: " + (", ".join(sorted(choices)) or "none")


def _ident(value: Any) -> str | None:
    """An id as text: ids may be written as numbers, the tables hold text."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return str(value)
    return None


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or not ISO_DATE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _lookback(workflow: Workflow, as_of: date) -> tuple[int, str]:
    """How many days before as_of the workflow reads, and the window that reads furthest."""
    names = {r.window for r in workflow.rules} | {
        ref.window for r in workflow.rules for ref in r.when.refs if ref.window
    }
    best = (1, workflow.window)
    for name in sorted(names):
        start = windows.date_range(name, as_of).start
        days = windows.MAX_DAYS if start is None else (as_of - start).days
        if days > best[0]:
            best = (days, name.replace("prev:", "prev. of "))
    return best


# --------------------------------------------------------------------------- checking a file


class _TestFile:
    """Checks one test file against the loaded rules and builds its tests; problems are collected."""

    def __init__(self, doc: Document, project: Project, catalog: Catalog, problems: list[Diagnostic]):
        self.doc = doc
        self.data = _plain(doc.data)
        self.project = project
        self.catalog = catalog
        self.problems = problems
        self.folder = Path(doc.file).parent.name
        self.daily_values = 0  # in the series read so far (MAX_TEST_DAILY_VALUES)
        self.entity_days = 0  # of the tests built so far (MAX_TEST_ENTITY_DAYS)

    def problem(self, path: tuple, message: str, hint: str | None = None, *, key: bool = False) -> None:
        self.problems.append(self.doc.diag(path, message, hint, key=key))

    # -- the whole file ------------------------------------------------------------------------
    def tests(self) -> list[RuleTest]:
        raw_tests = self.data.get("tests") if isinstance(self.data.get("tests"), list) else []  # else: schema error
        if len(raw_tests) > MAX_TESTS_PER_FILE:  # before the schema, which would check every one
            self.problem(
                ("tests", MAX_TESTS_PER_FILE),
                f"more than {MAX_TESTS_PER_FILE} tests in one file ({len(raw_tests)})",
                "split them across several .test.yaml files",
            )
            raw_tests = self.data["tests"] = raw_tests[:MAX_TESTS_PER_FILE]
        self._schema()
        self.workflow = self._workflow()
        operator = self.project.operators.get(self.folder)
        self.platform = self.workflow.platform if self.workflow else operator.platform if operator else None
        file_as_of = self._date(("as_of",)) if "as_of" in self.data else None
        seen: dict[str, int] = {}
        built = []
        raw_tests = self._affordable(raw_tests)
        for i, raw in enumerate(raw_tests):
            if not isinstance(raw, dict):
                continue
            name = raw.get("name")
            if isinstance(name, str):
                if name in seen:
                    self.problem(("tests", i, "name"), f"duplicate test name {name!r} (first at line {seen[name]})")
                seen.setdefault(name, self.doc.pos(("tests", i)).line)
            test = self._test(i, raw, file_as_of)
            if test is not None:
                built.append(test)
        return built

    def _affordable(self, raw_tests: list) -> list:
        """The tests the file may run: each evaluates the whole workflow, so big conditions allow fewer."""
        if self.workflow is None:
            return raw_tests
        parts = sum(sum(1 for _ in ast.walk(r.when.pyast)) for r in self.workflow.rules) or 1
        most = max(1, MAX_TEST_CONDITION_PARTS // parts)
        if len(raw_tests) <= most:
            return raw_tests
        self.problem(
            ("tests", most),
            f"{len(raw_tests)} tests of a workflow whose conditions have {parts:,} parts: at most {most} "
            f"(a test file may evaluate {MAX_TEST_CONDITION_PARTS:,} condition parts in all)",
            "split the tests across several .test.yaml files, or simplify the conditions",
        )
        return raw_tests[:most]

    def _schema(self) -> None:
        validator = Draft202012Validator(rule_test_schema())
        for err in sorted(validator.iter_errors(self.data), key=lambda e: list(map(str, e.absolute_path))):
            path = tuple(err.absolute_path)
            if self._checked_later(path, err.validator):
                continue
            if err.validator == "required":
                for key in err.validator_value:
                    if key not in err.instance:
                        where = _where(self.data, path)
                        self.problem(path, f"missing required key {key!r}" + (f" in {where}" if path else ""))
                continue
            for d in _explain(self.doc, path, err):
                dotted = ".".join(str(p) for p in path)
                message = d.message.replace(dotted, _where(self.data, path), 1) if path else d.message
                self.problems.append(dataclasses.replace(d, message=message))

    @staticmethod
    def _checked_later(path: tuple, validator: str) -> bool:
        """Errors the semantic checks explain better: metric series, metric names and dates."""
        if path and path[-1] in ("as_of", "created_at"):
            return True
        if len(path) >= 4 and path[0] == "tests" and path[2] == "metrics":
            return len(path) >= 5 or validator == "additionalProperties"
        if len(path) >= 3 and path[0] == "tests" and path[2] == "truth":
            return len(path) >= 4 or validator == "additionalProperties"
        return False

    def _workflow(self) -> Workflow | None:
        name = self.data.get("workflow")
        if not isinstance(name, str):
            return None
        here = [w for w in self.project.workflows if w.operator.name == self.folder]
        for wf in here:
            if wf.name == name:
                return wf
        if self.folder not in self.project.operators:
            self.problem(
                (),
                f"{self.folder!r} is not an operator folder of {display_path(self.project.root)}",
                _PLACE_HINT,
            )
        else:
            self.problem(
                ("workflow",),
                f"no workflow {name!r} in {self.folder}/",
                _suggest(name, [w.name for w in here], "workflows here"),
            )
        return None

    def _date(self, path: tuple) -> date | None:
        value = self._value(path)
        parsed = _parse_date(value)
        if parsed is None:
            self.problem(path, f"{path[-1]}: {value!r} is not a date", DATE_HINT)
        return parsed

    def _value(self, path: tuple) -> Any:
        node = self.data
        for p in path:
            node = node[p]
        return node

    # -- one test ------------------------------------------------------------------------------
    def _test(self, i: int, raw: dict, file_as_of: date | None) -> RuleTest | None:
        at = ("tests", i)
        before = len(self.problems)
        as_of = self._date((*at, "as_of")) if "as_of" in raw else file_as_of
        if "as_of" not in raw and "as_of" not in self.data:
            self.problem(
                at, "the test has no as_of date", "add as_of: YYYY-MM-DD to the test, or once at the top of the file"
            )
        entities = self._entities(at, raw.get("entities"))
        limit = _lookback(self.workflow, as_of) if self.workflow and as_of else None
        series = self._metrics(at, raw.get("metrics"), entities, limit)
        truth = self._truth(at, raw.get("truth"), limit)
        expect = self._matchers(at, raw, "expect", entities)
        expect_no = self._matchers(at, raw, "expect_no", entities)
        if "expect" not in raw and "expect_no" not in raw:
            self.problem(at, "the test checks nothing", "add expect: (actions that must be proposed) or expect_no:")
        if (
            len(self.problems) > before
            or self.workflow is None
            or as_of is None
            or not isinstance(raw.get("name"), str)
        ):
            return None
        if truth:
            entities[TRUTH_ENTITY] = self._truth_entity()
            series[TRUTH_ENTITY] = truth
        span = max((len(v) for per in series.values() for v in per.values()), default=1)
        self.entity_days += len(entities) * span
        if self.entity_days > MAX_TEST_ENTITY_DAYS:
            if self.entity_days - len(entities) * span <= MAX_TEST_ENTITY_DAYS:  # said once, where it happens
                self.problem(
                    at,
                    f"the tests up to this one need {self.entity_days:,} daily rows of metrics "
                    f"(this one: {len(entities)} entities x {span} days); a test file may need at most "
                    f"{MAX_TEST_ENTITY_DAYS:,}",
                    "use fewer entities or shorter series, or split the tests across several files",
                )
            return None
        return RuleTest(
            file=self.doc.file,
            name=raw["name"],
            line=self.doc.pos(at).line,
            project=self.project,
            workflow=self.workflow,
            as_of=as_of,
            entities=list(entities.values()),
            metrics=_metric_rows(entities, series, as_of, self.catalog),
            expect=expect,
            expect_no=expect_no,
            expect_nothing=self.doc.pos((*at, "expect")).line if raw.get("expect") == [] else None,
        )

    # -- entities ------------------------------------------------------------------------------
    def _entities(self, at: tuple, items: Any) -> dict[str, dict]:
        rows: dict[str, dict] = {}
        for j, item in enumerate(items if isinstance(items, list) else []):
            eid = _ident(item.get("id")) if isinstance(item, dict) else None
            if eid is None:
                continue
            path = (*at, "entities", j)
            if eid in rows:
                self.problem((*path, "id"), f"duplicate entity id {eid!r}", "ids are unique within a test")
                continue
            rows[eid] = self._entity(path, item)
        for j, item in enumerate(items if isinstance(items, list) else []):
            parent = _ident(item.get("parent")) if isinstance(item, dict) else None
            if parent is not None:
                self._parent((*at, "entities", j, "parent"), rows.get(_ident(item.get("id"))), parent, rows)
        return rows

    def _entity(self, path: tuple, item: dict) -> dict:
        row: dict[str, Any] = dict.fromkeys(self.catalog.attributes)
        row.update(status="active", is_brand=False, learning_phase=False, name=_ident(item["id"]))
        row.update(
            account_id=DEFAULT_ACCOUNT, platform=self.platform, level=self.workflow.level if self.workflow else None
        )
        for key, value in item.items():
            row[{v: k for k, v in _RENAMED.items()}.get(key, key)] = (
                _ident(value) if key in _RENAMED.values() else value
            )
        if item.get("created_at") is not None:
            row["created_at"] = self._date((*path, "created_at"))
        platform, level = row["platform"], row["level"]
        if isinstance(platform, str) and platform in platform_names() and isinstance(level, str):
            levels = get_platform(platform).levels
            if level not in levels:
                self.problem(
                    (*path, "level"),
                    f"platform {platform} has no level {level!r}",
                    f"levels of {platform}: {', '.join(levels)}",
                )
        return row

    def _parent(self, path: tuple, row: dict | None, parent: str, rows: dict[str, dict]) -> None:
        found = rows.get(parent)
        if found is None:
            self.problem(path, f"unknown parent {parent!r}", _suggest(parent, rows, "entities of this test"))
        elif row is not None and (found["platform"], found["account_id"]) != (row["platform"], row["account_id"]):
            self.problem(
                path,
                f"parent {parent!r} is in {found['platform']}/{found['account_id']}, "
                f"not in {row['platform']}/{row['account_id']}",
                "a parent lives in the same platform and account as its children",
            )

    def _truth_entity(self) -> dict:
        truth_platform = next(s.name for s in self.catalog.sources.values() if s.truth)
        row: dict[str, Any] = dict.fromkeys(self.catalog.attributes)
        row.update(platform=truth_platform, account_id=DEFAULT_ACCOUNT, level="account", entity_id=TRUTH_ENTITY)
        row.update(name="Shopify store (test)", status="active")
        return row

    # -- metrics -------------------------------------------------------------------------------
    def _metrics(self, at: tuple, given: Any, entities: dict[str, dict], limit) -> dict[str, dict[str, list]]:
        out: dict[str, dict[str, list]] = {}
        for eid, per_metric in (given or {}).items() if isinstance(given, dict) else ():
            path = (*at, "metrics", eid)
            if eid not in entities:
                self.problem(
                    path,
                    f"metrics for unknown entity {eid!r}",
                    _suggest(eid, entities, "entities of this test"),
                    key=True,
                )
                continue
            if not isinstance(per_metric, dict):
                continue  # the schema reported it
            platform = entities[eid]["platform"]
            out[eid] = {}
            for metric, value in per_metric.items():
                if self._metric_name((*path, metric), metric, platform):
                    parsed = self._series((*path, metric), f"{metric} of {eid}", value, limit)
                    if parsed is not None:
                        out[eid][metric] = parsed
        return out

    def _metric_name(self, path: tuple, metric: str, platform: str) -> bool:
        known = self.catalog.metrics.get(metric)
        if known is None:
            additive = [m for m, spec in self.catalog.metrics.items() if spec.kind == "additive"]
            self.problem(path, f"unknown metric {metric!r}", _suggest(metric, additive, "metrics"), key=True)
            return False
        if known.kind != "additive":
            self.problem(
                path,
                f"{metric} is computed ({known.formula}), not given",
                f"give the metrics it is made of: {', '.join(sorted(known.inputs))}",
                key=True,
            )
            return False
        reported = self.catalog.mapped_metrics(platform) if platform in self.catalog.field_mapping else None
        if reported is not None and metric not in reported:
            self.problem(
                path,
                f"{platform} does not report {metric}",
                f"{platform} reports: {', '.join(sorted(reported))}",
                key=True,
            )
            return False
        return True

    def _truth(self, at: tuple, given: Any, limit) -> dict[str, list]:
        out: dict[str, list] = {}
        for metric, value in given.items() if isinstance(given, dict) else ():
            path = (*at, "truth", metric)
            if metric not in TRUTH_METRICS:
                self.problem(
                    path, f"unknown truth metric {metric!r}", _suggest(metric, TRUTH_METRICS, "truth metrics"), key=True
                )
                continue
            parsed = self._series(path, f"truth {metric}", value, limit)
            if parsed is not None:
                out[metric] = parsed
        return out

    def _series(self, path: tuple, what: str, value: Any, limit: tuple[int, str] | None) -> list | None:
        """Daily values, oldest first, or None after reporting why they cannot be read."""
        values = self._parse_series(path, what, value)
        if values is None:
            return None
        if limit is not None and len(values) > limit[0]:
            self.problem(
                path,
                f"{what}: {len(values)} daily values, but {self.workflow.name} reads at most {limit[0]} "
                f"days before as_of ({limit[1]})",
                "older values would never be read: drop them or shorten `x N`",
            )
            return None
        return values

    def _parse_series(self, path: tuple, what: str, value: Any) -> list | None:
        if _is_number(value):
            self.problem(
                path,
                f"{what}: a single number is ambiguous",
                f"write `{value} x 7` for {value} on each of 7 days, or [{value}] for the day before as_of only",
            )
            return None
        if isinstance(value, str):
            m = SERIES.match(value)
            if m is None:
                self.problem(path, f"{what}: {value!r} is not a daily series", SERIES_HINT)
                return None
            # Too many digits is too many days: never convert (or allocate) what no window reads.
            days = int(m["days"]) if len(m["days"]) <= len(str(windows.MAX_DAYS)) else windows.MAX_DAYS + 1
            if days == 0:
                self.problem(path, f"{what}: `x 0` gives no days", SERIES_HINT)
                return None
            if days > windows.MAX_DAYS:
                self.problem(path, f"{what}: more days than any window reads (at most {windows.MAX_DAYS})")
                return None
            if not self._count_values(path, days):
                return None
            return self._nonnegative(path, what, [float(m["value"])] * days)
        if isinstance(value, list):
            if not value:
                self.problem(path, f"{what}: the list is empty", SERIES_HINT)
                return None
            bad = [k for k, v in enumerate(value) if v is not None and not _is_number(v)]
            for k in bad:
                self.problem(
                    (*path, k), f"{what}: {value[k]!r} is not a number", "write a number, or null for no value"
                )
            if bad or not self._count_values(path, len(value)):
                return None
            return self._nonnegative(path, what, [None if v is None else float(v) for v in value])
        self.problem(path, f"{what}: expected daily values", SERIES_HINT)
        return None

    def _count_values(self, path: tuple, n: int) -> bool:
        self.daily_values += n
        if self.daily_values <= MAX_TEST_DAILY_VALUES:
            return True
        if self.daily_values - n <= MAX_TEST_DAILY_VALUES:  # said once, where it happens
            self.problem(
                path,
                f"the series up to this one hold {self.daily_values:,} daily values; "
                f"a test file may hold at most {MAX_TEST_DAILY_VALUES:,}",
                "use shorter series, or split the tests across several files",
            )
        return False

    def _nonnegative(self, path: tuple, what: str, values: list) -> list | None:
        bad = next((k for k, v in enumerate(values) if v is not None and not (math.isfinite(v) and v >= 0)), None)
        if bad is None:
            return values
        spot = (*path, bad) if isinstance(self._value(path), list) else path
        problem = "is negative" if values[bad] < 0 else "is not a finite number"
        self.problem(spot, f"{what}: {values[bad]:g} {problem}", "counts and money are finite and never negative")
        return None

    # -- expectations --------------------------------------------------------------------------
    def _matchers(self, at: tuple, raw: dict, key: str, entities: dict[str, dict]) -> list[Expectation]:
        out = []
        items = raw.get(key)
        for j, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict):
                continue
            path = (*at, key, j)
            before = len(self.problems)
            self._check_matcher(path, item, entities)
            if len(self.problems) == before:
                fields = {k: v for k, v in item.items() if k in MATCH_KEYS}
                if "entity" in fields:
                    fields["entity"] = _ident(fields["entity"])
                out.append(Expectation(fields, self.doc.pos(path).line))
        return out

    def _check_matcher(self, path: tuple, item: dict, entities: dict[str, dict]) -> None:
        rule, entity, guards = item.get("rule"), _ident(item.get("entity")), item.get("guardrails")
        if isinstance(rule, str) and self.workflow is not None:
            rules = [r.id for r in self.workflow.rules]
            if rule not in rules:
                self.problem((*path, "rule"), f"no rule {rule!r} in {self.workflow.id}", _suggest(rule, rules, "rules"))
        if isinstance(entity, str) and entity not in entities:
            self.problem(
                (*path, "entity"), f"unknown entity {entity!r}", _suggest(entity, entities, "entities of this test")
            )
        for k, name in enumerate(guards if isinstance(guards, list) else []):
            if isinstance(name, str) and name not in self._guardrail_names:
                self.problem((*path, "guardrails", k), f"unknown guardrail {name!r}", self._guardrail_hint(name))

    @functools.cached_property
    def _guardrail_names(self) -> set[str]:
        names = {*GUARDRAILS, "conflict", "autonomy"} | {f"escalation:{i}" for i, _, _ in DEFAULT_ESCALATIONS}
        operator = self.project.operators.get(self.folder)
        return names | {f"escalation:{e.id}" for e in (operator.escalation if operator else [])}

    def _guardrail_hint(self, name: str) -> str:
        if f"escalation:{name}" in self._guardrail_names:
            return f"did you mean 'escalation:{name}'?"
        close = difflib.get_close_matches(name, list(self._guardrail_names), n=1)
        if close:
            return f"did you mean {close[0]!r}?"
        return (
            "a rules/guardrails.yaml name (brand_campaigns_no_auto_pause, ...), conflict, escalation:<id> or autonomy"
        )


def _where(data: Any, path: tuple) -> str:
    """A schema path as a user reads it: `test 'x' entity 'g1' bid` rather than `tests.0.entities.0.bid`."""
    words, node, k = [], data, 0
    labels = {
        "tests": ("test", "name"),
        "entities": ("entity", "id"),
        "expect": ("expect", None),
        "expect_no": ("expect_no", None),
    }
    while k < len(path):
        p, child = path[k], _child(node, path[k])
        index = path[k + 1] if k + 1 < len(path) else None
        if p in labels and isinstance(index, int) and _child(child, index) is not None:
            word, key = labels[p]
            node = child[index]
            label = _ident(node.get(key)) if key and isinstance(node, dict) else None
            words.append(f"{word} {label!r}" if isinstance(label, str) else f"{word} #{index + 1}")
            k += 2
        else:
            words.append(str(p))
            node, k = child, k + 1
    return " ".join(words)


def _child(node: Any, step: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(step)
    if isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
        return node[step]
    return None


def _metric_rows(
    entities: dict[str, dict], series: dict[str, dict[str, list]], as_of: date, catalog: Catalog
) -> list[dict]:
    """One row per entity and day, for as many days as the longest series (at least the day before as_of).

    Every entity gets rows, zeros included: an account with no rows at all counts as stale data.
    """
    span = max((len(v) for per in series.values() for v in per.values()), default=1)
    additive = [m.name for m in catalog.metrics.values() if m.kind == "additive"]
    rows = []
    for eid, entity in entities.items():
        platform = entity["platform"]
        reported = catalog.mapped_metrics(platform) if platform in catalog.field_mapping else set(additive)
        given = series.get(eid, {})
        for day in range(span):
            row = {k: entity[k] for k in ("platform", "account_id", "level", "entity_id")}
            row["date"] = as_of - timedelta(days=span - day)
            for metric in additive:
                values = given.get(metric)
                offset = day - (span - len(values)) if values else -1
                row[metric] = values[offset] if offset >= 0 else (0.0 if metric in reported else None)
            rows.append(row)
    return rows


# --------------------------------------------------------------------------- finding and loading


def find_test_files(paths: list[Path]) -> list[Path]:
    """Every test file under `paths` (files are taken as given), sorted, each once."""
    found: list[Path] = []
    for path in paths:
        if not path.exists():
            raise UsageError(f"{display_path(path)!r} does not exist", hint="pass test files or folders holding them")
        if path.is_file():
            if not path.name.endswith(SUFFIXES):
                raise UsageError(f"{display_path(path)!r} is not a test file", hint="test files end in .test.yaml")
            candidates = [path]
        else:
            candidates = sorted(p for s in SUFFIXES for p in path.rglob(f"*{s}") if not _hidden(p, path))
        found.extend(p for p in candidates if p.resolve() not in {f.resolve() for f in found})
    return found


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith((".", "_")) for part in path.relative_to(root).parts[:-1])


def load_tests(files: list[Path], rules: Path | None, catalog: Catalog) -> list[RuleTest]:
    """Check every test file (and the rules they test); ValidationFailed with every problem, else the tests.

    Without `rules`, a test file's rules folder is the one holding its operator folder.
    """
    projects: dict[Path, Project] = {}
    problems: list[Diagnostic] = []
    tests: list[RuleTest] = []
    for path in files:
        doc, found = _read_yaml(path)
        problems.extend(found)
        if doc is None:
            continue
        if not isinstance(doc.data, dict):
            problems.append(
                doc.diag(
                    (), "a test file is a mapping with `workflow:` and `tests:`", "see schemas/rule-test.schema.json"
                )
            )
            continue
        root = _rules_root(path, rules)
        if root is None:
            where = f" of {display_path(rules)}" if rules else ""
            problems.append(doc.diag((), f"the test file is not in an operator folder{where}", _PLACE_HINT))
            continue
        if root not in projects:
            projects[root] = load_project(root, catalog)
        tests.extend(_TestFile(doc, projects[root], catalog, problems).tests())
    errors = [d for d in problems if d.severity == "error"]
    if errors:
        raise ValidationFailed(cap_per_file(problems), f"{len(errors)} error(s) in test files")
    return tests


def _rules_root(path: Path, rules: Path | None) -> Path | None:
    """The rules folder a test file belongs to: `rules`, else the folder above its operator folder."""
    folder = path.resolve().parent
    if rules is not None:
        return folder.parent if folder.parent == rules.resolve() else None
    return folder.parent if (folder / "operator.yaml").is_file() else None


# --------------------------------------------------------------------------- running


def run_test(con, catalog: Catalog, test: RuleTest, schema: str = "rule_test") -> Outcome:
    """Evaluate the test's workflow on its data (safety pipeline included) and check the actions."""
    started = time.perf_counter()
    loaded = _materialize(con, schema, catalog, test)
    try:
        plan = build_plan(con, loaded, catalog, test.project, [test.workflow], test.as_of)
    finally:
        con.execute(f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE")
    return Outcome(test, check_actions(test, plan.actions), time.perf_counter() - started)


def _materialize(con, schema: str, catalog: Catalog, test: RuleTest) -> LoadedSource:
    """The test's entities and metrics as the two canonical tables in `schema`."""
    con.execute(f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE")
    con.execute(f"CREATE SCHEMA {quote_ident(schema)}")
    for table, columns, rows in (
        ("entities", catalog.entity_columns(), test.entities),
        ("metrics_daily", catalog.metric_columns(), test.metrics),
    ):
        definitions = ", ".join(f"{quote_ident(name)} {sql_type}" for name, sql_type in columns)
        qualified = f"{quote_ident(schema)}.{quote_ident(table)}"
        con.execute(f"CREATE TABLE {qualified} ({definitions})")
        insert_rows(con, qualified, columns, ([r.get(c) for c, _ in columns] for r in rows))
    dates = [r["date"] for r in test.metrics]
    info = SourceInfo(
        present_metrics=frozenset(m.name for m in catalog.metrics.values() if m.kind == "additive"),
        min_date=min(dates, default=None),
        max_date=max(dates, default=None),
        entity_rows=len(test.entities),
        metric_rows=len(test.metrics),
    )
    return LoadedSource(schema, f"test:{test.id}", info, reused=False)


def check_actions(test: RuleTest, actions: list[PlannedAction]) -> list[str]:
    """What the test expected and did not get, one message per broken expectation."""
    failures = []
    if test.expect_nothing is not None and actions:
        failures.append(f"expected no action at all (line {test.expect_nothing})\n  got:\n" + _listing(actions))
    for e in test.expect:
        if not any(matches(e.fields, a) for a in actions):
            failures.append(f"expected (line {e.line}): {_flow(e.fields)}\n  {_got(e.fields, actions)}")
    for e in test.expect_no:
        hits = [a for a in actions if matches(e.fields, a)]
        if hits:
            failures.append(f"expected no action like (line {e.line}): {_flow(e.fields)}\n  got:\n" + _listing(hits))
    return failures


def matches(fields: dict[str, Any], a: PlannedAction) -> bool:
    """Whether action `a` has every key the expectation gives."""
    simple = {"rule": a.rule_id, "entity": a.entity_id, "type": a.type, "status": a.status}
    if any(k in fields and fields[k] != v for k, v in simple.items()):
        return False
    subsets = {"params": a.params, "before": a.before, "after": a.after}
    if any(k in fields and not _subset(fields[k], v) for k, v in subsets.items()):
        return False
    if "guardrails" in fields:
        touched = {g["name"] for g in a.guardrails}
        wanted = set(fields["guardrails"])
        return wanted <= touched if wanted else not touched
    return True


def _subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _subset(v, actual[k]) for k, v in expected.items())
    if _is_number(expected) and _is_number(actual):
        return abs(float(expected) - float(actual)) < 0.005  # money to the cent
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(map(_subset, expected, actual))
    return expected == actual


# --------------------------------------------------------------------------- failure messages


_FLOW_SPECIAL = re.compile(r"^$|^[\s&*!|>'\"%@`?-]|[,:{}\[\]#]|\s$")


def _flow(value: Any) -> str:
    """A value in YAML flow style, as the user wrote it: {rule: x, entity: g1}."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e15 else str(value)
    text = str(value)
    if isinstance(value, str) and (_FLOW_SPECIAL.search(text) or not _reads_as_text(text)):
        return json.dumps(text)  # YAML would read it as something else (a number, a date, a mapping)
    return text


def _reads_as_text(text: str) -> bool:
    try:
        return yaml.safe_load(text) == text
    except (yaml.YAMLError, ValueError):
        return False


def _got(fields: dict[str, Any], actions: list[PlannedAction]) -> str:
    """The actions near an unmet expectation: on its entity, else of its rule, else all of them."""
    if "entity" in fields:
        near, where = [a for a in actions if a.entity_id == fields["entity"]], f"for {fields['entity']}"
    elif "rule" in fields:
        near, where = [a for a in actions if a.rule_id == fields["rule"]], f"from {fields['rule']}"
    else:
        near, where = actions, "in the plan"
    return f"got {where}:\n" + _listing(near) if near else f"got no action {where}"


def _listing(actions: list[PlannedAction]) -> str:
    lines = []
    for a in actions:
        lines.append(f"    - {describe(a)}")
        lines.extend(f"        {g['message']}" for g in a.guardrails)
    return "\n".join(lines)


def describe(a: PlannedAction) -> str:
    """One action in the notation of `expect`, so it can be pasted there."""
    fields: dict[str, Any] = {"rule": a.rule_id, "entity": a.entity_id, "type": a.type, "status": a.status}
    if a.after:
        fields["after"] = a.after
    if a.guardrails:
        fields["guardrails"] = [g["name"] for g in a.guardrails]
    return _flow(fields)


# --------------------------------------------------------------------------- the command


@dataclass
class RuleTestReport:
    """`rulerun test`: each selected test's outcome, or the problems that kept the test files from loading."""

    outcomes: list[Outcome] = field(default_factory=list)
    error: ValidationFailed | None = None

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]

    @property
    def passed(self) -> bool:
        return self.error is None and not self.failed


def run_tests(paths: list[str], rules: str | None, run_regex: str | None) -> RuleTestReport:
    """Check the test files under `paths` (default: the rules folder), then run those matching `run_regex`."""
    import duckdb

    selector = _compile(run_regex)
    default = Workspace.resolve(rules, None).rules
    files = find_test_files([Path(p) for p in paths] if paths else [default])
    if not files:
        where = ", ".join(paths) if paths else display_path(default)
        raise UsageError(f"no test files under {where}", hint=_PLACE_HINT)
    catalog = load_catalog()
    try:
        tests = load_tests(files, Path(rules) if rules else None, catalog)
    except ValidationFailed as exc:
        return RuleTestReport(error=exc)
    selected = [t for t in tests if selector is None or selector.search(t.id)]
    if not selected:
        raise UsageError(f"no test matches --run {run_regex!r}", hint="tests are named <file>::<test name>")
    with duckdb.connect(":memory:") as con:
        return RuleTestReport([run_test(con, catalog, t) for t in selected])


def _compile(run_regex: str | None) -> re.Pattern | None:
    if run_regex is None:
        return None
    try:
        return re.compile(run_regex)
    except re.error as exc:
        raise UsageError(f"--run {run_regex!r} is not a regular expression: {exc}") from None
