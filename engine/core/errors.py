"""Diagnostics and the exceptions that carry them to the command line.

Every user mistake becomes a Diagnostic with a file, line and column (1-based) and a
hint saying how to fix it; the CLI prints them and exits with the documented code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

EXIT_OK = 0
EXIT_INVALID = 1  # invalid rules or data
EXIT_USAGE = 2  # bad command-line usage (click's own code)
EXIT_CHANGES = 2  # --detailed-exitcode: the plan has changes, or two plans differ (Terraform's convention)
EXIT_APPLY_FAILED = 3  # apply: at least one action failed
EXIT_STOPPED = 4  # apply: emergency stop engaged
EXIT_STATE_BUSY = 5  # the state directory is locked by another rulerun process

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a user's file, positioned at file:line:col."""

    file: str | None
    line: int | None
    col: int | None
    message: str
    hint: str | None = field(default=None, compare=False)
    severity: Severity = field(default="error", compare=False)
    code: str | None = field(default=None, compare=False)

    @property
    def location(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)

    def format(self) -> str:
        text = f"{self.location}: {self.severity}: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }


def _order(d: Diagnostic) -> tuple:
    # Unpositioned diagnostics first within a file; None never compares with an int.
    return (d.file or "", d.line or 0, d.col or 0, d.message)


class RulerunError(Exception):
    """An error meant for the user: printed without a traceback."""

    exit_code = EXIT_INVALID

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class DiagnosticsError(RulerunError):
    """One or more diagnostics; raised after all of them were collected."""

    def __init__(self, diagnostics: list[Diagnostic], message: str = "invalid input"):
        super().__init__(message)
        self.diagnostics = sorted(diagnostics, key=_order)


class ValidationFailed(DiagnosticsError):
    """The rules folder is invalid."""


class DataError(DiagnosticsError):
    """A data source is unreadable or does not match the data contract."""


class StateBusy(RulerunError):
    exit_code = EXIT_STATE_BUSY


class UsageError(RulerunError):
    exit_code = EXIT_USAGE
