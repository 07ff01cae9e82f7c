"""What `rulerun truth` does: the weekly truth check, rendered."""

from __future__ import annotations

from datetime import date

from engine.cli.common import opened, show
from engine.cli.progress import TerminalProgress
from engine.evaluation.truth import truth_report


def truth_command(
    *, rules, state_dir, source: str | None, as_of: date | None, weeks: int, window: str, fmt: str
) -> None:
    project = opened(rules, state_dir)
    source = project.workspace.source_for(source)  # --source, else rulerun.yaml's, else the demo
    show(truth_report(project, source, as_of, weeks, TerminalProgress(), window), fmt)
