"""Markdown for pull-request comments and CI step summaries."""

from __future__ import annotations

from itertools import groupby
from typing import IO

from engine.core.plan import Plan
from engine.output import RenderOptions
from engine.output.text import change, entity_label, evidence


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(plan: Plan, out: IO[bytes], options: RenderOptions) -> None:
    lines = [
        f"### rulerun plan · as of {plan.as_of.isoformat()}",
        "",
        f"**{plan.summary_line()}** · source `{plan.source}` · {plan.entities_evaluated:,} entities · "
        f"{plan.rules_evaluated} rules",
        "",
    ]
    for workflow, group in groupby(plan.actions, key=lambda a: a.workflow):
        actions = list(group)
        lines += [
            f"#### {workflow} ({len(actions)})",
            "",
            "| Entity | Rule | Change | Evidence | Status |",
            "|---|---|---|---|---|",
        ]
        shown = actions if options.limit is None else actions[: options.limit]
        for a in shown:
            lines.append(
                "| "
                + " | ".join(_cell(x) for x in (entity_label(a), a.rule_id, change(a), evidence(a), a.status))
                + " |"
            )
        if len(shown) < len(actions):
            lines.append(f"\n… {len(actions) - len(shown):,} more")
        lines.append("")
    for note in plan.data_quality:
        lines.append(f"> data quality: {note.get('message')}")
    out.write(("\n".join(lines) + "\n").encode("utf-8"))
