"""Google Ads in the demo dataset.

Two accounts: search campaigns with ad groups, responsive search ads (beside the
keywords, sharing their ad group's traffic), keywords (manual CPC bids or automated
bidding) and search terms (another view of keyword traffic: they do not roll up); a
Shopping, a Performance Max and a YouTube campaign; one paused and one removed campaign.

Traps:

- `google_brand_zero_conversions`: a brand campaign (is_brand, label `brand`) with about
  $600 spend and no conversions in the last 30 days: it matches
  `pause_zero_conversion_campaigns`, and the safety layer must block the pause.
- `google_zero_conversion_campaign`: a non-brand campaign the same rule may pause.
- `google_zero_impressions_keyword`: a low-search-volume keyword with rows of zeros;
  `google_no_rows_keyword`: created on the last day, with no metric rows at all.
- `google_wasted_search_term`: over $50 and 10+ clicks in the last 14 days with no
  conversion: `negative_wasted_search_terms` adds it as a negative keyword.
- `google_high_roas_keyword`: ROAS over 4 with 5+ conversions in the last 30 days:
  `raise_bids_high_roas_keywords` raises its bid.
- `google_large_budget_campaign`: a $1,500/day campaign: a budget change over $500/day
  needs approval.
"""

from __future__ import annotations

from engine.core.demodata import LAST_DAY, Baseline, BulkPlatform, Dataset, PlatformDemo, perf
from engine.core.status import EntityStatus

SEARCH = Baseline(cpm=130.0, ctr=0.05, cvr=0.008)
SHOPPING = Baseline(cpm=11.0, ctr=0.012, cvr=0.0045)
PMAX = Baseline(cpm=10.0, ctr=0.009, cvr=0.0035)
VIDEO = Baseline(cpm=9.0, ctr=0.004, cvr=0.002, vtr=0.3)

TRAPS = {
    "google_brand_zero_conversions": "21874500001",
    "google_large_budget_campaign": "21874500002",
    "google_zero_conversion_campaign": "21874500003",
    "google_high_roas_keyword": "39581200001",
    "google_zero_impressions_keyword": "39581200002",
    "google_no_rows_keyword": "39581200003",
    "google_wasted_search_term": "158933400001~free conference camera software",
}


def build(ds: Dataset) -> None:
    main, edu = ("google", "482-913-5520"), ("google", "482-913-7731")
    _google_brand(ds, main)
    _google_bot_search(ds, main)
    _google_dot_search(ds, main)
    _google_other(ds, main)
    _google_edu(ds, edu)


def _google_brand(ds: Dataset, acct: tuple[str, str]) -> None:
    # Brand search whose conversion tracking broke in a checkout migration: spend, no
    # conversions. A rule pauses it; brand protection must block that.
    camp = ds.campaign(
        acct,
        "Brand-Search-Exact-2026Q1",
        entity_id=TRAPS["google_brand_zero_conversions"],
        daily_budget=40.0,
        is_brand=True,
        labels=("brand", "always-on"),
        bidding_strategy="target_impression_share",
    )
    group = ds.add(camp, "ad_group", "Brand-Core")
    brand = {"cpm": 60.0, "ctr": 0.22, "cvr": 0.0}
    ds.keyword(group, "vibe bot", "exact", perf(SEARCH, 9.0, **brand))
    ds.keyword(group, "vibe board", "exact", perf(SEARCH, 7.0, **brand))
    ds.keyword(group, "vibe smart board", "phrase", perf(SEARCH, 4.0, **brand))
    ds.split_ads(group, "RSA-Brand-Core-v4")
    ds.term(group, "vibe bot", "exact", perf(SEARCH, 6.0, **brand))
    ds.term(group, "vibe board price", "exact", perf(SEARCH, 3.5, **brand))
    ds.term(group, "vibe smartboard review", "exact", perf(SEARCH, 1.5, **brand))


def _google_bot_search(ds: Dataset, acct: tuple[str, str]) -> None:
    camp = ds.campaign(
        acct,
        "Bot-Conversion-Broad-2026Q3",
        daily_budget=650.0,
        bidding_strategy="manual_cpc",
        labels=("prospecting", "nonbrand"),
    )
    cams = ds.add(camp, "ad_group", "Conference-Cameras", entity_id="158933400001")
    ds.keyword(cams, "conference room camera", "broad", perf(SEARCH, 95.0), bid=3.1)
    ds.keyword(cams, "ai meeting camera", "phrase", perf(SEARCH, 60.0), bid=2.6)
    # Exact match, high intent: platform ROAS far above 4 with plenty of conversions.
    high_roas = perf(SEARCH, 45.0, cvr=0.03)
    ds.keyword(cams, "360 conference camera", "exact", high_roas, bid=2.4, entity_id=TRAPS["google_high_roas_keyword"])
    # "Low search volume": active, never shown, rows of zeros.
    ds.keyword(
        cams,
        "smart conference camera",
        "exact",
        perf(SEARCH, 0.0, cpm=1.0),
        bid=1.5,
        entity_id=TRAPS["google_zero_impressions_keyword"],
        labels=("low-search-volume",),
    )
    ds.split_ads(cams, "RSA-Bot-Meetings-v2", "RSA-Bot-360-v1")
    wasted = perf(SEARCH, 5.2, cvr=0.0, noise=0.1)
    ds.term(cams, "free conference camera software", "broad", wasted, entity_id=TRAPS["google_wasted_search_term"])
    ds.term(cams, "best conference room camera 2026", "broad", perf(SEARCH, 14.0, cvr=0.04))
    ds.term(cams, "conference camera for small room", "broad", perf(SEARCH, 9.0, cvr=0.04))
    ds.term(cams, "ai meeting camera", "phrase", perf(SEARCH, 22.0, cvr=0.012))
    ds.term(cams, "360 conference camera", "exact", perf(SEARCH, 30.0, cvr=0.03))
    owl = ds.add(camp, "ad_group", "Competitor-Owl")
    ds.keyword(owl, "meeting owl", "phrase", perf(SEARCH, 70.0, cvr=0.005), bid=2.2)
    ds.keyword(owl, "owl labs alternative", "broad", perf(SEARCH, 35.0), bid=1.9)
    ds.split_ads(owl, "RSA-Bot-vs-Owl-v3")
    ds.term(owl, "meeting owl 4 price", "broad", perf(SEARCH, 18.0, cvr=0.015))
    ds.term(owl, "owl labs alternative", "broad", perf(SEARCH, 12.0, cvr=0.015))
    webcam = ds.add(camp, "ad_group", "Webcam-Upgrade", status=EntityStatus.PAUSED, stopped_age=20)
    ds.keyword(webcam, "4k webcam for meetings", "broad", perf(SEARCH, 25.0, cvr=0.004), bid=1.4)
    ds.split_ads(webcam, "RSA-Bot-Webcam-v1")


def _google_dot_search(ds: Dataset, acct: tuple[str, str]) -> None:
    camp = ds.campaign(
        acct,
        "Dot-Conversion-Phrase-2026Q3",
        daily_budget=350.0,
        bidding_strategy="target_cpa",
        labels=("prospecting", "nonbrand"),
    )
    group = ds.add(camp, "ad_group", "Portable-Display")
    ds.keyword(group, "portable touchscreen monitor", "phrase", perf(SEARCH, 110.0, cvr=0.012, cpm=90.0))
    ds.keyword(group, "smart display for home", "phrase", perf(SEARCH, 75.0, cvr=0.012, cpm=90.0))
    ds.keyword(group, "portable monitor for laptop", "broad", perf(SEARCH, 60.0, cvr=0.012, cpm=90.0))
    # Added on the last day: no metric rows yet.
    ds.keyword(
        group,
        "vibe dot portable screen",
        "exact",
        None,
        entity_id=TRAPS["google_no_rows_keyword"],
        created_at=LAST_DAY,
    )
    ds.split_ads(group, "RSA-Dot-Portable-v2", "RSA-Dot-Price-v1")
    ds.term(group, "portable touchscreen monitor 15.6", "phrase", perf(SEARCH, 28.0, cvr=0.015, cpm=90.0))
    ds.term(group, "smart display for kitchen", "phrase", perf(SEARCH, 11.0, cvr=0.015, cpm=90.0))
    old = ds.campaign(
        acct,
        "Dot-Conversion-Broad-2026Q1",
        daily_budget=300.0,
        status=EntityStatus.PAUSED,
        stopped_age=45,
        bidding_strategy="manual_cpc",
        labels=("nonbrand",),
    )
    old_group = ds.add(old, "ad_group", "Portable-Display-Broad")
    ds.keyword(old_group, "portable display", "broad", perf(SEARCH, 140.0, cvr=0.006), bid=1.8)
    ds.split_ads(old_group, "RSA-Dot-Broad-v1")


def _google_other(ds: Dataset, acct: tuple[str, str]) -> None:
    shopping = ds.campaign(
        acct,
        "Bot-Shopping-Standard-2026Q3",
        entity_id=TRAPS["google_large_budget_campaign"],
        daily_budget=1500.0,
        bidding_strategy="target_roas",
        labels=("shopping",),
    )
    scaled = perf(SHOPPING, 1150.0, shift_age=21, shift_spend=1.15)  # budget raised three weeks ago
    products = ds.add(shopping, "ad_group", "All-Products", perf=scaled)
    ds.split_ads(products, "Product-Ads-Bot")
    pmax = ds.campaign(
        acct, "Board-PMax-Feed-2026Q3", daily_budget=700.0, bidding_strategy="target_roas", labels=("pmax",)
    )
    ds.add(pmax, "ad_group", "AG-Classroom", perf=perf(PMAX, 310.0))
    ds.add(pmax, "ad_group", "AG-Office", perf=perf(PMAX, 270.0, cvr=0.009))
    video = ds.campaign(
        acct,
        "Bot-Awareness-YouTube-2026Q3",
        daily_budget=250.0,
        bidding_strategy="target_cpm",
        labels=("awareness", "video"),
    )
    inmarket = ds.add(video, "ad_group", "Hybrid-Work-InMarket", perf=perf(VIDEO, 205.0))
    ds.split_ads(inmarket, "YT-Bot-Demo-30s")
    # A competitor test that never converted: a pause the safety layer should allow.
    comp = ds.campaign(
        acct,
        "Board-Conversion-Competitor-2026Q3",
        entity_id=TRAPS["google_zero_conversion_campaign"],
        daily_budget=60.0,
        bidding_strategy="manual_cpc",
        labels=("nonbrand", "competitor"),
    )
    flip = ds.add(comp, "ad_group", "Samsung-Flip")
    ds.keyword(flip, "samsung flip alternative", "broad", perf(SEARCH, 17.0, cvr=0.0), bid=2.0)
    ds.keyword(flip, "samsung flip 2 price", "phrase", perf(SEARCH, 11.0, cvr=0.0), bid=1.6)
    ds.split_ads(flip, "RSA-Board-vs-Flip-v1")
    # Removed before the data window: no rows at all.
    gone = ds.campaign(
        acct,
        "Bot-Conversion-Broad-2025Q4",
        daily_budget=200.0,
        status=EntityStatus.REMOVED,
        stopped_age=150,
        bidding_strategy="manual_cpc",
    )
    gone_group = ds.add(gone, "ad_group", "Conference-Cameras-Old")
    ds.keyword(gone_group, "conference camera", "broad", perf(SEARCH, 80.0), bid=2.5)


def _google_edu(ds: Dataset, acct: tuple[str, str]) -> None:
    camp = ds.campaign(
        acct,
        "Board-Conversion-Exact-2026Q3",
        daily_budget=400.0,
        bidding_strategy="manual_cpc",
        labels=("edu", "nonbrand"),
    )
    group = ds.add(camp, "ad_group", "Classroom-Displays")
    ds.keyword(group, "interactive whiteboard for classroom", "exact", perf(SEARCH, 85.0, cvr=0.004), bid=4.1)
    ds.keyword(group, "smart board for teachers", "phrase", perf(SEARCH, 60.0, cvr=0.004), bid=3.2)
    ds.keyword(group, "digital whiteboard school", "broad", perf(SEARCH, 45.0, cvr=0.004), bid=2.8)
    ds.split_ads(group, "RSA-Board-Classroom-v3", "RSA-Board-Grants-v1")
    ds.term(group, "interactive whiteboard for classroom", "phrase", perf(SEARCH, 40.0, cvr=0.012))
    ds.term(group, "smart board grants for schools", "phrase", perf(SEARCH, 8.0, cvr=0.025))
    # A consumer query that never converts: a second, smaller negative-keyword candidate.
    ds.term(group, "whiteboard for kids room", "phrase", perf(SEARCH, 4.0, cvr=0.0))
    grants = ds.campaign(
        acct,
        "Board-Conversion-Broad-2026Q3-Grants",
        daily_budget=250.0,
        bidding_strategy="maximize_conversions",
        labels=("edu",),
    )
    grant_group = ds.add(grants, "ad_group", "ESSER-Grants")
    ds.keyword(grant_group, "classroom technology grants", "broad", perf(SEARCH, 120.0, cvr=0.004, cpm=95.0))
    ds.split_ads(grant_group, "RSA-Board-ESSER-v1")


DEMO = PlatformDemo(
    order=10,
    build=build,
    ids={
        "campaign": "218745{:05d}",
        "ad_group": "1589334{:05d}",
        "ad": "6871022{:05d}",
        "keyword": "395812{:05d}",
    },
    traps=TRAPS,
    bulk=BulkPlatform(
        SEARCH, "Conversion", ("Broad", "Phrase", "Exact", "Competitor"), False, 0.5, "manual_cpc", "target_cpa", False
    ),
)
