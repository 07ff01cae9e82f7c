"""The action log for people and tools: listings, one action's record, impact checkpoints."""

from __future__ import annotations

import json
from typing import IO, Any

from rich.table import Table

from engine.apply.impact import ImpactReport
from engine.apply.records import ActionListing, ActionRecord
from engine.core.numbers import MONEY, fmt_number
from engine.output import RenderOptions
from engine.output.console import console
from engine.output.text import fmt_value, unit_of


def _json(out: IO[bytes], doc: Any) -> None:
    out.write((json.dumps(doc, default=str, indent=2) + "\n").encode("utf-8"))


def render_listing(listing: ActionListing, out: IO[bytes], options: RenderOptions) -> None:
    table = Table(title=f"{listing.title} ({len(listing.rows)})", title_justify="left")
    for col in ("action", "workflow/rule", "entity", "change", "status", "when"):
        table.add_column(col, overflow="fold")
    for r in listing.rows:
        payload = r.get("payload") or {}
        change = ", ".join(
            f"{k}: {fmt_value((payload.get('before') or {}).get(k), unit_of(k))} -> {fmt_value(v, unit_of(k))}"
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
    with console(out) as c:
        c.print(table)


def render_listing_json(listing: ActionListing, out: IO[bytes], options: RenderOptions) -> None:
    _json(out, listing.rows)


def render_record(record: ActionRecord, out: IO[bytes], options: RenderOptions) -> None:
    _json(out, record.row)


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
