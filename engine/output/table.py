"""The human table: grouped by workflow, with the one-line summary at the end."""

from __future__ import annotations

import io
from itertools import groupby
from typing import IO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engine.core.plan import Plan
from engine.output import RenderOptions
from engine.output.console import UNWRAPPED, output_width
from engine.output.text import change, entity_label, evidence

STATUS_STYLE = {
    "planned": "green",
    "clamped": "yellow",
    "blocked": "red",
    "needs_approval": "magenta",
    "skipped": "dim",
    "executed": "bold green",
    "failed": "bold red",
}


def render_table(plan: Plan, out: IO[bytes], options: RenderOptions) -> None:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=options.color,
        # a terminal's own width; piped output as wide as its content (never wrapped)
        width=output_width(out),
        highlight=False,
        soft_wrap=False,
        emoji=False,
    )
    console.print(
        f"[bold]rulerun plan[/] as of {plan.as_of.isoformat()} · source {plan.source} · "
        f"{plan.entities_evaluated:,} entities · {plan.rules_evaluated} rules"
    )
    for workflow, group in groupby(plan.actions, key=lambda a: a.workflow):
        actions = list(group)
        table = Table(
            title=f"{workflow} · {len(actions)} action(s)",
            title_justify="left",
            expand=False,
            show_lines=False,
        )
        # on a terminal, long names fold to fit; piped, names, ids and changes keep one line each
        fit = (lambda n: n) if console.width < UNWRAPPED else (lambda n: None)
        table.add_column("Entity", overflow="fold", max_width=fit(42))
        table.add_column("Rule", overflow="fold", max_width=fit(28))
        table.add_column("Change", overflow="fold", max_width=fit(40))
        table.add_column("Evidence", overflow="fold", min_width=30, max_width=60)
        table.add_column("Status", max_width=fit(30))
        shown = actions if options.limit is None else actions[: options.limit]
        for a in shown:
            status = a.status
            style = STATUS_STYLE.get(status, "")
            reason = "; ".join(a.reasons[1:]) if len(a.reasons) > 1 else ""
            table.add_row(  # names, messages and reasons quote data and rule files: never markup
                escape(entity_label(a)),
                a.rule_id,
                escape(change(a)),
                escape(evidence(a, sep="\n")),
                f"[{style}]{status}[/]" + (f"\n[dim]{escape(reason)}[/]" if reason else ""),
            )
        console.print(table)
        if len(shown) < len(actions):
            console.print(
                f"  … {len(actions) - len(shown):,} more in {workflow} "
                f"(--limit 0 shows all; --format json for everything)"
            )
    for note in plan.data_quality:
        console.print(f"[yellow]data quality:[/] {escape(str(note.get('message')))}")
    console.print(f"[bold]{plan.summary_line()}[/]")
    out.write(buffer.getvalue().encode("utf-8"))
