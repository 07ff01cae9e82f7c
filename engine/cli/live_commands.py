"""What `sync` and `connections` do: the live platforms of rulerun.yaml."""

from __future__ import annotations

import sys
from datetime import date

from engine.cli.common import opened, show
from engine.cli.progress import TerminalProgress
from engine.evaluation.live import check_connections, sync_workspace


def sync_command(*, rules, state_dir, platform, since: date | None) -> None:
    project = opened(rules, state_dir)
    report = sync_workspace(project.workspace, project.catalog, platform, since, TerminalProgress())
    show(report)
    if report.failed:
        sys.exit(1)


def connections_command(*, rules, state_dir) -> None:
    """Each configured platform: its credential variables (present or not, never values), and a live check."""
    project = opened(rules, state_dir)
    report = check_connections(project.workspace, project.catalog)
    show(report)
    if report.failures:
        sys.exit(1)
