"""Write small entities/metrics_daily CSV sources for tests."""

from __future__ import annotations

import csv
from pathlib import Path

ENTITY_COLUMNS = [
    "platform",
    "account_id",
    "level",
    "entity_id",
    "parent_id",
    "name",
    "status",
    "daily_budget",
    "bid",
    "is_brand",
    "product",
    "learning_phase",
    "labels",
]
METRIC_COLUMNS = [
    "date",
    "platform",
    "account_id",
    "level",
    "entity_id",
    "spend",
    "impressions",
    "clicks",
    "outbound_clicks",
    "conversions",
    "conversion_value",
]


def write_source(
    directory: Path, entities: list[dict], metrics: list[dict], metric_columns: list[str] | None = None
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, columns, rows in (
        ("entities.csv", ENTITY_COLUMNS, entities),
        ("metrics_daily.csv", metric_columns or METRIC_COLUMNS, metrics),
    ):
        with (directory / name).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow({c: "" if row.get(c) is None else row.get(c) for c in columns})
    return directory


def entity(entity_id: str, level: str = "ad_group", platform: str = "pinterest", **attrs) -> dict:
    base = {
        "platform": platform,
        "account_id": "acct",
        "level": level,
        "entity_id": entity_id,
        "name": f"name-{entity_id}",
        "status": "active",
        "bid": 1.0,
        "daily_budget": 50,
        "is_brand": "false",
        "product": "bot",
        "learning_phase": "false",
    }
    return base | attrs


def day(date: str, entity_id: str, level: str = "ad_group", platform: str = "pinterest", **metrics) -> dict:
    return {
        "date": date,
        "platform": platform,
        "account_id": "acct",
        "level": level,
        "entity_id": entity_id,
        **metrics,
    }


def constant_days(entity_id: str, dates: list[str], **metrics) -> list[dict]:
    """The same daily metrics for an entity on each of `dates` (ISO strings)."""
    return [day(d, entity_id, **metrics) for d in dates]


def design_example_days(entity_id: str, dates: list[str]) -> list[dict]:
    """Days on which both rules of the DESIGN example fire for an ad group: $120 a day spent
    with no conversion (over 2x the target CPA) at a 0.1% outbound CTR."""
    return constant_days(
        entity_id,
        dates,
        spend=120,
        impressions=9000,
        clicks=90,
        outbound_clicks=9,
        conversions=0,
        conversion_value=0,
    )


def october(first: int, last: int) -> list[str]:
    return [f"2026-10-{d:02d}" for d in range(first, last + 1)]
