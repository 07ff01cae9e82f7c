"""Build actions, facts and operators for safety pipeline tests."""

from __future__ import annotations

from pathlib import Path

from engine.core.plan import PlannedAction
from engine.rules.guardrails import GuardrailSettings
from engine.rules.model import Operator
from engine.safety.pipeline import Facts

_counter = iter(range(10**9))


def act(
    type: str = "pause",
    before: dict | None = None,
    after: dict | None = None,
    *,
    platform: str = "google",
    level: str = "campaign",
    entity: str | None = None,
    account: str = "acct",
    workflow: str = "ops/daily",
    rule: str = "r",
    priority: int = 0,
    params: dict | None = None,
    attrs: dict | None = None,
) -> PlannedAction:
    if before is None and after is None:
        before, after = ({"status": "active"}, {"status": "paused"}) if type == "pause" else ({}, {})
    n = next(_counter)
    return PlannedAction(
        workflow=workflow,
        rule_id=rule,
        platform=platform,
        account_id=account,
        level=level,
        entity_id=entity or f"e{n}",
        entity_name=None,
        type=type,
        params=params or {},
        before=before or {},
        after=after or {},
        priority=priority,
        action_id=f"a{n}",
        entity=attrs or {},
    )


def budget(before: float, after: float, **kw) -> PlannedAction:
    return act("change_budget", {"daily_budget": before}, {"daily_budget": after}, **kw)


def bid(before: float, after: float, **kw) -> PlannedAction:
    return act("change_bid", {"bid": before}, {"bid": after}, **kw)


def fresh(**kw) -> Facts:
    """Facts of a healthy entity: fresh data, enough spend and conversions, good MER."""
    base = dict(
        lifetime_spend=5000.0, window_conversions=50.0, data_age_hours=0.0, sla_hours=26.0, source="google", mer=3.0
    )
    return Facts(**(base | kw))


def operator(
    name: str = "ops",
    platform: str = "google",
    guardrails: dict | None = None,
    autonomy: dict | None = None,
    escalation: list | None = None,
) -> Operator:
    return Operator(
        name,
        platform,
        "",
        {},
        Path("."),
        "operator.yaml",
        guardrails=GuardrailSettings.from_dict(guardrails or {}),
        escalation=escalation or [],
        autonomy=autonomy or {},
    )
