"""The action log for people and tools: listings, one action's record, impact checkpoints."""

from __future__ import annotations

import json
from typing import IO, Any

from rich.table import Table

from engine.apply.executor import action_from_row
from engine.apply.impact import ImpactReport
from engine.apply.records import ActionListing, ActionRecord
from engine.core.numbers import MONEY, fmt_number
from engine.output import RenderOptions
from engine.output.console import console
from engine.output.text import change, entity_label, evidence, fmt_value, unit_of


def _json(out: IO[bytes], doc: Any) -> None:
    out.write((json.dumps(doc, default=str, indent=2) + "\n").encode("utf-8"))


def render_listing(listing: ActionListing, out: IO[bytes], options: RenderOptions) -> None:
    table = Table(title=f"{listing.title} ({len(listing.rows)})", title_justify="left")
    for col in ("action", "run", "workflow/rule", "entity", "change", "status", *(t[0] for t in listing.times)):
        table.add_column(col, overflow="fold")
    for r in listing.rows:
        payload = r.get("payload") or {}
        change = ", ".join(
            f"{k}: {fmt_value((payload.get('before') or {}).get(k), unit_of(k))} -> {fmt_value(v, unit_of(k))}"
            for k, v in (payload.get("after") or {}).items()
        )
        table.add_row(
            r["action_id"],
            r.get("run_id") or "",
            f"{r['workflow']}/{r['rule_id']}",
            f"{r['platform']} {r['level']} {r.get('entity_name') or r['entity_id']}",
            change,
            r["status"],
            *(str(r.get(column) or "")[:19] for _, column in listing.times),
        )
    with console(out) as c:
        c.print(table)


def render_listing_json(listing: ActionListing, out: IO[bytes], options: RenderOptions) -> None:
    _json(out, listing.rows)


def render_record(record: ActionRecord, out: IO[bytes], options: RenderOptions) -> None:
    _json(out, record.row)


def _utc(value: Any) -> str:
    return f"{str(value)[:16]} UTC" if value else ""


def record_lines(row: dict[str, Any]) -> list[tuple[str, str]]:
    """One action's row as labelled lines: what, on what, why, and what became of it."""
    a = action_from_row(row)
    status = row["status"]
    if row.get("status_reason"):
        status += f": {row['status_reason']}"
    if row.get("expires_at") and row["status"] == "needs_approval":
        status += f" (queued at {_utc(row.get('created_at'))}, expires at {_utc(row['expires_at'])})"
    lines = [
        ("action", row["action_id"]),
        ("run", row.get("run_id") or ""),
        ("rule", f"{row['workflow']}/{row['rule_id']}"),
        ("entity", f"{row['platform']} {row['level']} {entity_label(a)}, account {row['account_id']}"),
        ("change", f"{row['action_type']}: {change(a)}"),
        ("status", status),
        ("evidence", evidence(a)),
    ]
    for g in row.get("guardrails") or []:
        lines.append(("guardrail", f"{g.get('name')}: {g.get('message')} ({g.get('effect')})"))
    for reason in row.get("reasons") or []:
        lines.append(("reason", reason))
    if row.get("approval_by"):
        note = f": {row['approval_note']}" if row.get("approval_note") else ""
        lines.append(("decided", f"by {row['approval_by']} at {_utc(row.get('approval_at'))}{note}"))
    if row.get("executed_at"):
        lines.append(("executed", f"at {_utc(row['executed_at'])} by {row.get('executed_by') or ''}"))
    if row.get("error_message"):
        lines.append(("error", row["error_message"]))
    if row.get("rolled_back_at"):
        lines.append(("rolled back", f"at {_utc(row['rolled_back_at'])} ({row.get('rolled_back_by') or ''})"))
    return [(k, v) for k, v in lines if v]


def render_record_text(record: ActionRecord, out: IO[bytes], options: RenderOptions) -> None:
    lines = record_lines(record.row)
    width = max(len(k) for k, _ in lines)
    with console(out) as c:
        for key, value in lines:
            c.print(f"{key:<{width}}  {value}", markup=False)


def impact_lines(report: ImpactReport) -> list[str]:
    lines = [f"{len(report.checkpoints)} checkpoint(s)"]
    for cp in report.checkpoints:
        b, f = cp.metrics.get("before") or {}, cp.metrics.get("after") or {}
        lines.append(
            f"  {cp.action_id} {cp.rule} {cp.entity} +{cp.day}d: spend {fmt_value(b.get('spend'), MONEY)} -> "
            f"{fmt_value(f.get('spend'), MONEY)}, conversions {fmt_value(b.get('conversions'))} -> "
            f"{fmt_value(f.get('conversions'))}"
        )
    for rule, days in report.rules.items():
        for day, agg in sorted(days.items()):
            before, after = fmt_number(agg.before, MONEY), fmt_number(agg.after, MONEY)
            lines.append(f"  rule {rule} +{day}d over {agg.n} action(s): spend {before} -> {after}")
    return lines


def render_impact(report: ImpactReport, out: IO[bytes], options: RenderOptions) -> None:
    with console(out) as c:
        c.print("\n".join(impact_lines(report)))


def render_impact_json(report: ImpactReport, out: IO[bytes], options: RenderOptions) -> None:
    _json(
        out,
        {
            "actions": [
                {"action_id": cp.action_id, "rule": cp.rule, "entity": cp.entity, "day": cp.day, **cp.metrics}
                for cp in report.checkpoints
            ],
            "rules": {
                rule: {day: {"before": r.before, "after": r.after, "n": r.n} for day, r in days.items()}
                for rule, days in report.rules.items()
            },
            "text": "\n".join(impact_lines(report)),
        },
    )
