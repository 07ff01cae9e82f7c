"""Impact measurement: the entity's metrics +1, +3 and +7 days after each executed action.

An action takes effect on its run's evaluation date D. Checkpoint N compares the N days
from D on with the N days before D, once the data covers them (checked at every apply).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from engine.apply.executor import now

DAYS = (1, 3, 7)
RECENT_DAYS = 30
SUMS = ("spend", "impressions", "clicks", "conversions", "conversion_value")


def _window_sums(ctx, row: dict, start: date, end: date) -> dict[str, float | None]:
    present = [m for m in SUMS if m in ctx.loaded.info.present_metrics]
    if not present:
        return {}
    cols = ", ".join(f"coalesce(sum({m}), 0)" for m in present)
    values = ctx.con.execute(
        f"SELECT {cols} FROM {ctx.loaded.table('metrics_daily')} WHERE platform = ? AND account_id = ? AND level = ? "
        "AND entity_id = ? AND date >= ? AND date < ?",
        [row["platform"], row["account_id"], row["level"], row["entity_id"], start, end],
    ).fetchone()
    sums = {m: float(v) for m, v in zip(present, values, strict=True)}
    spend, conv = sums.get("spend"), sums.get("conversions")
    sums["cpa"] = spend / conv if spend is not None and conv else None
    sums["roas"] = sums["conversion_value"] / spend if spend and "conversion_value" in sums else None
    return sums


def record_due_checkpoints(ctx, log) -> int:
    newest = ctx.loaded.info.max_date
    if newest is None:
        return 0
    recorded = 0
    runs: dict[str, Any] = {}
    # the last checkpoint is +7 days: rows last touched a month ago are settled (keeps each apply cheap)
    for row in log.query(status="executed", since=now() - timedelta(days=RECENT_DAYS), limit=100000):
        if row.get("rollback_of"):
            continue
        run = runs.setdefault(row["run_id"], log.get_run(row["run_id"]) or {})
        effective = run.get("as_of")
        if effective is None:
            continue
        effective = effective if isinstance(effective, date) else date.fromisoformat(str(effective)[:10])
        done = {c.get("day") for c in row.get("measurement_checkpoints") or []}
        for day in DAYS:
            if day in done or effective + timedelta(days=day - 1) > newest:
                continue
            before = _window_sums(ctx, row, effective - timedelta(days=day), effective)
            after = _window_sums(ctx, row, effective, effective + timedelta(days=day))
            log.add_checkpoint(row["action_id"], day, {"before": before, "after": after}, now())
            recorded += 1
    return recorded


def impact_report(rows: list[dict]) -> dict[str, Any]:
    """Before/after per action and, summed, per rule."""
    actions, per_rule = [], defaultdict(lambda: defaultdict(lambda: {"before": 0.0, "after": 0.0, "n": 0}))
    for row in rows:
        for cp in row.get("measurement_checkpoints") or []:
            metrics = cp.get("metrics") or {}
            actions.append(
                {
                    "action_id": row["action_id"],
                    "rule": f"{row['workflow']}/{row['rule_id']}",
                    "entity": row.get("entity_name") or row["entity_id"],
                    "day": cp.get("day"),
                    **metrics,
                }
            )
            bucket = per_rule[f"{row['workflow']}/{row['rule_id']}"][cp.get("day")]
            for side in ("before", "after"):
                bucket[side] += (metrics.get(side) or {}).get("spend") or 0.0
            bucket["n"] += 1
    lines = [f"{len(actions)} checkpoint(s)"]
    for a in actions:
        b, f = a.get("before") or {}, a.get("after") or {}
        lines.append(
            f"  {a['action_id']} {a['rule']} {a['entity']} +{a['day']}d: spend {b.get('spend')} -> "
            f"{f.get('spend')}, conversions {b.get('conversions')} -> {f.get('conversions')}"
        )
    for rule, days in per_rule.items():
        for day, agg in sorted(days.items()):
            lines.append(
                f"  rule {rule} +{day}d over {agg['n']} action(s): spend {agg['before']:.2f} -> {agg['after']:.2f}"
            )
    return {"actions": actions, "rules": {r: dict(d) for r, d in per_rule.items()}, "text": "\n".join(lines)}
