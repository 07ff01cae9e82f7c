"""`rulerun explain` for people: each rule's verdict, every sub-expression's value, the safety pipeline's verdict."""

from __future__ import annotations

from typing import IO

from rich.markup import escape
from rich.table import Table

from engine.evaluation.explain import Explanation
from engine.output import RenderOptions
from engine.output.console import console
from engine.output.table import STATUS_STYLE
from engine.output.text import change, fmt_change, fmt_value, unit_of


def render_text(e: Explanation, out: IO[bytes], options: RenderOptions) -> None:
    with console(out) as c:
        c.print(f"[bold]{e.workflow}[/] on [bold]{e.entity_id}[/] as of {e.as_of.isoformat()} (source {e.source})")
        for r in e.rules:
            if not r.found:
                c.print(f"\n[dim]{r.rule_id}: no active {e.platform} {r.level} with id {e.entity_id}[/]")
                continue
            head = "[green]fires[/]" if r.fires else "[dim]does not fire[/]"
            c.print(
                f"\n[bold]{r.rule_id}[/] ({r.level}, {r.window}): {head}"
                + ("" if r.fires == r.batch_fires else "  [bold red]batch engine disagrees: please report[/]")
            )
            c.print(f"  when: {r.when}")
            table = Table(show_header=True, box=None, pad_edge=False)
            table.add_column("  expression", overflow="fold")
            table.add_column("value", justify="right")
            for text, value in r.steps:
                table.add_row(f"  {text}", fmt_value(value, unit_of(text)))
            c.print(table)
            if r.fires:
                if r.noop:
                    c.print(f"  action {r.action_type}: nothing to do (already in that state)")
                elif r.skip_reason:
                    c.print(f"  action {r.action_type}: [dim]skipped: {r.skip_reason}[/]")
                else:
                    proposed = ", ".join(fmt_change(k, r.before.get(k), v) for k, v in r.after.items())
                    c.print(f"  action {r.action_type}: {proposed}")
        for note in e.notes:
            c.print(f"\n{escape(note)}")
        if not e.found:
            return
        c.print("\n[bold]safety pipeline[/]" + ("" if e.actions else ": no action proposed for this entity"))
        for a in e.actions:
            style = STATUS_STYLE.get(a.status, "")
            c.print(f"  {a.rule_id}: {change(a)} -> [{style}]{a.status}[/] (autonomy {a.autonomy})")
            for g in a.guardrails:
                c.print(f"    {g['effect']}: {g['name']}: {g['message']}")
