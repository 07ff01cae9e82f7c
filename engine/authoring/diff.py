"""`rulerun diff --base REF`: what a rules change would do, for pull-request review.

The rules folder as committed at REF (a branch, tag, commit or `HEAD~1`) and the rules
folder in the working tree are evaluated on the same data, as of the same date, with the
same live entity state, and their plans are compared action by action:

- **added**: an action the working tree proposes and REF does not;
- **removed**: an action REF proposes and the working tree does not;
- **changed**: the same rule, entity and action type on both sides, with different
  parameters, a different outcome (`after`) or a different status (say `blocked` at REF
  and `planned` now, because a guardrail moved).

Actions are matched by (workflow, rule id, platform, account, level, entity id, action type).
Guardrails, thresholds and autonomy are compared too (engine/authoring/settings_diff.py), so
that a loosened limit shows even when nothing hits it today. The summary line says what the
change means in practice:

    Diff vs HEAD~1: +12 actions, -3, ~2 changed; pauses 12 more ad groups; spend affected $4,310.25/day;
    2 settings changed, 1 loosened

"pauses 12 more ad groups" counts the actions that would go ahead (planned or clamped) on
each side; "spend affected" is the daily spend (the rule window's spend divided by its
days) of the entities touched by added actions that are neither blocked nor skipped.

`--format markdown` is meant for a pull-request comment, `json` for tools (engine/output/diff.py).
With `--detailed-exitcode` the command exits 2 when the plans or settings differ and 0 when they do not
(as `terraform plan -detailed-exitcode`). REF must be a commit of the git repository that
holds the rules folder; rules that were invalid at REF are reported at `REF:path:line:col`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.authoring.settings_diff import SettingChange, compare_settings
from engine.core.actions import ACTIONS
from engine.core.plan import PlannedAction
from engine.core.progress import QUIET, Progress
from engine.data.store import LoadedSource
from engine.evaluation.dataset import open_dataset
from engine.evaluation.evaluate import build_plan, default_as_of
from engine.language.windows import date_range
from engine.rules.gitref import load_base_project
from engine.rules.model import Project, Workflow
from engine.rules.service import OpenProject

ACTS = ("planned", "clamped")  # statuses of actions that would go ahead
TOUCHES = ("planned", "clamped", "needs_approval")  # statuses of actions that may change spend
COMPARED = ("params", "after", "status")

Key = tuple[str, str, str, str, str, str, str]

VERBS = {name: op.verb for name, op in ACTIONS.items()}


def action_match_key(a: PlannedAction) -> Key:
    return (a.workflow, a.rule_id, a.platform, a.account_id, a.level, a.entity_id, a.type)


@dataclass
class ChangedAction:
    base: PlannedAction
    head: PlannedAction
    fields: list[str]  # which of params, after, status differ

    def to_dict(self) -> dict[str, Any]:
        return {"fields": self.fields, "base": self.base.to_dict(), "head": self.head.to_dict()}


@dataclass
class PlanDiff:
    """Two plans compared: what the working tree adds, removes and changes against the base ref."""

    base_ref: str
    base_commit: str
    source: str
    as_of: date
    added: list[PlannedAction] = field(default_factory=list)
    removed: list[PlannedAction] = field(default_factory=list)
    changed: list[ChangedAction] = field(default_factory=list)
    unchanged: int = 0
    effects: list[str] = field(default_factory=list)  # "pauses 12 more ad groups"
    spend_per_day: float = 0.0  # daily spend of the entities added actions touch
    spend_of: dict[str, float] = field(default_factory=dict)  # action_id -> its entity's daily spend
    notes: list[str] = field(default_factory=list)
    settings: list[SettingChange] = field(default_factory=list)  # guardrails, thresholds, autonomy

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.settings)

    @property
    def loosened(self) -> list[SettingChange]:
        return [c for c in self.settings if c.loosens]

    def _settings_part(self) -> list[str]:
        if not self.settings:
            return []
        n, loose = len(self.settings), len(self.loosened)
        return [f"{n} setting{_s(n)} changed" + (f", {loose} loosened" if loose else "")]

    def summary_line(self) -> str:
        head = f"Diff vs {self.base_ref}"
        if not self.has_changes:
            return f"{head}: no changes ({self.unchanged} action{_s(self.unchanged)} in both plans)"
        parts = [f"+{len(self.added)} action{_s(len(self.added))}, -{len(self.removed)}, ~{len(self.changed)} changed"]
        parts += self.effects
        if self.spend_per_day:
            parts.append(f"spend affected ${self.spend_per_day:,.2f}/day")
        parts += self._settings_part()
        return f"{head}: " + "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        def with_spend(a: PlannedAction) -> dict[str, Any]:
            return {**a.to_dict(), "spend_per_day": self.spend_of.get(a.action_id)}

        return {
            "base": self.base_ref,
            "base_commit": self.base_commit,
            "source": self.source,
            "as_of": self.as_of.isoformat(),
            "summary": {
                "added": len(self.added),
                "removed": len(self.removed),
                "changed": len(self.changed),
                "unchanged": self.unchanged,
                "effects": self.effects,
                "spend_affected_per_day": round(self.spend_per_day, 2),
                "settings_changed": len(self.settings),
                "settings_loosened": len(self.loosened),
                "text": self.summary_line(),
            },
            "settings": [c.to_dict() for c in self.settings],
            "added": [with_spend(a) for a in self.added],
            "removed": [a.to_dict() for a in self.removed],
            "changed": [c.to_dict() for c in self.changed],
            "notes": self.notes,
        }


def _s(n: int) -> str:
    return "" if n == 1 else "s"


# -- comparing plans -------------------------------------------------------------------------


def compare_plans(
    base: list[PlannedAction],
    head: list[PlannedAction],
    daily_spend: Callable[[PlannedAction], float],
    *,
    base_ref: str,
    base_commit: str,
    source: str,
    as_of: date,
) -> PlanDiff:
    """Match the actions of two plans by key; `daily_spend` gives an added action's entity spend per day."""
    old = {action_match_key(a): a for a in base}
    new = {action_match_key(a): a for a in head}
    diff = PlanDiff(base_ref, base_commit, source, as_of)
    for key, a in new.items():
        before = old.get(key)
        if before is None:
            diff.added.append(a)
            continue
        fields = [f for f in COMPARED if getattr(before, f) != getattr(a, f)]
        if fields:
            diff.changed.append(ChangedAction(before, a, fields))
        else:
            diff.unchanged += 1
    diff.removed = [a for key, a in old.items() if key not in new]
    for a in diff.added:
        if a.status in TOUCHES:
            diff.spend_of[a.action_id] = daily_spend(a)
    diff.spend_per_day = sum(diff.spend_of.values())
    diff.effects = effects(base, head)
    return diff


def effects(base: list[PlannedAction], head: list[PlannedAction]) -> list[str]:
    """`pauses 12 more ad groups`, `changes the bid of 2 fewer keywords`: net change of what would go ahead."""

    def count(actions: list[PlannedAction]) -> Counter:
        return Counter((a.type, a.level) for a in actions if a.status in ACTS)

    old, new = count(base), count(head)
    order = {t: i for i, t in enumerate(VERBS)}
    out = []
    for type_, level in sorted(set(old) | set(new), key=lambda k: (order.get(k[0], len(order)), k)):
        net = new[(type_, level)] - old[(type_, level)]
        if net:
            verb = VERBS.get(type_, f"{type_} on")
            out.append(f"{verb} {abs(net)} {'more' if net > 0 else 'fewer'} {_plural(level, abs(net))}")
    return out


def _plural(level: str, n: int) -> str:
    word = level.replace("_", " ")
    return word if n == 1 or word.endswith("s") else word + "s"


def window_days(project: Project, loaded: LoadedSource, as_of: date) -> Callable[[PlannedAction], float]:
    """An action's entity spend per day: the rule window's spend over the window's length in days."""
    windows = {(wf.id, r.id): r.window for wf in project.workflows for r in wf.rules}
    first = loaded.info.min_date

    def per_day(a: PlannedAction) -> float:
        window = windows.get((a.workflow, a.rule_id), "last_1d")
        days = date_range(window, as_of).days
        if days is None:  # lifetime: the days of data before the as-of date
            days = (as_of - first).days if first else 1
        return float(a.spend or 0.0) / max(days, 1)

    return per_day


# -- the command -------------------------------------------------------------------------------


def _base_workflows(base_project: Project, wanted: tuple[str, ...] | list[str] | None) -> list[Workflow]:
    """The base's workflows among those asked for; a workflow the change adds has none at the base."""
    if not wanted:
        return [w for w in base_project.workflows if w.enabled]
    return [w for w in base_project.workflows if w.id in wanted or w.operator.name in wanted]


def diff(
    opened: OpenProject,
    base: str,
    *,
    workflows: tuple[str, ...] | list[str] | None = None,
    source: str = "demo",
    as_of: date | None = None,
    progress: Progress = QUIET,
) -> PlanDiff:
    """Evaluate the rules at `base` and in the working tree on the same data, and compare the plans."""
    catalog, head_project = opened.catalog, opened.project
    selected = head_project.select(workflows)
    base_project, commit, rel = load_base_project(opened.workspace.rules, base, catalog)
    with open_dataset(opened.workspace, catalog, source, progress) as data:
        as_of = as_of or default_as_of(data.loaded)
        with progress.status(f"Evaluating the rules at {base} and in the working tree …"):
            head_plan = build_plan(
                data.con, data.loaded, catalog, head_project, selected, as_of, overrides=data.overrides
            )
            base_actions: list[PlannedAction] = []
            if base_project is not None:
                base_selected = _base_workflows(base_project, workflows)
                base_actions = build_plan(
                    data.con, data.loaded, catalog, base_project, base_selected, as_of, overrides=data.overrides
                ).actions
        loaded = data.loaded
    result = compare_plans(
        base_actions,
        head_plan.actions,
        window_days(head_project, loaded, as_of),
        base_ref=base,
        base_commit=commit,
        source=loaded.source,
        as_of=as_of,
    )
    result.settings = compare_settings(base_project, head_project)
    if base_project is None:
        result.notes.append(f"{rel} did not exist at {base}: every action is new")
    return result
