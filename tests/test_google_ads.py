"""GoogleAdsAdapter against a local Google Ads API fake (real gRPC, the SDK's own messages)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from engine.core.execution import (
    ActionRequest,
    AdapterError,
    AuthError,
    EntityKey,
    PartialFailure,
    PermanentError,
    RateLimited,
    TransientError,
)
from platforms.adapter import Account

ACCOUNT = "123-456-7890"
DEV_TOKEN = "dev-token-SECRET-123"
D0, D1 = date(2026, 3, 1), date(2026, 3, 3)


@pytest.fixture
def fake():
    from tests.fakes.google_ads_fake import GoogleAdsFake

    server = GoogleAdsFake()
    yield server
    server.stop()


def make_adapter(fake, monkeypatch, account_id=ACCOUNT, token=None, waits=None):
    """An adapter on the fake whose waits go to `waits` (or nowhere), never to a real sleep."""
    from google.oauth2.credentials import Credentials

    from platforms.google.adapter import GoogleAdsAdapter
    from tests.fakes.google_ads_fake import TOKEN

    monkeypatch.setenv("GOOGLE_ADS_DEVELOPER_TOKEN", DEV_TOKEN)
    ad = GoogleAdsAdapter(
        Account("google", account_id, endpoint=fake.endpoint),
        credentials=Credentials(token=token or TOKEN),
        insecure=True,
    )
    ad.sleep = (waits if waits is not None else []).append
    return ad


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def adapter(fake, monkeypatch, waits):
    ad = make_adapter(fake, monkeypatch, waits=waits)
    yield ad
    ad.close()


def key(level, entity_id):
    return EntityKey("google", ACCOUNT, level, entity_id)


def req(action_id, k, type_, before, after, params=None):
    return ActionRequest(action_id, k, type_, params or {}, before, after)


def test_sdk_is_installed():
    import google.ads.googleads  # noqa: F401  (CI installs google-ads; a missing SDK must fail, not skip)


def test_check_connection(adapter):
    assert adapter.check_connection() == "Acme Widgets (fake)"


def test_check_credentials_names_missing_variables(monkeypatch):
    from platforms.google.adapter import GoogleAdsAdapter

    for name in ("GOOGLE_ADS_DEVELOPER_TOKEN", "GOOGLE_ADS_CLIENT_ID", "GOOGLE_ADS_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOOGLE_ADS_REFRESH_TOKEN", "refresh-SECRET")
    monkeypatch.setenv("GOOGLE_ADS_LOGIN_CUSTOMER_ID", "111-222-3333")
    with pytest.raises(AuthError) as err:
        GoogleAdsAdapter(Account("google", ACCOUNT)).check_credentials()
    assert "GOOGLE_ADS_DEVELOPER_TOKEN" in str(err.value) and "GOOGLE_ADS_CLIENT_ID" in str(err.value)
    assert "refresh-SECRET" not in str(err.value) and "GOOGLE_ADS_REFRESH_TOKEN" not in str(err.value)


def test_fetch_entities_and_metrics(adapter, fake):
    got = adapter.fetch(D0, D1)
    ents = {(e["level"], e["entity_id"]): e for e in got.entities}
    # streamed in batches of 2 rows: several SearchStream responses per query
    assert fake.stream_batch == 2 and len([e for e in got.entities if e["level"] == "campaign"]) == 3

    brand, generic, labelled = ents[("campaign", "11")], ents[("campaign", "12")], ents[("campaign", "13")]
    assert brand["is_brand"] is True and brand["status"] == "active" and brand["daily_budget"] == 50.0
    assert generic["is_brand"] is False and generic["daily_budget"] == 20.0 and generic["labels"] == ["q3-push"]
    assert labelled["is_brand"] is True and labelled["status"] == "paused"  # label "Brand-Core"
    assert brand["bidding_strategy"] == "manual_cpc"
    for e in got.entities:
        assert e["platform"] == "google" and e["account_id"] == ACCOUNT

    assert ents[("ad_group", "21")]["bid"] == 1.5 and ents[("ad_group", "21")]["parent_id"] == "11"
    assert ents[("ad_group", "21")]["is_brand"] is True
    assert ents[("ad_group", "23")]["status"] == "removed"
    kw = ents[("keyword", "22~32")]
    assert kw["name"] == "blue widget" and kw["match_type"] == "phrase" and kw["bid"] == 0.9
    assert kw["parent_id"] == "22" and ents[("keyword", "22~33")]["status"] == "paused"
    st = ents[("search_term", "22~cheap widgets")]
    assert st["name"] == "cheap widgets" and st["parent_id"] == "22" and st["is_brand"] is False

    levels = {m["level"] for m in got.metrics}
    assert levels == {"campaign", "ad_group", "keyword", "search_term"}
    assert {m["date"] for m in got.metrics} == {D0, date(2026, 3, 2), D1}
    for m in got.metrics:
        # the fake's cost is 1.25 currency units per 100 impressions, sent in micros
        assert m["spend"] == pytest.approx(m["impressions"] / 100 * 1.25)
        assert "metrics.cost_micros" not in m
    assert sum(1 for m in got.metrics if m["level"] == "search_term") == 9
    assert got.api_calls == 8


def test_fetch_spans_many_stream_batches(fake, monkeypatch):
    fake.stream_batch = 1
    ad = make_adapter(fake, monkeypatch)
    got = ad.fetch(D0, D1)
    assert len(got.metrics) == 3 * (3 + 3 + 3 + 3)
    assert len(got.entities) == 12
    ad.close()


def test_pause_enable_and_rollback(adapter):
    for level, eid in (("campaign", "12"), ("ad_group", "22"), ("keyword", "22~32")):
        k = key(level, eid)
        res = adapter.execute(req("p-" + eid, k, "pause", {"status": "active"}, {"status": "paused"}))
        assert adapter.read_state(k)["status"] == "paused"
        assert res.rollback_plan == {
            "type": "enable",
            "params": {},
            "before": {"status": "paused"},
            "after": {"status": "active"},
        }
        back = adapter.rollback(res.rollback_plan, k)
        assert adapter.read_state(k)["status"] == "active"
        assert back.rollback_plan["type"] == "pause"
    k = key("keyword", "22~33")
    res = adapter.execute(req("e", k, "enable", {"status": "paused"}, {"status": "active"}))
    assert adapter.read_state(k)["status"] == "active" and res.rollback_plan["type"] == "pause"


def test_budget_set_change_and_rollback(adapter, fake):
    k = key("campaign", "12")
    res = adapter.execute(req("b1", k, "set_budget", {"daily_budget": 20.0}, {"daily_budget": 75.5}, {"amount": 75.5}))
    assert fake.account.budgets["502"] == 75_500_000
    assert res.rollback_plan["type"] == "set_budget" and res.rollback_plan["after"] == {"daily_budget": 20.0}
    adapter.rollback(res.rollback_plan, k)
    assert adapter.read_state(k)["daily_budget"] == 20.0
    res = adapter.execute(req("b2", k, "change_budget", {"daily_budget": 20.0}, {"daily_budget": 24.0}))
    assert adapter.read_state(k)["daily_budget"] == 24.0
    adapter.rollback(res.rollback_plan, k)
    assert fake.account.budgets["502"] == 20_000_000


def test_bids_and_rollback(adapter, fake):
    for level, eid, old in (("ad_group", "22", 0.8), ("keyword", "22~32", 0.9)):
        k = key(level, eid)
        res = adapter.execute(req("bid-" + eid, k, "change_bid", {"bid": old}, {"bid": 1.1}))
        assert adapter.read_state(k)["bid"] == 1.1
        assert res.rollback_plan == {
            "type": "set_bid",
            "params": {"amount": old},
            "before": {"bid": 1.1},
            "after": {"bid": old},
        }
        adapter.rollback(res.rollback_plan, k)
        assert adapter.read_state(k)["bid"] == old
    assert fake.account.keywords["22~32"]["cpc"] == 900_000


def test_negative_keyword_add_idempotent_and_rollback(adapter, fake):
    k = key("search_term", "22~cheap widgets")
    neg = {"text": "cheap widgets", "match_type": "phrase", "scope": "campaign", "parent_id": "22"}
    r = req("n1", k, "add_negative_keyword", {"negative_keyword": None}, {"negative_keyword": neg})
    res = adapter.execute(r)
    rn = res.result["resource_name"]
    assert rn.startswith("customers/1234567890/campaignCriteria/12~")
    assert {"text": "cheap widgets", "match_type": "phrase", "scope": "campaign"} in adapter.read_state(k)[
        "negative_keywords"
    ]
    assert res.rollback_plan["type"] == "remove_negative_keyword"
    assert res.rollback_plan["params"]["resource_name"] == rn
    again = adapter.execute(r)  # same action id again: nothing added twice
    assert again.result["resource_name"] == rn and len(fake.account.negatives) == 2

    undo = adapter.rollback(res.rollback_plan, k)
    assert len(fake.account.negatives) == 1
    assert undo.rollback_plan["type"] == "add_negative_keyword"
    redo = adapter.rollback(undo.rollback_plan, k)  # the rollback can be undone in turn
    assert redo.rollback_plan["type"] == "remove_negative_keyword" and len(fake.account.negatives) == 2


def test_notify_changes_nothing(adapter, fake):
    res = adapter.execute(req("n", key("campaign", "11"), "notify", {}, {"message": "hi"}))
    assert res.result == {"notified": True} and res.rollback_plan is None
    assert not [m for m in fake.methods_called() if m.startswith("Mutate")]


def test_partial_failure_per_operation(adapter, fake):
    fake.fail_operation("customers/1234567890/adGroups/21")
    reqs = [
        req("ok", key("ad_group", "22"), "pause", {"status": "active"}, {"status": "paused"}),
        req("bad", key("ad_group", "21"), "pause", {"status": "active"}, {"status": "paused"}),
        req("budget", key("campaign", "11"), "set_budget", {"daily_budget": 50.0}, {"daily_budget": 60.0}),
    ]
    with pytest.raises(PartialFailure) as err:
        adapter.execute_batch(reqs)
    assert set(err.value.succeeded) == {"ok", "budget"} and set(err.value.failed) == {"bad"}
    assert "FIELD_HAS_SUBFIELDS" in err.value.failed["bad"]
    assert fake.account.ad_groups["22"]["status"] == "PAUSED" and fake.account.ad_groups["21"]["status"] == "ENABLED"
    assert fake.account.budgets["501"] == 60_000_000
    mutates = [(m, r) for m, r in fake.calls if m == "MutateAdGroupsRequest"]
    assert len(mutates) == 1 and mutates[0][1].partial_failure and len(mutates[0][1].operations) == 2
    with pytest.raises(PermanentError) as single:
        adapter.execute(reqs[1])
    assert "FIELD_HAS_SUBFIELDS" in str(single.value) and ACCOUNT in str(single.value)


def test_quota_error_waits_googles_retry_delay_then_succeeds(adapter, fake, waits):
    k = key("campaign", "12")
    r = req("q", k, "pause", {"status": "active"}, {"status": "paused"})
    fake.fail_next("quota", method="MutateCampaignsRequest")
    assert adapter.execute(r).result["status"] == "paused"
    assert waits == [7.0]  # the quota error's retry_delay
    assert fake.account.campaigns["12"]["status"] == "PAUSED"
    assert fake.methods_called().count("MutateCampaignsRequest") == 2

    fake.fail_next("quota")
    assert len(adapter.fetch(D0, D1).entities) == 12 and waits == [7.0, 7.0]


def test_quota_error_on_every_attempt_is_rate_limited(adapter, fake, waits):
    r = req("q", key("campaign", "12"), "pause", {"status": "active"}, {"status": "paused"})
    fake.fail_next("quota", n=4, method="MutateCampaignsRequest")
    with pytest.raises(RateLimited) as err:
        adapter.execute(r)
    assert err.value.retryable and err.value.retry_after == 7
    assert waits == [7.0, 7.0, 7.0] and fake.account.campaigns["12"]["status"] == "ENABLED"


def test_unavailable_is_transient(adapter, fake, waits):
    fake.fail_next("unavailable", n=4)
    with pytest.raises(TransientError) as err:
        adapter.fetch(D0, D1)
    assert err.value.retryable and len(waits) == 3


def test_a_failed_query_is_retried_alone(fake, monkeypatch, waits):
    recorded, failed = fake.record, []

    def record(method, request):  # the fake answers the keyword query UNAVAILABLE, once
        kind = recorded(method, request)
        keywords = method == "SearchGoogleAdsStreamRequest" and "FROM ad_group_criterion" in request.query
        if keywords and not failed:
            failed.append(request.query)
            return "unavailable"
        return kind

    monkeypatch.setattr(fake, "record", record)
    ad = make_adapter(fake, monkeypatch, waits=waits)
    got = ad.fetch(D0, D1)
    ad.close()
    queries = Counter(r.query for m, r in fake.calls if m == "SearchGoogleAdsStreamRequest")
    assert [q for q, n in queries.items() if n > 1] == [q for q in queries if "FROM ad_group_criterion" in q]
    assert all(n == 1 for q, n in queries.items() if "FROM ad_group_criterion" not in q)  # nothing read twice
    assert len(waits) == 1 and len(got.entities) == 12 and ad.api_calls == sum(queries.values())


def test_auth_error_never_shows_credentials(fake, monkeypatch):
    ad = make_adapter(fake, monkeypatch, token="wrong-SECRET-token")
    with pytest.raises(AuthError) as err:
        ad.check_connection()
    text = str(err.value) + repr(err.value.details)
    assert "google account 123-456-7890" in text
    for secret in ("wrong-SECRET-token", DEV_TOKEN):
        assert secret not in text
    ad.close()

    ad = make_adapter(fake, monkeypatch)
    fake.fail_next("auth")
    with pytest.raises(AuthError) as err:
        ad.execute(req("a", key("campaign", "11"), "pause", {"status": "active"}, {"status": "paused"}))
    assert DEV_TOKEN not in str(err.value)
    ad.close()


def test_unknown_customer_is_permanent(fake, monkeypatch):
    ad = make_adapter(fake, monkeypatch, account_id="999-999-9999")
    with pytest.raises(PermanentError) as err:
        ad.fetch(D0, D1)
    assert "999-999-9999" in str(err.value) and not err.value.retryable
    ad.close()


def test_unknown_entity_is_permanent(adapter):
    with pytest.raises(PermanentError):
        adapter.read_state(key("campaign", "404"))
    with pytest.raises(PermanentError):
        adapter.execute(req("x", key("campaign", "404"), "pause", {"status": "active"}, {"status": "paused"}))


def test_malformed_response_is_adapter_error(adapter, fake):
    fake.fail_next("malformed")
    with pytest.raises(AdapterError) as err:
        adapter.fetch(D0, D1)
    assert ACCOUNT in str(err.value)
    fake.fail_next("malformed", method="MutateCampaignsRequest")
    with pytest.raises(AdapterError):
        adapter.execute(req("m", key("campaign", "12"), "pause", {"status": "active"}, {"status": "paused"}))


def test_jpy_amounts_round_to_whole_yen(fake, monkeypatch):
    from google.oauth2.credentials import Credentials

    from platforms.google.adapter import GoogleAdsAdapter
    from tests.fakes.google_ads_fake import TOKEN

    monkeypatch.setenv("GOOGLE_ADS_DEVELOPER_TOKEN", DEV_TOKEN)
    fake.account.currency_code = "JPY"
    fake.account.budgets["502"] = 5_000_000_000  # 5,000 yen
    ad = GoogleAdsAdapter(
        Account("google", ACCOUNT, currency="JPY", endpoint=fake.endpoint),
        credentials=Credentials(token=TOKEN),
        insecure=True,
    )
    k = key("campaign", "12")
    assert ad.read_state(k)["daily_budget"] == 5000.0
    # 5,500.4 yen is not a whole number of yen: Google would refuse it (NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT)
    res = ad.execute(req("jpy", k, "set_budget", {"daily_budget": 5000.0}, {"daily_budget": 5500.4}))
    assert fake.account.budgets["502"] == 5_500_000_000 and res.result["daily_budget"] == 5500.0
    assert res.rollback_plan["params"] == {"amount": 5000.0}
    ad.rollback(res.rollback_plan, k)
    assert fake.account.budgets["502"] == 5_000_000_000
    ad.close()


def test_usd_micros_round_to_the_cent_not_below(adapter, fake):
    k = key("campaign", "12")
    adapter.execute(req("cent", k, "set_budget", {"daily_budget": 20.0}, {"daily_budget": 33.514}))
    assert fake.account.budgets["502"] == 33_510_000  # a multiple of 10,000 micros: accepted


def test_revoked_refresh_token_is_an_auth_error_never_retried(adapter, fake, waits):
    fake.fail_next("invalid_grant", n=5)
    with pytest.raises(AuthError) as err:
        adapter.check_connection()
    assert "GOOGLE_ADS_REFRESH_TOKEN" in str(err.value) and not err.value.retryable
    assert waits == [] and len(fake.calls) == 1  # one call, no retry


def test_shared_budget_is_read_and_every_campaign_is_named(adapter, fake):
    fake.account.campaigns["14"] = {"name": "Gadgets", "status": "ENABLED", "budget": "502", "bidding": "TARGET_CPA"}
    fake.account.shared_budgets.add("502")
    ents = {(e["level"], e["entity_id"]): e for e in adapter.fetch(D0, D1).entities}
    assert ents[("campaign", "12")]["shared_budget"] is True
    assert ents[("campaign", "12")]["budget_campaigns"] == ["12", "14"]
    assert ents[("campaign", "11")]["shared_budget"] is False and ents[("campaign", "11")]["budget_campaigns"] is None

    k = key("campaign", "12")
    res = adapter.execute(req("shared", k, "set_budget", {"daily_budget": 20.0}, {"daily_budget": 25.0}))
    assert res.result["shared_budget_campaigns"] == ["12", "14"]
    assert res.rollback_plan["params"] == {"amount": 20.0, "shared_budget_campaigns": ["12", "14"]}
    assert adapter.read_state(key("campaign", "14"))["daily_budget"] == 25.0  # one budget, both campaigns
    back = adapter.rollback(res.rollback_plan, k)
    assert back.rollback_plan["params"]["shared_budget_campaigns"] == ["12", "14"]
    assert fake.account.budgets["502"] == 20_000_000
