"""`rulerun test` results: each failure with what was expected and what came instead, the
`N passed, N failed` line, GitHub annotations, and JUnit XML for CI test reports."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import IO

from engine.authoring.ruletests import Outcome, RuleTestReport
from engine.output import RenderOptions
from engine.output.ci import annotation, diagnostic_annotations, write_step_summary


def _write(out: IO[bytes], line: str) -> None:
    out.write((line + "\n").encode("utf-8"))


def _report(report: RuleTestReport, out: IO[bytes], github: bool) -> None:
    for o in report.failed:
        _write(out, f"FAIL {o.test.file}:{o.test.line}: {o.test.name}")
        for failure in o.failures:
            _write(out, f"  {failure}")
        if github:
            message = f"{o.test.name}: " + "\n".join(o.failures)
            _write(out, annotation("error", message, o.test.file, o.test.line))
    failed = len(report.failed)
    _write(out, f"{len(report.outcomes) - failed} passed, {failed} failed")


def render_text(report: RuleTestReport, out: IO[bytes], options: RenderOptions) -> None:
    if report.error is None:
        _report(report, out, github=False)


def render_github(report: RuleTestReport, out: IO[bytes], options: RenderOptions) -> None:
    if report.error is not None:
        _write(out, "\n".join(diagnostic_annotations(report.error.diagnostics)))
        return
    _report(report, out, github=True)
    failed = report.failed
    write_step_summary(
        f"### rulerun test\n\n{len(report.outcomes) - len(failed)} passed, {len(failed)} failed\n\n"
        + "\n".join(f"- failed: `{o.test.id}`" for o in failed)
    )


def junit_xml(outcomes: list[Outcome]) -> bytes:
    """JUnit XML: a testsuite per file, a testcase per test, a failure element with the message."""
    suites = ET.Element("testsuites", tests=str(len(outcomes)), failures=str(sum(not o.passed for o in outcomes)))
    by_file: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_file.setdefault(o.test.file, []).append(o)
    for file, group in by_file.items():
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=file,
            tests=str(len(group)),
            failures=str(sum(not o.passed for o in group)),
            errors="0",
            time=f"{sum(o.seconds for o in group):.3f}",
        )
        for o in group:
            case = ET.SubElement(
                suite,
                "testcase",
                name=o.test.name,
                classname=file,
                file=file,
                line=str(o.test.line),
                time=f"{o.seconds:.3f}",
            )
            if not o.passed:
                failure = ET.SubElement(case, "failure", message=o.failures[0].splitlines()[0])
                failure.text = "\n".join(o.failures)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)
