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
The summary line says what the change means in practice:

    Diff vs HEAD~1: +12 actions, -3, ~2 changed; pauses 12 more ad groups; spend affected $4,310.25/day

"pauses 12 more ad groups" counts the actions that would go ahead (planned or clamped) on
each side; "spend affected" is the daily spend (the rule window's spend divided by its
days) of the entities touched by added actions that are neither blocked nor skipped.

`--format markdown` is meant for a pull-request comment, `json` for tools. With
`--detailed-exitcode` the command exits 2 when the plans differ and 0 when they do not
(as `terraform plan -detailed-exitcode`). REF must be a commit of the git repository that
holds the rules folder; rules that were invalid at REF are reported at `REF:path:line:col`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from engine.core.actions import ACTIONS
from engine.core.errors import EXIT_OK, RulerunError, UsageError, ValidationFailed
from engine.core.plan import Plan, PlannedAction

EXIT_DIFF = 2  # --detailed-exitcode: the plans differ
GIT_TIMEOUT = 60
MARKDOWN_ROWS = 100  # rows per section: a GitHub comment holds at most 65,536 characters
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

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def summary_line(self) -> str:
        head = f"Diff vs {self.base_ref}"
        if not self.has_changes:
            return f"{head}: no changes ({self.unchanged} action{_s(self.unchanged)} in both plans)"
        parts = [f"+{len(self.added)} action{_s(len(self.added))}, -{len(self.removed)}, ~{len(self.changed)} changed"]
        parts += self.effects
        if self.spend_per_day:
            parts.append(f"spend affected ${self.spend_per_day:,.2f}/day")
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
                "text": self.summary_line(),
            },
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


def window_days(project, loaded, as_of: date) -> Callable[[PlannedAction], float]:
    """An action's entity spend per day: the rule window's spend over the window's length in days."""
    from engine.language.windows import date_range

    windows = {(wf.id, r.id): r.window for wf in project.workflows for r in wf.rules}
    first = loaded.info.min_date

    def per_day(a: PlannedAction) -> float:
        window = windows.get((a.workflow, a.rule_id), "last_1d")
        days = date_range(window, as_of).days
        if days is None:  # lifetime: the days of data before the as-of date
            days = (as_of - first).days if first else 1
        return float(a.spend or 0.0) / max(days, 1)

    return per_day


# -- the base ref's rules from git -------------------------------------------------------------


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, timeout=GIT_TIMEOUT)
    except FileNotFoundError:
        raise UsageError("git is not installed", hint="rulerun diff reads the base rules with git") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"git {args[0]} took longer than {GIT_TIMEOUT}s") from None


def _stderr(res: subprocess.CompletedProcess) -> str:
    return res.stderr.decode(errors="replace").strip().splitlines()[-1] if res.stderr.strip() else ""


def repo_of(rules: Path) -> tuple[Path, str]:
    """The git repository holding the rules folder, and the folder's path inside it (POSIX)."""
    res = _git(["rev-parse", "--show-toplevel"], rules)
    if res.returncode != 0:
        raise RulerunError(
            f"the rules folder {rules} is not in a git repository ({_stderr(res)})",
            hint="rulerun diff compares against a git ref: run it inside a clone, or `git init` and commit the rules",
        )
    top = Path(res.stdout.decode().strip()).resolve()
    rel = rules.resolve().relative_to(top).as_posix()
    return top, rel or "."


def resolve_ref(top: Path, ref: str) -> str:
    """The commit a ref names, or a usage error saying so."""
    if not ref or ref.startswith("-"):
        raise RulerunError(f"{ref!r} is not a git ref", hint="e.g. --base main, --base HEAD~1, --base v1.2")
    res = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], top)
    if res.returncode != 0:
        raise RulerunError(
            f"unknown git ref {ref!r} in {top}",
            hint="name a branch, tag or commit that exists locally (in CI, fetch it first: "
            "`git fetch origin main` and use --base origin/main)",
        )
    return res.stdout.decode().strip()


@contextmanager
def exported_rules(rules: Path, ref: str) -> Iterator[tuple[Path | None, str, str]]:
    """The rules folder as committed at `ref`, in a temporary directory: (folder or None, commit, rel path).

    The folder is None when it did not exist at that commit (the change adds the rules).
    """
    top, rel = repo_of(rules)
    commit = resolve_ref(top, ref)
    with tempfile.TemporaryDirectory(prefix="rulerun-diff-") as tmp:
        root = Path(tmp)
        listed = _git(["ls-tree", "--name-only", commit, "--", rel], top)
        if rel != "." and not listed.stdout.strip():
            yield None, commit, rel
            return
        res = _git(["archive", "--format=tar", commit, "--", rel], top)
        if res.returncode != 0:
            raise UsageError(f"cannot export {rel} at {ref}: {_stderr(res)}")
        with tarfile.open(fileobj=io.BytesIO(res.stdout)) as tar:
            tar.extractall(root, filter="data")  # never writes outside the temporary directory
        yield root / rel, commit, rel


def load_base_project(rules: Path, ref: str, catalog) -> tuple[Any, str, str]:
    """(project at ref or None, commit, rel path), with errors located at `REF:path:line:col`."""
    from engine.rules.loader import load_project

    with exported_rules(rules, ref) as (folder, commit, rel):
        if folder is None:
            return None, commit, rel
        try:
            return load_project(folder, catalog), commit, rel
        except ValidationFailed as exc:
            diagnostics = [_at_ref(d, folder, ref, rel) for d in exc.diagnostics]
            errors = sum(1 for d in diagnostics if d.severity == "error")
            raise ValidationFailed(
                diagnostics, f"{errors} error(s) in the rules at {ref}: nothing to compare against"
            ) from None


def _at_ref(d, folder: Path, ref: str, rel: str):
    """A diagnostic from the exported copy, renamed to the file as committed: `HEAD~1:rules/x.yaml`."""
    from engine.core.yamlpos import display_path

    for prefix in (str(folder.resolve()), display_path(folder), str(folder)):
        if d.file and d.file.startswith(prefix):
            inner = d.file[len(prefix) :].lstrip("/\\")
            path = f"{rel}/{inner}" if rel != "." else inner
            return dataclasses.replace(d, file=f"{ref}:{path.rstrip('/')}")
    return d


# -- output ------------------------------------------------------------------------------------


def _change(a: PlannedAction) -> str:
    from engine.output.text import change

    return change(a)


def _entity(a: PlannedAction) -> str:
    from engine.output.text import entity_label

    return entity_label(a)


def _rows(diff: PlanDiff) -> list[tuple[str, PlannedAction, str, str]]:
    """(mark, action, change, status) for every difference, in plan order."""
    rows = [("+", a, _change(a), a.status) for a in diff.added]
    rows += [("-", a, _change(a), a.status) for a in diff.removed]
    for c in diff.changed:
        old, new = _change(c.base), _change(c.head)
        text = new if old == new else f"{old} => {new}"
        status = c.head.status if c.base.status == c.head.status else f"{c.base.status} -> {c.head.status}"
        rows.append(("~", c.head, text, status))
    return sorted(rows, key=lambda r: (r[1].workflow, r[1].rule_id, r[1].entity_id, r[0]))


def render_table(diff: PlanDiff, out: IO[bytes]) -> None:
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=160, highlight=False, soft_wrap=False)
    console.print(
        f"[bold]rulerun diff[/] {diff.base_ref} ({diff.base_commit[:12]}) -> working tree · "
        f"as of {diff.as_of.isoformat()} · source {diff.source}"
    )
    rows = _rows(diff)
    if rows:
        table = Table(expand=False)
        table.add_column("", no_wrap=True)
        table.add_column("Workflow", overflow="fold", max_width=28)
        table.add_column("Entity", overflow="fold", max_width=40)
        table.add_column("Rule", overflow="fold", max_width=28)
        table.add_column("Change", overflow="fold", max_width=48)
        table.add_column("Status", overflow="fold", max_width=30)
        style = {"+": "green", "-": "red", "~": "yellow"}
        for mark, a, change, status in rows:
            table.add_row(f"[{style[mark]}]{mark}[/]", a.workflow, _entity(a), a.rule_id, change, status)
        console.print(table)
    for note in diff.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(f"[bold]{diff.summary_line()}[/]")
    out.write(buffer.getvalue().encode("utf-8"))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(diff: PlanDiff, out: IO[bytes]) -> None:
    lines = [
        f"### rulerun diff vs `{diff.base_ref}` · as of {diff.as_of.isoformat()}",
        "",
        f"**{diff.summary_line()}** · base `{diff.base_commit[:12]}` · source `{diff.source}`",
        "",
    ]
    sections = (
        ("Added", [r for r in _rows(diff) if r[0] == "+"]),
        ("Removed", [r for r in _rows(diff) if r[0] == "-"]),
        ("Changed", [r for r in _rows(diff) if r[0] == "~"]),
    )
    for title, rows in sections:
        if not rows:
            continue
        lines += [
            f"#### {title} ({len(rows)})",
            "",
            "| Workflow | Entity | Rule | Change | Status |",
            "|---|---|---|---|---|",
        ]
        for _, a, change, status in rows[:MARKDOWN_ROWS]:
            cells = (a.workflow, _entity(a), a.rule_id, change, status)
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        if len(rows) > MARKDOWN_ROWS:
            lines.append(f"\n… {len(rows) - MARKDOWN_ROWS:,} more (`--format json` lists all)")
        lines.append("")
    lines += [f"> note: {n}" for n in diff.notes]
    out.write(("\n".join(lines) + "\n").encode("utf-8"))


def render_json(diff: PlanDiff, out: IO[bytes]) -> None:
    out.write((json.dumps(diff.to_dict(), indent=2, default=str) + "\n").encode("utf-8"))


_WORDS = {"+": "added", "-": "removed", "~": "changed"}


def render_github(diff: PlanDiff, out: IO[bytes]) -> None:
    """Annotations on the rules whose actions changed, the summary line, and the Markdown diff
    in the job's step summary."""
    import io

    from engine.output.ci import annotation, write_step_summary

    lines = []
    for kind, a, *_ in _rows(diff):
        lines.append(
            annotation(
                "notice",
                f"{_WORDS[kind]}: {a.workflow}/{a.rule_id} {a.type} on {_entity(a)}",
                a.rule_file,
                a.rule_line,
                title="rulerun diff",
            )
        )
    lines.append(diff.summary_line())
    out.write(("\n".join(lines) + "\n").encode("utf-8"))
    buffer = io.BytesIO()
    render_markdown(diff, buffer)
    write_step_summary(buffer.getvalue().decode("utf-8"))


RENDERERS = {"table": render_table, "markdown": render_markdown, "json": render_json, "github": render_github}


# -- the command -------------------------------------------------------------------------------


def _plan(store, loaded, catalog, project, workflows, as_of, overrides) -> Plan:
    from engine.evaluation.evaluate import build_plan

    return build_plan(store.con, loaded, catalog, project, workflows, as_of, overrides=overrides)


def _base_workflows(base_project, wanted: tuple[str, ...] | list[str] | None) -> list:
    """The base's workflows among those asked for; a workflow the change adds has none at the base."""
    if not wanted:
        return [w for w in base_project.workflows if w.enabled]
    return [w for w in base_project.workflows if w.id in wanted or w.operator.name in wanted]


def diff_command(
    *,
    base: str,
    rules: str | None,
    source: str,
    as_of: date | None,
    state_dir: str | None,
    fmt: str,
    workflows: tuple[str, ...] | list[str] | None = None,
    detailed_exitcode: bool = False,
) -> int:
    """Evaluate the rules at `base` and in the working tree on the same data; print the difference.

    Returns the exit code: 0, or 2 when `detailed_exitcode` is set and the plans differ.
    """
    from engine.cli.apply_commands import sandbox_overrides
    from engine.cli.commands import _load, _project, status
    from engine.evaluation.evaluate import default_as_of

    if fmt not in RENDERERS:
        raise UsageError(f"unknown format {fmt!r}", hint="formats: " + ", ".join(RENDERERS))
    ws, catalog, head_project = _project(rules, state_dir)
    selected = head_project.select(workflows)
    base_project, commit, rel = load_base_project(ws.rules, base, catalog)
    store, loaded = _load(ws, catalog, source)
    try:
        as_of = as_of or default_as_of(loaded)
        overrides = sandbox_overrides(source, ws.state_dir)
        with status(f"Evaluating the rules at {base} and in the working tree …"):
            head_plan = _plan(store, loaded, catalog, head_project, selected, as_of, overrides)
            base_actions: list[PlannedAction] = []
            if base_project is not None:
                base_selected = _base_workflows(base_project, workflows)
                base_actions = _plan(store, loaded, catalog, base_project, base_selected, as_of, overrides).actions
    finally:
        store.close()
    diff = compare_plans(
        base_actions,
        head_plan.actions,
        window_days(head_project, loaded, as_of),
        base_ref=base,
        base_commit=commit,
        source=loaded.source,
        as_of=as_of,
    )
    if base_project is None:
        diff.notes.append(f"{rel} did not exist at {base}: every action is new")
    RENDERERS[fmt](diff, sys.stdout.buffer)
    sys.stdout.buffer.flush()
    return EXIT_DIFF if detailed_exitcode and diff.has_changes else EXIT_OK
