"""Pinterest Ads in the demo dataset.

Campaigns, ad groups with budgets and custom (manual) or automatic bids, promoted pins
(`ad`).

Traps:

- `pinterest_just_under_threshold`: an ad group with about $590 spend in the last 7
  days (just under 2 x target_cpa = $600) and an outbound CTR under 0.3%, so
  `pause_expensive_low_outbound` must not fire on it, while
  `pinterest_expensive_low_outbound` (over $600, same CTR) must be paused.
- `pinterest_low_outbound_manual_bid`: outbound CTR under 0.5% with a manual bid:
  `lower_bid_low_outbound_ctr` lowers it.
- `pinterest_no_rows_ad_group`: created on the last day, with no metric rows at all.
"""

from __future__ import annotations

from datetime import date

from engine.core.demodata import LAST_DAY, Baseline, BulkPlatform, Dataset, PlatformDemo, perf

BASELINE = Baseline(cpm=4.0, ctr=0.012, cvr=0.0012, outbound=0.65, vtr=0.05)

TRAPS = {
    "pinterest_just_under_threshold": "2680067500001",
    "pinterest_expensive_low_outbound": "2680067500002",
    "pinterest_low_outbound_manual_bid": "2680067500003",
    "pinterest_no_rows_ad_group": "2680067500004",
}


def build(ds: Dataset) -> None:
    acct = ("pinterest", "549755885175")
    closeups = {"ctr": 0.011, "outbound": 0.2}  # outbound CTR ~0.22%: most clicks are closeups
    bot = ds.campaign(acct, "Bot-Consideration-Keyword-2026Q3", labels=("consideration",), bidding_strategy="custom")
    # Two pins at $42.25/day with at most 0.6% noise: 7-day spend stays within $588-596.
    under = ds.add(
        bot,
        "ad_group",
        "Desk-Setup-Ideas",
        entity_id=TRAPS["pinterest_just_under_threshold"],
        daily_budget=90.0,
        bid=1.1,
    )
    pin = perf(BASELINE, 42.25, noise=0.006, **closeups)
    ds.ads(under, ("Bot-Desk-Setup-Pin-1", pin), ("Bot-Desk-Setup-Pin-2", pin))
    over = ds.add(
        bot,
        "ad_group",
        "Home-Office-Inspo",
        entity_id=TRAPS["pinterest_expensive_low_outbound"],
        daily_budget=120.0,
        bidding_strategy="automatic",
    )
    ds.ads(
        over,
        ("Bot-Home-Office-Pin-1", perf(BASELINE, 62.0, noise=0.08, **closeups)),
        ("Bot-Home-Office-Pin-2", perf(BASELINE, 48.0, noise=0.08, **closeups)),
    )
    dot = ds.campaign(acct, "Dot-Consideration-Interest-2026Q3", labels=("consideration",), bidding_strategy="custom")
    gadgets = ds.add(
        dot,
        "ad_group",
        "Smart-Home-Gadgets",
        entity_id=TRAPS["pinterest_low_outbound_manual_bid"],
        daily_budget=70.0,
        bid=0.95,
    )
    ds.ads(gadgets, ("Dot-Gadget-Pin-1", perf(BASELINE, 55.0, ctr=0.011, outbound=0.36)))
    gifts = ds.add(dot, "ad_group", "Gift-Guide-Tech", daily_budget=60.0, bidding_strategy="automatic")
    ds.ads(gifts, ("Dot-Gift-Guide-Pin-1", perf(BASELINE, 45.0, outbound=0.7)))
    shop = ds.campaign(acct, "Board-Conversion-Shopping-2026Q3", labels=("shopping",), bidding_strategy="automatic")
    catalog = ds.add(shop, "ad_group", "Catalog-All-Boards", daily_budget=100.0)
    ds.ads(
        catalog,
        ("Board-Product-Pin-1", perf(BASELINE, 50.0, outbound=0.8, cvr=0.002)),
        ("Board-Product-Pin-2", perf(BASELINE, 38.0, outbound=0.8, cvr=0.002)),
        # the week's top Pin: outbound CTR ~1.3% with sales
        ("Board-Product-Pin-3", perf(BASELINE, 30.0, ctr=0.016, outbound=0.8, cvr=0.003)),
    )
    video = ds.campaign(
        acct,
        "Bot-Awareness-Video-2026Q4",
        labels=("awareness",),
        bidding_strategy="automatic",
        created_at=date(2026, 10, 30),
    )
    # Created on the last day, not delivering yet: no metric rows at all.
    no_rows = TRAPS["pinterest_no_rows_ad_group"]
    ds.add(video, "ad_group", "Video-Hybrid-Work", entity_id=no_rows, daily_budget=40.0, created_at=LAST_DAY)


DEMO = PlatformDemo(
    order=60,
    build=build,
    ids={"campaign": "62674158{:05d}", "ad_group": "26800675{:05d}", "ad": "68719476{:05d}"},
    traps=TRAPS,
    bulk=BulkPlatform(
        BASELINE, "Consideration", ("Keyword", "Interest", "Actalike"), True, 0.4, "custom", "automatic", False
    ),
)
