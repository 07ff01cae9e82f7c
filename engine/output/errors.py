"""Errors and warnings as people see them: every diagnostic at file:line:col with its hint.

Light on purpose: the command line imports it to report any error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

from rich.markup import escape  # messages quote the user's text: a key named "[/]" must print as written

from engine.core.errors import Diagnostic, DiagnosticsError, RulerunError
from engine.output.console import console


def render_error(exc: RulerunError, err: IO[bytes] | None = None) -> None:
    """A user error (no traceback): every diagnostic with its hint, or the message and its hint."""
    with console(err) as c:
        if isinstance(exc, DiagnosticsError):
            errors = sum(1 for d in exc.diagnostics if d.severity == "error")
            for d in exc.diagnostics:
                color = "red" if d.severity == "error" else "yellow"
                c.print(f"[bold]{escape(d.location)}[/]: [{color}]{d.severity}[/]: {escape(d.message)}", markup=True)
                if d.hint:
                    c.print(f"  [dim]hint:[/] {escape(d.hint)}")
            c.print(f"[red]{escape(exc.message)}[/]" if errors else escape(exc.message))
        else:
            c.print(f"[red]error:[/] {escape(exc.message)}")
            if exc.hint:
                c.print(f"  [dim]hint:[/] {escape(exc.hint)}")


def render_warnings(diagnostics: Iterable[Diagnostic], err: IO[bytes] | None = None) -> None:
    """Warnings of a rules folder that loaded, on standard error."""
    diagnostics = list(diagnostics)
    if not diagnostics:
        return
    with console(err) as c:
        for d in diagnostics:
            c.print(f"[bold]{escape(d.location)}[/]: [yellow]warning[/]: {escape(d.message)}")
            if d.hint:
                c.print(f"  [dim]hint:[/] {escape(d.hint)}")


def render_notice(message: str, hint: str | None = None, err: IO[bytes] | None = None) -> None:
    """A warning about the run rather than a file (`warning: ...`), on standard error."""
    with console(err) as c:
        c.print(f"[yellow]warning:[/] {escape(message)}")
        if hint:
            c.print(f"  [dim]hint:[/] {escape(hint)}")
