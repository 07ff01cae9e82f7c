"""TikTok Ads in the demo dataset.

Campaigns whose ad groups carry the budgets (lowest cost or cost cap), ads under them.

Traps:

- `tiktok_learning_ad_group`: an ad group still in the learning phase, created four days
  before the end, with a poor CPA that would otherwise trigger a bid or budget cut.
- `tiktok_fatigued_ad_group`: its best creative wore out a week before the end (its
  delivery fell to a tenth), so the ad group's CTR fell by about half: creative fatigue.
- `tiktok_expensive_auto_bid_ad_group`: bids automatically and converts poorly, a CPA over
  twice the target: no bid to lower, so its daily budget is cut.
"""

from __future__ import annotations

from datetime import date

from engine.core.demodata import Baseline, BulkPlatform, Dataset, PlatformDemo, perf
from engine.core.status import EntityStatus

BASELINE = Baseline(cpm=9.0, ctr=0.009, cvr=0.004, vtr=0.25)

TRAPS = {
    "tiktok_learning_ad_group": "1781000000000001",
    "tiktok_fatigued_ad_group": "1781000000000002",
    "tiktok_expensive_auto_bid_ad_group": "1781000000000003",
}


def build(ds: Dataset) -> None:
    acct = ("tiktok", "7290114453661")
    spark = ds.campaign(acct, "Bot-Awareness-Spark-2026Q3", labels=("awareness",), bidding_strategy="lowest_cost")
    # The hook of Video-1 wore out a week before the end: its delivery fell to a tenth, and
    # the ad group's CTR, mostly Video-1's before, fell by about half.
    desk = ds.add(
        spark,
        "ad_group",
        "Spark-UGC-Desk-Setup",
        entity_id=TRAPS["tiktok_fatigued_ad_group"],
        daily_budget=300.0,
        learning_phase=False,
    )
    worn = perf(BASELINE, 280.0 * 0.6, ctr=0.016, shift_age=7, shift_spend=0.1)
    ds.ads(
        desk, ("Spark-UGC-Desk-Setup-Video-1", worn), ("Spark-UGC-Desk-Setup-Video-2", perf(BASELINE, 112.0, ctr=0.004))
    )
    group = ds.add(spark, "ad_group", "Spark-Creator-Whitelist", daily_budget=250.0, learning_phase=False)
    ds.ads(
        group,
        ("Spark-Creator-Whitelist-Video-1", perf(BASELINE, 230.0 * 0.6)),
        ("Spark-Creator-Whitelist-Video-2", perf(BASELINE, 230.0 * 0.4)),
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
    # Bids automatically and converts poorly: its CPA runs over twice the target.
    teachers = ds.add(
        board,
        "ad_group",
        "Teachers-Interest",
        entity_id=TRAPS["tiktok_expensive_auto_bid_ad_group"],
        daily_budget=150.0,
        learning_phase=False,
    )
    ds.ads(teachers, ("Board-Teachers-Interest-Video-1", perf(BASELINE, 135.0, cvr=0.0009)))
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
        acct,
        "Bot-Conversion-Retarget-2026Q2",
        status=EntityStatus.PAUSED,
        stopped_age=40,
        bidding_strategy="lowest_cost",
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
