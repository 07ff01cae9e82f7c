"""Markdown for pull-request comments and CI step summaries."""

from __future__ import annotations

from itertools import groupby
from typing import IO

from engine.core.plan import Plan, PlannedAction
from engine.output import RenderOptions
from engine.output.text import change, entity_label, evidence

# Characters with a meaning in GitHub Markdown inside a table cell; `#`, `+`, `-` and `!` only
# mean something at the start of a line or before `[`, which never happens inside a cell.
_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_[]~|"})


def md_cell(text: str) -> str:
    """Data (entity names, messages, keyword text) as literal text in a Markdown table cell:
    HTML is shown, not rendered, Markdown is shown, not applied, and a `|` does not split the row."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(text.translate(_MARKDOWN).split())


def status_cell(a: PlannedAction) -> str:
    """The status, and for any action that does not simply go ahead, why (guardrails, conflicts, escalation)."""
    why = a.reasons[1:]
    return a.status + (": " + md_cell("; ".join(why)) if why and a.status != "planned" else "")


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
                # rule ids are validated names (letters, digits, `_`) and statuses fixed words: shown as written
                + " | ".join((md_cell(entity_label(a)), a.rule_id, md_cell(change(a)), md_cell(evidence(a))))
                + f" | {status_cell(a)} |"
            )
        if len(shown) < len(actions):
            lines.append(f"\n… {len(actions) - len(shown):,} more")
        lines.append("")
    for note in plan.data_quality:
        lines.append(f"> data quality: {md_cell(str(note.get('message')))}")
    out.write(("\n".join(lines) + "\n").encode("utf-8"))
