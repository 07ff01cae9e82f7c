"""The `rulerun` command line.

Only click is imported at start-up: each command imports what it needs when it runs,
so `rulerun --help` stays fast and never loads DuckDB or a platform SDK.
"""

from __future__ import annotations

import sys
from datetime import date

import click

from engine import __version__

EXIT_CODES_HELP = """\b
Exit codes:
  0  success
  1  invalid rules or data (every problem is listed as file:line:col)
  2  usage error (unknown option, bad argument)
  3  apply: at least one action failed
  4  apply: emergency stop engaged
  5  the state directory is locked by another rulerun process
"""


def _fail(exc) -> None:
    """Print a user error (no traceback) and exit with its code."""
    from rich.console import Console

    from engine.errors import DiagnosticsError

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    if isinstance(exc, DiagnosticsError):
        errors = sum(1 for d in exc.diagnostics if d.severity == "error")
        for d in exc.diagnostics:
            color = "red" if d.severity == "error" else "yellow"
            console.print(f"[bold]{d.location}[/]: [{color}]{d.severity}[/]: {d.message}", markup=True)
            if d.hint:
                console.print(f"  [dim]hint:[/] {d.hint}")
        console.print(f"[red]{exc.message}[/]" if errors else exc.message)
    else:
        console.print(f"[red]error:[/] {exc.message}")
        if exc.hint:
            console.print(f"  [dim]hint:[/] {exc.hint}")
    sys.exit(exc.exit_code)


class _Group(click.Group):
    def invoke(self, ctx):
        from engine.errors import RulerunError

        try:
            return super().invoke(ctx)
        except RulerunError as exc:
            _fail(exc)


def _parse_date(ctx, param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from None


rules_option = click.option(
    "--rules", "rules", metavar="PATH", envvar="RULERUN_RULES", help="Rules folder (default: ./rules)."
)
state_option = click.option(
    "--state-dir",
    metavar="DIR",
    envvar="RULERUN_STATE_DIR",
    help="State directory (default: .rulerun/ beside the rules folder).",
)
source_option = click.option(
    "--source",
    default="demo",
    show_default=True,
    metavar="SPEC",
    help="Data source: demo, demo:ad_groups=N,days=D, or file:DIR.",
)
as_of_option = click.option(
    "--as-of",
    "as_of",
    callback=_parse_date,
    metavar="DATE",
    help="Evaluation date (default: the day after the newest data).",
)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="rulerun")
def main() -> None:
    """rulerun: declarative rules for paid ads, email and conversion work.

    Rules live in git as YAML (rules/<operator>/<workflow>.yaml). `evaluate --dry-run`
    shows what they would do on the embedded demo data or your own; nothing is changed.
    """


@main.command()
@rules_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def validate(rules: str | None, fmt: str) -> None:
    """Check every rule file: YAML, schema, names, types and platform support.

    Reports every problem at once as file:line:col with a hint; exits 1 when any is an
    error. Reads no data.
    """
    from engine.commands import validate_command

    validate_command(rules, fmt)


@main.command()
@click.option(
    "--dry-run",
    is_flag=True,
    default=True,
    help="Only show the plan (always the case for evaluate; `apply` executes).",
)
@rules_option
@click.option(
    "--workflow",
    "workflows",
    multiple=True,
    metavar="OP/WF",
    help="Evaluate only this workflow (repeatable); OP alone selects all of an operator's workflows.",
)
@source_option
@as_of_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "jsonl", "markdown"]),
    default="table",
    show_default=True,
    help="Output format; json is the plan contract (schemas/plan.schema.json).",
)
@click.option("--out", "out_path", metavar="FILE", help="Also save the plan as JSON to FILE.")
@click.option("--limit", default=50, show_default=True, help="Rows per workflow in table/markdown (0: all).")
@state_option
@click.option("--profile", is_flag=True, help="Print the time of each stage to stderr.")
def evaluate(dry_run: bool, rules, workflows, source, as_of, fmt, out_path, limit, state_dir, profile) -> None:
    """Evaluate workflows on the data and print the plan; changes nothing.

    \b
    Examples:
      rulerun evaluate --dry-run
      rulerun evaluate --dry-run --workflow pinterest/daily_optimize --format json
      rulerun evaluate --dry-run --source file:./exports --as-of 2026-11-01
    """
    from engine.commands import evaluate_command

    evaluate_command(
        rules=rules,
        workflows=workflows,
        source=source,
        as_of=as_of,
        fmt=fmt,
        out_path=out_path,
        limit=limit,
        state_dir=state_dir,
        profile=profile,
    )


@main.command()
@rules_option
@click.option("--workflow", required=True, metavar="OP/WF", help="The workflow to explain.")
@click.option("--entity", "entity_id", required=True, metavar="ID", help="The entity id.")
@source_option
@as_of_option
@state_option
def explain(rules, workflow, entity_id, source, as_of, state_dir) -> None:
    """Show why each rule of a workflow fires or not for one entity.

    Every sub-expression's value is computed by the reference interpreter and checked
    against the batch engine's verdict.
    """
    from engine.commands import explain_command

    explain_command(
        rules=rules, workflow=workflow, entity_id=entity_id, source=source, as_of=as_of, state_dir=state_dir
    )


@main.command()
@click.argument("name", required=False)
@click.option("--write", "write_dir", metavar="DIR", help="Write every schema into DIR (e.g. schemas).")
def schema(name: str | None, write_dir: str | None) -> None:
    """Print a JSON Schema (workflow, operator, guardrails, plan, entities, metrics-daily) or list them."""
    from engine.commands import schema_command

    schema_command(name, write_dir)


@main.command()
@click.argument(
    "topic",
    required=False,
    type=click.Choice(["functions", "metrics", "attributes", "names", "actions", "platforms", "windows"]),
)
def docs(topic: str | None) -> None:
    """Reference for rule writers, generated from the registries and the catalog."""
    from engine.commands import docs_command

    docs_command(topic)


if __name__ == "__main__":  # pragma: no cover
    main()
