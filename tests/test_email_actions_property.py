"""Property: email actions that reach many people, or cannot be taken back by a rule, never run unattended.

Random segment sizes (unknown included), autonomy levels, guardrail values and facts go
through the whole safety pipeline with the built-in escalations: an `add_to_automation`
over 1,000 contacts and every `create_ab_test` never leave it executable without a human
(`planned` or `clamped` under `auto` autonomy), and the minimum spend before a pause only
holds back platforms that report spend.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.actions import ACTIONS
from engine.core.catalog import load_catalog
from engine.rules.escalation import default_escalations
from engine.safety.pipeline import Facts, run_pipeline
from tests.helpers.safety import act, operator

ESCALATIONS = default_escalations(load_catalog())
TYPES = ["add_to_automation", "create_ab_test", "pause"]


@st.composite
def email_action(draw):
    type_ = draw(st.sampled_from(TYPES))
    size = draw(st.one_of(st.none(), st.integers(0, 5000)))
    entity = {"profile_count": size, "status": "active", "name": "Lapsed 90 days"}
    if type_ == "pause":
        return act("pause", platform="activecampaign", level="email_campaign", attrs=entity)
    params = {"automation": "11"} if type_ == "add_to_automation" else {"subject": "B"}
    proposal = ACTIONS[type_].propose(entity, params)
    a = act(type_, proposal.before, proposal.after, platform="activecampaign", level="segment", params=params)
    a.entity = entity
    if proposal.skip_reason:
        a.status = "skipped"
    return a


facts = st.builds(
    Facts,
    lifetime_spend=st.one_of(st.none(), st.floats(0, 3000)),
    data_age_hours=st.floats(0, 20),
    sla_hours=st.just(26.0),
    source=st.just("activecampaign"),
    spends=st.booleans(),
)
levels = st.dictionaries(st.sampled_from(TYPES), st.sampled_from(["off", "dry_run", "approve", "auto"]), max_size=3)


@settings(max_examples=max(1000, settings().max_examples))  # more under HYPOTHESIS_PROFILE=nightly
@given(st.lists(email_action(), min_size=1, max_size=10), st.data(), levels, st.floats(0, 1000))
def test_big_or_irrevocable_email_actions_always_wait_for_a_human(proposed, data, autonomy, min_spend):
    fact_of = {a.action_id: data.draw(facts) for a in proposed}
    op = operator(platform="activecampaign", autonomy=autonomy, guardrails={"min_spend_before_pause": min_spend})
    result = run_pipeline(proposed, fact_of, {}, {"ops": op}, ESCALATIONS)
    for a in result.actions:
        runs_alone = a.status in ("planned", "clamped") and op.autonomy_for(a.type) == "auto"
        if a.type == "add_to_automation":
            size = a.entity.get("profile_count")
            if runs_alone:
                assert size is not None and 0 < size <= 1000
            if size is not None and size > 1000 and a.status not in ("blocked", "skipped"):
                assert a.status == "needs_approval" or op.autonomy_for(a.type) in ("dry_run", "approve")
        if a.type == "create_ab_test":
            assert not runs_alone
        if a.type == "pause" and a.status in ("planned", "clamped"):
            f = fact_of[a.action_id]
            assert not f.spends or (f.lifetime_spend or 0) >= min_spend


def test_a_small_segment_runs_on_its_own_and_a_big_one_waits():
    small = ACTIONS["add_to_automation"].propose({"profile_count": 40}, {"automation": "11"})
    big = ACTIONS["add_to_automation"].propose({"profile_count": 1001}, {"automation": "11"})
    acts = [
        act("add_to_automation", small.before, small.after, platform="activecampaign", level="segment"),
        act("add_to_automation", big.before, big.after, platform="activecampaign", level="segment"),
    ]
    acts[0].entity, acts[1].entity = {"profile_count": 40}, {"profile_count": 1001}
    fresh = Facts(data_age_hours=1.0, sla_hours=26.0, source="activecampaign", spends=False)
    result = run_pipeline(acts, {a.action_id: fresh for a in acts}, {}, {"ops": operator()}, ESCALATIONS)
    assert [a.status for a in result.actions] == ["planned", "needs_approval"]
    assert result.actions[1].guardrails[-1]["name"] == "escalation:automation_over_1000"
