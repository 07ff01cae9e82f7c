"""`--format github` for plans: a notice on each rule that proposes actions, the summary line,
and the Markdown plan in the job's step summary."""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from typing import IO

from engine.core.plan import Plan
from engine.core.status import ActionStatus
from engine.output import RenderOptions
from engine.output.ci import annotation, write_step_summary
from engine.output.markdown import render_markdown


def render_github(plan: Plan, out: IO[bytes], options: RenderOptions) -> None:
    by_rule: dict[tuple[str, str], Counter] = defaultdict(Counter)
    where = {}
    for a in plan.actions:
        by_rule[(a.workflow, a.rule_id)][a.status] += 1
        if a.rule_file:
            where[(a.workflow, a.rule_id)] = (a.rule_file, a.rule_line)
    lines = []
    for (workflow, rule), counts in sorted(by_rule.items()):
        file, line = where.get((workflow, rule), (None, None))
        text = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(counts.items()))
        level = "warning" if counts.get(ActionStatus.BLOCKED) or counts.get(ActionStatus.FAILED) else "notice"
        lines.append(annotation(level, f"{workflow}/{rule}: {text}", file, line, title="rulerun plan"))
    lines.append(plan.summary_line())
    out.write(("\n".join(lines) + "\n").encode("utf-8"))
    buffer = io.BytesIO()
    render_markdown(plan, buffer, options)
    write_step_summary(buffer.getvalue().decode("utf-8"))
