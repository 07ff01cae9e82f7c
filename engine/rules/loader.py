"""Load and validate a rules folder, collecting every problem with file:line:col.

Parsing and validation are kept apart from evaluation (as in promtool): a folder
either loads into a Project, or raises ValidationFailed listing all diagnostics.
"""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path
from typing import Any

from croniter import croniter
from jsonschema import Draft202012Validator

from engine.core.actions import ACTIONS
from engine.core.catalog import Catalog
from engine.core.errors import Diagnostic, UsageError, ValidationFailed
from engine.core.limits import (
    MAX_ERRORS_PER_FILE,
    MAX_ESCALATIONS_PER_OPERATOR,
    MAX_RULES_PER_WORKFLOW,
    MAX_SCHEDULE_CHARS,
    cap_per_file,
)
from engine.core.yamlpos import Document, display_path, load_file, without_echoes
from engine.language import windows
from engine.language.expr import ExprError, Type, compile_expr
from engine.rules.escalation import DEFAULT_ESCALATIONS, EscalationRule, compile_escalation
from engine.rules.guardrails import GUARDRAILS, defaults, loosens
from engine.rules.model import ActionSpec, Operator, Project, Rule, Threshold, Workflow
from engine.rules.schemagen import rule_file_schema
from engine.rules.scope import RuleScope
from platforms import get_platform, platform_names

CRON_FIELDS = ("minute", "hour", "day", "month", "weekday")
CRON_HINT = (
    "five fields: minute (0-59) hour (0-23) day (1-31) month (1-12 or JAN-DEC) weekday (0-6 or SUN-SAT), "
    'e.g. "0 6 * * MON"; or @hourly, @daily, @weekly, @monthly, @yearly'
)


def _is_rule_file(path: Path) -> bool:
    return path.suffix in (".yaml", ".yml") and not path.name.endswith((".test.yaml", ".test.yml"))


class Loader:
    def __init__(self, root: Path, catalog: Catalog):
        self.root = root
        self.catalog = catalog
        self.problems: list[Diagnostic] = []
        self.reading_problems: list[Diagnostic] = []  # found while reading YAML, before any check
        self.hasher = hashlib.sha256()

    # -- entry point -------------------------------------------------------------------------
    def load(self) -> Project:
        if not self.root.is_dir():
            raise UsageError(
                f"rules folder {display_path(self.root)!r} not found",
                hint="run from the folder that holds rules/, or pass --rules PATH",
            )
        guardrails, guardrails_file = self._guardrails()
        self.global_guardrails = guardrails
        operators: dict[str, Operator] = {}
        workflows: list[Workflow] = []
        for entry in sorted(self.root.iterdir()):
            if entry.name.startswith((".", "_")):
                continue
            if entry.is_file() and _is_rule_file(entry) and entry.name not in ("guardrails.yaml", "guardrails.yml"):
                self.problems.append(
                    Diagnostic(
                        display_path(entry),
                        1,
                        1,
                        "unexpected rule file at the top of the rules folder",
                        "workflows go in an operator folder: rules/<operator>/<workflow>.yaml",
                    )
                )
            if entry.is_dir():
                op = self._operator(entry)
                if op is None:
                    continue
                operators[op.name] = op
                for path in sorted(entry.iterdir()):
                    if path.is_file() and _is_rule_file(path) and path.stem != "operator":
                        wf = self._workflow(path, op)
                        if wf is not None:
                            workflows.append(wf)
        self.problems = without_echoes(self.problems, self.reading_problems)
        errors = [d for d in self.problems if d.severity == "error"]
        if errors:
            raise ValidationFailed(cap_per_file(self.problems), f"{len(errors)} error(s) in {display_path(self.root)}")
        warnings = [d for d in self.problems if d.severity == "warning"]
        return Project(
            self.root,
            guardrails,
            guardrails_file,
            operators,
            workflows,
            warnings,
            self.hasher.hexdigest()[:16],
        )

    # -- files -------------------------------------------------------------------------------
    def _read(self, path: Path, kind: str) -> Document | None:
        doc, problems = load_file(path)
        self.problems.extend(problems)
        self.reading_problems.extend(problems)
        if doc is None:
            return None
        self.hasher.update(path.name.encode() + b"\0" + doc.source.encode())
        if doc.data is None:
            self.problems.append(
                Diagnostic(doc.file, 1, 1, f"{kind} file is empty", f"see schemas/{kind}.schema.json for its keys")
            )
            return None
        if not isinstance(doc.data, dict):
            self.problems.append(
                doc.diag((), f"{kind} file must be a mapping of keys, got a {type(doc.data).__name__}")
            )
            return None
        before = len(self.problems)
        self._trim(doc, kind)
        self._schema(doc, kind)
        return doc if len(self.problems) == before and not problems else _Partial(doc)

    def _trim(self, doc: Document, kind: str) -> None:
        """Lists over their limit are an error, and only their first items are checked further."""
        for key, limit, what, hint in _COUNTED.get(kind, ()):
            items = doc.data.get(key)
            if isinstance(items, list) and len(items) > limit:
                self.problems.append(doc.diag((key, limit), f"more than {limit} {what} ({len(items)})", hint))
                doc.data[key] = items[:limit]

    def _schema(self, doc: Document, kind: str) -> None:
        validator = Draft202012Validator(rule_file_schema(kind))
        for err in sorted(validator.iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))):
            path = tuple(err.absolute_path)
            if "action" in path and err.validator in (
                "oneOf",
                "anyOf",
                "const",
                "enum",
                "required",
                "additionalProperties",
                "type",
            ):
                continue  # actions get precise messages from _action()
            self.problems.extend(_explain(doc, path, err))

    def _guardrails(self) -> tuple[dict[str, Any], str | None]:
        values = defaults()
        path = next((p for p in (self.root / "guardrails.yaml", self.root / "guardrails.yml") if p.exists()), None)
        if path is None:
            return values, None
        doc = self._read(path, "guardrails")
        if doc is None or isinstance(doc, _Partial):
            return values, display_path(path)
        for key, value in doc.data.items():
            g = GUARDRAILS[key]
            values[key] = bool(value) if g.type == "boolean" else float(value) if g.type == "number" else int(value)
        return values, doc.file

    def _operator(self, folder: Path) -> Operator | None:
        path = folder / "operator.yaml"
        if not path.exists():
            if any(_is_rule_file(p) for p in folder.iterdir()):
                self.problems.append(
                    Diagnostic(
                        display_path(folder),
                        None,
                        None,
                        f"operator folder {folder.name!r} has no operator.yaml",
                        "add operator.yaml with `operator:` and `platform:`",
                    )
                )
            return None
        doc = self._read(path, "operator")
        if doc is None:
            return None
        data = doc.data
        if isinstance(doc, _Partial) and not isinstance(data.get("platform"), str):
            return None
        name = data.get("operator")
        if isinstance(name, str) and name != folder.name:
            self.problems.append(
                doc.diag(
                    ("operator",),
                    f"operator {name!r} does not match its folder {folder.name!r}",
                    f"rename the folder or write operator: {folder.name}",
                )
            )
        platform = data.get("platform")
        if platform not in platform_names():
            return None  # the schema already reported it
        thresholds = {}
        for tname, spec in _mapping(data.get("thresholds")).items():
            if isinstance(spec, dict):
                by_product = {k: float(v) for k, v in spec.items() if k != "default" and _is_number(v)}
                default = float(spec["default"]) if _is_number(spec.get("default")) else None
                thresholds[tname] = Threshold(tname, default, by_product)
            elif _is_number(spec):
                thresholds[tname] = Threshold(tname, float(spec))
            else:  # reported at its line; still defined, so rules using it do not report it missing
                thresholds[tname] = Threshold(tname, None)
        op = Operator(folder.name, platform, str(data.get("description", "")), thresholds, folder, doc.file)
        op.guardrails = self._operator_guardrails(doc, _mapping(data.get("guardrails")))
        op.escalation = self._escalation(doc, data.get("escalation") or [])
        op.autonomy = {k: v for k, v in _mapping(data.get("autonomy")).items() if isinstance(v, str)}
        return op

    def _operator_guardrails(self, doc: Document, overrides: dict) -> dict[str, Any]:
        """The global guardrails tightened by the operator's overrides; loosening is an error."""
        effective = dict(self.global_guardrails)
        for key, value in overrides.items() if isinstance(overrides, dict) else ():
            g = GUARDRAILS.get(key)
            if g is None or isinstance(value, bool) != (g.type == "boolean") or not isinstance(value, int | float):
                continue  # the schema reported it
            if loosens(key, effective[key], value):
                self.problems.append(
                    doc.diag(
                        ("guardrails", key),
                        f"guardrail {key}: {value} loosens the global limit {effective[key]}; "
                        "operators may only tighten",
                        "change it in rules/guardrails.yaml for everyone, or remove it here",
                    )
                )
                continue
            effective[key] = bool(value) if g.type == "boolean" else float(value) if g.type == "number" else int(value)
        return effective

    def _escalation(self, doc: Document, items: list) -> list:
        rules, seen = [], {i for i, _, _ in DEFAULT_ESCALATIONS}
        for i, item in enumerate(items if isinstance(items, list) else []):
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("id"), str)
                or not isinstance(item.get("when"), str)
            ):
                continue
            if item["id"] in seen:
                self.problems.append(
                    doc.diag(
                        ("escalation", i, "id"),
                        f"escalation id {item['id']!r} is already used (the built-in defaults always apply)",
                        "pick another id",
                    )
                )
                continue
            seen.add(item["id"])
            try:
                expr = compile_escalation(item["when"], self.catalog)
            except ExprError as exc:
                line, col = expr_location(doc, ("escalation", i, "when"), exc.offset)
                self.problems.append(Diagnostic(doc.file, line, col, exc.message, exc.hint))
                continue
            rules.append(
                EscalationRule(item["id"], expr, str(item.get("reason") or f"escalation {item['id']}"), doc.file)
            )
        return rules

    def _workflow(self, path: Path, op: Operator) -> Workflow | None:
        doc = self._read(path, "workflow")
        if doc is None:
            return None
        data = doc.data
        name = data.get("workflow")
        if isinstance(name, str) and name != path.stem:
            self.problems.append(
                doc.diag(
                    ("workflow",),
                    f"workflow {name!r} does not match its file name {path.name!r}",
                    f"write workflow: {path.stem}",
                )
            )
        owner = data.get("operator")
        if isinstance(owner, str) and owner != op.name:
            self.problems.append(
                doc.diag(
                    ("operator",),
                    f"workflow says operator {owner!r} but lives in folder {op.name!r}",
                    f"write operator: {op.name}",
                )
            )
        schedule = data.get("schedule")
        if isinstance(schedule, str) and len(schedule) > MAX_SCHEDULE_CHARS:  # croniter takes seconds on a long one
            problem = f"{len(schedule):,} characters, more than any schedule needs ({MAX_SCHEDULE_CHARS})"
            self.problems.append(doc.diag(("schedule",), f"invalid cron schedule: {problem}", CRON_HINT))
        else:
            problem = _cron_problem(schedule) if isinstance(schedule, str) else None
            if problem:
                message = f"invalid cron schedule {schedule!r}: {problem}"
                self.problems.append(doc.diag(("schedule",), message, CRON_HINT))
        platform = get_platform(op.platform)
        level = data.get("level") if isinstance(data.get("level"), str) else None
        window = data.get("window") if isinstance(data.get("window"), str) else None
        if level and level not in platform.levels:
            self.problems.append(
                doc.diag(
                    ("level",),
                    f"platform {op.platform} has no level {level!r}",
                    "levels of " + op.platform + ": " + ", ".join(platform.levels),
                )
            )
            level = None
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        raw_rules = data.get("rules") if isinstance(data.get("rules"), list) else []
        for i, raw in enumerate(raw_rules):
            if not isinstance(raw, dict):
                continue
            rid = raw.get("id")
            if isinstance(rid, str):
                if rid in seen:
                    self.problems.append(
                        doc.diag(
                            ("rules", i, "id"),
                            f"duplicate rule id {rid!r} (first at line {seen[rid]})",
                            "rule ids must be unique within a workflow",
                        )
                    )
                else:
                    seen[rid] = doc.pos(("rules", i)).line
            rule = self._rule(doc, i, raw, op, level, window)
            if rule is not None:
                rules.append(rule)
        if isinstance(doc, _Partial) or level is None or window is None:
            return None
        return Workflow(
            name=str(name),
            operator=op,
            description=str(data.get("description", "")),
            schedule=schedule,
            level=level,
            window=window,
            rules=rules,
            file=doc.file,
            enabled=bool(data.get("enabled", True)),
        )

    def _rule(
        self, doc: Document, i: int, raw: dict, op: Operator, wf_level: str | None, wf_window: str | None
    ) -> Rule | None:
        at = ("rules", i)
        platform = get_platform(op.platform)
        level = raw.get("level", wf_level)
        if "level" in raw and isinstance(level, str) and level not in platform.levels:
            self.problems.append(
                doc.diag(
                    (*at, "level"),
                    f"platform {op.platform} has no level {level!r}",
                    "levels of " + op.platform + ": " + ", ".join(platform.levels),
                )
            )
            level = None
        window = raw.get("window", wf_window)
        window_ok = isinstance(window, str) and windows.is_window(window)
        level_ok = isinstance(level, str) and level in platform.levels
        # With a broken level or window, still check what can be checked so every error shows at once.
        action = self._action(doc, (*at, "action"), raw.get("action"), op, level if level_ok else None)
        expr = None
        when = raw.get("when")
        if isinstance(when, str):  # a blank condition is an error, never a rule that silently drops out
            scope = RuleScope(
                self.catalog, op.platform, window if window_ok else "last_7d", op.thresholds, op.file, op.name
            )
            try:
                expr = compile_expr(when, scope, want=Type.BOOL)
            except ExprError as exc:
                line, col = expr_location(doc, (*at, "when"), exc.offset)
                self.problems.append(Diagnostic(doc.file, line, col, exc.message, exc.hint))
        if expr is None or action is None or not isinstance(raw.get("id"), str) or not (window_ok and level_ok):
            return None
        return Rule(
            id=raw["id"],
            description=str(raw.get("description", "")),
            when=expr,
            action=action,
            level=level,
            window=window,
            priority=raw["priority"] if _is_int(raw.get("priority")) else 0,
            cooldown=raw.get("cooldown"),
            enabled=bool(raw.get("enabled", True)),
            file=doc.file,
            line=doc.pos(at).line,
        )

    def _action(self, doc: Document, at: tuple, raw: Any, op: Operator, level: str | None) -> ActionSpec | None:
        if isinstance(raw, str):
            atype, params, type_at = raw, {}, at
        elif isinstance(raw, dict):
            atype = raw.get("type")
            params = {k: v for k, v in raw.items() if k != "type"}
            type_at = (*at, "type")
            if not isinstance(atype, str):
                self.problems.append(
                    doc.diag(at, "action mapping needs a `type`", "e.g. {type: change_bid, by_pct: -15}")
                )
                return None
        else:
            self.problems.append(
                doc.diag(
                    at,
                    "action must be an action type or a mapping with `type`",
                    "e.g. `action: pause` or `action: {type: change_bid, by_pct: -15}`",
                )
            )
            return None
        cls = ACTIONS.get(atype)
        if cls is None:
            close = difflib.get_close_matches(atype, ACTIONS, n=1)
            self.problems.append(
                doc.diag(
                    type_at,
                    f"unknown action type {atype!r}",
                    f"did you mean {close[0]!r}?" if close else "action types: " + ", ".join(sorted(ACTIONS)),
                )
            )
            return None
        platform = get_platform(op.platform)
        if level is not None and not platform.supports(atype, level):
            where = platform.levels_supporting(atype)
            hint = (
                f"{op.platform} supports {atype} at: {', '.join(where)}"
                if where
                else f"{op.platform} does not support {atype}"
            ) + f"; at {level}: {', '.join(platform.supported_actions(level))}"
            self.problems.append(
                doc.diag(type_at, f"platform {op.platform} does not support {atype!r} at level {level!r}", hint)
            )
            return None
        before = len(self.problems)
        validator = Draft202012Validator(cls.params_schema)
        for err in validator.iter_errors(params):
            path = tuple(err.absolute_path)
            if err.validator == "oneOf":
                continue  # check_params says it better
            self.problems.extend(_explain(doc, (*at, *path), err, label=f"{atype} parameter"))
        if len(self.problems) == before:
            for sub, message, hint in cls.check_params(params):
                self.problems.append(doc.diag((*at, *sub), message, hint))
        if len(self.problems) != before or level is None:
            return None
        return ActionSpec(atype, params)


# Lists whose length multiplies later work (lint compares rules pairwise, escalations meet every action).
_COUNTED = {
    "workflow": [("rules", MAX_RULES_PER_WORKFLOW, "rules in one workflow", "split them into several workflows")],
    "operator": [
        ("escalation", MAX_ESCALATIONS_PER_OPERATOR, "escalation rules in one operator", "merge conditions with `or`")
    ],
}


class _Partial(Document):
    """A document whose schema check failed: semantic checks still run where they can."""

    def __init__(self, doc: Document):
        super().__init__(doc.file, doc.data, doc.values, doc.keys, doc.source)


def _where(doc: Document, path: tuple) -> str:
    """A path as users think of it: `rule 'pause_x' action.by_pct` rather than `rules.3.action.by_pct`."""
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        try:
            rid = doc.data["rules"][path[1]].get("id")
        except (AttributeError, IndexError, KeyError, TypeError):
            rid = None
        head = f"rule {rid!r}" if isinstance(rid, str) else f"rule #{path[1] + 1}"
        rest = ".".join(str(p) for p in path[2:])
        return f"{head} {rest}".strip()
    return ".".join(str(p) for p in path) or "file"


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _mapping(v: Any) -> dict:
    """`v` if it is a mapping, else empty: a value of the wrong shape was reported by the schema."""
    return v if isinstance(v, dict) else {}


def _cron_problem(text: str) -> str | None:
    """Why `text` is not a five-field cron schedule (or an @alias), or None when it is one."""
    fields = text.split()
    if len(fields) == 1 and fields[0].startswith("@"):
        return None if croniter.is_valid(fields[0]) else f"unknown alias {fields[0]!r}"
    if len(fields) != 5:
        return f"{len(fields)} field{'s' if len(fields) != 1 else ''}, not 5"
    if croniter.is_valid(text):
        return None
    for i, (name, value) in enumerate(zip(CRON_FIELDS, fields, strict=True)):
        alone = ["*"] * 5
        alone[i] = value
        if not croniter.is_valid(" ".join(alone)):
            return f"{name} {value!r} is not valid"
    return "the fields do not combine"


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def _explain(doc: Document, path: tuple, err, label: str = "key") -> list[Diagnostic]:
    """Turn one jsonschema error into user-facing diagnostics."""
    v = err.validator
    where = _where(doc, path)
    if v == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        unknown = [k for k in err.instance if k not in allowed]
        out = []
        for i, k in enumerate(unknown):
            # Suggestions only for the keys that will be shown: thousands of keys must stay fast.
            close = difflib.get_close_matches(k, allowed, n=1) if i <= MAX_ERRORS_PER_FILE else []
            hint = f"did you mean {close[0]!r}?" if close else "allowed: " + ", ".join(allowed)
            out.append(
                doc.diag((*path, k), f"unknown {label} {k!r}" + (f" in {where}" if path else ""), hint, key=True)
            )
        return out
    if v == "required":
        missing = [k for k in err.validator_value if k not in err.instance]
        return [
            doc.diag(
                path,
                f"missing required {label} {k!r}" + (f" in {where}" if path else ""),
                _REQUIRED_HINTS.get(k),
            )
            for k in missing
        ]
    if v == "type":
        want = err.validator_value if isinstance(err.validator_value, str) else " or ".join(err.validator_value)
        want = {"object": "mapping", "array": "list"}.get(want, want)
        return [
            doc.diag(
                path,
                f"{where}: expected a {want}, got a {_type_name(err.instance)}",
                _TYPE_HINTS.get(path[-1] if path else ""),
            )
        ]
    if v == "enum":
        options = [str(o) for o in err.validator_value]
        close = difflib.get_close_matches(str(err.instance), options, n=1)
        hint = f"did you mean {close[0]!r}?" if close else "one of: " + ", ".join(options)
        return [doc.diag(path, f"{where}: {err.instance!r} is not allowed", hint)]
    if v == "pattern":
        field = path[-1] if path else ""
        if field == "window":
            return [doc.diag(path, f"{windows.window_error(str(err.instance))}", windows.WINDOW_HINT)]
        if field in ("cooldown", "expire_after"):
            return [
                doc.diag(path, f"invalid duration {err.instance!r} for {field}", "a number and a unit: 30m, 12h or 3d")
            ]
        return [
            doc.diag(
                path,
                f"{where}: {err.instance!r} is not a valid name",
                "use letters, digits and underscores, starting with a letter",
            )
        ]
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {
            "minimum": "at least",
            "exclusiveMinimum": "above",
            "maximum": "at most",
            "exclusiveMaximum": "below",
        }
        hint = "guardrail limits cannot be negative" if path and path[-1] in GUARDRAILS and v == "minimum" else None
        return [doc.diag(path, f"{where}: {err.instance!r} must be {words[v]} {err.validator_value}", hint)]
    if v in ("minItems", "minProperties", "minLength"):
        return [doc.diag(path, f"{where} must not be empty")]
    if v == "oneOf" and path and path[0] == "thresholds" and _lacks_default(err.instance):
        # Without `default` an entity of any other product gets no value and its rules never fire.
        products = ", ".join(f"{k}: {_plain(v)}" for k, v in err.instance.items())
        return [
            doc.diag(
                path,
                f"threshold {path[-1]!r} has per-product values but no 'default' for the other products",
                f"add the value for every other product: {path[-1]}: {{default: ..., {products}}}",
            )
        ]
    if v == "oneOf" and path and path[0] == "thresholds":
        return [
            doc.diag(
                path,
                f"threshold {path[-1]!r} must be a number or a mapping of product: number",
                "e.g. target_cpa: 300, or target_cpa: {default: 300, bot: 350}",
            )
        ]
    return [doc.diag(path, f"{where}: {err.message}")]


_REQUIRED_HINTS = {
    "when": "the condition, e.g. when: spend > 2 * thresholds.target_cpa",
    "action": "what to do, e.g. action: pause",
    "id": "a unique rule id, e.g. id: pause_expensive",
    "level": "the entity level, e.g. level: ad_group",
    "window": "the metric window, e.g. window: last_7d",
    "platform": "the operator's platform, e.g. platform: pinterest",
}
_TYPE_HINTS = {
    "when": 'quote the expression if YAML reads it as something else: when: "spend > 100"',
    "rules": "rules is a list: each rule starts with `- id: ...`",
}


def expr_location(doc: Document, path: tuple, offset: int) -> tuple[int, int]:
    """Source line and column of character `offset` of the expression stored at `path`.

    Walks the YAML source from the start of the scalar, matching the expression's
    characters in order; whitespace in the expression matches any run of source
    whitespace, so folded and block scalars map back to the right line.
    """
    pos = doc.pos(path)
    text = doc.source
    lines = text.split("\n")
    starts = [0]
    for ln in lines:
        starts.append(starts[-1] + len(ln) + 1)
    line, col = pos.line - 1, pos.col - 1
    if pos.style in ("|", ">"):
        line, col = line + 1, 0  # block scalars start on the next line
    elif pos.style in ("'", '"'):
        col += 1
    i = starts[min(line, len(lines) - 1)] + col
    value = _value_at(doc.data, path)
    j = 0
    while j < min(offset, len(value)) and i < len(text):
        if value[j].isspace():
            j += 1
            continue
        while i < len(text) and text[i].isspace():
            i += 1
        i += 1
        j += 1
    while i < len(text) and text[i].isspace():
        i += 1
    i = min(i, len(text))
    line_no = next((k for k in range(len(lines)) if starts[k + 1] > i), len(lines) - 1)
    return line_no + 1, i - starts[line_no] + 1


def _value_at(data: Any, path: tuple) -> str:
    for p in path:
        data = data[p]
    return str(data)


def load_project(root: Path, catalog: Catalog) -> Project:
    """Load the rules folder at `root`; raise ValidationFailed with every problem found."""
    return Loader(root, catalog).load()


def _lacks_default(instance: Any) -> bool:
    """A per-product threshold mapping whose values are all numbers but that has no `default`."""
    return (
        isinstance(instance, dict)
        and bool(instance)
        and "default" not in instance
        and all(_is_number(v) for v in instance.values())
    )


def _plain(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
