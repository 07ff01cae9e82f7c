"""LinkedIn Ads in the demo dataset.

Campaign groups (level `campaign`), campaigns (`ad_group`) and creatives (`ad`) selling
to schools and enterprises.
"""

from __future__ import annotations

from engine.core.demodata import Baseline, BulkPlatform, Dataset, PlatformDemo, perf

BASELINE = Baseline(cpm=40.0, ctr=0.005, cvr=0.012, outbound=0.7, leads=0.05)


def build(ds: Dataset) -> None:
    # LinkedIn campaign groups are `campaign`s, its campaigns `ad_group`s, creatives `ad`s.
    acct = ("linkedin", "508923114")
    edu = ds.campaign(
        acct,
        "Board-Leads-Education-2026Q3",
        daily_budget=150.0,
        bidding_strategy="manual_cpc",
        labels=("b2b", "leads"),
    )
    for name, bid, spend in (("Edu-Decision-Makers", 9.5, 80.0), ("Edu-IT-Admins", 8.0, 55.0)):
        group = ds.add(edu, "ad_group", name, bid=bid)
        ds.ads(group, (f"Board-Lead-Gen-{name[4:]}", perf(BASELINE, spend)))
    ent = ds.campaign(
        acct,
        "Bot-Conversion-Enterprise-2026Q3",
        daily_budget=200.0,
        bidding_strategy="maximum_delivery",
        labels=("b2b",),
    )
    facilities = ds.add(ent, "ad_group", "Enterprise-Facilities")
    ds.ads(facilities, ("Bot-Single-Image-Facilities", perf(BASELINE, 110.0, cvr=0.008, leads=0.0)))
    retarget = ds.add(ent, "ad_group", "Retarget-Website", bid=7.0, bidding_strategy="manual_cpc")
    ds.ads(retarget, ("Bot-Single-Image-Retarget", perf(BASELINE, 60.0, cvr=0.008, leads=0.0)))


DEMO = PlatformDemo(
    order=50,
    build=build,
    ids={"campaign": "6120{:05d}", "ad_group": "3081{:05d}", "ad": "1957{:05d}"},
    bulk=BulkPlatform(
        BASELINE, "Leads", ("Titles", "Industries", "Retargeting"), False, 0.6, "manual_cpc", "max_delivery", False
    ),
)
