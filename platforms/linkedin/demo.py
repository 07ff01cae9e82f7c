"""LinkedIn Ads in the demo dataset.

Campaign groups (level `campaign`), campaigns (`ad_group`, where LinkedIn keeps budgets and
bids) and creatives (`ad`) selling to schools and enterprises, with what the shipped
LinkedIn rules look for: leads dearer than the target, cheap leads that convert, cheap
leads that never do, and a tired creative far under the account's CTR.
"""

from __future__ import annotations

from engine.core.demodata import Baseline, BulkPlatform, Dataset, PlatformDemo, perf

BASELINE = Baseline(cpm=40.0, ctr=0.005, cvr=0.012, outbound=0.7, leads=0.05)


def build(ds: Dataset) -> None:
    # LinkedIn campaign groups are `campaign`s, its campaigns `ad_group`s, creatives `ad`s.
    acct = ("linkedin", "508923114")
    edu = ds.campaign(acct, "Board-Leads-Education-2026Q3", bidding_strategy="manual_cpc", labels=("b2b", "leads"))
    for name, bid, budget, spend in (("Edu-Decision-Makers", 9.5, 130.0, 80.0), ("Edu-IT-Admins", 8.0, 70.0, 55.0)):
        group = ds.add(edu, "ad_group", name, bid=bid, daily_budget=budget)
        ds.ads(group, (f"Board-Lead-Gen-{name[4:]}", perf(BASELINE, spend)))
    # a creative shown for months: its CTR is far under the account's
    decision_makers = edu.children[0]
    ds.ads(decision_makers, ("Board-Carousel-Decision-Makers-Old", perf(BASELINE, 40.0, ctr=0.0015)))
    # cheap leads that go on to convert: worth more budget
    webinar = ds.add(edu, "ad_group", "Edu-Webinar-Attendees", bid=6.5, daily_budget=70.0)
    ds.ads(webinar, ("Board-Webinar-Replay", perf(BASELINE, 60.0, leads=0.2, cvr=0.05)))
    # cheap leads that never convert: their quality is in doubt
    students = ds.add(edu, "ad_group", "Edu-Students-Broad", bid=5.0, daily_budget=70.0)
    ds.ads(students, ("Board-Free-Guide-Students", perf(BASELINE, 60.0, leads=0.2, cvr=0.0)))

    ent = ds.campaign(acct, "Bot-Conversion-Enterprise-2026Q3", bidding_strategy="maximum_delivery", labels=("b2b",))
    facilities = ds.add(ent, "ad_group", "Enterprise-Facilities", daily_budget=120.0)
    ds.ads(facilities, ("Bot-Single-Image-Facilities", perf(BASELINE, 110.0, cvr=0.008, leads=0.0)))
    retarget = ds.add(ent, "ad_group", "Retarget-Website", bid=7.0, daily_budget=80.0, bidding_strategy="manual_cpc")
    ds.ads(retarget, ("Bot-Single-Image-Retarget", perf(BASELINE, 60.0, cvr=0.008, leads=0.0)))


DEMO = PlatformDemo(
    order=50,
    build=build,
    ids={"campaign": "6120{:05d}", "ad_group": "3081{:05d}", "ad": "1957{:05d}"},
    bulk=BulkPlatform(
        BASELINE, "Leads", ("Titles", "Industries", "Retargeting"), True, 0.6, "manual_cpc", "maximum_delivery", False
    ),
)
