"""Amazon Ads in the demo dataset.

Sponsored Products (keywords, product ads, search terms), Sponsored Brands and Sponsored
Display campaigns, and one paused campaign. Clicks land on Amazon, not on the store, so
they bring no Shopify sessions.
"""

from __future__ import annotations

from engine.core.demodata import Baseline, BulkPlatform, Dataset, PlatformDemo, perf
from engine.core.status import EntityStatus

BASELINE = Baseline(cpm=6.0, ctr=0.0045, cvr=0.004)


def build(ds: Dataset) -> None:
    acct = ("amazon", "3847261904471")
    sp = ds.campaign(
        acct,
        "Bot-SP-Exact-2026Q3",
        daily_budget=600.0,
        bidding_strategy="dynamic_down",
        labels=("sponsored-products",),
    )
    group = ds.add(sp, "ad_group", "Bot-Keywords")
    ds.keyword(group, "conference camera", "exact", perf(BASELINE, 210.0), bid=2.1)
    ds.keyword(group, "360 meeting camera", "phrase", perf(BASELINE, 120.0), bid=1.8)
    ds.keyword(group, "webcam for conference room", "broad", perf(BASELINE, 95.0), bid=1.25)
    ds.split_ads(group, "B0CX4VBOT1 Vibe Bot")
    ds.term(group, "conference camera for large rooms", "broad", perf(BASELINE, 40.0))
    ds.term(group, "meeting owl", "broad", perf(BASELINE, 25.0))
    ds.term(group, "vibe bot", "broad", perf(BASELINE, 12.0))
    auto = ds.campaign(
        acct,
        "Dot-SP-Auto-2026Q3",
        daily_budget=300.0,
        bidding_strategy="dynamic_up_down",
        labels=("sponsored-products", "auto"),
    )
    auto_group = ds.add(auto, "ad_group", "Auto-Targeting", bid=0.95, perf=perf(BASELINE, 240.0, cvr=0.006))
    ds.split_ads(auto_group, "B0CX7VDOT2 Vibe Dot")
    ds.term(auto_group, "portable monitor", "broad", perf(BASELINE, 45.0, cvr=0.005))
    ds.term(auto_group, "touchscreen display", "broad", perf(BASELINE, 30.0, cvr=0.005))
    ds.term(auto_group, "usb c monitor 15 inch", "broad", perf(BASELINE, 9.0, cvr=0.005))
    brand = ds.campaign(
        acct,
        "Board-SB-Brand-2026Q3",
        daily_budget=95.0,  # runs out of budget at an ACOS near 5%: the budget rule's case
        bidding_strategy="manual_cpc",
        is_brand=True,
        labels=("brand", "sponsored-brands"),
    )
    store = ds.add(brand, "ad_group", "Brand-Store")
    ds.keyword(store, "vibe board", "exact", perf(BASELINE, 95.0, cvr=0.012), bid=1.1)
    ds.split_ads(store, "Vibe Brand Store Headline")
    display = ds.campaign(
        acct,
        "Bot-SD-Retargeting-2026Q3",
        daily_budget=120.0,
        bidding_strategy="optimize_for_conversions",
        labels=("sponsored-display",),
    )
    views = ds.add(display, "ad_group", "Views-Remarketing-30d", perf=perf(BASELINE, 105.0, cpm=3.0))
    ds.split_ads(views, "B0CX4VBOT1 Vibe Bot Display")
    old = ds.campaign(
        acct,
        "Bot-SP-Broad-2026Q2",
        daily_budget=200.0,
        bidding_strategy="dynamic_down",
        status=EntityStatus.PAUSED,
        stopped_age=60,
    )
    old_group = ds.add(old, "ad_group", "Broad-Keywords")
    ds.keyword(old_group, "camera for meetings", "broad", perf(BASELINE, 150.0), bid=1.4)


DEMO = PlatformDemo(
    order=30,
    build=build,
    ids={"campaign": "2847100{:05d}", "ad_group": "3918200{:05d}", "ad": "4102900{:05d}", "keyword": "5530100{:05d}"},
    bulk=BulkPlatform(
        BASELINE, "SP", ("Exact", "Phrase", "Broad", "Auto"), False, 1.0, "dynamic_down", "dynamic_down", False
    ),
    store_traffic=False,
)
