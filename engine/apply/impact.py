"""Impact measurement: the entity's metrics +1, +3 and +7 days after each executed action.

An action takes effect on its run's evaluation date D. Checkpoint N compares the N days
from D on with the N days before D, once the data covers them (checked at every apply).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from engine.apply.actionlog.values import now
from engine.core.status import ActionStatus
from engine.data.metrics import MetricsService
from engine.language.windows import Range

DAYS = (1, 3, 7)
RECENT_DAYS = 30
SUMS = ("spend", "impressions", "clicks", "conversions", "conversion_value")
DERIVED = ("cpa", "roas")


def _window_metrics(metrics: MetricsService, row: dict, start: date, end: date) -> dict[str, float | None]:
    """The entity's sums of the reported additive metrics over [start, end), and cpa and roas from them."""
    present = [m for m in SUMS if metrics.present(m)]
    if not present:
        return {}
    key = (row["platform"], row["account_id"], row["level"], row["entity_id"])
    window = Range(start, end)
    return metrics.values([key], {m: (m, window) for m in (*present, *DERIVED)})[key]


def record_due_checkpoints(metrics: MetricsService, log) -> int:
    newest = metrics.loaded.info.max_date
    if newest is None:
        return 0
    recorded = 0
    runs: dict[str, Any] = {}
    # the last checkpoint is +7 days: rows last touched a month ago are settled (keeps each apply cheap)
    for row in log.query(status=ActionStatus.EXECUTED, since=now() - timedelta(days=RECENT_DAYS), limit=100000):
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
            before = _window_metrics(metrics, row, effective - timedelta(days=day), effective)
            after = _window_metrics(metrics, row, effective, effective + timedelta(days=day))
            log.add_checkpoint(row["action_id"], day, {"before": before, "after": after}, now())
            recorded += 1
    return recorded


@dataclass
class Checkpoint:
    """One action's metrics N days before and after it took effect."""

    action_id: str
    rule: str  # workflow/rule_id
    entity: str
    day: int
    metrics: dict[str, Any]  # {"before": {...}, "after": {...}} as recorded


@dataclass
class RuleImpact:
    """The spend of a rule's actions' entities before and after, summed over its checkpoints of one day."""

    before: float = 0.0
    after: float = 0.0
    n: int = 0


@dataclass
class ImpactReport:
    checkpoints: list[Checkpoint] = field(default_factory=list)
    rules: dict[str, dict[int, RuleImpact]] = field(default_factory=dict)


def impact_report(rows: list[dict[str, Any]]) -> ImpactReport:
    """Before/after per action and, summed, per rule."""
    report = ImpactReport()
    for row in rows:
        rule = f"{row['workflow']}/{row['rule_id']}"
        for cp in row.get("measurement_checkpoints") or []:
            metrics = cp.get("metrics") or {}
            report.checkpoints.append(
                Checkpoint(row["action_id"], rule, row.get("entity_name") or row["entity_id"], cp.get("day"), metrics)
            )
            bucket = report.rules.setdefault(rule, {}).setdefault(cp.get("day"), RuleImpact())
            bucket.before += (metrics.get("before") or {}).get("spend") or 0.0
            bucket.after += (metrics.get("after") or {}).get("spend") or 0.0
            bucket.n += 1
    return report
