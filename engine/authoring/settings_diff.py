"""What a rules change does to the settings around the rules: guardrails, thresholds and autonomy.

`rulerun diff` compares plans on today's data, which misses a change that shows no effect
today, such as a loosened guardrail that nothing hits yet. These are compared directly:

- **guardrails**: the global values (`guardrails.yaml`, or the built-in defaults) and each
  operator's effective values where they differ from following the global change. A change
  that makes a limit less strict (`loosens` in engine/rules/guardrails.py) is flagged;
- **thresholds**: each operator's named numbers, per product; not flagged, since whether a
  higher number is looser depends on the rules that use it;
- **autonomy**: each operator's effective level per action type, grouped by (before, after).
  Moving towards execution (to `approve` or `auto` from a lower level) is flagged;
- **escalation**: each operator's own escalation rules by id. A removed one is flagged (its
  actions no longer wait for a human); a changed condition is listed with both texts.

Only operators on both sides are compared: a new operator's actions show up in the plan diff.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.core.actions import ACTIONS
from engine.core.numbers import fmt_number
from engine.core.yamlpos import Document, load_file
from engine.rules.autonomy import LEVELS
from engine.rules.guardrails import GUARDRAILS, loosens
from engine.rules.model import Operator, Project

EXECUTES = ("approve", "auto")  # autonomy levels at which an action can be carried out


@dataclass
class SettingChange:
    kind: str  # guardrail | threshold | autonomy | escalation
    scope: str  # "global" or the operator's name
    name: str  # guardrail key, threshold name, or the action types (comma-separated)
    before: Any
    after: Any
    loosens: bool
    file: str | None = None  # where the working tree sets it (the base's file when it was deleted)
    line: int | None = None

    @property
    def label(self) -> str:
        where = "" if self.scope == "global" else f"{self.scope} "
        return f"{where}{self.kind} {self.name}"

    def describe(self) -> str:
        text = f"{self.label}: {show_setting(self.before)} -> {show_setting(self.after)}"
        if self.loosens:
            text += " (loosens " + ("a global limit)" if self.scope == "global" else f"the {self.scope} operator)")
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "scope": self.scope,
            "name": self.name,
            "before": self.before,
            "after": self.after,
            "loosens": self.loosens,
            "file": self.file,
            "line": self.line,
        }


def show_setting(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return fmt_number(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show_setting(v)}" for k, v in value.items()) + "}"
    return str(value)


class _Positions:
    """Lines of settings in the working tree's files, read on demand."""

    def __init__(self) -> None:
        self._docs: dict[Path, Document | None] = {}

    def line(self, path: Path | None, keys: tuple[str | int, ...]) -> int | None:
        if path is None or not path.exists():
            return None
        if path not in self._docs:
            self._docs[path] = load_file(path)[0]
        doc = self._docs[path]
        return doc.pos(keys, key=True).line if doc is not None else None


def compare_settings(base: Project | None, head: Project) -> list[SettingChange]:
    """Every guardrail, threshold and autonomy difference between the base's rules and the working tree's."""
    if base is None:
        return []
    positions = _Positions()
    out = _global_guardrails(base, head, positions)
    for name, new in head.operators.items():
        old = base.operators.get(name)
        if old is None:
            continue
        path = new.folder / "operator.yaml"
        out += _operator_guardrails(base, head, old, new, path, positions)
        out += _thresholds(old, new, path, positions)
        out += _autonomy(old, new, path, positions)
        out += _escalation(old, new, path, positions)
    return out


def _guardrail_file(project: Project) -> Path | None:
    return next((p for p in (project.root / "guardrails.yaml", project.root / "guardrails.yml") if p.exists()), None)


def _global_guardrails(base: Project, head: Project, positions: _Positions) -> list[SettingChange]:
    path = _guardrail_file(head)
    out = []
    for key in GUARDRAILS:
        before, after = base.guardrails[key], head.guardrails[key]
        if before != after:
            out.append(
                SettingChange(
                    "guardrail",
                    "global",
                    key,
                    before,
                    after,
                    loosens(key, before, after),
                    head.guardrails_file or base.guardrails_file,
                    positions.line(path, (key,)),
                )
            )
    return out


def _operator_guardrails(
    base: Project, head: Project, old: Operator, new: Operator, path: Path, positions: _Positions
) -> list[SettingChange]:
    out = []
    for key in GUARDRAILS:
        before, after = old.guardrails.get(key), new.guardrails.get(key)
        follows_global = before == base.guardrails[key] and after == head.guardrails[key]
        if before != after and not follows_global and before is not None and after is not None:
            out.append(
                SettingChange(
                    "guardrail",
                    new.name,
                    key,
                    before,
                    after,
                    loosens(key, before, after),
                    new.file,
                    positions.line(path, ("guardrails", key)),
                )
            )
    return out


def _threshold_value(op: Operator, name: str) -> Any:
    t = op.thresholds.get(name)
    if t is None:
        return None
    return {"default": t.default, **t.by_product} if t.by_product else t.default


def _thresholds(old: Operator, new: Operator, path: Path, positions: _Positions) -> list[SettingChange]:
    out = []
    for name in dict.fromkeys([*new.thresholds, *old.thresholds]):
        before, after = _threshold_value(old, name), _threshold_value(new, name)
        if before != after:
            line = positions.line(path, ("thresholds", name))
            out.append(SettingChange("threshold", new.name, name, before, after, False, new.file, line))
    return out


def _autonomy(old: Operator, new: Operator, path: Path, positions: _Positions) -> list[SettingChange]:
    groups: dict[tuple[str, str], list[str]] = {}
    for action_type in ACTIONS:
        before, after = old.autonomy_for(action_type), new.autonomy_for(action_type)
        if before != after:
            groups.setdefault((before, after), []).append(action_type)
    out = []
    for (before, after), types in groups.items():
        towards_execution = after in EXECUTES and LEVELS.index(after) > LEVELS.index(before)
        keys = ("autonomy", types[0]) if len(types) == 1 else ("autonomy", "default")
        out.append(
            SettingChange(
                "autonomy",
                new.name,
                ", ".join(types),
                before,
                after,
                towards_execution,
                new.file,
                positions.line(path, keys),
            )
        )
    return out


def _escalation(old: Operator, new: Operator, path: Path, positions: _Positions) -> list[SettingChange]:
    before = {r.id: r.when.text for r in old.escalation}
    after = {r.id: r.when.text for r in new.escalation}
    ids = list(dict.fromkeys([*after, *before]))
    index = {rule_id: i for i, rule_id in enumerate(after)}
    out = []
    for rule_id in ids:
        was, now = before.get(rule_id), after.get(rule_id)
        if was != now:
            keys = ("escalation", index[rule_id], "when") if rule_id in index else ("escalation",)
            line = positions.line(path, keys)
            out.append(SettingChange("escalation", new.name, rule_id, was, now, now is None, new.file, line))
    return out
