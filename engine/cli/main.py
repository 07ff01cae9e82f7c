"""The `rulerun` command line: options and arguments only.

Each command parses its options, calls its implementation (engine/cli/*_commands.py: a
service, then the result rendered) and exits with the documented code. Only click and
the light format registry are imported at start-up: implementations are imported when a
command runs, so `rulerun --help` stays fast and never loads DuckDB or a platform SDK.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta

import click

from engine import __version__
from engine.core.dates import out_of_range
from engine.core.errors import EXIT_INVALID, RulerunError, UsageError
from engine.output import formats_for
from engine.rules.durations import OPTION_LONGEST, DurationOutOfRange, parse_duration

EXIT_CODES_HELP = """\b
Exit codes:
  0  success
  1  invalid rules or data (every problem is listed as file:line:col)
  2  usage error (unknown option, bad argument)
  3  apply: at least one action failed or cannot execute
  4  apply: emergency stop engaged
  5  the state directory is locked by another rulerun process
With --detailed-exitcode (evaluate, diff): 0 no changes, 2 changes, 1 any error.
"""

DETAILED_EXITCODE = "--detailed-exitcode"


def _fail(exc: RulerunError, detailed: bool = False) -> None:
    """Print a user error (no traceback) and exit with its code (1 under --detailed-exitcode)."""
    from engine.output.errors import render_error

    render_error(exc)
    sys.exit(EXIT_INVALID if detailed else exc.exit_code)


class _Group(click.Group):
    """Under --detailed-exitcode, 2 means "changes" only, as Terraform has it: every error,
    usage errors included, exits 1 so a typo in CI can never pass as a plan with changes."""

    def parse_args(self, ctx, args):
        ctx.meta[DETAILED_EXITCODE] = DETAILED_EXITCODE in args
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        detailed = bool(ctx.meta.get(DETAILED_EXITCODE))
        try:
            return super().invoke(ctx)
        except RulerunError as exc:
            _fail(exc, detailed)
        except click.ClickException as exc:
            if detailed:
                exc.exit_code = EXIT_INVALID
            raise


def _format(*result_types: str, default: str, help: str | None = None):
    """--format with the formats registered for what the command shows (engine/output)."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(formats_for(*result_types)),
        default=default,
        show_default=True,
        help=help,
    )


def _parse_date(ctx, param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from None
    problem = out_of_range(day, "date")
    if problem:
        raise click.BadParameter(problem)
    return day


rules_option = click.option(
    "--rules",
    "rules",
    metavar="PATH",
    envvar="RULERUN_RULES",
    help="Rules folder (default: rules/ of the nearest folder at or above the working directory that has one).",
)
state_option = click.option(
    "--state-dir",
    metavar="DIR",
    envvar="RULERUN_STATE_DIR",
    help="State directory (default: .rulerun/ beside the rules folder).",
)
source_option = click.option(
    "--source",
    metavar="SPEC",
    help="Data source: demo, demo:ad_groups=N,days=D, file:DIR, or live (syncs rulerun.yaml's accounts first). "
    "Default: rulerun.yaml's `source`, else demo.",
)
as_of_option = click.option(
    "--as-of",
    "as_of",
    callback=_parse_date,
    metavar="DATE",
    help="Evaluation date (default: the day after the newest data).",
)


LOG_LIMIT = 1_000_000

log_url_option = click.option(
    "--log-url",
    metavar="URL",
    envvar="RULERUN_LOG_URL",
    help="Action log database (default: SQLite in the state directory; postgresql://... for a shared log).",
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
@_format(
    "engine.rules.service.Validation",
    default="text",
    help="github: annotations on the pull request's files and a step summary.",
)
def validate(rules: str | None, fmt: str) -> None:
    """Check every rule file: YAML, schema, names, types and platform support.

    Reports every problem at once as file:line:col with a hint; exits 1 when any is an
    error. Reads no data.
    """
    from engine.cli.check_commands import validate_command

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
@_format(
    "engine.core.plan.Plan",
    default="table",
    help="Output format; json is the plan contract (schemas/plan.schema.json); github "
    "annotates the rules in a pull request and writes the plan to the step summary.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when no action would run, 2 when actions are planned (or wait for approval), 1 on error.",
)
@click.option(
    "--out",
    "out_path",
    metavar="FILE",
    help="Also save the plan as JSON to FILE, recorded in the action log for `apply FILE`.",
)
@click.option("--limit", default=50, show_default=True, help="Rows per workflow in table/markdown (0: all).")
@state_option
@log_url_option
@click.option("--profile", is_flag=True, help="Print the time of each stage to stderr.")
def evaluate(
    dry_run: bool,
    rules,
    workflows,
    source,
    as_of,
    fmt,
    detailed_exitcode,
    out_path,
    limit,
    state_dir,
    log_url,
    profile,
) -> None:
    """Evaluate workflows on the data and print the plan; changes nothing.

    \b
    Examples:
      rulerun evaluate --dry-run
      rulerun evaluate --dry-run --workflow pinterest/daily_optimize --format json
      rulerun evaluate --dry-run --source file:./exports --as-of 2026-11-01
    """
    from engine.cli.commands import evaluate_command

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
        detailed_exitcode=detailed_exitcode,
        log_url=log_url,
    )


by_option = click.option("--by", metavar="NAME", help="Who is acting (default: $RULERUN_USER or the login name).")


def _duration(ctx, param, value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration(value, OPTION_LONGEST)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _since(ctx, param, value: str | None) -> datetime | None:
    """A date (2026-11-01), a time, or a duration back from now (24h, 7d)."""
    if not value:
        return None
    try:
        return datetime.now(UTC) - parse_duration(value, OPTION_LONGEST)
    except DurationOutOfRange as exc:
        raise click.BadParameter(str(exc)) from None
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--since {value!r} is neither a date nor a duration", hint="e.g. --since 24h or 2026-11-01"
        ) from None
    problem = out_of_range(parsed.date(), "date")
    if problem:
        raise click.BadParameter(problem)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@main.command()
@click.argument("plan_path", required=False, metavar="[PLAN]")
@rules_option
@click.option(
    "--workflow",
    "workflows",
    multiple=True,
    metavar="OP/WF",
    help="Apply only this workflow (repeatable), due by its schedule or not.",
)
@click.option("--all", "run_all", is_flag=True, help="Apply every workflow, due by its schedule or not.")
@source_option
@as_of_option
@state_option
@log_url_option
@click.option(
    "--max-plan-age", default="6h", show_default=True, callback=_duration, help="Refuse a saved PLAN older than this."
)
@click.option(
    "--approval-ttl",
    default="72h",
    show_default=True,
    envvar="RULERUN_APPROVAL_TTL",
    callback=_duration,
    help="How long a queued action waits for a human before it expires.",
)
@click.option("--profile", is_flag=True, help="Print the time of each stage to stderr.")
@by_option
def apply(
    plan_path, rules, workflows, run_all, source, as_of, state_dir, log_url, max_plan_age, approval_ttl, profile, by
) -> None:
    """Evaluate, pass the safety pipeline, and execute what may run automatically.

    Only the workflows due by their cron `schedule` since their last apply run (in the
    timezone of rulerun.yaml, default UTC); --workflow or --all choose by hand. Actions
    needing approval are queued (`rulerun approvals`); everything is logged with a
    rollback plan. With PLAN (saved by `evaluate --dry-run --out PLAN`) it executes
    exactly that plan, refusing it when it is older than --max-plan-age or the state of
    an entity changed since. Exit code 3 when an action failed or cannot execute, 4 under
    emergency stop.
    """
    from engine.cli.apply_commands import apply_command

    apply_command(
        plan_path=plan_path,
        rules=rules,
        workflows=workflows,
        source=source,
        as_of=as_of,
        state_dir=state_dir,
        log_url=log_url,
        max_plan_age=max_plan_age,
        approval_ttl=approval_ttl,
        profile=profile,
        by=by,
        run_all=run_all,
    )


@main.command()
@click.argument("action", type=click.Choice(["list", "show", "approve", "reject"]))
@click.argument("action_id", required=False)
@rules_option
@state_option
@log_url_option
@by_option
@click.option("--note", help="Why (kept in the log).")
@_format(
    "engine.apply.records.ActionListing",
    "engine.apply.records.ActionRecord",
    "engine.apply.records.Decision",
    default="table",
)
def approvals(action, action_id, rules, state_dir, log_url, by, note, fmt) -> None:
    """List, show, approve or reject actions waiting for a human.

    Approvals expire after 72 hours; an approved action executes on the next `apply`
    once it passes the pre-execution checks again.
    """
    from engine.cli.apply_commands import approvals_command

    approvals_command(action, action_id, state_dir=state_dir, rules=rules, log_url=log_url, by=by, note=note, fmt=fmt)


@main.command()
@click.argument("action_id", required=False)
@click.option("--run", "run_id", metavar="RUN_ID", help="Roll back every executed action of a run.")
@click.option("--force", is_flag=True, help="Roll back even if the entity changed since.")
@click.option("--dry-run", is_flag=True, help="Show what would be rolled back (after every check); change nothing.")
@rules_option
@state_option
@log_url_option
@by_option
def rollback(action_id, run_id, force, dry_run, rules, state_dir, log_url, by) -> None:
    """Restore the state before an action (or a whole run) from its logged rollback plan.

    ACTION_ID and RUN_ID may be abbreviated to a unique prefix, as git commits are.
    """
    from engine.cli.apply_commands import rollback_command

    rollback_command(
        action_id=action_id,
        run_id=run_id,
        force=force,
        rules=rules,
        state_dir=state_dir,
        log_url=log_url,
        by=by,
        dry_run=dry_run,
    )


@main.command()
@click.option("--reason", required=True, help="Why (shown to every runner).")
@rules_option
@state_option
@log_url_option
@by_option
def stop(reason, rules, state_dir, log_url, by) -> None:
    """Engage the emergency stop: every apply sharing the action log halts before its next action."""
    from engine.cli.apply_commands import stop_command

    stop_command(reason=reason, rules=rules, state_dir=state_dir, log_url=log_url, by=by)


@main.command()
@rules_option
@state_option
@log_url_option
@by_option
def resume(rules, state_dir, log_url, by) -> None:
    """Release the emergency stop."""
    from engine.cli.apply_commands import resume_command

    resume_command(rules=rules, state_dir=state_dir, log_url=log_url, by=by)


@main.command(name="log")
@click.option(
    "--since", metavar="WHEN", callback=_since, help="A date (2026-11-01) or a duration back from now (24h, 7d)."
)
@click.option("--status", "status_filter", help="Only actions with this status.")
@click.option("--platform", help="Only this platform.")
@click.option("--run", "run_id", metavar="RUN_ID", help="Only the actions of this run (a unique prefix will do).")
@_format("engine.apply.records.ActionListing", "engine.apply.impact.ImpactReport", default="table")
@click.option("--impact", is_flag=True, help="Before/after metrics at +1, +3 and +7 days, per action and per rule.")
@click.option(
    "--limit", default=1000, show_default=True, type=click.IntRange(1, LOG_LIMIT), help="At most this many rows."
)
@rules_option
@state_option
@log_url_option
def log_(since, status_filter, platform, run_id, fmt, impact, limit, rules, state_dir, log_url) -> None:
    """Show the action log: what ran, when, by whom, with what result."""
    from engine.cli.apply_commands import log_command

    log_command(
        since=since,
        status_filter=status_filter,
        platform=platform,
        fmt=fmt,
        impact=impact,
        rules=rules,
        state_dir=state_dir,
        log_url=log_url,
        limit=limit,
        run_id=run_id,
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
    from engine.cli.commands import explain_command

    explain_command(
        rules=rules, workflow=workflow, entity_id=entity_id, source=source, as_of=as_of, state_dir=state_dir
    )


@main.command()
@rules_option
@click.option("--platform", metavar="NAME", help="Only this platform's entities (meta, google, ...).")
@click.option("--level", metavar="LEVEL", help="Only this level (campaign, ad_group, keyword, ...).")
@click.option("--name", metavar="TEXT", help="Only entities whose name contains TEXT (any letter case).")
@click.option(
    "--limit",
    type=click.IntRange(0, LOG_LIMIT),
    default=100,
    show_default=True,
    help="Entities listed (0: all); the count of the rest is shown.",
)
@source_option
@state_option
@_format("engine.data.entities.EntityListing", default="text")
def entities(rules, platform, level, name, limit, source, state_dir, fmt) -> None:
    """List the source's entities with their ids, to find the one `explain --entity` needs.

    Shows platform, account, level, id, name, status and parent id, with the demo sandbox's
    changes; `--format json` lists them for tools.
    """
    from engine.cli.commands import entities_command

    entities_command(
        rules=rules,
        platform=platform,
        level=level,
        name=name,
        limit=None if limit == 0 else limit,
        source=source,
        state_dir=state_dir,
        fmt=fmt,
    )


@main.command()
@rules_option
@click.option("--strict", is_flag=True, help="Exit 1 when there is any warning.")
@_format("engine.authoring.lint.LintReport", default="text")
def lint(rules, strict, fmt) -> None:
    """Warn about rules that can never fire, shadowed rules, rules that propose opposite changes
    to one entity, thresholds nobody uses, and workflows without tests (each at file:line)."""
    from engine.cli.check_commands import lint_command

    sys.exit(lint_command(rules, strict, fmt))


@main.command()
@click.option(
    "--base",
    required=True,
    metavar="GIT_REF",
    help="Compare with the rules at this git ref (HEAD~1, origin/main, a tag).",
)
@rules_option
@click.option("--workflow", "workflows", multiple=True, metavar="OP/WF", help="Only this workflow (repeatable).")
@source_option
@as_of_option
@state_option
@_format("engine.authoring.diff.PlanDiff", default="table")
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0 when the plans are equal, 2 when they differ, 1 on any error."
)
def diff(base, rules, workflows, source, as_of, state_dir, fmt, detailed_exitcode) -> None:
    """What a rules change does: actions added, removed and changed against GIT_REF's rules,
    on the same data and evaluation date (the pull-request view)."""
    from engine.cli.authoring_commands import diff_command

    sys.exit(
        diff_command(
            base=base,
            rules=rules,
            source=source,
            as_of=as_of,
            state_dir=state_dir,
            fmt=fmt,
            workflows=workflows,
            detailed_exitcode=detailed_exitcode,
        )
    )


@main.command()
@click.option(
    "--from", "date_from", callback=_parse_date, metavar="DATE", help="First day (default: the data's first)."
)
@click.option(
    "--to", "date_to", callback=_parse_date, metavar="DATE", help="Last day (default: the day after the newest data)."
)
@rules_option
@click.option("--workflow", "workflows", multiple=True, metavar="OP/WF", help="Only this workflow (repeatable).")
@source_option
@state_option
@_format("engine.authoring.backtest.Backtest", default="table")
@click.option("--chart", metavar="FILE.html", help="Also draw actions and spend affected per day into FILE.html.")
def backtest(date_from, date_to, rules, workflows, source, state_dir, fmt, chart) -> None:
    """Replay workflows day by day on history, as if each day's safe actions had been applied
    (cooldowns and the safety pipeline included), and report what would have fired per day and rule."""
    from engine.cli.authoring_commands import backtest_command

    sys.exit(
        backtest_command(
            rules=rules,
            workflows=workflows,
            source=source,
            date_from=date_from,
            date_to=date_to,
            state_dir=state_dir,
            fmt=fmt,
            chart=chart,
        )
    )


@main.command(name="test")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@rules_option
@click.option("--run", "run_regex", metavar="REGEX", help="Only tests whose `file::name` matches.")
@click.option("--junit", metavar="FILE", help="Also write JUnit XML to FILE.")
@_format("engine.authoring.ruletests.RuleTestReport", default="text")
def test_(paths, rules, run_regex, junit, fmt) -> None:
    """Run the rule unit tests (rules/<operator>/<workflow>.test.yaml): given entities and daily
    metrics, the expected actions and final statuses, and the actions that must not happen."""
    from engine.cli.authoring_commands import test_command

    sys.exit(test_command(list(paths), rules, run_regex, junit, fmt))


@main.command()
@rules_option
@state_option
@click.option("--platform", metavar="NAME", help="Only this platform's accounts.")
@click.option(
    "--since",
    "since",
    callback=_parse_date,
    metavar="DATE",
    help="Read from this date (default: the days not stored yet plus the restatement window).",
)
def sync(rules, state_dir, platform, since) -> None:
    """Fill the metrics store from the live accounts of rulerun.yaml, incrementally.

    Only days not stored yet plus the platform's restatement window are read; each account
    is replaced all-or-nothing for its range. `--source live` on evaluate and apply syncs first.
    """
    from engine.cli.live_commands import sync_command

    sync_command(rules=rules, state_dir=state_dir, platform=platform, since=since)


@main.command()
@rules_option
@state_option
def connections(rules, state_dir) -> None:
    """List the configured platforms and accounts, which credential variables are set (never
    their values), and check each with the cheapest authenticated call; exit 1 when one fails."""
    from engine.cli.live_commands import connections_command

    connections_command(rules=rules, state_dir=state_dir)


@main.command()
@rules_option
@state_option
@source_option
@as_of_option
@click.option(
    "--weeks",
    default=4,
    show_default=True,
    type=click.IntRange(1, 520),
    help="How many complete weeks to show, the newest last.",
)
@click.option(
    "--window",
    default="last_30d",
    show_default=True,
    help="The window of the truth table (the store's and each product's truth.*).",
)
@_format("engine.evaluation.truth.TruthReport", default="text")
def truth(rules, state_dir, source, as_of, weeks, window, fmt) -> None:
    """Each ad platform's conversions against Shopify orders, per ISO week: the live over-reporting ratio.

    \b
    Shopify orders attributed to a platform are the week's orders split by the platform's
    share of campaign-level ad spend; ratio = platform conversions / those orders. The
    trend compares the ratio with the mean of the 4 weeks before (a move over 25% is
    drift). `credibility_ratio` in rules reads the ratio of the latest complete week, or
    the catalog seed when there is none; this command says which. The weekly ratios are
    stored in the metrics store.

    \b
    Then the truth metrics rules read over --window: the store's, and each product's (an
    entity whose `product` the store sells reads that product's orders, revenue and new
    customers against the spend of the entities tagged with it).

    \b
    Examples:
      rulerun truth
      rulerun truth --weeks 8 --format json
      rulerun truth --source live --window last_7d
    """
    from engine.cli.truth_commands import truth_command

    truth_command(rules=rules, state_dir=state_dir, source=source, as_of=as_of, weeks=weeks, window=window, fmt=fmt)


@main.command()
@click.argument("name", required=False)
@click.option("--write", "write_dir", metavar="DIR", help="Write every schema into DIR (e.g. schemas).")
def schema(name: str | None, write_dir: str | None) -> None:
    """Print a JSON Schema (workflow, operator, guardrails, plan, entities, metrics-daily) or list them."""
    from engine.cli.reference_commands import schema_command

    schema_command(name, write_dir)


@main.command()
@click.argument(
    "topic",
    required=False,
    type=click.Choice(["functions", "metrics", "attributes", "names", "actions", "platforms", "windows"]),
)
def docs(topic: str | None) -> None:
    """Reference for rule writers, generated from the registries and the catalog."""
    from engine.cli.reference_commands import docs_command

    docs_command(topic)


if __name__ == "__main__":  # pragma: no cover
    main()
