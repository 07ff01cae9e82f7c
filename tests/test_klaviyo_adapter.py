"""KlaviyoAdapter through the official SDK against the local Klaviyo fake, through Prism when it is installed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.execution import ActionRequest, AuthError, EntityKey, PermanentError
from platforms.adapter import Account
from platforms.klaviyo.adapter import REVISION, KlaviyoAdapter
from platforms.ratelimit import CallWindow
from tests.fakes import klaviyo_prism
from tests.fakes.klaviyo_fake import (
    ACCOUNT,
    API_KEY,
    C_DRAFT_BIG,
    C_SCHEDULED,
    C_SENT,
    F_CART,
    F_DRAFT,
    F_SUNSET,
    F_WELCOME,
    L_NEWSLETTER,
    S_UNENGAGED,
    KlaviyoFake,
    env,
)
from tests.helpers.clock import VirtualClock

TODAY = datetime.now(UTC).date()


pytestmark = pytest.mark.prism  # through the Prism proxy: one worker runs them all


@pytest.fixture
def fake():
    server = KlaviyoFake(profiles=250, campaigns=3)
    server.api = klaviyo_prism.route(server)
    yield server
    server.close()
    klaviyo_prism.check()


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    for name, value in env().items():
        monkeypatch.setenv(name, value)


def make(fake, clock: VirtualClock | None = None, *, account=ACCOUNT, **kw) -> KlaviyoAdapter:
    clock = clock or VirtualClock(1000.0)
    windows = {k: CallWindow(2, 60.0, clock=clock) for k in ("campaign-values", "flow-values", "flow-series")}
    return KlaviyoAdapter(
        Account("klaviyo", account, endpoint=fake.api), sleep=clock.sleep, windows=windows, poll_interval=0.5, **kw
    )


def key(level, entity_id):
    return EntityKey("klaviyo", ACCOUNT, level, entity_id)


def reports(fake, kind):
    return [(q, b) for m, p, q, b in fake.requests if p == f"/api/{kind}-reports"]


# ---------------------------------------------------------------------------------------------- reads


def test_sync_reads_campaigns_flows_messages_segments_and_lists(fake):
    got = make(fake).fetch(TODAY - timedelta(days=30), TODAY - timedelta(days=1))
    by_id = {e["entity_id"]: e for e in got.entities}
    assert (
        by_id[C_SENT]["level"] == "email_campaign" and by_id[C_SENT]["status"] == "active"
    )  # still judged: its numbers keep coming in
    assert by_id[C_SCHEDULED]["status"] == "active"
    assert by_id[C_DRAFT_BIG]["status"] == "paused" and by_id[C_DRAFT_BIG]["profile_count"] == 5000
    assert by_id[F_WELCOME]["flow_status"] == "live" and by_id[F_WELCOME]["status"] == "active"
    assert by_id[F_SUNSET]["flow_status"] == "manual" and by_id[F_SUNSET]["status"] == "paused"
    assert by_id[F_DRAFT]["flow_status"] == "draft"
    assert by_id[S_UNENGAGED]["profile_count"] == 230 and by_id[S_UNENGAGED]["labels"] == ["segment"]
    assert by_id[L_NEWSLETTER]["profile_count"] == 250 and by_id[L_NEWSLETTER]["labels"] == ["list"]
    messages = [e for e in got.entities if e["level"] == "flow_message"]
    assert {m["parent_id"] for m in messages} == {F_WELCOME, F_CART, F_SUNSET, F_DRAFT}
    assert by_id[f"{F_WELCOME}m1"]["name"] == "Welcome Series #1"
    # the second email reaches half the first's recipients in the fake: half complete the series
    assert by_id[F_WELCOME]["completion_rate"] == 0.5


def test_a_sent_campaign_s_numbers_land_on_its_send_date_in_canonical_metrics(fake):
    got = make(fake).fetch(TODAY - timedelta(days=30), TODAY - timedelta(days=1))
    rows = [r for r in got.metrics if r["entity_id"] == C_SENT]
    assert len(rows) == 1
    row = rows[0]
    assert row["date"] == fake.campaigns[C_SENT]["send"]
    assert row["recipients"] == 88_000 and row["delivered"] == round(88_000 * 0.985)
    assert row["spam_complaints"] == round(row["delivered"] * 0.0018)  # the report's spam_complaints
    assert row["bounces"] == 88_000 - row["delivered"]  # `bounced` in the report
    assert {"opens", "email_clicks", "unsubscribes", "conversions", "conversion_value"} <= set(row)
    assert not [r for r in got.metrics if r["entity_id"] == C_SCHEDULED]  # not sent: no numbers


def test_flow_rows_are_daily_and_each_flow_is_the_sum_of_its_messages(fake):
    got = make(fake).fetch(TODAY - timedelta(days=7), TODAY - timedelta(days=1))
    flow = {r["date"]: r for r in got.metrics if r["entity_id"] == F_WELCOME}
    parts = [r for r in got.metrics if r["entity_id"] in (f"{F_WELCOME}m1", f"{F_WELCOME}m2")]
    assert len(flow) == 7 and len(parts) == 14
    day = TODAY - timedelta(days=3)
    assert flow[day]["recipients"] == sum(r["recipients"] for r in parts if r["date"] == day) > 0


def test_one_grouped_call_per_report_kind_and_the_pinned_revision_on_every_request(fake):
    adapter = make(fake)
    adapter.fetch(TODAY - timedelta(days=30), TODAY - timedelta(days=1))
    ((query, body),) = reports(fake, "campaign-values")
    attrs = body["data"]["attributes"]
    assert attrs["group_by"] == ["campaign_id", "send_channel"] and attrs["conversion_metric_id"] == "RESQ6t"
    assert "filter" not in query or "campaign_id" not in str(query)  # never one call per campaign
    assert len(reports(fake, "flow-values")) == 1 and len(reports(fake, "flow-series")) == 1
    assert adapter.report_calls == {"campaign-values": 1, "flow-values": 1, "flow-series": 1}
    assert set(fake.revisions) == {REVISION}


def test_collections_are_followed_page_by_page(fake):
    big = KlaviyoFake(campaigns=250, flows=60)
    big.api = klaviyo_prism.route(big)
    try:
        got = make(big).fetch(TODAY - timedelta(days=7), TODAY - timedelta(days=1))
    finally:
        big.close()
    assert len([e for e in got.entities if e["level"] == "email_campaign"]) == 254
    assert len([e for e in got.entities if e["level"] == "flow"]) == 64
    pages = [q for m, p, q, b in big.requests if p == "/api/campaigns"]
    assert len(pages) == 3 and pages[1]["page[cursor]"] == ["100"]
    assert len([1 for m, p, q, b in big.requests if p == "/api/flows"]) == 2


def test_a_long_range_splits_the_series_and_waits_only_when_a_third_call_would_break_the_minute(fake):
    clock = VirtualClock(1000.0)
    fake.clock = clock  # the fake's 2-a-minute limit on the same clock: a call too early would be a 429
    make(fake, clock).fetch(TODAY - timedelta(days=150), TODAY - timedelta(days=1))
    series = reports(fake, "flow-series")
    assert len(series) == 3  # 60 + 60 + 30 days
    spans = [
        (b["data"]["attributes"]["timeframe"]["start"][:10], b["data"]["attributes"]["timeframe"]["end"][:10])
        for _, b in series
    ]
    assert spans[0][0] == str(TODAY - timedelta(days=150)) and spans[-1][1] == str(TODAY - timedelta(days=1))
    assert clock.waits == [pytest.approx(60.0)]  # the third series call waits for the first to age out, no more
    assert fake.throttled == 0


def test_a_burst_429_on_a_report_waits_its_retry_after_and_the_sync_completes(fake):
    clock = VirtualClock(1000.0)
    adapter = make(fake, clock)
    adapter.conversion_metric()
    fake.fail_next("rate_limit", method="POST")
    got = adapter.fetch(TODAY - timedelta(days=7), TODAY - timedelta(days=1))
    assert 1.0 in clock.waits and any(r["entity_id"] == C_SENT for r in got.metrics)


def test_a_report_over_its_daily_quota_is_left_out_with_when_to_retry_and_the_rest_lands(fake):
    fake.report_day["campaign-values-reports"] = fake.daily_quota
    got = make(fake).fetch(TODAY - timedelta(days=7), TODAY - timedelta(days=1))
    assert not [r for r in got.metrics if r["level"] == "email_campaign"]
    assert [r for r in got.metrics if r["level"] == "flow"]  # the flows' numbers still land
    assert got.kept_levels == ("email_campaign",)
    (warning,) = got.warnings
    assert "campaign-values report is over its daily quota (225 calls a day)" in warning
    today = datetime.now(UTC).date()  # not TODAY: the suite may have started before midnight UTC
    assert f"retry after {today + timedelta(days=1)}" in warning or f"retry after {today}" in warning
    assert f"rulerun sync --since {TODAY - timedelta(days=7)}" in warning


def test_a_bad_api_key_is_a_clear_auth_error_without_the_key(fake, monkeypatch):
    monkeypatch.setenv("KLAVIYO_PRIVATE_API_KEY", "pk_wrong_key_123456")
    with pytest.raises(AuthError) as err:
        make(fake).check_connection()
    text = str(err.value)
    assert "klaviyo account XkP9Lm" in text and "KLAVIYO_PRIVATE_API_KEY" in text
    assert "pk_wrong_key_123456" not in text and API_KEY not in text


def test_a_missing_key_names_the_variable(fake, monkeypatch):
    monkeypatch.delenv("KLAVIYO_PRIVATE_API_KEY")
    with pytest.raises(AuthError, match="missing credentials: set KLAVIYO_PRIVATE_API_KEY"):
        make(fake).check_connection()


def test_an_account_id_that_is_not_the_key_s_account_is_refused(fake):
    with pytest.raises(PermanentError, match="belongs to Klaviyo account XkP9Lm, not AbC123"):
        make(fake, account="AbC123").fetch(TODAY - timedelta(days=2), TODAY - timedelta(days=1))


def test_connections_say_how_much_of_the_daily_report_budget_a_sync_uses(fake):
    (note,) = make(fake).connection_notes()
    assert "2 calls a minute and 225 a day" in note and "0.4% of each report's daily budget" in note


# ---------------------------------------------------------------------------------------------- writes


def test_pausing_a_flow_sets_it_manual_and_rollback_sets_it_live(fake):
    adapter = make(fake)
    done = adapter.execute(
        ActionRequest("p1", key("flow", F_CART), "pause", {}, {"status": "active"}, {"status": "paused"})
    )
    assert fake.flows[F_CART]["status"] == "manual"
    adapter.rollback(done.rollback_plan, key("flow", F_CART))
    assert fake.flows[F_CART]["status"] == "live"
    assert [u for u in fake.updates if u[0] == "flow"] == [("flow", F_CART, "manual"), ("flow", F_CART, "live")]


def test_set_flow_status_to_draft_and_back(fake):
    adapter = make(fake)
    req = ActionRequest(
        "s1",
        key("flow", F_WELCOME),
        "set_flow_status",
        {"status": "draft"},
        {"flow_status": "live"},
        {"flow_status": "draft"},
    )
    done = adapter.execute(req)
    assert fake.flows[F_WELCOME]["status"] == "draft" and done.rollback_plan["after"] == {"flow_status": "live"}
    make(fake).rollback(done.rollback_plan, key("flow", F_WELCOME))
    assert fake.flows[F_WELCOME]["status"] == "live"


def test_an_invalid_flow_status_and_enabling_a_draft_flow_are_refused_without_a_write(fake):
    adapter = make(fake)
    bad = ActionRequest(
        "s2", key("flow", F_WELCOME), "set_flow_status", {}, {"flow_status": "live"}, {"flow_status": "on"}
    )
    with pytest.raises(PermanentError, match="invalid flow status: 'on'"):
        adapter.execute(bad)
    enable = ActionRequest("e1", key("flow", F_DRAFT), "enable", {}, {"status": "paused"}, {"status": "active"})
    with pytest.raises(PermanentError, match="is a draft"):
        adapter.execute(enable)
    assert fake.updates == []


def test_suppression_sends_jobs_of_at_most_100_polls_each_and_rolls_back(fake):
    adapter = make(fake)
    req = ActionRequest(
        "x1",
        key("segment", S_UNENGAGED),
        "suppress_profiles",
        {},
        {"suppressed_profiles": 0},
        {"suppressed_profiles": 230},
    )
    done = adapter.execute(req)
    jobs = [b for m, p, q, b in fake.requests if m == "POST" and p == "/api/profile-suppression-bulk-create-jobs"]
    sizes = [len(b["data"]["attributes"]["profiles"]["data"]) for b in jobs]
    assert sizes == [100, 100, 30]
    polls = [
        p for m, p, q, b in fake.requests if m == "GET" and p.startswith("/api/profile-suppression-bulk-create-jobs/")
    ]
    assert len(polls) == 6  # queued when created, then polled: processing, complete
    assert fake.suppressed() == 230 and adapter.read_state(key("segment", S_UNENGAGED))["suppressed_profiles"] == 230
    assert done.result["suppressed"] == 230 and len(done.rollback_plan["params"]["emails"]) == 230

    make(fake).rollback(done.rollback_plan, key("segment", S_UNENGAGED))
    assert fake.suppressed() == 0


def test_rollback_leaves_a_profile_suppressed_for_another_reason(fake):
    done = make(fake).execute(
        ActionRequest(
            "x2",
            key("segment", S_UNENGAGED),
            "suppress_profiles",
            {},
            {"suppressed_profiles": 0},
            {"suppressed_profiles": 230},
        )
    )
    bounced = next(iter(fake.profiles.values()))
    bounced["reason"] = "HARD_BOUNCE"  # a bounce after the suppression: only Klaviyo lifts that
    make(fake).rollback(done.rollback_plan, key("segment", S_UNENGAGED))
    assert fake.suppressed() == 1 and bounced["suppressed"]


def test_a_suppression_failing_part_way_fails_naming_what_was_confirmed(fake):
    fake.fail_job(2)
    req = ActionRequest(
        "x3",
        key("segment", S_UNENGAGED),
        "suppress_profiles",
        {},
        {"suppressed_profiles": 0},
        {"suppressed_profiles": 230},
    )
    with pytest.raises(PermanentError) as err:
        make(fake).execute(req)
    assert "100 of 230 profiles suppressed (1 of 3 jobs confirmed); job 2 failed" in str(err.value)
    assert fake.suppressed() == 100  # the first job's profiles, and no others
    jobs = [b for m, p, q, b in fake.requests if m == "POST" and p == "/api/profile-suppression-bulk-create-jobs"]
    assert len(jobs) == 2  # nothing sent after the failed job


def test_a_subject_line_test_prepares_variant_b_as_a_draft_copy_and_rollback_deletes_it(fake):
    adapter = make(fake)
    subject = "Last chance: 20% off ends tonight"
    req = ActionRequest(
        "ab1",
        key("email_campaign", C_DRAFT_BIG),
        "create_ab_test",
        {"subject": subject},
        {"ab_test_subject": None},
        {"ab_test_subject": subject},
    )
    done = adapter.execute(req)
    variant = done.result["variant_campaign_id"]
    assert fake.campaigns[variant]["status"] == "Draft" and C_DRAFT_BIG in fake.campaigns[variant]["name"]
    assert fake.messages[f"M{variant}"]["subject"] == subject
    assert fake.messages[f"M{C_DRAFT_BIG}"]["subject"] != subject  # the original is untouched
    assert make(fake).read_state(key("email_campaign", C_DRAFT_BIG))["ab_test_subject"] == subject
    make(fake).rollback(done.rollback_plan, key("email_campaign", C_DRAFT_BIG))
    assert variant not in fake.campaigns


def test_a_subject_line_test_on_a_campaign_that_is_not_a_draft_is_refused(fake):
    req = ActionRequest(
        "ab2",
        key("email_campaign", C_SCHEDULED),
        "create_ab_test",
        {"subject": "x"},
        {"ab_test_subject": None},
        {"ab_test_subject": "x"},
    )
    with pytest.raises(PermanentError, match="is Scheduled, not a draft"):
        make(fake).execute(req)
    assert fake.updates == []


def test_suppressing_a_list_reads_the_list_s_profiles(fake):
    done = make(fake).execute(
        ActionRequest(
            "x4",
            key("segment", L_NEWSLETTER),
            "suppress_profiles",
            {},
            {"suppressed_profiles": 0},
            {"suppressed_profiles": 250},
        )
    )
    assert done.result["suppressed"] == 250 and fake.suppressed() == 250


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    size=st.integers(min_value=1, max_value=450), failing=st.one_of(st.none(), st.integers(min_value=1, max_value=5))
)
def test_suppression_never_sends_more_than_100_a_job_and_settles_per_job(size, failing):
    server = KlaviyoFake(profiles=size + 20)  # the unengaged segment holds `size` profiles
    server.api = server.url
    try:
        if failing:
            server.fail_job(failing)
        req = ActionRequest(
            "xp",
            key("segment", S_UNENGAGED),
            "suppress_profiles",
            {},
            {"suppressed_profiles": 0},
            {"suppressed_profiles": size},
        )
        jobs_needed = -(-size // 100)
        try:
            done = make(server).execute(req)
        except PermanentError as exc:
            assert failing is not None and failing <= jobs_needed
            assert f"{(failing - 1) * 100} of {size} profiles suppressed" in str(exc)
            assert server.suppressed() == (failing - 1) * 100  # exactly the confirmed jobs
        else:
            assert failing is None or failing > jobs_needed
            assert server.suppressed() == size and done.result["jobs"] == jobs_needed
        jobs = [b for m, p, q, b in server.requests if m == "POST" and p == "/api/profile-suppression-bulk-create-jobs"]
        emails = [p["attributes"]["email"] for b in jobs for p in b["data"]["attributes"]["profiles"]["data"]]
        assert all(1 <= len(b["data"]["attributes"]["profiles"]["data"]) <= 100 for b in jobs)
        assert len(emails) == len(set(emails))  # no profile sent twice
    finally:
        server.close()
