"""The derived TikTok learning phase (platforms/tiktok/adapter.py) fails safe: hypothesis properties.

An ad group learns until about 50 conversions within the 7 days after its creation or its
last edit. The properties: what cannot be read counts as learning; an ad group called out
of learning while its 7 days run has 50 conversions since its start; more conversions never
put one back into learning; a later edit never takes one out of it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from platforms.adapter import Account
from platforms.tiktok.adapter import LEARNING_CONVERSIONS, LEARNING_DAYS, TikTokAdsAdapter

DATE_TO = date(2026, 3, 31)
DATE_FROM = DATE_TO - timedelta(days=40)  # covers every window below: no extra report is read
ADAPTER = TikTokAdsAdapter(Account("tiktok", "7000000000001"))


def stamp(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else None


groups = st.fixed_dictionaries(
    {
        "created": st.integers(-20, 2).map(lambda d: datetime(2026, 3, 31, 9) + timedelta(days=d)),
        "edited_after": st.none() | st.integers(0, 20 * 24).map(lambda h: timedelta(hours=h)),
        "conversions": st.lists(st.integers(0, 40), min_size=21, max_size=21),  # DATE_TO-20 .. DATE_TO
    }
)


def learning(group: dict, *, create_time=None, extra: int = 0) -> bool:
    created = group["created"]
    modified = created + group["edited_after"] if group["edited_after"] is not None else None
    record = {
        "adgroup_id": "g1",
        "create_time": create_time if create_time is not None else stamp(created),
        "modify_time": stamp(modified),
    }
    days = {DATE_TO - timedelta(days=20) + timedelta(days=i): float(c) for i, c in enumerate(group["conversions"])}
    if extra:
        days = {d: v + extra for d, v in days.items()}
    return ADAPTER._learning([record], {"g1": days}, DATE_FROM, DATE_TO)["g1"]


@settings(max_examples=150, deadline=None)
@given(groups, st.sampled_from(["", "soon", "2026-13-45 99:00:00", "yesterday"]))
def test_an_unreadable_creation_time_always_counts_as_learning(group, garbage):
    assert learning(group, create_time=garbage) is True


@settings(max_examples=150, deadline=None)
@given(groups)
def test_out_of_learning_within_the_window_means_50_conversions_since_the_start(group):
    start = group["created"] + (group["edited_after"] or timedelta(0))
    if (DATE_TO - start.date()).days >= LEARNING_DAYS or learning(group):
        return
    since = {
        DATE_TO - timedelta(days=20) + timedelta(days=i): c
        for i, c in enumerate(group["conversions"])
        if start.date() <= DATE_TO - timedelta(days=20) + timedelta(days=i) <= DATE_TO
    }
    assert sum(since.values()) >= LEARNING_CONVERSIONS


@settings(max_examples=150, deadline=None)
@given(groups, st.integers(1, 30))
def test_more_conversions_never_put_an_ad_group_back_into_learning(group, extra):
    if not learning(group):
        assert not learning(group, extra=extra)


@settings(max_examples=150, deadline=None)
@given(groups, st.integers(1, 10 * 24))
def test_a_later_edit_never_takes_an_ad_group_out_of_learning(group, hours):
    later = {**group, "edited_after": (group["edited_after"] or timedelta(0)) + timedelta(hours=hours)}
    if learning(group) and (DATE_TO - (later["created"] + later["edited_after"]).date()).days < LEARNING_DAYS:
        assert learning(later)
