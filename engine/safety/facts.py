"""Facts the safety pipeline needs, gathered from the metrics store in a few set-based queries."""

from __future__ import annotations

from engine.core.actions import ACTIONS
from engine.core.plan import PlannedAction
from engine.data.metrics import MetricsService
from engine.safety.pipeline import Facts

MAX_DEPTH = 6  # campaign > ad group > ad / keyword > search term, with room to spare
BRAND_SENSITIVE = ("pause", "add_negative_keyword")  # the action types the brand guardrail looks at


def brand_lineage(metrics: MetricsService, keys: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """Which (platform, account_id, entity_id) are brand entities or descendants of one."""
    if not keys:
        return set()
    entities = metrics.entities
    rows = metrics.con.execute(
        f"""
        WITH RECURSIVE up(platform, account_id, start_id, node_id, brand, depth) AS (
            SELECT e.platform, e.account_id, e.entity_id, e.parent_id, coalesce(e.is_brand, FALSE), 0
            FROM {entities} e
            JOIN (SELECT unnest($1) AS platform, unnest($2) AS account_id, unnest($3) AS entity_id) k
              USING (platform, account_id, entity_id)
            UNION ALL
            SELECT up.platform, up.account_id, up.start_id, p.parent_id, coalesce(p.is_brand, FALSE), up.depth + 1
            FROM up JOIN {entities} p
              ON p.platform = up.platform AND p.account_id = up.account_id AND p.entity_id = up.node_id
            WHERE up.depth < {MAX_DEPTH} AND NOT up.brand
        )
        SELECT DISTINCT platform, account_id, start_id FROM up WHERE brand""",
        [list(c) for c in zip(*keys, strict=True)],
    ).fetchall()
    return {tuple(r) for r in rows}


def data_age_hours(metrics: MetricsService) -> dict[tuple[str, str], float]:
    """Per (platform, account): hours from the end of the newest day of data to the as-of date."""
    rows = metrics.con.execute(
        f"SELECT platform, account_id, max(date) FROM {metrics.daily} "
        f"WHERE date < DATE '{metrics.as_of.isoformat()}' GROUP BY ALL"
    ).fetchall()
    return {(p, a): max(0, (metrics.as_of - newest).days - 1) * 24.0 for p, a, newest in rows}


def account_budgets(metrics: MetricsService) -> dict[tuple[str, str], float]:
    """Per (platform, account): the sum of the daily budgets of active entities today."""
    rows = metrics.con.execute(
        f"SELECT platform, account_id, sum(daily_budget) FROM {metrics.entities} "
        "WHERE status = 'active' AND daily_budget IS NOT NULL GROUP BY ALL"
    ).fetchall()
    return {(p, a): float(total) for p, a, total in rows}


def gather_facts(metrics: MetricsService, actions: list[PlannedAction], facts: dict[str, Facts]) -> None:
    """Complete each action's facts with brand lineage, data freshness and blended MER."""
    if not actions:
        return
    brand = brand_lineage(
        metrics, {(a.platform, a.account_id, a.entity_id) for a in actions if a.type in BRAND_SENSITIVE}
    )
    ages = data_age_hours(metrics)
    for a in actions:
        f = facts[a.action_id]
        f.brand_lineage = (a.platform, a.account_id, a.entity_id) in brand
        f.data_age_hours = ages.get((a.platform, a.account_id))
        spec = metrics.catalog.sources.get(a.platform)
        f.sla_hours = spec.freshness_sla_hours if spec else None
        f.mer = metrics.truth(f.window).get("mer")
        f.mer_unknown = metrics.mer_unknown_reason(f.window)


def fresh_facts(metrics: MetricsService, a: PlannedAction, window: str) -> Facts:
    """Facts for one action computed now, for re-checking guardrails before execution."""
    key = (a.platform, a.account_id, a.level, a.entity_id)
    sums = metrics.values([key], {"lifetime": ("spend", "lifetime"), "conversions": ("conversions", window)})[key]
    entity = metrics.con.execute(
        f"SELECT learning_phase FROM {metrics.entities} WHERE platform = ? AND account_id = ? AND level = ? "
        "AND entity_id = ?",
        list(key),
    ).fetchone()
    spec = metrics.catalog.sources.get(a.platform)
    return Facts(
        lifetime_spend=sums["lifetime"] or 0.0,
        window_conversions=sums["conversions"] or 0.0,
        brand_lineage=(a.platform, a.account_id, a.entity_id)
        in brand_lineage(metrics, {(a.platform, a.account_id, a.entity_id)}),
        learning_phase=bool(entity and entity[0]),
        data_age_hours=data_age_hours(metrics).get((a.platform, a.account_id)),
        sla_hours=spec.freshness_sla_hours if spec else None,
        source=a.platform,
        mer=metrics.truth(window).get("mer"),
        mer_unknown=metrics.mer_unknown_reason(window),
        window=window,
    )


def mer_notes(
    metrics: MetricsService, actions: list[PlannedAction], facts: dict[str, Facts], truth_windows: set[str]
) -> list[dict]:
    """A data-quality warning for each window whose blended MER is unknown and matters to this plan:
    a proposed budget increase reads it (the guardrail), or a rule's condition uses `truth.mer`."""
    windows = set(truth_windows)
    for a in actions:
        atype = ACTIONS[a.type]
        if atype.attribute == "daily_budget" and atype.change_direction(a.before, a.after) > 0:
            windows.add(facts[a.action_id].window)
    notes = []
    for window in sorted(windows):
        reason = metrics.mer_unknown_reason(window)
        if reason is not None:
            effect = "budget increases are blocked" + ("; truth.mer is null" if window in truth_windows else "")
            notes.append(
                {
                    "severity": "warning",
                    "message": f"blended MER over {window} cannot be computed: {reason}; {effect}",
                }
            )
    return notes
