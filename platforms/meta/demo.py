"""Meta Ads in the demo dataset.

A prospecting account with campaign budgets (CBO) and a retargeting/lead account whose
budgets live on the ad sets (level `ad_group`); ads under each ad set.

Traps:

- `meta_budget_clamp_campaign`: a strong campaign in an account whose campaign budgets
  add up to $4,850/day, so raising its budget hits the +20% limit and the $5,000/day cap.
- `meta_zero_impressions_ad_group` (and its ad): active, with daily rows of zeros (its
  audience is too small to deliver).
- `meta_high_cpa_ad`: a fatigued creative with no conversion in the last 7 days:
  `pause_high_cpa_ads` pauses it.
"""

from __future__ import annotations

from datetime import date

from engine.core.demodata import Baseline, BulkPlatform, Dataset, PlatformDemo, perf
from engine.core.status import EntityStatus

BASELINE = Baseline(cpm=18.0, ctr=0.012, cvr=0.006, outbound=0.55, vtr=0.06)

TRAPS = {
    "meta_budget_clamp_campaign": "120214563300001",
    "meta_zero_impressions_ad_group": "120214563400001",
    "meta_high_cpa_ad": "120214563500001",
}


def build(ds: Dataset) -> None:
    _meta_prospecting(ds, ("meta", "act_1029384756"))
    _meta_retargeting(ds, ("meta", "act_1029384757"))


def _meta_prospecting(ds: Dataset, acct: tuple[str, str]) -> None:
    # CBO campaigns: budgets on the campaigns, adding up to $4,850/day in this account.
    cbo = {"bidding_strategy": "lowest_cost", "labels": ("prospecting", "cbo")}
    clamp = ds.campaign(
        acct,
        "Bot-Conversion-Advantage-2026Q3",
        entity_id=TRAPS["meta_budget_clamp_campaign"],
        daily_budget=800.0,
        **cbo,
    )
    adv = ds.add(clamp, "ad_group", "Advantage-Plus-Audience", learning_phase=False)
    ds.ads(
        adv,
        ("Bot-UGC-Video-v3", perf(BASELINE, 390.0, cvr=0.009)),
        ("Bot-Static-Desk-v1", perf(BASELINE, 330.0, cvr=0.007)),
    )
    lal = ds.campaign(acct, "Bot-Conversion-Lookalike-2026Q3", daily_budget=1100.0, **cbo)
    for audience, spend in (("LAL-1pct-Purchasers", 560.0), ("LAL-3pct-Purchasers", 420.0)):
        group = ds.add(lal, "ad_group", audience, learning_phase=False)
        tag = audience[:9]
        ds.ads(
            group,
            (f"Bot-UGC-Video-v3-{tag}", perf(BASELINE, spend * 0.6)),
            (f"Bot-Carousel-Features-v2-{tag}", perf(BASELINE, spend * 0.4)),
        )
    dot = ds.campaign(acct, "Dot-Conversion-Broad-2026Q3", daily_budget=900.0, **cbo)
    broad = ds.add(dot, "ad_group", "Broad-US-25-54", learning_phase=False)
    # Creative fatigue: converted until ten days ago, nothing since.
    fatigued = perf(BASELINE, 105.0, cvr=0.005, noise=0.1, shift_age=10, shift_cvr=0.0)
    ds.add(broad, "ad", "Dot-Carousel-Lifestyle-v2", entity_id=TRAPS["meta_high_cpa_ad"], perf=fatigued)
    ds.ads(
        broad,
        ("Dot-Video-Unboxing-v1", perf(BASELINE, 420.0, cvr=0.008, aov=420.0)),
        ("Dot-Static-Price-v3", perf(BASELINE, 270.0, cvr=0.007)),
    )
    board = ds.campaign(
        acct, "Board-Conversion-Interest-2026Q3", daily_budget=650.0, **{**cbo, "bidding_strategy": "cost_cap"}
    )
    for audience, spend in (("Interest-Teachers", 330.0), ("Interest-Remote-Work", 240.0)):
        group = ds.add(board, "ad_group", audience, learning_phase=False)
        ds.ads(group, (f"Board-Demo-Video-v2-{audience[9:]}", perf(BASELINE, spend, cvr=0.003)))
    video = ds.campaign(
        acct,
        "Bot-Awareness-Video-2026Q3",
        daily_budget=400.0,
        bidding_strategy="lowest_cost",
        labels=("awareness", "cbo"),
    )
    reach = ds.add(video, "ad_group", "Broad-Reach-18-65", learning_phase=False)
    ds.ads(
        reach,
        ("Bot-Brand-Film-15s", perf(BASELINE, 190.0, ctr=0.011, cvr=0.005, vtr=0.18)),
        ("Bot-Brand-Film-6s", perf(BASELINE, 120.0, ctr=0.011, cvr=0.005, vtr=0.25)),
    )
    ugc = ds.campaign(acct, "Dot-Conversion-UGC-2026Q3", daily_budget=1000.0, **cbo)
    for audience, spend in (("Broad-Advantage", 520.0), ("Interest-Tech-Gadgets", 380.0)):
        group = ds.add(ugc, "ad_group", audience, learning_phase=False)
        ds.ads(
            group,
            (f"Dot-UGC-Creator-A-{audience[:5]}", perf(BASELINE, spend * 0.55, cvr=0.008)),
            (f"Dot-UGC-Creator-B-{audience[:5]}", perf(BASELINE, spend * 0.45, cvr=0.007)),
        )


def _meta_retargeting(ds: Dataset, acct: tuple[str, str]) -> None:
    # ABO: the budgets live on the ad sets; the campaigns have none.
    visitors = ds.campaign(
        acct, "Bot-Retargeting-Visitors-2026Q3", bidding_strategy="lowest_cost", labels=("retargeting",)
    )
    for audience, budget, spend in (("Visitors-30d", 180.0, 165.0), ("Engagers-IG-60d", 90.0, 80.0)):
        group = ds.add(visitors, "ad_group", audience, daily_budget=budget, learning_phase=False)
        ds.ads(group, (f"Bot-Testimonial-v1-{audience[:8]}", perf(BASELINE, spend, cvr=0.014, ctr=0.016)))
    cart = ds.campaign(acct, "Dot-Retargeting-Cart-2026Q3", bidding_strategy="lowest_cost", labels=("retargeting",))
    # The audience is too small to deliver: active, rows of zeros.
    empty = ds.add(
        cart,
        "ad_group",
        "Cart-Abandoners-7d",
        entity_id=TRAPS["meta_zero_impressions_ad_group"],
        daily_budget=50.0,
        learning_phase=False,
    )
    ds.ads(empty, ("Dot-Cart-Reminder-v1", perf(BASELINE, 0.0, cpm=1.0)))
    leads = ds.campaign(
        acct,
        "Board-Leads-Form-2026Q4",
        bidding_strategy="lowest_cost",
        labels=("leads",),
        created_at=date(2026, 10, 6),
    )
    schools = ds.add(
        leads, "ad_group", "Lead-Form-Schools", daily_budget=120.0, learning_phase=True, created_at=date(2026, 10, 26)
    )
    ds.ads(schools, ("Board-Lead-Form-Edu-v1", perf(BASELINE, 110.0, cvr=0.008, leads=0.06)))
    offices = ds.add(leads, "ad_group", "Lead-Form-Offices", daily_budget=100.0, learning_phase=False)
    ds.ads(offices, ("Board-Lead-Form-Office-v2", perf(BASELINE, 92.0, cvr=0.008, leads=0.05)))
    test = ds.campaign(
        acct, "Bot-Conversion-Test-2026Q2", bidding_strategy="bid_cap", status=EntityStatus.PAUSED, stopped_age=30
    )
    bid_cap = ds.add(test, "ad_group", "Bid-Cap-Test", daily_budget=150.0, bid=180.0, learning_phase=False)
    ds.ads(bid_cap, ("Bot-Static-Offer-v1", perf(BASELINE, 140.0, cvr=0.005)))


DEMO = PlatformDemo(
    order=20,
    build=build,
    ids={"campaign": "1202145633{:05d}", "ad_group": "1202145634{:05d}", "ad": "1202145635{:05d}"},
    traps=TRAPS,
    bulk=BulkPlatform(
        BASELINE,
        "Conversion",
        ("Broad", "Lookalike", "Interest", "Retargeting"),
        True,
        0.0,
        "bid_cap",
        "lowest_cost",
        True,
    ),
)
