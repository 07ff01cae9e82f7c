"""MetaAdsAdapter through the real facebook-business SDK against a local Graph API fake."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pytest

pytest.importorskip("facebook_business")

from engine.core.execution import ActionRequest, AuthError, EntityKey, PermanentError, RateLimited, TransientError
from platforms.adapter import Account
from platforms.meta.adapter import MetaAdsAdapter
from tests.fakes.meta_graph_fake import APP_ID, APP_SECRET, TOKEN, MetaGraphFake


@pytest.fixture
def fake():
    server = MetaGraphFake(page_size=2, async_polls=2)
    yield server
    server.close()


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("META_APP_ID", APP_ID)
    monkeypatch.setenv("META_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("META_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("META_AD_ACCOUNT_ID", "act_123")


def make(fake, account_id="act_123", waits=None):
    """An adapter on the fake whose waits go to `waits` (or nowhere), never to a real sleep."""
    adapter = MetaAdsAdapter(Account("meta", account_id, endpoint=fake.url), poll_interval=0, max_polls=5)
    adapter.sleep = (waits if waits is not None else []).append
    return adapter


def key(level, entity_id):
    return EntityKey("meta", "act_123", level, entity_id)


def req(action_id, level, entity_id, type_, before, after):
    return ActionRequest(action_id, key(level, entity_id), type_, {}, before, after)


B = "daily_budget"


def by_id(rows):
    return {r["entity_id"]: r for r in rows}


def test_fetch_entities_and_daily_metrics(fake, env):
    got = make(fake).fetch(date(2026, 1, 1), date(2026, 1, 3))
    ents = by_id(got.entities)
    assert {e["level"] for e in got.entities} == {"campaign", "ad_group", "ad"}
    assert len(got.entities) == 3 + 4 + 5  # every page read (page size 2)
    # CBO campaign: budget in currency on the campaign, none on its ad set
    assert ents["c1"]["daily_budget"] == 150.0 and ents["s1"]["daily_budget"] is None
    assert ents["c2"]["daily_budget"] is None and ents["s2"]["daily_budget"] == 50.5
    assert ents["s2"]["bid"] == 1.25 and ents["s3"]["bid"] is None
    assert ents["s2"]["learning_phase"] is True and ents["s3"]["learning_phase"] is False
    assert ents["c3"]["is_brand"] and ents["s4"]["is_brand"] and ents["a5"]["is_brand"]
    assert not ents["c1"]["is_brand"] and not ents["a1"]["is_brand"]
    assert ents["c3"]["status"] == "paused" and ents["s2"]["status"] == "active"
    assert ents["s2"]["parent_id"] == "c2" and ents["a3"]["parent_id"] == "s2"
    assert ents["a1"]["created_at"] == "2025-12-01"

    # 3 days x (3 campaigns + 4 ad sets + 5 ads)
    assert len(got.metrics) == 3 * 12
    a1 = next(m for m in got.metrics if m["entity_id"] == "a1" and m["date"] == "2026-01-02")
    raw = fake.daily("a1", date(2026, 1, 2))
    assert a1["level"] == "ad" and a1["account_id"] == "act_123" and a1["platform"] == "meta"
    assert a1["spend"] == float(raw["spend"]) and a1["impressions"] == 1010 and a1["clicks"] == 21
    assert a1["outbound_clicks"] == 11
    assert a1["conversions"] == 2 and a1["conversion_value"] == 99.0
    c1 = next(m for m in got.metrics if m["entity_id"] == "c1" and m["date"] == "2026-01-02")
    assert c1["level"] == "campaign" and c1["impressions"] == 1010 + 2010  # ads a1 + a2
    assert got.api_calls > 10
    paged = [p for m, path, p in fake.requests if m == "GET" and "after" in p]
    assert paged, "cursor paging was not exercised"
    insights = [p for m, path, p in fake.requests if path.endswith("act_123/insights")]
    assert all(p["time_increment"] == "1" for p in insights)


def test_fetch_long_range_uses_async_report(fake, env):
    got = make(fake).fetch(date(2026, 1, 1), date(2026, 1, 20))
    posts = [path for m, path, _ in fake.requests if m == "POST"]
    assert posts == ["/v26.0/act_123/insights"] * 3
    polls = [path for m, path, _ in fake.requests if m == "GET" and path.split("/")[-1].startswith("900")]
    assert len(polls) == 3 * 3  # two "Job Running", then "Job Completed", per level
    assert len(got.metrics) == 20 * 12
    assert not [p for m, p, _ in fake.requests if m == "GET" and p == "/v26.0/act_123/insights"]


def test_async_report_polling_is_bounded(fake, env):
    fake.async_polls = 100
    with pytest.raises(TransientError, match="not complete after 5 polls"):
        make(fake).fetch(date(2026, 1, 1), date(2026, 1, 20))


def test_check_connection(fake, env):
    assert make(fake, "123").check_connection() == "Acme D2C"


@pytest.mark.parametrize(
    "level,entity_id,type_,before,after,field,sent,state",
    [
        ("campaign", "c1", "pause", {"status": "active"}, {"status": "paused"}, "status", "PAUSED", "status"),
        ("ad_group", "s3", "enable", {"status": "paused"}, {"status": "active"}, "status", "ACTIVE", "status"),
        ("ad", "a2", "pause", {"status": "active"}, {"status": "paused"}, "status", "PAUSED", "status"),
        ("campaign", "c1", "set_budget", {B: 150.0}, {B: 180.25}, B, "18025", B),
        ("ad_group", "s2", "change_budget", {B: 50.5}, {B: 60.6}, B, "6060", B),
        ("ad_group", "s2", "set_bid", {"bid": 1.25}, {"bid": 1.5}, "bid_amount", "150", "bid"),
        ("ad_group", "s2", "change_bid", {"bid": 1.25}, {"bid": 1.06}, "bid_amount", "106", "bid"),
    ],
)  # fmt: skip
def test_write_and_rollback_round_trip(fake, env, level, entity_id, type_, before, after, field, sent, state):
    adapter = make(fake)
    start = adapter.read_state(key(level, entity_id))
    assert start[state] == before[state]
    res = adapter.execute(req("act-1", level, entity_id, type_, before, after))
    assert fake.updates[-1] == (entity_id, {field: sent})
    assert res.result[state] == after[state]
    plan = res.rollback_plan
    assert plan["before"] == {state: after[state]} and plan["after"] == {state: before[state]}
    assert adapter.read_state(key(level, entity_id))[state] == after[state]

    # the same action id again changes nothing (and keeps the same plan)
    n = len(fake.updates)
    assert adapter.execute(req("act-1", level, entity_id, type_, before, after)).rollback_plan == plan
    assert make(fake).execute(req("act-1", level, entity_id, type_, before, after)).rollback_plan == plan
    assert len(fake.updates) == n

    back = adapter.rollback(plan, key(level, entity_id))
    assert adapter.read_state(key(level, entity_id)) == start
    assert back.rollback_plan["after"] == {state: after[state]}
    adapter.rollback(back.rollback_plan, key(level, entity_id))  # the rollback can be undone too
    assert adapter.read_state(key(level, entity_id))[state] == after[state]


def test_budget_on_adset_under_cbo_is_refused(fake, env):
    with pytest.raises(PermanentError, match="campaign budget optimization") as err:
        make(fake).execute(req("b1", "ad_group", "s1", "set_budget", {"daily_budget": 10}, {"daily_budget": 20}))
    assert "campaign c1" in str(err.value)
    assert not fake.updates


def test_budget_on_non_cbo_campaign_is_refused(fake, env):
    with pytest.raises(PermanentError, match="its budget lives on its ad sets"):
        make(fake).execute(req("b2", "campaign", "c2", "set_budget", {}, {"daily_budget": 20}))


def test_bid_on_adset_without_manual_bid_is_refused(fake, env):
    with pytest.raises(PermanentError, match="no manual bid"):
        make(fake).execute(req("b3", "ad_group", "s3", "set_bid", {}, {"bid": 2}))


def test_unsupported_action_for_level(fake, env):
    with pytest.raises(PermanentError, match="not supported"):
        make(fake).execute(req("b4", "ad", "a1", "set_budget", {}, {"daily_budget": 20}))


def test_rate_limit_is_typed_with_retry_after(fake, env):
    # Meta asks for 3 minutes (estimated_time_to_regain_access): longer than the policy waits, so not retried now
    waits: list[float] = []
    fake.rate_limit(1, minutes=3)
    with pytest.raises(RateLimited) as err:
        make(fake, waits=waits).fetch(date(2026, 1, 1), date(2026, 1, 2))
    assert err.value.retry_after == 180.0 and waits == []
    assert "meta account act_123" in str(err.value)
    fake.rate_limit(4, minutes=None)
    with pytest.raises(RateLimited) as err:
        make(fake, waits=waits).read_state(key("campaign", "c1"))
    assert err.value.retry_after is None and len(waits) == 3  # backoff between the 4 attempts


def test_a_rate_limit_within_the_wait_bound_is_waited_out(fake, env):
    waits: list[float] = []
    fake.rate_limit(1, minutes=0.5)
    assert make(fake, waits=waits).read_state(key("campaign", "c1"))["status"] == "active"
    assert waits == [30.0]  # estimated_time_to_regain_access, in minutes, honoured exactly


def test_500_mid_page_retries_that_page_only(fake, env):
    fake.fail_page(2)
    waits: list[float] = []
    got = make(fake, waits=waits).fetch(date(2026, 1, 1), date(2026, 1, 3))
    assert len(got.entities) == 3 + 4 + 5 and len(got.metrics) == 3 * 12 and len(waits) == 1
    asked = Counter((path, p.get("level"), p.get("after")) for m, path, p in fake.requests if m == "GET")
    repeated = [request for request, n in asked.items() if n > 1]
    assert len(repeated) == 1 and repeated[0][2] is not None  # the failed follow-up page, asked again with its cursor
    assert all(n == 1 for request, n in asked.items() if request[2] is None)  # no list started over from page 1


def test_a_page_that_keeps_failing_fails_the_read_and_returns_nothing(fake, env):
    fake.fail_page(2, times=4)
    adapter = make(fake)
    with pytest.raises(TransientError):
        adapter.fetch(date(2026, 1, 1), date(2026, 1, 3))
    follow_ups = [p["after"] for m, _, p in fake.requests if m == "GET" and "after" in p]
    assert len(follow_ups) == 5 and len(set(follow_ups[1:])) == 1  # the first page 2, then 4 attempts at the other


def test_invalid_token_is_auth_error_without_the_token(fake, env, monkeypatch):
    monkeypatch.setenv("META_ACCESS_TOKEN", "bad-token-value-123")
    with pytest.raises(AuthError) as err:
        make(fake).check_connection()
    assert "bad-token-value-123" not in str(err.value) and "190" in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__  # the SDK error (with its URL) is dropped
    assert err.value.details["code"] == 190


def test_missing_credentials_named(fake, monkeypatch):
    for name in ("META_APP_ID", "META_APP_SECRET", "META_ACCESS_TOKEN", "META_AD_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("META_ACCESS_TOKEN", "x")
    with pytest.raises(AuthError, match="META_APP_ID") as err:
        make(fake).check_connection()
    assert "META_ACCESS_TOKEN" not in str(err.value)


def test_unknown_account_is_permanent_and_named(fake, env):
    with pytest.raises(PermanentError) as err:
        make(fake, "act_999").fetch(date(2026, 1, 1), date(2026, 1, 2))
    assert not isinstance(err.value, AuthError)
    assert "act_999" in str(err.value)


def test_connection_refused_is_transient(env):
    adapter = MetaAdsAdapter(Account("meta", "act_123", endpoint="http://127.0.0.1:9"), poll_interval=0)
    with pytest.raises(TransientError) as err:
        adapter.check_connection()
    assert TOKEN not in str(err.value)


def test_slows_down_when_usage_nears_the_budget(fake, env):
    adapter = make(fake)
    pauses = []
    adapter.sleep = pauses.append
    fake.app_usage = 50
    adapter.fetch(date(2026, 1, 1), date(2026, 1, 3))
    assert pauses == [] and adapter.usage["x-app-usage"]["call_count"] == 50
    fake.app_usage = 95
    adapter.fetch(date(2026, 1, 1), date(2026, 1, 3))
    assert pauses and all(p == 2.0 for p in pauses) and adapter.throttled == len(pauses)


def test_jpy_account_reads_and_writes_whole_yen(fake, env):
    # Meta's offset for JPY is 1: a budget of 5,000 yen is sent as "5000", never 500000
    fake.adsets["s2"]["daily_budget"] = "5000"
    adapter = MetaAdsAdapter(Account("meta", "act_123", currency="JPY", endpoint=fake.url), poll_interval=0)
    k = key("ad_group", "s2")
    assert adapter.read_state(k)["daily_budget"] == 5000.0
    entities = by_id(adapter.fetch(date(2026, 1, 1), date(2026, 1, 1)).entities)
    assert entities["s2"]["daily_budget"] == 5000.0 and entities["s2"]["currency"] == "JPY"
    res = adapter.execute(req("jpy", "ad_group", "s2", "set_budget", {B: 5000.0}, {B: 7500.4}))
    assert fake.updates[-1] == ("s2", {"daily_budget": "7500"}) and res.result[B] == 7500.0
    adapter.rollback(res.rollback_plan, k)
    assert fake.updates[-1] == ("s2", {"daily_budget": "5000"})


def test_ad_account_usage_reset_time_is_not_a_percentage(fake, env):
    adapter = make(fake)
    pauses = []
    adapter.sleep = pauses.append
    usage = {"acc_id_util_pct": 9.67, "reset_time_duration": 300, "ads_api_access_tier": "standard_access"}
    fake.extra_headers = {"X-Ad-Account-Usage": json.dumps(usage)}
    adapter.read_state(key("campaign", "c1"))
    assert adapter.usage["x-ad-account-usage"]["reset_time_duration"] == 300
    assert pauses == [] and adapter.throttled == 0
    fake.extra_headers = {"X-Ad-Account-Usage": '{"acc_id_util_pct": 97, "reset_time_duration": 0}'}
    adapter.read_state(key("campaign", "c1"))
    assert pauses == [2.0]
