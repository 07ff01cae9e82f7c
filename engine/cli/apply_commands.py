"""Commands that change the world or its record: apply, approvals, rollback, stop, resume, log."""

from __future__ import annotations

import getpass
import json
import os
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from engine.apply.executor import (
    STOP_ENV,
    Executor,
    action_from_row,
    apply_plan,
    check_plan_freshness,
    executable,
    now,
    plan_from_json,
    state_matches,
    stop_from_env,
)
from engine.cli.commands import _load, _project, err, status
from engine.core.errors import EXIT_STOPPED, RulerunError, UsageError
from engine.core.execution import AdapterError, EntityKey
from engine.core.plan import PlannedAction

SLACK_ENV = "RULERUN_SLACK_WEBHOOK"
out = Console(highlight=False, soft_wrap=True)


def who(by: str | None) -> str:
    return by or os.environ.get("RULERUN_USER") or getpass.getuser()


def open_action_log(ws, url: str | None):
    """The workspace's action log: --log-url, RULERUN_LOG_URL, rulerun.yaml, else SQLite in the state directory."""
    from engine.apply.actionlog import open_log

    return open_log(ws.log_url(url), ws.state_dir)


class Platforms:
    """The adapter for each (platform, account) of a run, created on first use.

    Demo sources execute through the local sandbox; `live` uses each account's live
    adapter from rulerun.yaml (an account it does not list is not connected).
    """

    def __init__(self, source: str, state_dir: Path, baseline, accounts: list | None = None):
        self.source, self.state_dir, self.baseline = source, state_dir, baseline
        self.accounts = {(a.platform, a.account_id): a for a in accounts or []}
        self._cache: dict[tuple[str, str | None], Any] = {}

    def __call__(self, platform: str, account_id: str | None = None):
        key = (platform, None if self.source != "live" else account_id)
        if key not in self._cache:
            self._cache[key] = self._make(platform, account_id)
        return self._cache[key]

    def _make(self, platform: str, account_id: str | None):
        if self.source == "live":
            from engine.core.execution import PermanentError
            from platforms import live_adapter

            account = self.accounts.get((platform, account_id))
            if account is None:
                raise PermanentError(
                    "account not configured in rulerun.yaml", platform=platform, account_id=account_id or ""
                )
            return live_adapter(account)
        from platforms import adapter_for

        return adapter_for(platform, source=self.source, state_dir=self.state_dir, baseline=self.baseline)


def store_baseline(con, loaded):
    """The source's own state of an entity (before any sandbox change), for the demo sandbox."""
    table = loaded.table("entities")

    def baseline(key: EntityKey) -> dict | None:
        row = con.execute(
            f"SELECT status, daily_budget, bid FROM {table} WHERE platform = ? AND account_id = ? "
            "AND level = ? AND entity_id = ?",
            [key.platform, key.account_id, key.level, key.entity_id],
        ).fetchone()
        return None if row is None else {"status": row[0], "daily_budget": row[1], "bid": row[2]}

    return baseline


def sandbox_overrides(source: str, state_dir: Path) -> list[dict]:
    """The demo sandbox's changed entity states, overlaid on the demo data by every evaluation."""
    if not source.startswith("demo") or not (state_dir / "sandbox.sqlite").exists():
        return []
    from platforms.sandbox import DemoSandbox

    return DemoSandbox(state_dir=state_dir, baseline=lambda key: None).overrides()


def _recheck(ctx, project, fresh_ids: set[str]):
    """Guardrails on fresh numbers, for actions not planned in this very run (approved, saved plans)."""
    from engine.safety.facts import account_budgets, fresh_facts
    from engine.safety.pipeline import apply_guardrails, apply_spend_cap

    def check(a: PlannedAction) -> str | None:
        if a.action_id in fresh_ids:
            return None
        wf = next((w for w in project.workflows if w.id == a.workflow), None)
        rule = next((r for r in wf.rules if r.id == a.rule_id), None) if wf else None
        if rule is None:
            return f"rule {a.workflow}/{a.rule_id} no longer exists"
        copy = PlannedAction(
            **{**a.__dict__, "status": "planned", "guardrails": [], "reasons": [], "after": dict(a.after)}
        )
        guardrails = wf.operator.guardrails
        apply_guardrails(copy, fresh_facts(ctx, copy, rule.window), guardrails)
        apply_spend_cap([copy], account_budgets(ctx), {copy.workflow: guardrails})
        if copy.status == "blocked":
            return "guardrails on fresh numbers: " + copy.reasons[-1]
        if copy.after != a.after:
            return "guardrails on fresh numbers would clamp it: " + copy.reasons[-1]
        return None

    return check


def _notify_slack(text: str) -> None:
    url = os.environ.get(SLACK_ENV)
    if not url:
        return
    import httpx

    try:
        httpx.post(url, json={"text": text}, timeout=10).raise_for_status()
    except httpx.HTTPError as exc:  # a notification must never fail an apply; the URL is a secret
        err.print(f"[yellow]warning:[/] Slack notification failed ({type(exc).__name__})")


def apply_command(
    *,
    plan_path,
    rules,
    workflows,
    source,
    as_of,
    state_dir,
    log_url,
    max_plan_age,
    by,
    approval_ttl: timedelta | None = None,
    profile: bool = False,
) -> None:
    from engine.evaluation.evaluate import Context, build_plan, default_as_of

    ws, catalog, project = _project(rules, state_dir)
    saved = None
    if plan_path:
        saved = _read_plan(Path(plan_path))
        check_plan_freshness(saved["generated_at"], max_plan_age)
        source, as_of = saved["source"], date.fromisoformat(saved["as_of"])
    executed_by = who(by)
    ws.load_env()
    with open_action_log(ws, log_url) as log:
        stop = stop_from_env() or (log.stop_state() or {}).get("reason")
        if stop:
            err.print(f"[red]emergency stop engaged:[/] {stop}; nothing executed")
            err.print("  [dim]hint:[/] `rulerun resume` (and unset " + STOP_ENV + ") to lift it")
            sys.exit(EXIT_STOPPED)
        with log.run_lock(f"{executed_by}@{os.uname().nodename} pid {os.getpid()}"):
            store, loaded = _load(ws, catalog, source)
            try:
                as_of = as_of or default_as_of(loaded)
                overrides = sandbox_overrides(source, ws.state_dir)
                if saved:
                    plan = plan_from_json(saved)
                else:
                    with status("Evaluating rules …"):
                        plan = build_plan(
                            store.con,
                            loaded,
                            catalog,
                            project,
                            project.select(workflows),
                            as_of,
                            mode="apply",
                            overrides=overrides,
                        )
                ctx = Context(store.con, loaded, catalog, project, as_of, overrides)
                platforms = Platforms(source, ws.state_dir, store_baseline(store.con, loaded), ws.accounts())

                def autonomy_of(a: PlannedAction) -> str:
                    op = project.operators.get(a.workflow.split("/", 1)[0])
                    return op.autonomy_for(a.type) if op else "approve"

                if saved:
                    _refuse_changed_state(plan, platforms, autonomy_of)
                # planned in this very run: their guardrails just ran on fresh numbers
                fresh = set() if saved else {a.action_id for a in plan.actions if a.status in ("planned", "clamped")}
                guardrails_of = _guardrails_of(project)
                executor = Executor(
                    log, platforms, guardrails_of, _recheck(ctx, project, fresh), plan.run_id, executed_by
                )
                log.start_run(
                    {
                        "run_id": plan.run_id,
                        "started_at": now(),
                        "mode": "apply",
                        "source": source,
                        "as_of": as_of,
                        "rules_digest": project.digest,
                        "git_commit": _git_commit(ws.rules),
                        "executed_by": executed_by,
                        "status": "running",
                    }
                )
                approved = [action_from_row(r) for r in log.approvals("approved")]
                t_exec = time.perf_counter()
                outcome = _run_with_progress(plan, executor, log, autonomy_of, approved, ws.approval_ttl(approval_ttl))
                t_done = time.perf_counter()
                _record_impact(ctx, log)
                final = "stopped" if outcome.stopped else ("failed" if outcome.failed else "succeeded")
                log.finish_run(plan.run_id, final, dict(outcome.counts))
            finally:
                store.close()
    _report(plan, outcome)
    if profile:
        seconds = t_done - t_exec
        done = outcome.counts["executed"]
        err.print(
            f"profile: execute {seconds:.3f}s for {done} executed action(s)"
            + (f" ({done / seconds:,.0f} actions/s)" if done and seconds else "")
        )
    sys.exit(outcome.exit_code)


def _guardrails_of(project):
    def of(a: PlannedAction) -> dict:
        op = project.operators.get(a.workflow.split("/", 1)[0])
        return op.guardrails if op else project.guardrails

    return of


def _run_with_progress(plan, executor, log, autonomy_of, approved, approval_ttl=None):
    ttl = approval_ttl or timedelta(hours=72)
    if not err.is_terminal:
        return apply_plan(plan, executor, log, autonomy_of, approved, approval_ttl=ttl)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("Executing"), BarColumn(), MofNCompleteColumn(), console=err, transient=True) as bar:
        task = bar.add_task("apply", total=None)
        return apply_plan(
            plan,
            executor,
            log,
            autonomy_of,
            approved,
            approval_ttl=ttl,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )


def _report(plan, outcome) -> None:
    for a in plan.actions:
        if a.status == "failed":
            err.print(f"[red]failed:[/] {a.workflow}/{a.rule_id} on {a.entity_name or a.entity_id}")
    if outcome.counts["queued"]:
        _notify_slack(f"rulerun: {outcome.counts['queued']} action(s) wait for approval (`rulerun approvals list`)")
    if outcome.failed:
        _notify_slack(f"rulerun: {len(outcome.failed)} action(s) failed in run {plan.run_id}")
    out.print(outcome.line())


def _read_plan(path: Path) -> dict:
    import jsonschema

    from engine.rules.schemagen import all_schemas

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.validate(doc, all_schemas()["plan.schema.json"])
    except FileNotFoundError:
        raise UsageError(
            f"plan file {path} not found", hint="save one with `rulerun evaluate --dry-run --out PLAN`"
        ) from None
    except (json.JSONDecodeError, jsonschema.ValidationError) as exc:
        raise RulerunError(
            f"{path} is not a rulerun plan: {str(exc).splitlines()[0]}",
            hint="save one with `rulerun evaluate --dry-run --out PLAN`",
        ) from None
    return doc


def _refuse_changed_state(plan, platforms, autonomy_of) -> None:
    changed = []
    for a in executable(plan, autonomy_of):
        try:
            live = platforms(a.platform, a.account_id).read_state(
                EntityKey(a.platform, a.account_id, a.level, a.entity_id)
            )
        except AdapterError:
            continue  # reported per action by the pre-execution checks
        if not state_matches(live, a.before):
            changed.append(f"{a.platform} {a.level} {a.entity_name or a.entity_id}")
    if changed:
        raise RulerunError(
            "the saved plan is stale: entity state changed since it was made: "
            + ", ".join(changed[:5])
            + (f" and {len(changed) - 5} more" if len(changed) > 5 else ""),
            hint="make a new plan with `rulerun evaluate --dry-run --out PLAN`",
        )


def _git_commit(rules: Path) -> str | None:
    import subprocess

    try:
        res = subprocess.run(["git", "-C", str(rules), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return res.stdout.strip() or None


def _record_impact(ctx, log) -> None:
    """Metrics at +1, +3 and +7 days after each executed action, once the data covers them."""
    from engine.apply.impact import record_due_checkpoints

    record_due_checkpoints(ctx, log)


# -- approvals ---------------------------------------------------------------------------------------


def approvals_command(action: str, action_id: str | None, *, state_dir, rules, log_url, by, note, fmt) -> None:
    from engine.rules.workspace import Workspace

    ws = Workspace.resolve(rules, state_dir)
    with open_action_log(ws, log_url) as log:
        log.expire_overdue(now())
        if action == "list":
            rows = log.approvals("needs_approval")
            if fmt == "json":
                print(json.dumps(rows, default=str, indent=2))
                return
            _print_rows(rows, "Waiting for approval")
            return
        if action_id is None:
            raise UsageError(f"`rulerun approvals {action}` needs an ACTION_ID", hint="see `rulerun approvals list`")
        if action == "show":
            row = log.get(action_id)
            if row is None:
                raise RulerunError(f"no action {action_id!r} in the action log", hint="see `rulerun approvals list`")
            print(json.dumps(row, default=str, indent=2))
            return
        log.decide(action_id, action == "approve", who(by), note)
        out.print(
            f"{action_id}: {'approved' if action == 'approve' else 'rejected'} by {who(by)}"
            + (" — executes on the next `rulerun apply` after its pre-execution checks" if action == "approve" else "")
        )


def _print_rows(rows: list[dict], title: str) -> None:
    from engine.output.text import fmt_value

    table = Table(title=f"{title} ({len(rows)})", title_justify="left")
    for col in ("action", "workflow/rule", "entity", "change", "status", "when"):
        table.add_column(col, overflow="fold")
    for r in rows:
        payload = r.get("payload") or {}
        change = ", ".join(
            f"{k}: {fmt_value((payload.get('before') or {}).get(k))} -> {fmt_value(v)}"
            for k, v in (payload.get("after") or {}).items()
        )
        when = r.get("executed_at") or r.get("expires_at") or r.get("updated_at") or ""
        table.add_row(
            r["action_id"],
            f"{r['workflow']}/{r['rule_id']}",
            f"{r['platform']} {r['level']} {r.get('entity_name') or r['entity_id']}",
            change,
            r["status"],
            str(when)[:19],
        )
    out.print(table)


# -- rollback ---------------------------------------------------------------------------------------


def rollback_command(*, action_id, run_id, force, rules, state_dir, log_url, by) -> None:
    from engine.core.catalog import load_catalog
    from engine.rules.workspace import Workspace

    if bool(action_id) == bool(run_id):
        raise UsageError("give either ACTION_ID or --run RUN_ID", hint="see `rulerun log` for ids")
    ws = Workspace.resolve(rules, state_dir)
    catalog = load_catalog()
    executed_by = who(by)
    failures = 0
    with open_action_log(ws, log_url) as log, log.run_lock(f"rollback by {executed_by}"):
        if action_id:
            row = log.get(action_id)
            if row is None:
                raise RulerunError(f"no action {action_id!r} in the action log", hint="see `rulerun log`")
            rows = [row]
        else:
            # a run's notifications changed nothing: there is nothing of theirs to undo
            rows = [
                r
                for r in log.query(limit=100000)
                if r.get("run_id") == run_id
                and r["status"] == "executed"
                and not r.get("rollback_of")
                and _changes_something(r["action_type"])
            ]
            if not rows:
                raise RulerunError(f"run {run_id!r} has no executed actions to roll back", hint="see `rulerun log`")
        run = log.get_run(rows[0]["run_id"]) or {}
        source = run.get("source") or "demo"
        store, loaded = _load(ws, catalog, source)
        try:
            platforms = Platforms(source, ws.state_dir, store_baseline(store.con, loaded), ws.accounts())
            # newest first: undo in the reverse order of execution
            for row in sorted(rows, key=lambda r: str(r.get("executed_at") or ""), reverse=True):
                failures += not _rollback_one(row, log, platforms, force, executed_by)
        finally:
            store.close()
    if failures:
        sys.exit(1)


def _changes_something(action_type: str) -> bool:
    from engine.core.actions import OPERATIONS

    op = OPERATIONS.get(action_type)
    return op is None or op.key() is not None


def _rollback_one(row: dict, log, platforms: Platforms, force: bool, executed_by: str) -> bool:
    label = f"{row['action_id']} ({row['action_type']} on {row.get('entity_name') or row['entity_id']})"
    if row["status"] != "executed":
        err.print(f"[yellow]refused:[/] {label} is {row['status']}, not executed")
        return False
    plan = row.get("rollback_plan")
    if not plan:
        err.print(f"[yellow]refused:[/] {label} is irreversible (no rollback plan)")
        return False
    key = EntityKey(row["platform"], row["account_id"], row["level"], row["entity_id"])
    try:
        adapter = platforms(row["platform"], row["account_id"])
        live = adapter.read_state(key)
    except AdapterError as exc:
        err.print(f"[red]failed:[/] rollback of {label}: {exc}")
        return False
    if not state_matches(live, plan.get("before") or {}) and not force:
        err.print(
            f"[yellow]refused:[/] {label}: the entity changed since ({_short(live, plan.get('before') or {})}); "
            "--force rolls back anyway"
        )
        return False
    rb_id = _rollback_id(log, row["action_id"])
    intent = {
        **{
            k: row[k]
            for k in ("run_id", "workflow", "rule_id", "platform", "account_id", "level", "entity_id", "entity_name")
        },
        "action_id": rb_id,
        "action_type": plan["type"],
        "rollback_of": row["action_id"],
        "payload": {"params": plan.get("params") or {}, "before": plan.get("before"), "after": plan.get("after")},
        "evidence": {},
        "guardrails": [],
        "status": "planned",
        "executed_by": executed_by,
    }
    if not log.record_intent(intent):
        err.print(f"[yellow]refused:[/] {label} is already being rolled back")
        return False
    try:
        result = adapter.rollback(plan, key)
    except AdapterError as exc:
        log.record_outcome(rb_id, "failed", error=str(exc))
        err.print(f"[red]failed:[/] rollback of {label}: {exc}")
        return False
    log.record_outcome(rb_id, "executed", result=result.result, rollback_plan=result.rollback_plan, executed_at=now())
    log.mark_rolled_back(row["action_id"], now(), rb_id)
    out.print(f"rolled back {label}")
    return True


def _rollback_id(log, action_id: str) -> str:
    """`rb-<id>`, or `rb-<id>-2`, ... after failed attempts: a failed rollback can be tried again."""
    n = 1
    while True:
        candidate = f"rb-{action_id}" + (f"-{n}" if n > 1 else "")
        existing = log.get(candidate)
        if existing is None or existing["status"] != "failed":
            return candidate
        n += 1


def _short(live: dict, expected: dict) -> str:
    return ", ".join(f"{k} is {live.get(k)!r}, expected {v!r}" for k, v in expected.items() if k in live)


# -- emergency stop, log ------------------------------------------------------------------------------


def stop_command(*, reason, rules, state_dir, log_url, by) -> None:
    from engine.rules.workspace import Workspace

    ws = Workspace.resolve(rules, state_dir)
    with open_action_log(ws, log_url) as log:
        log.engage_stop(reason, who(by))
    out.print(
        f"emergency stop engaged by {who(by)}: {reason}. Every apply sharing this action log stops "
        "before its next action."
    )


def resume_command(*, rules, state_dir, log_url, by) -> None:
    from engine.rules.workspace import Workspace

    ws = Workspace.resolve(rules, state_dir)
    with open_action_log(ws, log_url) as log:
        log.release_stop(who(by))
    out.print(
        "emergency stop released" + (f"; note {STOP_ENV} is still set in this environment" if stop_from_env() else "")
    )


def parse_since(text: str | None) -> datetime | None:
    if not text:
        return None
    if text[-1] in "mhd" and text[:-1].isdigit():
        unit = {"m": "minutes", "h": "hours", "d": "days"}[text[-1]]
        return now() - timedelta(**{unit: int(text[:-1])})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--since {text!r} is neither a date nor a duration", hint="e.g. --since 24h or 2026-11-01"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=now().tzinfo)


def log_command(*, since, status_filter, platform, fmt, impact, rules, state_dir, log_url, limit) -> None:
    from engine.rules.workspace import Workspace

    ws = Workspace.resolve(rules, state_dir)
    with open_action_log(ws, log_url) as log:
        rows = log.query(since=parse_since(since), status=status_filter, platform=platform, limit=limit)
    if impact:
        from engine.apply.impact import impact_report

        report = impact_report(rows)
        if fmt == "json":
            print(json.dumps(report, default=str, indent=2))
        else:
            out.print(report["text"])
        return
    if fmt == "json":
        print(json.dumps(rows, default=str, indent=2))
        return
    _print_rows(rows, "Action log")
