"""`rulerun diff` results: a table, a pull-request comment (Markdown), JSON, or GitHub annotations."""

from __future__ import annotations

import io
import json
from typing import IO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engine.authoring.diff import PlanDiff
from engine.authoring.settings_diff import SettingChange, show_setting
from engine.core.plan import PlannedAction
from engine.output import RenderOptions
from engine.output.ci import annotation, write_step_summary
from engine.output.markdown import md_cell
from engine.output.text import change, entity_label

MARKDOWN_ROWS = 100  # rows per section: a GitHub comment holds at most 65,536 characters


def _rows(diff: PlanDiff) -> list[tuple[str, PlannedAction, str, str]]:
    """(mark, action, change, status) for every difference, in plan order."""
    rows = [("+", a, change(a), a.status) for a in diff.added]
    rows += [("-", a, change(a), a.status) for a in diff.removed]
    for c in diff.changed:
        old, new = change(c.base), change(c.head)
        text = new if old == new else f"{old} => {new}"
        status = c.head.status if c.base.status == c.head.status else f"{c.base.status} -> {c.head.status}"
        rows.append(("~", c.head, text, status))
    return sorted(rows, key=lambda r: (r[1].workflow, r[1].rule_id, r[1].entity_id, r[0]))


def render_table(diff: PlanDiff, out: IO[bytes], options: RenderOptions | None = None) -> None:
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
        for mark, a, text, status in rows:
            table.add_row(f"[{style[mark]}]{mark}[/]", a.workflow, entity_label(a), a.rule_id, text, status)
        console.print(table)
    for c in diff.settings:
        mark = "[yellow]warning:[/]" if c.loosens else "setting:"
        console.print(f"{mark} {escape(c.describe())}{escape(_at(c))}")
    for note in diff.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(f"[bold]{diff.summary_line()}[/]")
    out.write(buffer.getvalue().encode("utf-8"))


def _at(c: SettingChange) -> str:
    if not c.file:
        return ""
    return f" at {c.file}" + (f":{c.line}" if c.line else "")


def render_markdown(diff: PlanDiff, out: IO[bytes], options: RenderOptions | None = None) -> None:
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
        for _, a, text, status in rows[:MARKDOWN_ROWS]:
            cells = (a.workflow, entity_label(a), a.rule_id, text, status)
            lines.append("| " + " | ".join(md_cell(c) for c in cells) + " |")
        if len(rows) > MARKDOWN_ROWS:
            lines.append(f"\n… {len(rows) - MARKDOWN_ROWS:,} more (`--format json` lists all)")
        lines.append("")
    if diff.settings:
        lines += [
            f"#### Settings ({len(diff.settings)})",
            "",
            "| Setting | Before | After | |",
            "|---|---|---|---|",
        ]
        for c in diff.settings:
            flag = "**loosens**" if c.loosens else ""
            cells = (c.label, show_setting(c.before), show_setting(c.after))
            lines.append("| " + " | ".join(md_cell(x) for x in cells) + f" | {flag} |")
        lines.append("")
    lines += [f"> note: {n}" for n in diff.notes]
    out.write(("\n".join(lines) + "\n").encode("utf-8"))


def render_json(diff: PlanDiff, out: IO[bytes], options: RenderOptions | None = None) -> None:
    out.write((json.dumps(diff.to_dict(), indent=2, default=str) + "\n").encode("utf-8"))


_WORDS = {"+": "added", "-": "removed", "~": "changed"}


def render_github(diff: PlanDiff, out: IO[bytes], options: RenderOptions | None = None) -> None:
    """Annotations on the rules whose actions changed, the summary line, and the Markdown diff
    in the job's step summary."""
    lines = []
    for kind, a, *_ in _rows(diff):
        lines.append(
            annotation(
                "notice",
                f"{_WORDS[kind]}: {a.workflow}/{a.rule_id} {a.type} on {entity_label(a)}",
                a.rule_file,
                a.rule_line,
                title="rulerun diff",
            )
        )
    for c in diff.settings:
        lines.append(
            annotation(
                "warning" if c.loosens else "notice",
                c.describe(),
                c.file,
                c.line,
                title="rulerun diff: a limit is loosened" if c.loosens else "rulerun diff: setting changed",
            )
        )
    lines.append(diff.summary_line())
    out.write(("\n".join(lines) + "\n").encode("utf-8"))
    buffer = io.BytesIO()
    render_markdown(diff, buffer)
    write_step_summary(buffer.getvalue().decode("utf-8"))
