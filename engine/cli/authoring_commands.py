"""What `diff`, `backtest` and `test` do: a rules change evaluated, replayed and unit-tested."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from engine.authoring.backtest import backtest
from engine.authoring.diff import diff
from engine.authoring.ruletests import run_tests
from engine.cli.common import finish, opened, show
from engine.cli.progress import TerminalProgress
from engine.core.errors import EXIT_CHANGES, EXIT_OK
from engine.output.backtest import check_chart_path, render_chart
from engine.output.console import console
from engine.output.files import write_atomic
from engine.output.ruletests import junit_xml


def diff_command(
    *,
    base: str,
    rules: str | None,
    source: str | None,
    as_of: date | None,
    state_dir: str | None,
    fmt: str,
    workflows: tuple[str, ...] | list[str] | None = None,
    detailed_exitcode: bool = False,
) -> int:
    """Print what the working tree's rules change against `base`; 2 with `detailed_exitcode` when the plans differ."""
    project = opened(rules, state_dir)
    source = project.workspace.source_for(source)
    result = diff(project, base, workflows=workflows, source=source, as_of=as_of, progress=TerminalProgress())
    show(result, fmt)
    return EXIT_CHANGES if detailed_exitcode and result.has_changes else EXIT_OK


def backtest_command(
    *,
    rules: str | None,
    workflows: tuple[str, ...] | list[str] | None,
    source: str | None,
    date_from: date | None,
    date_to: date | None,
    state_dir: str | None,
    fmt: str,
    chart: str | None = None,
) -> int:
    """Print the backtest report (and write the chart); returns 0."""
    chart_path = check_chart_path(chart) if chart else None
    project = opened(rules, state_dir)
    result = backtest(
        project,
        workflows=workflows,
        source=project.workspace.source_for(source),
        date_from=date_from,
        date_to=date_to,
        progress=TerminalProgress(),
    )
    show(result, fmt)
    if chart_path:
        write_atomic(chart_path, render_chart(result).encode("utf-8"))
        with console(None) as err:
            err.print(f"wrote {chart_path}")
    return EXIT_OK


def test_command(paths: list[str], rules: str | None, run_regex: str | None, junit: str | None, fmt: str) -> int:
    """Check the test files, run the selected tests, report; 0 when all pass, else 1."""
    report = run_tests(paths, rules, run_regex)
    show(report, fmt)
    finish(report.error)
    if junit:
        write_atomic(Path(junit), junit_xml(report.outcomes))
    return 0 if report.passed else 1


test_command.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, whatever its name
