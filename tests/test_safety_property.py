"""Property: no action leaving the safety pipeline as planned, clamped or needs_approval violates a guardrail.

Random actions (conflicting ones included), entities' facts, account budgets, guardrail
values and autonomy levels. HYPOTHESIS_PROFILE=nightly runs many more examples.
"""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.catalog import load_catalog
from engine.rules.escalation import default_escalations
from engine.safety.pipeline import Facts, floor_money, run_pipeline
from tests.helpers.safety import act, operator

ESCALATIONS = default_escalations(load_catalog())
PLATFORMS = ["google", "meta", "tiktok"]
TYPES = ["pause", "enable", "change_budget", "set_budget", "change_bid", "set_bid", "add_negative_keyword", "notify"]
money = st.floats(0.01, 20000, allow_nan=False).map(lambda x: round(x, 2))
bids = st.floats(0.01, 100, allow_nan=False).map(lambda x: round(x, 2))


@st.composite
def actions(draw):
    type_ = draw(st.sampled_from(TYPES))
    kw = dict(
        platform=draw(st.sampled_from(PLATFORMS)),
        account=draw(st.sampled_from(["a", "b"])),
        entity=draw(st.sampled_from(["e1", "e2", "e3", "e4"])),
        rule=draw(st.sampled_from(["r1", "r2", "r3"])),
        priority=draw(st.sampled_from([0, 0, 0, 5])),
    )
    if type_ in ("change_budget", "set_budget", "change_bid", "set_bid"):
        attr = "daily_budget" if "budget" in type_ else "bid"
        before = draw(money if attr == "daily_budget" else bids)
        after = round(before * (1 + draw(st.floats(-0.99, 10))), 2)
        return act(type_, {attr: before}, {attr: max(after, 0.01)}, **kw)
    if type_ == "pause":
        return act("pause", **kw)
    if type_ == "enable":
        return act("enable", {"status": "paused"}, {"status": "active"}, **kw)
    if type_ == "add_negative_keyword":
        return act(type_, {"negative_keyword": None}, {"negative_keyword": {"text": "t", "match_type": "exact"}}, **kw)
    return act("notify", {}, {"message": "m"}, **kw)


facts = st.builds(
    Facts,
    lifetime_spend=st.one_of(st.none(), st.floats(0, 3000)),
    window_conversions=st.one_of(st.none(), st.floats(0, 20)),
    brand_lineage=st.booleans(),
    learning_phase=st.booleans(),
    data_age_hours=st.one_of(st.none(), st.floats(0, 100)),
    sla_hours=st.sampled_from([26.0, 48.0, 96.0]),
    source=st.just("google"),
    mer=st.one_of(st.none(), st.floats(0, 6)),
)

guardrails = st.fixed_dictionaries(
    {
        "max_daily_budget_increase_pct": st.floats(0, 50),
        "max_bid_change_pct": st.floats(0, 50),
        "min_mer_for_increase": st.floats(0, 4),
        "max_daily_spend_cap": st.floats(0, 20000),
        "min_spend_before_pause": st.floats(0, 1000),
        "brand_campaigns_no_auto_pause": st.booleans(),
        "min_conversions_for_scale": st.integers(0, 10),
        "learning_phase_no_changes": st.booleans(),
        "block_stale_data": st.booleans(),
    }
)
autonomy = st.dictionaries(st.sampled_from(TYPES), st.sampled_from(["off", "dry_run", "approve", "auto"]), max_size=4)

LIVE = ("planned", "clamped", "needs_approval")


@settings(max_examples=max(3000, settings.default.max_examples))  # a few thousand in CI, more nightly
@given(
    st.lists(actions(), min_size=1, max_size=25),
    st.data(),
    guardrails,
    autonomy,
    st.dictionaries(st.tuples(st.sampled_from(PLATFORMS), st.sampled_from(["a", "b"])), st.floats(0, 20000)),
)
def test_no_live_action_violates_a_guardrail(proposed, data, g, levels, budgets):
    fact_of = {a.action_id: data.draw(facts) for a in proposed}
    op = operator(guardrails=g, autonomy=levels)
    result = run_pipeline(proposed, fact_of, budgets, {"ops": op}, ESCALATIONS)

    for a in result.actions:
        assert a.status in ("planned", "clamped", "needs_approval", "blocked", "skipped")
        assert op.autonomy_for(a.type) != "off"
    live = [a for a in result.actions if a.status in LIVE]
    for a in live:
        f = fact_of[a.action_id]
        if a.type == "notify":
            continue
        if g["block_stale_data"]:
            assert f.data_age_hours is not None and f.data_age_hours <= f.sla_hours
        if g["learning_phase_no_changes"]:
            assert not (f.learning_phase and a.platform == "tiktok")
        if a.type in ("pause", "add_negative_keyword") and g["brand_campaigns_no_auto_pause"]:
            assert not f.brand_lineage
        if a.type == "pause":
            assert (f.lifetime_spend or 0) >= g["min_spend_before_pause"]
        for attr, limit in (("daily_budget", "max_daily_budget_increase_pct"), ("bid", "max_bid_change_pct")):
            if attr in a.after:
                before, after = a.before[attr], a.after[attr]
                if after > before:
                    assert (f.window_conversions or 0) >= g["min_conversions_for_scale"]
                    assert after <= floor_money(before * (1 + g[limit] / 100)) + 1e-9
                    if attr == "daily_budget":
                        assert f.mer is not None and f.mer >= g["min_mer_for_increase"]
                if attr == "bid":
                    assert abs(after - before) <= before * g[limit] / 100 + 0.01 + 1e-9

    # the spend cap holds per account over every live budget increase
    increases = defaultdict(float)
    for a in live:
        if "daily_budget" in a.after and a.after["daily_budget"] > a.before["daily_budget"]:
            increases[(a.platform, a.account_id)] += a.after["daily_budget"] - a.before["daily_budget"]
    for account, added in increases.items():
        assert budgets.get(account, 0.0) + added <= g["max_daily_spend_cap"] + 1e-6

    # one live change per entity and attribute
    seen = set()
    for a in live:
        if a.type in ("notify", "add_negative_keyword"):
            continue
        attr = "status" if a.type in ("pause", "enable") else next(iter(a.after))
        key = (a.platform, a.account_id, a.level, a.entity_id, attr)
        assert key not in seen, key
        seen.add(key)
