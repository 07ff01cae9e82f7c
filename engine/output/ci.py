"""GitHub Actions integration: workflow-command annotations and the job's step summary.

`--format github` prints `::error file=...,line=...,col=...::message` lines that GitHub
turns into annotations on the pull request's files, and appends a Markdown summary to the
file named by GITHUB_STEP_SUMMARY when that variable is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from engine.core.errors import Diagnostic


def _escape(text: str, prop: bool = False) -> str:
    # GitHub's workflow-command escaping: data escapes %, CR, LF; properties also : and ,
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def annotation(
    level: str,
    message: str,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    title: str | None = None,
) -> str:
    props = []
    if file:
        props.append(f"file={_escape(file, True)}")
    if line:
        props.append(f"line={line}")
    if col:
        props.append(f"col={col}")
    if title:
        props.append(f"title={_escape(title, True)}")
    return f"::{level} {','.join(props)}::{_escape(message)}" if props else f"::{level}::{_escape(message)}"


def diagnostic_annotations(diagnostics: Iterable[Diagnostic]) -> list[str]:
    out = []
    for d in diagnostics:
        message = d.message + (f" (hint: {d.hint})" if d.hint else "")
        out.append(
            annotation(d.severity if d.severity in ("error", "warning") else "notice", message, d.file, d.line, d.col)
        )
    return out


def write_step_summary(markdown: str) -> bool:
    """Append to $GITHUB_STEP_SUMMARY; False when not running in GitHub Actions."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(markdown.rstrip() + "\n\n")
    return True
