"""What every command implementation shares: opening the rules, showing results and errors."""

from __future__ import annotations

import sys
from typing import Any

from engine.core.errors import RulerunError
from engine.output import RenderOptions, render
from engine.output.errors import render_warnings
from engine.rules.service import OpenProject, open_project


def opened(rules: str | None, state_dir: str | None = None) -> OpenProject:
    """The rules folder loaded for a run; its warnings go to standard error at once."""
    project = open_project(rules, state_dir)
    render_warnings(project.project.warnings)
    return project


def show(result: Any, fmt: str = "text", **options: Any) -> None:
    """Render `result` on standard output in format `fmt`."""
    render(result, fmt, options=RenderOptions(fmt, **options))


def finish(error: RulerunError | None, *, shown: bool = False) -> None:
    """After rendering a result that carries an error: exit with its code, reporting it on
    standard error unless the output already `shown` it (a JSON document listing the problems)."""
    if error is None:
        return
    if shown:
        sys.exit(error.exit_code)
    raise error
