"""ActiveCampaignAdapter over HTTP against the local ActiveCampaign fake (tests/fakes/activecampaign_fake.py)."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest

from engine.core.execution import ActionRequest, AuthError, EntityKey, PermanentError, TransientError
from platforms.activecampaign.adapter import PER_SECOND, WINDOW_SECONDS, ActiveCampaignAdapter
from platforms.adapter import Account
from platforms.ratelimit import CallWindow
from tests.fakes.activecampaign_fake import (
    A_OFF,
    A_TRIAL,
    A_WINBACK,
    ACCOUNT,
    BIG_LIST_SIZE,
    C_DRAFT,
    C_NEWSLETTER,
    C_NOISY,
    C_PAUSED,
    C_SCHEDULED,
    C_SENDING,
    C_WINBACK_EMAIL,
    L_TRIAL,
    L_WINBACK,
    PRE_ENROLLED,
    TOKEN,
    ActiveCampaignFake,
    env,
)
from tests.helpers.clock import VirtualClock

TODAY = date(2026, 11, 20)


@pytest.fixture
def fake():
    server = ActiveCampaignFake(today=TODAY)
    yield server
    server.close()


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    for name, value in env().items():
        monkeypatch.setenv(name, value)


def make(fake, *, endpoint: str | None = None, clock: VirtualClock | None = None, timezone: str = "America/Chicago"):
    clock = clock or VirtualClock()
    account = Account("activecampaign", ACCOUNT, timezone, endpoint=fake.url if endpoint is None else endpoint)
    adapter = ActiveCampaignAdapter(account, window=CallWindow(PER_SECOND, WINDOW_SECONDS, clock=clock))
    adapter.sleep = clock.sleep
    return adapter


def key(level: str, entity_id: str) -> EntityKey:
    return EntityKey("activecampaign", ACCOUNT, level, entity_id)


def req(action_type: str, k: EntityKey, after: dict, before: dict | None = None, action_id: str = "a-1"):
    return ActionRequest(action_id, k, action_type, {}, before or {}, after)


# ---------------------------------------------------------------- reads


def test_read_maps_campaigns_automations_and_lists(fake):
    got = make(fake).fetch(TODAY - timedelta(days=30), TODAY - timedelta(days=1))
    by = {(e["level"], e["entity_id"]): e for e in got.entities}
    assert by[("email_campaign", C_NEWSLETTER)]["status"] == "archived"  # 5: completed
    assert by[("email_campaign", C_SENDING)]["status"] == "active"
    assert by[("email_campaign", C_PAUSED)]["status"] == "paused"
    assert by[("email_campaign", C_WINBACK_EMAIL)]["parent_id"] == A_WINBACK
    assert by[("flow", A_WINBACK)]["status"] == "active" and by[("flow", A_OFF)]["status"] == "paused"
    assert by[("flow", A_WINBACK)]["profile_count"] == 30  # entered 410 - exited 380
    assert by[("segment", L_WINBACK)]["profile_count"] == 40
    assert by[("segment", L_TRIAL)]["profile_count"] == BIG_LIST_SIZE
    rows = {(m["level"], m["entity_id"]): m for m in got.metrics}
    news = rows[("email_campaign", C_NEWSLETTER)]
    # counters arrive as strings; bounces are hard + soft; delivered = sends - bounces
    assert news["date"] == (TODAY - timedelta(days=3)).isoformat()
    assert news["recipients"] == 12000 and news["opens"] == 4080 and news["email_clicks"] == 360
    assert news["bounces"] == 12000 // 400 + 12000 // 250
    assert news["delivered"] == 12000 - news["bounces"]
    assert rows[("email_campaign", C_NOISY)]["unsubscribes"] == 160
    # an automation's row sums its emails on their send date
    assert rows[("flow", A_WINBACK)]["recipients"] == 900
    # unsent campaigns have no metric row
    assert ("email_campaign", C_SCHEDULED) not in rows and ("email_campaign", C_DRAFT) not in rows
    assert got.api_calls == len(fake.requests)


def test_every_day_has_an_account_row_with_zeros_when_nothing_was_sent(fake):
    got = make(fake).fetch(TODAY - timedelta(days=30), TODAY - timedelta(days=1))
    account = {m["date"]: m for m in got.metrics if m["level"] == "account"}
    assert len(account) == 30 and all(m["entity_id"] == ACCOUNT for m in account.values())
    campaigns = [m for m in got.metrics if m["level"] == "email_campaign"]
    assert sum(m["recipients"] for m in account.values()) == sum(m["recipients"] for m in campaigns)
    quiet = (TODAY - timedelta(days=10)).isoformat()  # no campaign went out that day
    assert account[quiet]["recipients"] == 0 and account[quiet]["unsubscribes"] == 0
    assert ("account", ACCOUNT) in {(e["level"], e["entity_id"]) for e in got.entities}


def test_the_send_date_is_the_accounts_day_and_the_range_filters_campaigns(fake):
    fake.campaigns[C_NEWSLETTER]["sdate"] = f"{TODAY - timedelta(days=3)}T23:30:00-05:00"  # 04:30 UTC next day
    tokyo = make(fake, timezone="Asia/Tokyo").fetch(TODAY - timedelta(days=30), TODAY - timedelta(days=1))
    chicago = make(fake, timezone="America/Chicago").fetch(TODAY - timedelta(days=30), TODAY - timedelta(days=1))
    day = {m["entity_id"]: m["date"] for m in tokyo.metrics if m["level"] == "email_campaign"}
    assert day[C_NEWSLETTER] == (TODAY - timedelta(days=2)).isoformat()
    day = {m["entity_id"]: m["date"] for m in chicago.metrics if m["level"] == "email_campaign"}
    assert day[C_NEWSLETTER] == (TODAY - timedelta(days=3)).isoformat()
    only_yesterday = make(fake).fetch(TODAY - timedelta(days=1), TODAY - timedelta(days=1))
    assert {m["entity_id"] for m in only_yesterday.metrics if m["level"] == "email_campaign"} == {C_SENDING}


def test_paging_walks_offsets_and_never_asks_more_than_100(fake):
    bulk = ActiveCampaignFake(today=TODAY, campaigns=230)
    try:
        got = make(bulk).fetch(TODAY - timedelta(days=90), TODAY - timedelta(days=1))
        campaign_pages = [q for m, p, q, _ in bulk.requests if p == "/api/3/campaigns"]
        assert [q["offset"] for q in campaign_pages] == [["0"], ["100"], ["200"]]
        assert all(int(q["limit"][0]) <= 100 for _, _, q, _ in bulk.requests if "limit" in q)
        assert sum(1 for e in got.entities if e["level"] == "email_campaign") == 237
    finally:
        bulk.close()


def test_calls_are_paced_under_five_a_second():
    bulk = ActiveCampaignFake(today=TODAY, lists=20)  # one count per list: 25 calls
    try:
        clock = VirtualClock()
        make(bulk, clock=clock).fetch(TODAY - timedelta(days=30), TODAY - timedelta(days=1))
        n = len(bulk.requests)
        assert n == 25
        # 5 start at once, then 5 in every 1.1 s (10% under the documented 5 a second): no more, no less
        assert clock.now == pytest.approx((n - 5) / 5 * 1.1, abs=0.01)
    finally:
        bulk.close()


def test_a_429_waits_its_retry_after_and_the_read_goes_on(fake):
    clock = VirtualClock()
    fake.fail_next("rate_limit")
    got = make(fake, clock=clock).fetch(TODAY - timedelta(days=30), TODAY - timedelta(days=1))
    assert 2.0 in clock.waits and got.entities


def test_a_malformed_counter_fails_the_read_naming_the_account(fake):
    fake.campaigns[C_NEWSLETTER]["uniqueopens"] = "lots"
    with pytest.raises(PermanentError) as err:
        make(fake).fetch(TODAY - timedelta(days=30), TODAY - timedelta(days=1))
    assert "activecampaign account vibe" in str(err.value) and "uniqueopens" in str(err.value)


# ---------------------------------------------------------------- faults


def test_a_refused_token_is_an_auth_error_naming_the_variable(fake, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ACTIVECAMPAIGN_API_TOKEN", "wrong-token-value-123")
    with pytest.raises(AuthError) as err:
        make(fake).check_connection()
    text = str(err.value)
    assert "activecampaign account vibe" in text and "ACTIVECAMPAIGN_API_TOKEN" in text
    assert "wrong-token-value-123" not in text + caplog.text and TOKEN not in text


def test_a_missing_token_names_the_variable(fake, monkeypatch):
    monkeypatch.delenv("ACTIVECAMPAIGN_API_TOKEN")
    with pytest.raises(AuthError, match="ACTIVECAMPAIGN_API_TOKEN"):
        make(fake).check_connection()
    assert fake.requests == []


def test_an_account_url_without_the_api_is_named(fake):
    with pytest.raises(PermanentError) as err:
        make(fake, endpoint=fake.url + "/nobody").check_connection()
    assert "no ActiveCampaign API at" in str(err.value) and "endpoint" in str(err.value)
    assert "activecampaign account vibe" in str(err.value)


def test_an_account_url_nobody_answers_is_named_after_the_retries():
    clock = VirtualClock()
    with pytest.raises(TransientError) as err:
        make(ActiveCampaignFakeStub, endpoint="http://127.0.0.1:9", clock=clock).check_connection()
    assert "cannot reach http://127.0.0.1:9/api/3" in str(err.value) and "endpoint" in str(err.value)
    assert len(clock.waits) >= 3  # the retry policy's attempts


class ActiveCampaignFakeStub:
    url = ""


def test_an_account_without_endpoint_is_refused_before_any_call(fake):
    with pytest.raises(PermanentError, match="set `endpoint`"):
        make(fake, endpoint="").check_connection()
    assert fake.requests == []


def test_the_url_may_be_given_with_or_without_api_3(fake):
    assert make(fake, endpoint=fake.url + "/api/3/").check_connection().startswith("vibe:")
    assert make(fake).check_connection() == f"vibe: {len(fake.campaigns)} campaigns"


# ---------------------------------------------------------------- campaign and automation status


def test_pausing_a_sending_campaign_and_rolling_back_resumes_it(fake):
    k = key("email_campaign", C_SENDING)
    done = make(fake).execute(req("pause", k, {"status": "paused"}, {"status": "active"}))
    assert fake.campaigns[C_SENDING]["status"] == "3"
    assert done.rollback_plan["type"] == "enable" and done.rollback_plan["params"]["resume_status"] == "2"
    make(fake).rollback(done.rollback_plan, k)
    assert fake.campaigns[C_SENDING]["status"] == "2"
    sent = [b for m, p, _, b in fake.requests if m == "PUT"]
    assert sent == [{"campaign": {"status": "3"}}, {"campaign": {"status": "2"}}]


def test_a_scheduled_campaign_resumes_as_scheduled(fake):
    k = key("email_campaign", C_SCHEDULED)
    done = make(fake).execute(req("pause", k, {"status": "paused"}))
    make(fake).rollback(done.rollback_plan, k)
    assert fake.campaigns[C_SCHEDULED]["status"] == "1"


def test_a_draft_is_never_started_by_enable(fake):
    with pytest.raises(PermanentError, match="not a paused send"):
        make(fake).execute(req("enable", key("email_campaign", C_DRAFT), {"status": "active"}))
    assert fake.updates == []


def test_a_completed_campaign_cannot_be_paused(fake):
    with pytest.raises(PermanentError, match="cannot be set paused"):
        make(fake).execute(req("pause", key("email_campaign", C_NEWSLETTER), {"status": "paused"}))
    assert fake.updates == []


def test_automations_pause_and_resume(fake):
    k = key("flow", A_TRIAL)
    done = make(fake).execute(req("pause", k, {"status": "paused"}))
    assert fake.automations[A_TRIAL]["status"] == "2"
    make(fake).rollback(done.rollback_plan, k)
    assert fake.automations[A_TRIAL]["status"] == "1"


def test_a_refused_update_is_a_permanent_error_with_the_detail(fake):
    fake.fail_item(C_SENDING)
    with pytest.raises(PermanentError) as err:
        make(fake).execute(req("pause", key("email_campaign", C_SENDING), {"status": "paused"}))
    assert "cannot be changed now" in str(err.value) and fake.campaigns[C_SENDING]["status"] == "2"


# ---------------------------------------------------------------- lifecycle automations


def enroll(automation: str = A_WINBACK, contacts: int = 40) -> dict:
    return {"automation_enrollment": {"automation": automation, "contacts": contacts}}


def test_adding_a_list_to_an_automation_skips_who_is_in_and_rollback_removes_only_the_added(fake):
    k = key("segment", L_WINBACK)
    done = make(fake).execute(req("add_to_automation", k, enroll()))
    assert fake.in_automation(L_WINBACK, A_WINBACK) == 40
    posts = [b for m, p, _, b in fake.requests if m == "POST"]
    assert len(posts) == 39 and PRE_ENROLLED not in {b["contactAutomation"]["contact"] for b in posts}
    assert done.result["contacts_added"] == 39
    plan = done.rollback_plan
    assert plan["type"] == "remove_from_automation" and len(plan["params"]["contact_automations"]) == 39
    assert plan["before"] == enroll() and plan["after"] == {"automation_enrollment": None}

    make(fake).rollback(plan, k)
    assert fake.in_automation(L_WINBACK, A_WINBACK) == 1  # the contact who was in before stays
    assert any(e["contact"] == PRE_ENROLLED for e in fake.enrollments.values())


def test_a_list_already_in_the_automation_is_not_added_again(fake):
    k = key("segment", L_WINBACK)
    make(fake).execute(req("add_to_automation", k, enroll(), action_id="first"))
    writes = len(fake.updates)
    again = make(fake).execute(req("add_to_automation", k, enroll(), action_id="second"))
    assert again.result.get("already") and len(fake.updates) == writes


def test_an_enrollment_failing_part_way_says_how_far_it_got_and_a_retry_adds_the_rest(fake):
    k = key("segment", L_WINBACK)
    fake.fail_item("1011")  # the 11th contact of the list is refused
    adapter = make(fake)
    with pytest.raises(PermanentError) as err:
        adapter.execute(req("add_to_automation", k, enroll()))
    assert "9 contacts of list 21 are in automation 11 by now" in str(err.value)
    assert fake.in_automation(L_WINBACK, A_WINBACK) == 10  # 9 added + the one who was in
    fake.failing.clear()
    done = adapter.execute(req("add_to_automation", k, enroll()))
    assert fake.in_automation(L_WINBACK, A_WINBACK) == 40
    # the plan names every enrollment this adapter made, the first attempt's too
    assert len(done.rollback_plan["params"]["contact_automations"]) == 39
    make(fake).rollback(done.rollback_plan, k)
    assert fake.in_automation(L_WINBACK, A_WINBACK) == 1


def test_rolling_back_an_enrollment_someone_already_removed_succeeds(fake):
    k = key("segment", L_WINBACK)
    done = make(fake).execute(req("add_to_automation", k, enroll()))
    gone = done.rollback_plan["params"]["contact_automations"][:5]
    for eid in gone:
        del fake.enrollments[eid]
    out = make(fake).rollback(done.rollback_plan, k)
    assert out.result["contacts_removed"] == 34 and fake.in_automation(L_WINBACK, A_WINBACK) == 1


def test_a_list_grown_since_the_plan_is_refused_before_anything_is_added(fake):
    fake.members[L_WINBACK] += [str(5000 + i) for i in range(2000)]  # 2,040 now: over the 1,000 needing approval
    with pytest.raises(PermanentError, match="holds 2040 contacts, 40 when the change was planned"):
        make(fake).execute(req("add_to_automation", key("segment", L_WINBACK), enroll(contacts=40)))
    assert fake.updates == [] and fake.in_automation(L_WINBACK, A_WINBACK) == 1


def test_an_unknown_list_is_a_clear_error(fake):
    with pytest.raises(PermanentError, match="unknown segment 999"):
        make(fake).execute(req("add_to_automation", key("segment", "999"), enroll()))


# ---------------------------------------------------------------- subject-line tests


def test_a_subject_test_is_a_draft_and_rollback_deletes_it(fake):
    k = key("email_campaign", C_DRAFT)
    done = make(fake).execute(req("create_ab_test", k, {"ab_test_subject": "Your May picks, inside"}))
    draft = done.result["campaign"]
    made = fake.campaigns[draft]
    assert made["type"] == "split" and made["status"] == "0" and made["split_pct"] == 50
    assert made["subjects"] == ["Holiday draft", "Your May picks, inside"]
    assert make(fake).read_state(k)["ab_test_subject"] == "Your May picks, inside"
    assert done.rollback_plan["type"] == "remove_ab_test"
    # the draft is not a campaign of its own for rules
    entities = make(fake).fetch(TODAY - timedelta(days=7), TODAY - timedelta(days=1)).entities
    assert draft not in {e["entity_id"] for e in entities}
    assert {e["entity_id"]: e for e in entities}[C_DRAFT]["profile_count"] == 5000
    make(fake).rollback(done.rollback_plan, k)
    assert draft not in fake.campaigns and make(fake).read_state(k)["ab_test_subject"] is None


def test_a_subject_test_that_was_sent_cannot_be_rolled_back(fake):
    k = key("email_campaign", C_DRAFT)
    done = make(fake).execute(req("create_ab_test", k, {"ab_test_subject": "B"}))
    fake.campaigns[done.result["campaign"]]["status"] = "5"
    with pytest.raises(PermanentError, match="no draft any more"):
        make(fake).rollback(done.rollback_plan, k)
    assert done.result["campaign"] in fake.campaigns


def test_the_same_subject_test_is_not_created_twice(fake):
    k = key("email_campaign", C_DRAFT)
    make(fake).execute(req("create_ab_test", k, {"ab_test_subject": "B"}, action_id="x"))
    again = make(fake).execute(req("create_ab_test", k, {"ab_test_subject": "B"}, action_id="y"))
    assert again.result.get("already")
    assert sum(1 for c in fake.campaigns.values() if c.get("type") == "split") == 1
