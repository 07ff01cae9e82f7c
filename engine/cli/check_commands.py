"""What `validate` and `lint` do: static checks of the rules folder, no data read."""

from __future__ import annotations

from engine.authoring.lint import lint
from engine.cli.common import finish, show
from engine.core.errors import EXIT_OK
from engine.output.errors import render_warnings
from engine.rules.service import validate


def validate_command(rules: str | None, fmt: str) -> None:
    result = validate(rules)
    render_warnings(result.warnings)
    show(result, fmt)
    finish(result.error, shown=fmt == "json")


def lint_command(rules: str | None, strict: bool, fmt: str) -> int:
    """Print the rules folder's lint warnings; 1 with `strict` when there are any, else 0.

    Invalid rules raise ValidationFailed, as the loader does (after `github` annotations).
    """
    report = lint(rules)
    show(report, fmt)
    finish(report.error)
    return 1 if strict and report.warnings else EXIT_OK
