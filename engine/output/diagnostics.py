"""`rulerun validate` and `rulerun lint` results: the summary, JSON, or GitHub annotations and step summary."""

from __future__ import annotations

import json
from typing import IO

from engine.authoring.lint import LintReport
from engine.output import RenderOptions
from engine.output.ci import diagnostic_annotations, write_step_summary
from engine.rules.service import Validation


def _lines(out: IO[bytes], *lines: str) -> None:
    for line in lines:
        out.write((line + "\n").encode("utf-8"))


def _json(out: IO[bytes], doc: dict) -> None:
    _lines(out, json.dumps(doc, indent=2))


# -- validate ------------------------------------------------------------------------------------


def _ok(v: Validation) -> str:
    return f"ok: {len(v.operators)} operator(s), {len(v.workflows)} workflow(s), {v.rules} rule(s) in {v.root}"


def render_validation_text(v: Validation, out: IO[bytes], options: RenderOptions) -> None:
    if v.valid:
        _lines(out, _ok(v))


def render_validation_json(v: Validation, out: IO[bytes], options: RenderOptions) -> None:
    if v.error is not None:
        _json(out, {"valid": False, "diagnostics": [d.to_dict() for d in v.error.diagnostics]})
        return
    _json(
        out,
        {
            "valid": True,
            "operators": v.operators,
            "workflows": v.workflows,
            "rules": v.rules,
            "diagnostics": [d.to_dict() for d in v.warnings],
        },
    )


def render_validation_github(v: Validation, out: IO[bytes], options: RenderOptions) -> None:
    if v.error is not None:
        diagnostics = v.error.diagnostics
        _lines(out, "\n".join(diagnostic_annotations(diagnostics)))
        write_step_summary(
            "### rulerun validate\n\n" + "\n".join(f"- `{d.location}` {d.severity}: {d.message}" for d in diagnostics)
        )
        return
    _lines(out, _ok(v))
    if v.warnings:
        _lines(out, "\n".join(diagnostic_annotations(v.warnings)))
    write_step_summary(f"### rulerun validate\n\nok: {len(v.workflows)} workflow(s), {v.rules} rule(s)")


# -- lint ----------------------------------------------------------------------------------------


def render_lint_text(report: LintReport, out: IO[bytes], options: RenderOptions) -> None:
    if report.error is not None:
        return
    _lines(out, *(d.format() for d in report.warnings), f"lint: {len(report.warnings)} warning(s)")


def render_lint_json(report: LintReport, out: IO[bytes], options: RenderOptions) -> None:
    if report.error is None:
        _json(out, {"warnings": [d.to_dict() for d in report.warnings]})


def render_lint_github(report: LintReport, out: IO[bytes], options: RenderOptions) -> None:
    if report.error is not None:
        _lines(out, "\n".join(diagnostic_annotations(report.error.diagnostics)))
        return
    render_lint_text(report, out, options)
    warnings = report.warnings
    if warnings:
        _lines(out, "\n".join(diagnostic_annotations(warnings)))
    listed = "\n".join(f"- `{d.location}` {d.code}: {d.message}" for d in warnings)
    write_step_summary(f"### rulerun lint\n\n{len(warnings)} warning(s)\n\n{listed}")
