"""Every command's results, rendered through one registry: `render(result, format, out, options)`.

RENDERERS maps a result type to its formats and the function that writes each one; a
format's module is imported only when it is used, and this module imports nothing heavy,
so the command line can offer a command's formats (`formats_for`) without loading them.

The formats mean the same for every result: `text` (also called `table`) is for people,
`json` is one JSON document, `jsonl` one record per line, `markdown` a pull-request
comment, `github` workflow-command annotations and the job's step summary. A result
offers only the formats that make sense for it; asking for another one is a usage error.
"""

from __future__ import annotations

import importlib
import io
import sys
from dataclasses import dataclass
from typing import IO, Any, Protocol

from engine.core.errors import UsageError

FORMATS = ("text", "table", "json", "jsonl", "markdown", "github")  # in the order help lists them
ALIASES = {"table": "text"}

_PLAN = {
    "text": "engine.output.table:render_table",
    "json": "engine.output.json_format:render_json",
    "jsonl": "engine.output.json_format:render_jsonl",
    "markdown": "engine.output.markdown:render_markdown",
    "github": "engine.output.github:render_github",
}

# result type (module.Class) -> format -> "module:function"
RENDERERS: dict[str, dict[str, str]] = {
    "engine.core.plan.Plan": _PLAN,
    "engine.rules.service.Validation": {
        "text": "engine.output.diagnostics:render_validation_text",
        "json": "engine.output.diagnostics:render_validation_json",
        "github": "engine.output.diagnostics:render_validation_github",
    },
    "engine.authoring.lint.LintReport": {
        "text": "engine.output.diagnostics:render_lint_text",
        "json": "engine.output.diagnostics:render_lint_json",
        "github": "engine.output.diagnostics:render_lint_github",
    },
    "engine.authoring.ruletests.RuleTestReport": {
        "text": "engine.output.ruletests:render_text",
        "github": "engine.output.ruletests:render_github",
    },
    "engine.evaluation.explain.Explanation": {"text": "engine.output.explain:render_text"},
    "engine.data.entities.EntityListing": {
        "text": "engine.output.entities:render_text",
        "json": "engine.output.entities:render_json",
    },
    "engine.authoring.diff.PlanDiff": {
        "text": "engine.output.diff:render_table",
        "markdown": "engine.output.diff:render_markdown",
        "json": "engine.output.diff:render_json",
        "github": "engine.output.diff:render_github",
    },
    "engine.authoring.backtest.Backtest": {
        "text": "engine.output.backtest:render_table",
        "json": "engine.output.backtest:render_json",
        "markdown": "engine.output.backtest:render_markdown",
    },
    "engine.apply.service.ApplyResult": {"text": "engine.output.apply:render_apply"},
    "engine.apply.rollback.RollbackReport": {"text": "engine.output.apply:render_rollback"},
    "engine.apply.records.StopChange": {"text": "engine.output.apply:render_stop"},
    "engine.apply.records.Decision": {
        "text": "engine.output.apply:render_decision",
        "json": "engine.output.apply:render_decision_json",
    },
    "engine.apply.records.ActionListing": {
        "text": "engine.output.action_log:render_listing",
        "json": "engine.output.action_log:render_listing_json",
    },
    # one action: readable text, or its whole row as JSON
    "engine.apply.records.ActionRecord": {
        "text": "engine.output.action_log:render_record_text",
        "json": "engine.output.action_log:render_record",
    },
    "engine.apply.impact.ImpactReport": {
        "text": "engine.output.action_log:render_impact",
        "json": "engine.output.action_log:render_impact_json",
    },
    "engine.data.sync.SyncReport": {"text": "engine.output.live:render_sync"},
    "engine.evaluation.truth.TruthReport": {
        "text": "engine.output.truth:render_text",
        "json": "engine.output.truth:render_json",
    },
    "engine.evaluation.live.ConnectionsReport": {"text": "engine.output.live:render_connections"},
    "engine.authoring.schemas.SchemaList": {"text": "engine.output.schemas:render_list"},
    "engine.authoring.schemas.SchemaDocument": {
        "text": "engine.output.schemas:render_document",
        "json": "engine.output.schemas:render_document",
    },
    "engine.authoring.schemas.SchemasWritten": {"text": "engine.output.schemas:render_written"},
    "engine.output.reference_docs.ReferenceDocs": {"text": "engine.output.reference_docs:render_text"},
}


@dataclass
class RenderOptions:
    format: str = "text"
    limit: int | None = 50  # rows per workflow in human formats; None for all
    color: bool | None = None
    err: IO[bytes] | None = None  # where a result's problems go (failures, refusals); None: stderr


class Renderer(Protocol):
    def __call__(self, result: Any, out: IO[bytes], options: RenderOptions) -> None: ...


def type_name(result_type: type) -> str:
    return f"{result_type.__module__}.{result_type.__qualname__}"


def formats_for(*result_types: str) -> list[str]:
    """The formats a command returning these result types offers (`text` and `table` both, when human)."""
    offered = {f for t in result_types for f in RENDERERS[t]}
    if "text" in offered:
        offered.add("table")
    return [f for f in FORMATS if f in offered]


def get_renderer(result_type: str, fmt: str) -> Renderer:
    """The function rendering `result_type` in `fmt`; a usage error when the result has no such format."""
    formats = RENDERERS[result_type]
    spec = formats.get(ALIASES.get(fmt, fmt))
    if spec is None:
        what = result_type.rsplit(".", 1)[-1]
        raise UsageError(
            f"--format {fmt} is not available for this command ({what})",
            hint="formats: " + ", ".join(formats_for(result_type)),
        )
    module, _, function = spec.partition(":")
    return getattr(importlib.import_module(module), function)


def render(result: Any, fmt: str = "text", out: IO[bytes] | None = None, options: RenderOptions | None = None) -> None:
    """Write `result` in format `fmt` to `out` (default: standard output)."""
    options = options or RenderOptions(fmt)
    renderer = get_renderer(type_name(type(result)), fmt)
    if out is None:
        sys.stdout.flush()  # text printed before must come first
    stream = out if out is not None else sys.stdout.buffer
    renderer(result, stream, options)
    stream.flush()


def render_bytes(result: Any, fmt: str, options: RenderOptions | None = None) -> bytes:
    """`result` rendered in `fmt`, as bytes (for a file)."""
    buffer = io.BytesIO()
    render(result, fmt, buffer, options)
    return buffer.getvalue()
