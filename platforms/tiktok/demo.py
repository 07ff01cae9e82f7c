"""TikTok Ads in the demo dataset.

Campaigns whose ad groups carry the budgets (lowest cost or cost cap), ads under them.

Traps:

- `tiktok_learning_ad_group`: an ad group still in the learning phase, created four days
  before the end, with a poor CPA that would otherwise trigger a bid or budget cut.
"""

from __future__ import annotations

from datetime import date

from engine.core.demodata import Baseline, BulkPlatform, Dataset, PlatformDemo, perf

BASELINE = Baseline(cpm=9.0, ctr=0.009, cvr=0.004, vtr=0.25)

TRAPS = {"tiktok_learning_ad_group": "1781000000000001"}


def build(ds: Dataset) -> None:
    acct = ("tiktok", "7290114453661")
    spark = ds.campaign(acct, "Bot-Awareness-Spark-2026Q3", labels=("awareness",), bidding_strategy="lowest_cost")
    for name, budget, spend in (("Spark-UGC-Desk-Setup", 300.0, 280.0), ("Spark-Creator-Whitelist", 250.0, 230.0)):
        group = ds.add(spark, "ad_group", name, daily_budget=budget, learning_phase=False)
        ds.ads(
            group, (f"{name}-Video-1", perf(BASELINE, spend * 0.6)), (f"{name}-Video-2", perf(BASELINE, spend * 0.4))
        )
    launch = ds.campaign(
        acct,
        "Dot-Conversion-Broad-2026Q4",
        labels=("prospecting",),
        bidding_strategy="cost_cap",
        created_at=date(2026, 10, 27),
    )
    # Launched four days before the end and still learning: the CPA is poor, but the
    # platform's guidance (and the safety layer) is to leave it alone.
    learning = ds.add(
        launch,
        "ad_group",
        "Broad-18-34-Purchase",
        entity_id=TRAPS["tiktok_learning_ad_group"],
        daily_budget=400.0,
        bid=45.0,
        learning_phase=True,
    )
    hooks = (perf(BASELINE, 380.0 * 0.55, cvr=0.0012), perf(BASELINE, 380.0 * 0.45, cvr=0.0012))
    ds.ads(learning, ("Dot-Launch-Hook-1", hooks[0]), ("Dot-Launch-Hook-2", hooks[1]))
    board = ds.campaign(
        acct, "Board-Conversion-Interest-2026Q3", labels=("prospecting",), bidding_strategy="lowest_cost"
    )
    teachers = ds.add(board, "ad_group", "Teachers-Interest", daily_budget=150.0, learning_phase=False)
    ds.ads(teachers, ("Board-Teachers-Interest-Video-1", perf(BASELINE, 135.0, cvr=0.0025)))
    office = ds.add(
        board,
        "ad_group",
        "Home-Office",
        daily_budget=120.0,
        bid=60.0,
        bidding_strategy="cost_cap",
        learning_phase=False,
    )
    ds.ads(office, ("Board-Home-Office-Video-1", perf(BASELINE, 105.0, cvr=0.0025)))
    old = ds.campaign(
        acct, "Bot-Conversion-Retarget-2026Q2", status="paused", stopped_age=40, bidding_strategy="lowest_cost"
    )
    old_group = ds.add(old, "ad_group", "Site-Visitors-30d", daily_budget=90.0, learning_phase=False)
    ds.ads(old_group, ("Bot-Retarget-Video-1", perf(BASELINE, 80.0, cvr=0.008)))


DEMO = PlatformDemo(
    order=40,
    build=build,
    ids={"campaign": "17800000000{:05d}", "ad_group": "17810000000{:05d}", "ad": "17820000000{:05d}"},
    traps=TRAPS,
    bulk=BulkPlatform(
        BASELINE, "Conversion", ("Broad", "Interest", "Creator"), True, 0.3, "cost_cap", "lowest_cost", True
    ),
)
