"""The LinkedIn Ads adapter (platforms/linkedin/adapter.py) against the local Rest.li fake."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from engine.core.execution import (
    ActionRequest,
    AuthError,
    EntityKey,
    PartialFailure,
    PermanentError,
    RateLimited,
    TransientError,
)
from tests.fakes.linkedin_fake import (
    ACCOUNT,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    TOKEN,
    LinkedInFake,
    make_adapter,
    set_env,
)

JAN_1, JAN_7 = date(2026, 1, 1), date(2026, 1, 7)


@pytest.fixture
def fake(monkeypatch):
    set_env(monkeypatch)
    server = LinkedInFake()
    yield server
    server.close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def adapter(fake, sleeps):
    return make_adapter(fake, sleeps=sleeps)


def key(level: str, entity_id: str) -> EntityKey:
    return EntityKey("linkedin", ACCOUNT, level, entity_id)


def request(action_id: str, k: EntityKey, type_: str, before: dict, after: dict) -> ActionRequest:
    return ActionRequest(action_id, k, type_, {}, before, after)


# ---------------------------------------------------------------- reads


def test_fetch_reads_entities_and_daily_metrics_of_every_level(adapter, fake):
    got = adapter.fetch(JAN_1, JAN_7)
    by = {(e["level"], e["entity_id"]): e for e in got.entities}
    assert len(by) == 3 + 5 + 10
    manual, automated = by[("ad_group", "700000001")], by[("ad_group", "700000002")]
    assert manual["parent_id"] == "600000001" and manual["daily_budget"] == 100.0 and manual["bid"] == 8.5
    assert manual["bidding_strategy"] == "manual_cpc" and manual["created_at"] == "2025-12-01"
    assert automated["bid"] is None and automated["bidding_strategy"] == "maximum_delivery"
    assert by[("ad_group", "700000004")]["is_brand"] and by[("ad", "800000008")]["is_brand"]  # under the brand group
    assert by[("ad", "800000006")]["status"] == "paused" and by[("ad", "800000006")]["parent_id"] == "700000003"
    assert by[("campaign", "600000003")]["status"] == "paused"

    levels = {m["level"] for m in got.metrics}
    assert levels == {"campaign", "ad_group", "ad"}
    row = next(m for m in got.metrics if m["level"] == "ad" and m["entity_id"] == "800000001" and m["date"] == JAN_1)
    raw = fake.daily("800000001", JAN_1)
    assert row["spend"] == raw["costInLocalCurrency"] / 100 and row["leads"] == raw["oneClickLeads"]
    assert row["outbound_clicks"] == raw["landingPageClicks"] and row["impressions"] == raw["impressions"]
    assert row["conversion_value"] == raw["conversionValueInLocalCurrency"] / 100
    # every level adds up to the same spend: the truth (campaign-level spend) counts it once
    spend = {lvl: round(sum(m["spend"] for m in got.metrics if m["level"] == lvl), 2) for lvl in levels}
    assert spend["campaign"] == spend["ad_group"] == spend["ad"] > 0
    # 1 account + 3 finders + 3 pivots, every one with the version, protocol and Rest.li method headers
    assert got.api_calls == 7 == len(fake.requests)
    assert {m for _, _, m, _ in fake.requests} == {"GET", "FINDER"}


def test_metrics_of_a_draft_creative_are_absent_not_zero(adapter):
    got = adapter.fetch(JAN_1, JAN_1)
    assert not [m for m in got.metrics if m["entity_id"] == "800000010"]  # the draft has no activity


def test_analytics_ranges_are_sliced_so_no_answer_nears_the_cap(adapter, fake):
    adapter.ROWS_PER_CALL = 20  # 10 creatives: 2 days per call; 5 campaigns: 4; 3 groups: 6
    got = adapter.fetch(JAN_1, JAN_7)
    calls = [p for _, path, _, p in fake.requests if path.endswith("adAnalytics")]
    per_pivot = {
        pivot: sum(1 for p in calls if p["pivot"] == pivot) for pivot in ("CAMPAIGN_GROUP", "CAMPAIGN", "CREATIVE")
    }
    assert per_pivot == {"CAMPAIGN_GROUP": 2, "CAMPAIGN": 2, "CREATIVE": 4}
    full = fake.analytics("CREATIVE", JAN_1, JAN_7, ["impressions"])
    assert len([m for m in got.metrics if m["level"] == "ad"]) == len(full)


def test_a_truncated_answer_is_split_and_read_again(adapter, fake):
    fake.row_cap = adapter.ROW_CAP = 20  # 9 creatives with activity a day: 7 days are 63 rows
    got = adapter.fetch(JAN_1, JAN_7)
    rows = {(m["entity_id"], m["date"]) for m in got.metrics if m["level"] == "ad"}
    assert len(rows) == len(fake.analytics("CREATIVE", JAN_1, JAN_7, [])) == 63


def test_a_single_day_at_the_cap_fails_rather_than_losing_rows(adapter, fake):
    fake.row_cap = adapter.ROW_CAP = 5
    with pytest.raises(PermanentError, match=r"as many as it ever returns.*nothing was stored") as err:
        adapter.fetch(JAN_1, JAN_7)
    assert err.value.platform == "linkedin" and err.value.account_id == ACCOUNT


def test_finders_page_with_the_page_token_and_a_failed_page_is_retried_not_restarted(adapter, fake, sleeps):
    adapter.PAGE_SIZE = {**adapter.PAGE_SIZE, "creatives": 3}
    fake.fail_page("creatives", 2)
    got = adapter.fetch(JAN_1, JAN_1)
    assert len([e for e in got.entities if e["level"] == "ad"]) == 10
    assert fake.finder_pages("creatives") == [None, "tok-3", "tok-6", "tok-6", "tok-9"]
    assert len(sleeps) == 1 and got.api_calls == 7 + 4  # three more pages, and the retried one


def test_a_long_query_is_tunnelled_in_a_post_body(adapter, fake):
    adapter.MAX_QUERY = 100  # every finder and analytics query is longer
    got = adapter.fetch(JAN_1, JAN_1)
    assert fake.tunnelled == 6 and any(m["level"] == "ad" for m in got.metrics)


def test_a_414_is_answered_by_tunnelling_the_same_query(adapter, fake):
    fake.max_url = 300  # the analytics URLs are longer (and under MAX_QUERY): the server refuses them
    got = adapter.fetch(JAN_1, JAN_1)
    expected = sum(len(fake.analytics(p, JAN_1, JAN_1, [])) for p in ("CAMPAIGN_GROUP", "CAMPAIGN", "CREATIVE"))
    assert fake.tunnelled == 3 and len(got.metrics) == expected > 0
    assert got.api_calls == 7 + 3  # each analytics call refused once, then tunnelled


def test_check_connection_names_the_account(adapter):
    assert adapter.check_connection() == "Acme Robotics B2B (USD)"


def test_a_currency_other_than_the_accounts_is_refused(fake):
    with pytest.raises(PermanentError, match=r"in USD but rulerun.yaml gives it EUR: set `currency: USD`"):
        make_adapter(fake, currency="EUR").fetch(JAN_1, JAN_1)


# ---------------------------------------------------------------- writes


@pytest.mark.parametrize(
    ("level", "entity_id", "field"),
    [("campaign", "600000001", "status"), ("ad_group", "700000001", "status"), ("ad", "800000001", "intendedStatus")],
)
def test_pause_and_enable_patch_the_status_field_of_each_resource(adapter, fake, level, entity_id, field):
    k = key(level, entity_id)
    done = adapter.execute(request("p1", k, "pause", {"status": "active"}, {"status": "paused"}))
    assert fake.updates[-1][1:] == (entity_id, {field: "PAUSED"})
    assert done.result["id"].endswith(f":{entity_id}") and adapter.read_state(k)["status"] == "paused"
    adapter.rollback(done.rollback_plan, k)
    assert fake.updates[-1][2] == {field: "ACTIVE"} and adapter.read_state(k)["status"] == "active"


def test_budget_and_bid_are_currency_amount_strings(adapter, fake):
    k = key("ad_group", "700000001")
    adapter.execute(request("b1", k, "change_budget", {"daily_budget": 100.0}, {"daily_budget": 112.345}))
    assert fake.updates[-1][2] == {"dailyBudget": {"amount": "112.35", "currencyCode": "USD"}}
    adapter.execute(request("b2", k, "set_bid", {"bid": 8.5}, {"bid": 9.1}))
    assert fake.updates[-1][2] == {"unitCost": {"amount": "9.10", "currencyCode": "USD"}}
    assert adapter.read_state(k) == {"status": "active", "daily_budget": 112.35, "bid": 9.1}


def test_a_bid_under_automated_bidding_is_refused_with_the_reason(adapter, fake):
    with pytest.raises(PermanentError, match=r"automated bidding \(MAX_LEAD\): LinkedIn sets its bids"):
        adapter.execute(request("b3", key("ad_group", "700000002"), "set_bid", {"bid": None}, {"bid": 7.0}))
    assert fake.updates == []


def test_a_draft_is_not_launched(adapter, fake):
    with pytest.raises(PermanentError, match="is a draft"):
        adapter.execute(
            request("d1", key("ad_group", "700000005"), "enable", {"status": "paused"}, {"status": "active"})
        )
    assert fake.updates == []


def test_an_unknown_entity_is_named(adapter):
    with pytest.raises(PermanentError, match="no creative 899999999 in ad account 508923114"):
        adapter.read_state(key("ad", "899999999"))


def test_a_batch_is_one_call_per_resource_and_each_change_is_settled_on_its_own(adapter, fake):
    creatives = ["800000001", "800000002", "800000003", "800000004"]
    fake.fail_entity("800000003")
    reqs = [
        request(f"c{i}", key("ad", c), "pause", {"status": "active"}, {"status": "paused"})
        for i, c in enumerate(creatives)
    ]
    reqs.append(request("g1", key("ad_group", "700000004"), "pause", {"status": "active"}, {"status": "paused"}))
    before = len(fake.requests)
    with pytest.raises(PartialFailure) as err:
        adapter.execute_batch(reqs)
    assert set(err.value.failed) == {"c2"} and "creative 800000003" in err.value.failed["c2"]
    assert set(err.value.succeeded) == {"c0", "c1", "c3", "g1"}
    writes = [(path, m, p) for _, path, m, p in fake.requests[before:] if m not in ("GET",)]
    assert [m for _, m, _ in writes] == ["BATCH_PARTIAL_UPDATE", "PARTIAL_UPDATE"]
    assert writes[0][2]["ids"] == [f"urn:li:sponsoredCreative:{c}" for c in creatives]
    assert {u[1] for u in fake.updates} == {"800000001", "800000002", "800000004", "700000004"}


def test_batches_keep_their_urls_short_and_an_entity_once_per_call(adapter, fake):
    adapter.MAX_QUERY = 120  # two encoded creative URNs per call
    creatives = [f"80000000{i}" for i in (1, 2, 3, 4, 5)]
    reqs = [
        request(f"c{i}", key("ad", c), "pause", {"status": "active"}, {"status": "paused"})
        for i, c in enumerate(creatives)
    ]
    done = adapter.execute_batch(reqs)
    assert len(done) == 5
    batches = [p["ids"] for _, _, m, p in fake.requests if m == "BATCH_PARTIAL_UPDATE"]
    assert [len(ids) for ids in batches] == [2, 2] and len(
        [m for _, _, m, _ in fake.requests if m == "PARTIAL_UPDATE"]
    ) == 1
    k = key("ad_group", "700000001")
    both = [
        request("s", k, "pause", {"status": "active"}, {"status": "paused"}),
        request("b", k, "set_budget", {"daily_budget": 100.0}, {"daily_budget": 90.0}),
    ]
    assert set(adapter.execute_batch(both)) == {"s", "b"}
    assert fake.updates[-2:] == [
        ("adCampaigns", "700000001", {"status": "PAUSED"}),
        ("adCampaigns", "700000001", {"dailyBudget": {"amount": "90.00", "currencyCode": "USD"}}),
    ]


def test_a_rate_limit_after_a_written_chunk_still_reports_what_was_written(adapter, fake):
    adapter.MAX_QUERY = 120  # two creatives per call: three calls
    creatives = [f"80000000{i}" for i in (1, 2, 3, 4, 5, 8)]  # the active ones
    reqs = [
        request(f"c{i}", key("ad", c), "pause", {"status": "active"}, {"status": "paused"})
        for i, c in enumerate(creatives)
    ]
    fake.fail_at("/creatives", "rate_limit", adapter.ATTEMPTS, after=1, method="BATCH_PARTIAL_UPDATE")
    with pytest.raises(PartialFailure) as err:
        adapter.execute_batch(reqs)
    assert set(err.value.succeeded) == {"c0", "c1"} and set(err.value.failed) == {"c2", "c3", "c4", "c5"}
    assert "rate limited by LinkedIn" in err.value.failed["c2"]
    assert {u[1] for u in fake.updates} == {"800000001", "800000002"}
    # the third call was never sent: the changes after a rate limit wait for a later attempt
    batches = [m for m, path in fake.calls if m == "BATCH_PARTIAL_UPDATE"]
    assert len(batches) == 1 + adapter.ATTEMPTS


def test_a_rate_limit_on_the_first_chunk_is_raised_whole(adapter, fake):
    fake.fail_at("/creatives", "rate_limit", adapter.ATTEMPTS, method="BATCH_PARTIAL_UPDATE")
    reqs = [
        request(f"c{i}", key("ad", c), "pause", {"status": "active"}, {"status": "paused"})
        for i, c in enumerate(["800000001", "800000002"])
    ]
    with pytest.raises(RateLimited):
        adapter.execute_batch(reqs)
    assert fake.updates == []


# ---------------------------------------------------------------- errors


def test_an_expired_token_is_refreshed_once_and_the_call_retried(fake, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("LINKEDIN_REFRESH_TOKEN", REFRESH_TOKEN)
    fake.expire(TOKEN)
    adapter = make_adapter(fake)
    assert adapter.check_connection().startswith("Acme Robotics")
    assert adapter.fetch(JAN_1, JAN_1).api_calls == 7  # the new token serves the rest of the run
    assert len(fake.issued) == 1 and adapter.calls() == 1 + 1 + 1 + 7  # expired, refresh, probe again, fetch
    for secret in (TOKEN, REFRESH_TOKEN, CLIENT_SECRET, fake.issued[0]):
        assert secret not in caplog.text


def test_an_expired_token_without_a_refresh_token_names_both_variables(fake):
    fake.expire(TOKEN)
    with pytest.raises(AuthError, match=r"has expired: set LINKEDIN_ACCESS_TOKEN.*LINKEDIN_REFRESH_TOKEN") as err:
        make_adapter(fake).check_connection()
    assert TOKEN not in str(err.value)


def test_a_refused_refresh_token_is_an_auth_error_never_retried(fake, monkeypatch, sleeps):
    monkeypatch.setenv("LINKEDIN_REFRESH_TOKEN", "AQX-an-old-refresh-token")
    fake.expire(TOKEN)
    with pytest.raises(AuthError, match=r"refused the refresh token.*LINKEDIN_REFRESH_TOKEN") as err:
        make_adapter(fake, sleeps=sleeps).check_connection()
    assert "AQX-an-old-refresh-token" not in str(err.value) and sleeps == [] and fake.issued == []


def test_a_revoked_token_names_the_variable_to_fix(fake):
    fake.revoke(TOKEN)
    with pytest.raises(AuthError, match="revoked: authorize the app again and set LINKEDIN_ACCESS_TOKEN") as err:
        make_adapter(fake).fetch(JAN_1, JAN_1)
    assert str(err.value).startswith("linkedin account 508923114: ")


def test_a_sunset_version_names_the_setting(fake):
    with pytest.raises(PermanentError, match=r"version 202401 is no longer active.*platforms.linkedin.api_version"):
        make_adapter(fake, version="202401").check_connection()
    with pytest.raises(PermanentError, match="'2026-01' is not a LinkedIn API version"):
        make_adapter(fake, version="2026-01").check_connection()


def test_an_unknown_account_is_named_with_the_fix(fake):
    from platforms.adapter import Account
    from platforms.linkedin.adapter import LinkedInAdsAdapter

    other = LinkedInAdsAdapter(
        Account("linkedin", "urn:li:sponsoredAccount:123", endpoint=fake.url, api_version="202601")
    )
    with pytest.raises(PermanentError, match=r"no ad account 123.*rulerun.yaml and LINKEDIN_AD_ACCOUNT_ID"):
        other.fetch(JAN_1, JAN_1)
    with pytest.raises(PermanentError, match="not a LinkedIn ad account id"):
        LinkedInAdsAdapter(Account("linkedin", "act_42", endpoint=fake.url)).check_connection()


def test_a_rate_limit_is_retried_then_named_and_never_slept_for_real(adapter, fake, sleeps):
    fake.fail_next("rate_limit", n=adapter.ATTEMPTS)
    with pytest.raises(RateLimited, match=r"rate limited by LinkedIn \(its limits are per day") as err:
        adapter.fetch(JAN_1, JAN_1)
    assert str(err.value).startswith("linkedin account 508923114: ") and len(sleeps) == adapter.ATTEMPTS - 1
    fake.fail_next("rate_limit", n=2)  # a passing limit: retried, then read
    assert adapter.fetch(JAN_1, JAN_1).metrics


@pytest.mark.parametrize(
    "step", ["/adAccounts/508923114", "/adCampaignGroups", "/adCampaigns", "/creatives", "/adAnalytics"]
)
def test_a_rate_limit_at_any_step_of_a_read_fails_the_whole_read(adapter, fake, step):
    fake.fail_at(step, "rate_limit", adapter.ATTEMPTS, after=1 if step == "/adAnalytics" else 0)
    with pytest.raises(RateLimited, match="rate limited by LinkedIn") as err:
        adapter.fetch(JAN_1, JAN_1)
    assert err.value.account_id == ACCOUNT
    assert sum(1 for _, path in fake.calls if path.endswith(step)) == adapter.ATTEMPTS + (step == "/adAnalytics")


def test_a_500_is_transient_and_malformed_json_is_permanent(adapter, fake):
    fake.fail_next("transient", n=adapter.ATTEMPTS)
    with pytest.raises(TransientError):
        adapter.check_connection()
    fake.fail_next("malformed")
    with pytest.raises(PermanentError, match="not JSON"):
        adapter.check_connection()


@pytest.mark.parametrize(
    "element",
    [
        {"dateRange": {"start": {"year": 2026, "month": 1, "day": 1}}, "impressions": 5},  # no pivot value
        {"pivotValues": ["urn:li:sponsoredCreative:800000001"], "impressions": 5},  # no date
        {"pivotValues": ["urn:li:sponsoredCreative:800000001"], "dateRange": {"start": {"year": 2026, "month": 13}}},
        {
            "pivotValues": ["urn:li:sponsoredCreative:800000001"],
            "dateRange": {"start": {"year": 2026, "month": 1, "day": 1}},
            "costInLocalCurrency": "12,50",  # not a number
        },
    ],
)
def test_a_malformed_analytics_element_fails_the_whole_read(adapter, fake, element):
    fake.analytics = lambda pivot, start, end, fields: [element] if pivot == "CREATIVE" else []
    with pytest.raises(PermanentError, match="malformed adAnalytics element for CREATIVE"):
        adapter.fetch(JAN_1, JAN_1)


def test_missing_credentials_are_named(fake, monkeypatch):
    monkeypatch.delenv("LINKEDIN_ACCESS_TOKEN")
    with pytest.raises(AuthError, match="LINKEDIN_ACCESS_TOKEN"):
        make_adapter(fake).check_connection()
