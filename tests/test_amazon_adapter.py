"""AmazonAdsAdapter over httpx against the local Amazon Ads fake (tests/fakes/amazon_ads_fake.py)."""

from __future__ import annotations

from datetime import date, timedelta

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
from platforms.adapter import Account
from platforms.amazon.adapter import AmazonAdsAdapter
from platforms.amazon.auth import REGIONS, region_for
from platforms.template import Change
from tests.fakes.amazon_ads_fake import ENV, OTHER_PROFILE, PROFILE, AmazonAdsFake
from tests.helpers.clock import VirtualClock

JAN_1, JAN_3 = date(2026, 1, 1), date(2026, 1, 3)


@pytest.fixture
def fake():
    server = AmazonAdsFake(page_size=2, report_polls=0)
    yield server
    server.close()


@pytest.fixture(autouse=True)
def env(monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def make(fake, sleeps=None, profile=PROFILE, **kw) -> AmazonAdsAdapter:
    sleep = sleeps.append if sleeps is not None else lambda s: None
    return AmazonAdsAdapter(Account("amazon", profile, endpoint=fake.url), sleep=sleep, **kw)


def key(level, entity_id):
    return EntityKey("amazon", PROFILE, level, entity_id)


def req(action_id, level, entity_id, type_, before, after, params=None):
    return ActionRequest(action_id, key(level, entity_id), type_, params or {}, before, after)


def api(fake, method=None, prefix=""):
    return [
        r
        for r in fake.requests
        if r["kind"] == "api" and (method is None or r["method"] == method) and r["path"].startswith(prefix)
    ]


# -- reads -----------------------------------------------------------------------------------------------


def test_fetch_lists_every_page_and_maps_entities(fake):
    got = make(fake).fetch(JAN_1, JAN_3)
    ents = {(e["level"], e["entity_id"]): e for e in got.entities}
    assert sorted({lvl for lvl, _ in ents}) == ["ad_group", "campaign", "keyword", "search_term", "target"]
    assert len([k for k in ents if k[0] != "search_term"]) == 3 + 3 + 3 + 2  # every page (page size 2)
    assert ("target", "403") not in ents  # archived: it can no longer change
    assert ents[("campaign", "101")].items() >= {"status": "active", "daily_budget": 50.0, "currency": "USD"}.items()
    assert ents[("campaign", "103")]["status"] == "paused" and ents[("campaign", "103")]["is_brand"]
    assert ents[("campaign", "102")]["labels"] == ["sponsored-products", "auto"]
    assert ents[("keyword", "301")]["bid"] == 2.1 and ents[("keyword", "301")]["match_type"] == "exact"
    assert ents[("keyword", "302")]["bid"] == 1.0  # no bid of its own: its ad group's default bid
    assert ents[("keyword", "303")]["is_brand"]  # a child of the brand campaign
    assert ents[("target", "401")]["name"] == "close-match" and ents[("target", "401")]["parent_id"] == "202"
    assert ents[("target", "402")]["name"] == "asinSameAs=B0CX4VBOT1"
    term = ents[("search_term", "201~conference camera 4k")]
    assert term["parent_id"] == "201" and term["name"] == "conference camera 4k"
    # pages follow nextToken and nothing is read twice
    tokens = [r["body"].get("nextToken") for r in api(fake, "POST", "/sp/keywords/list")]
    assert tokens == [None, "2"]


def test_fetch_maps_report_columns_to_metrics_per_day(fake):
    fake.metrics[("keyword", "301")] = lambda day: {
        "impressions": 1000,
        "clicks": 20,
        "cost": 12.5,
        "purchases7d": 2,
        "sales7d": 59.9,
    }
    got = make(fake).fetch(JAN_1, JAN_3)
    rows = [m for m in got.metrics if (m["level"], m["entity_id"]) == ("keyword", "301")]
    assert [m["date"] for m in rows] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    mapped = {"spend": 12.5, "impressions": 1000, "clicks": 20, "conversions": 2, "conversion_value": 59.9}
    assert rows[0].items() >= mapped.items()
    levels = {m["level"] for m in got.metrics}
    assert levels == {"campaign", "ad_group", "keyword", "target", "search_term"}
    assert len(got.metrics) == 3 * (3 + 3 + 3 + 3 + 3)  # every entity, every day (the archived target too)
    # the report columns are the catalog's mapped fields; the calls are counted, the token included
    create = api(fake, "POST", "/reporting/reports")
    assert {tuple(r["body"]["configuration"]["reportTypeId"] for r in create)} == {
        ("spCampaigns", "spCampaigns", "spTargeting", "spSearchTerm")
    }
    assert all(set(r["body"]["configuration"]["columns"]) >= {"cost", "sales7d", "purchases7d"} for r in create)
    assert got.api_calls == len(fake.requests)


def test_reports_are_requested_before_the_entities_are_listed(fake):
    make(fake).fetch(JAN_1, JAN_3)
    paths = [r["path"] for r in fake.requests if r["kind"] == "api"]
    last_create = max(i for i, p in enumerate(paths) if p == "/reporting/reports")
    first_list = min(i for i, p in enumerate(paths) if p.endswith("/list"))
    first_poll = min(i for i, p in enumerate(paths) if p.startswith("/reporting/reports/"))
    assert last_create < first_list < first_poll  # Amazon generates them while we list


def test_a_range_longer_than_31_days_is_split_into_reports(fake):
    make(fake).fetch(JAN_1, JAN_1 + timedelta(days=39))
    spans = sorted({(r["body"]["startDate"], r["body"]["endDate"]) for r in api(fake, "POST", "/reporting/reports")})
    assert spans == [("2026-01-01", "2026-01-31"), ("2026-02-01", "2026-02-09")]


def test_search_terms_come_from_the_last_31_days_and_their_metrics_from_the_range(fake):
    got = make(fake).fetch(date(2026, 1, 20), date(2026, 1, 22))
    terms = [
        r["body"]
        for r in api(fake, "POST", "/reporting/reports")
        if "searchTerm" in r["body"]["configuration"]["groupBy"]
    ]
    assert [(t["startDate"], t["endDate"]) for t in terms] == [("2025-12-23", "2026-01-22")]
    assert {e["entity_id"] for e in got.entities if e["level"] == "search_term"} == {
        "201~conference camera 4k",
        "201~meeting room camera",
        "202~portable monitor",
    }
    assert {m["date"] for m in got.metrics} == {"2026-01-20", "2026-01-21", "2026-01-22"}


def test_the_profile_gives_currency_and_timezone(fake):
    fake.use_jpy()
    adapter = make(fake)
    got = adapter.fetch(JAN_1, JAN_1)
    assert adapter.account.currency == "JPY" and adapter.account.timezone == "Asia/Tokyo"
    assert {e["currency"] for e in got.entities} == {"JPY"}
    profiles = next(r for r in fake.requests if r["path"] == "/v2/profiles")
    assert "amazon-advertising-api-scope" not in profiles["headers"]  # profiles are not scoped to a profile


def test_an_unknown_profile_names_the_reachable_ones(fake):
    with pytest.raises(PermanentError) as err:
        make(fake, profile="999").fetch(JAN_1, JAN_3)
    text = str(err.value)
    assert "amazon account 999" in text and "unknown profile 999" in text
    assert f"{PROFILE} (US)" in text and f"{OTHER_PROFILE} (DE)" in text
    assert not api(fake, prefix="/sp/")  # nothing else was asked


def test_polls_wait_longer_each_time_within_a_bound(fake):
    fake.report_polls = 3
    sleeps: list[float] = []
    make(fake, sleeps, poll_interval=2.0).fetch(JAN_1, JAN_3)
    assert sleeps == [2.0, 3.0, 4.5]

    fake.report_outcome = "NEVER"
    sleeps.clear()
    with pytest.raises(TransientError, match=r"not ready after .* sync again later") as err:
        make(fake, sleeps, poll_interval=2.0, max_report_wait=60).fetch(JAN_1, JAN_3)
    assert sum(sleeps) <= 60 and len(sleeps) >= 5
    assert "amazon account" in str(err.value)


def test_a_failed_report_fails_the_read_with_its_reason(fake):
    fake.report_outcome = "FAILED"
    with pytest.raises(TransientError, match="failed: Internal error while generating the report"):
        make(fake).fetch(JAN_1, JAN_3)


def test_a_corrupt_report_is_a_clear_error(fake):
    fake.report_outcome = "CORRUPT"
    with pytest.raises(PermanentError, match=r"malformed report .*not gzip-compressed JSON"):
        make(fake).fetch(JAN_1, JAN_3)


def test_report_rows_outside_the_range_or_without_ids_are_refused(fake):
    original = fake.report_rows

    def shifted(request):
        rows = original(request)
        rows[0]["date"] = "2025-12-31"
        return rows

    fake.report_rows = shifted
    with pytest.raises(PermanentError, match=r"dated 2025-12-31, outside 2026-01-01\.\.2026-01-03"):
        make(fake).fetch(JAN_1, JAN_3)

    def without_ids(request):
        return [{k: v for k, v in row.items() if k != "campaignId"} for row in original(request)]

    fake.report_rows = without_ids
    with pytest.raises(PermanentError, match="a row without campaignId"):
        make(fake).fetch(JAN_1, JAN_3)


def test_a_duplicate_report_request_reuses_the_pending_report(fake):
    fake.duplicates, fake.report_polls = True, 5
    first = make(fake)
    with pytest.raises(TransientError):  # gives up waiting: the reports stay pending at Amazon
        AmazonAdsAdapter(first.account, sleep=lambda s: None, max_report_wait=1).fetch(JAN_1, JAN_3)
    pending = set(fake.reports)
    fake.report_polls = 0
    got = make(fake).fetch(JAN_1, JAN_3)
    assert set(fake.reports) == pending  # no new report: Amazon's 425 named the pending ones
    assert got.metrics


def test_the_report_download_carries_no_amazon_header_and_its_address_stays_private(fake, caplog):
    caplog.set_level("DEBUG")
    fake.fail_step("transient", "GET", "/download/", n=4)
    with pytest.raises(TransientError) as err:
        make(fake).fetch(JAN_1, JAN_3)
    downloads = [r for r in fake.requests if r["kind"] == "download"]
    assert downloads and all("authorization" not in r["headers"] for r in downloads)
    assert "SIGNED-SENTINEL" not in str(err.value) + caplog.text  # the pre-signed query string


def test_a_500_mid_paging_retries_that_page_only(fake):
    sleeps: list[float] = []
    fake.fail_page(1)
    got = make(fake, sleeps).fetch(JAN_1, JAN_3)
    tokens = [r["body"].get("nextToken") for r in api(fake, "POST", "/sp/campaigns/list")]
    assert tokens == [None, "2", "2"]  # page 2 asked again, page 1 never
    assert len(sleeps) == 1 and len([e for e in got.entities if e["level"] == "campaign"]) == 3


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/auth/o2/token"),
        ("GET", "/v2/profiles"),
        ("POST", "/reporting/reports"),
        ("POST", "/sp/adGroups/list"),
        ("GET", "/reporting/reports/"),
        ("GET", "/download/"),
    ],
)
def test_rate_limiting_at_every_read_step_honours_retry_after_then_names_the_account(fake, method, path):
    fake.retry_after = "7"
    sleeps: list[float] = []
    fake.fail_step("rate_limit", method, path, n=4)
    with pytest.raises(RateLimited) as err:
        make(fake, sleeps).fetch(JAN_1, JAN_3)
    assert sleeps == [7.0, 7.0, 7.0]  # three retries of that one call, each after Retry-After
    assert str(err.value).startswith(f"amazon account {PROFILE}: ") and "HTTP 429" in str(err.value)
    assert err.value.retry_after == 7.0

    sleeps.clear()
    fake.fail_step("rate_limit", method, path, n=2)
    assert make(fake, sleeps).fetch(JAN_1, JAN_3).metrics and sleeps == [7.0, 7.0]  # a passing limit is waited out


def test_malformed_json_is_a_clear_error(fake):
    original = fake._list

    def broken(segment, body):
        return 200, {"campaigns": "not a list"}, {}

    fake._list = broken
    with pytest.raises(PermanentError, match="malformed response: POST /sp/campaigns/list without a list"):
        make(fake).fetch(JAN_1, JAN_3)
    fake._list = original


# -- tokens ----------------------------------------------------------------------------------------------


def test_the_access_token_is_cached_until_it_expires(fake):
    clock = VirtualClock(1000.0)
    adapter = make(fake, clock=clock)
    adapter.read_state(key("campaign", "101"))
    adapter.read_state(key("campaign", "102"))
    assert len(fake.issued) == 1
    clock.now += 3600 - 61  # still a minute left: kept
    adapter.read_state(key("campaign", "101"))
    assert len(fake.issued) == 1
    clock.now += 30  # within its last minute: replaced before the call
    adapter.read_state(key("campaign", "101"))
    assert len(fake.issued) == 2


def test_an_expired_token_is_renewed_once_and_the_call_repeated(fake):
    adapter = make(fake)
    assert adapter.read_state(key("keyword", "301"))["bid"] == 2.1
    fake.expire_tokens()
    assert adapter.read_state(key("keyword", "301"))["bid"] == 2.1
    assert len(fake.issued) == 2


def test_a_revoked_refresh_token_names_the_variable_to_fix(fake):
    adapter = make(fake)
    adapter.read_state(key("campaign", "101"))
    fake.revoke()
    with pytest.raises(AuthError) as err:
        adapter.read_state(key("campaign", "101"))
    assert "invalid_grant" in str(err.value) and "set AMAZON_ADS_REFRESH_TOKEN" in str(err.value)
    assert f"amazon account {PROFILE}" in str(err.value)


def test_a_token_refused_twice_is_an_auth_error(fake):
    adapter = make(fake)
    fake.fail_next("auth", n=2)
    with pytest.raises(AuthError, match="a new access token was refused too: check that AMAZON_ADS_CLIENT_ID"):
        adapter.read_state(key("campaign", "101"))


def test_a_wrong_client_secret_names_the_client_variables(fake, monkeypatch):
    monkeypatch.setenv("AMAZON_ADS_CLIENT_SECRET", "wrong-secret-value")
    with pytest.raises(AuthError) as err:
        make(fake).fetch(JAN_1, JAN_3)
    assert "invalid_client" in str(err.value) and "AMAZON_ADS_CLIENT_SECRET" in str(err.value)
    assert "wrong-secret-value" not in str(err.value)


def test_missing_credentials_are_named_before_any_call(fake, monkeypatch):
    monkeypatch.delenv("AMAZON_ADS_REFRESH_TOKEN")
    with pytest.raises(AuthError, match="missing credentials: set AMAZON_ADS_REFRESH_TOKEN"):
        make(fake).fetch(JAN_1, JAN_3)
    assert fake.requests == []


def test_regions_pick_their_hosts():
    assert region_for(None, None) == REGIONS["NA"]
    assert region_for("eu", None).api == "https://advertising-api-eu.amazon.com"
    assert region_for("FE", None).token == "https://api.amazon.co.jp/auth/o2/token"
    assert region_for("EU", "http://127.0.0.1:9/").api == "http://127.0.0.1:9"  # an endpoint wins
    with pytest.raises(PermanentError, match="unknown region 'XX': use one of NA, EU, FE"):
        region_for("XX", None)


# -- writes ----------------------------------------------------------------------------------------------


def test_state_reads_each_level(fake):
    adapter = make(fake)
    assert adapter.read_state(key("campaign", "101")) == {"status": "active", "daily_budget": 50.0}
    assert adapter.read_state(key("ad_group", "203")) == {"status": "paused", "bid": 0.5}
    assert adapter.read_state(key("keyword", "302")) == {"status": "active", "bid": 1.0}  # the ad group's
    assert adapter.read_state(key("target", "402")) == {"status": "paused", "bid": 1.2}
    negatives = adapter.read_state(key("search_term", "202~portable monitor"))["negative_keywords"]
    assert negatives == [{"text": "cheap", "match_type": "phrase", "scope": "ad_group"}]  # campaign 102's
    negatives = adapter.read_state(key("search_term", "201~conference camera 4k"))["negative_keywords"]
    assert negatives == [{"text": "free", "match_type": "exact", "scope": "campaign"}]  # the archived one is gone
    for bad in (key("campaign", "999"), key("keyword", "abc"), key("search_term", "no-tilde")):
        with pytest.raises(PermanentError):
            adapter.read_state(bad)


def test_one_call_per_resource_for_a_batch(fake):
    adapter = make(fake)
    reqs = [
        req("a", "campaign", "101", "pause", {"status": "active"}, {"status": "paused"}),
        req("b", "campaign", "102", "set_budget", {"daily_budget": 30.0}, {"daily_budget": 36.0}),
        req("c", "keyword", "301", "set_bid", {"bid": 2.1}, {"bid": 1.89}),
        req("d", "keyword", "302", "set_bid", {"bid": 1.0}, {"bid": 0.9}),
        req("e", "target", "401", "pause", {"status": "active"}, {"status": "paused"}),
    ]
    seen = len(fake.requests)
    done = adapter.execute_batch(reqs)
    assert set(done) == {"a", "b", "c", "d", "e"}
    # the states are read together before any write: one list call per level (keyword 302's
    # default bid comes from ad group 201 in the same ad-group call)
    reads = [r["path"] for r in fake.requests[seen:] if r["path"].endswith("/list")]
    assert sorted(reads) == ["/sp/adGroups/list", "/sp/campaigns/list", "/sp/keywords/list", "/sp/targets/list"]
    puts = api(fake, "PUT")
    assert [(r["path"], len(r["body"][next(iter(r["body"]))])) for r in puts] == [
        ("/sp/campaigns", 2),
        ("/sp/keywords", 2),
        ("/sp/targets", 1),
    ]
    assert fake.campaigns["102"]["budget"] == {"budget": 36.0, "budgetType": "DAILY"}
    assert fake.keywords["302"]["bid"] == 0.9 and fake.targets["401"]["state"] == "PAUSED"
    assert done["c"].rollback_plan["after"] == {"bid": 2.1}


def test_a_207_with_failed_items_settles_each_change_on_its_own(fake):
    fake.fail_item("302")
    reqs = [
        req("ok", "keyword", "301", "pause", {"status": "active"}, {"status": "paused"}),
        req("refused", "keyword", "302", "pause", {"status": "active"}, {"status": "paused"}),
    ]
    with pytest.raises(PartialFailure) as err:
        make(fake).execute_batch(reqs)
    assert set(err.value.succeeded) == {"ok"} and set(err.value.failed) == {"refused"}
    assert "rangeError: the fake was told to refuse changes of 302" in err.value.failed["refused"]
    assert fake.keywords["301"]["state"] == "PAUSED" and fake.keywords["302"]["state"] == "ENABLED"
    assert len(api(fake, "PUT")) == 1  # both in one call


def test_an_unknown_entity_in_a_batch_fails_alone(fake):
    reqs = [
        req("known", "keyword", "301", "pause", {"status": "active"}, {"status": "paused"}),
        req("unknown", "keyword", "399", "pause", {"status": "active"}, {"status": "paused"}),
    ]
    with pytest.raises(PartialFailure) as err:
        make(fake).execute_batch(reqs)
    assert set(err.value.succeeded) == {"known"} and "unknown keyword 399" in err.value.failed["unknown"]
    assert fake.keywords["301"]["state"] == "PAUSED"


def test_an_item_missing_from_the_207_is_not_confirmed(fake):
    adapter = make(fake)
    original = fake._update

    def forgetful(segment, path, body):
        status, answer, headers = original(segment, path, body)
        answer[next(iter(answer))]["success"] = []
        return status, answer, headers

    fake._update = forgetful
    with pytest.raises(PermanentError, match="Amazon did not confirm this change"):
        adapter.execute(req("x", "campaign", "101", "pause", {"status": "active"}, {"status": "paused"}))


def test_a_write_rate_limited_to_the_end_fails_the_whole_batch(fake):
    adapter = make(fake)
    adapter.read_state(key("campaign", "101"))
    fake.fail_step("rate_limit", "PUT", "/sp/", n=4)
    with pytest.raises(RateLimited):
        adapter.execute_batch([req("a", "campaign", "101", "pause", {"status": "active"}, {"status": "paused"})])
    assert fake.campaigns["101"]["state"] == "ENABLED" and fake.write_calls() == 0


def test_writes_are_chunked_to_the_api_limit(fake):
    fake.bulk(2100)  # 21 campaigns of 50 keywords
    adapter = make(fake)
    adapter.read_state(key("campaign", next(iter(fake.campaigns))))
    changes = [
        Change(key("keyword", kid), "pause", "status", "paused", "active", "paused")
        for kid in list(fake.keywords)[:1001]
    ]
    out = adapter.write_batch(changes)
    assert len(out) == 1001 and not [o for o in out if isinstance(o, Exception)]
    assert [len(r["body"]["keywords"]) for r in api(fake, "PUT")] == [1000, 1]


@pytest.mark.parametrize(
    "scope, path", [("campaign", "/sp/campaignNegativeKeywords"), ("ad_group", "/sp/negativeKeywords")]
)
def test_negative_keywords_at_campaign_and_ad_group_level(fake, scope, path):
    adapter = make(fake)
    term = key("search_term", "201~conference camera 4k")
    negative = {"text": "conference camera 4k", "match_type": "phrase", "scope": scope}
    done = adapter.execute(
        ActionRequest(
            "n1", term, "add_negative_keyword", {}, {"negative_keyword": None}, {"negative_keyword": negative}
        )
    )
    (create,) = [r for r in api(fake, "POST", path) if r["path"] == path]
    item = create["body"][next(iter(create["body"]))][0]
    want = {
        "campaignId": "101",
        "matchType": "NEGATIVE_PHRASE",
        "state": "ENABLED",
        "keywordText": "conference camera 4k",
    }
    assert item.items() >= want.items()
    assert ("adGroupId" in item) == (scope == "ad_group")
    assert negative in make(fake).read_state(term)["negative_keywords"]

    make(fake).rollback(done.rollback_plan, term)
    assert negative not in make(fake).read_state(term)["negative_keywords"]
    (delete,) = [r for r in api(fake, "POST", path) if r["path"] == f"{path}/delete"]
    assert list(delete["body"]) == [
        f"{'campaignNegativeKeywordId' if scope == 'campaign' else 'negativeKeywordId'}Filter"
    ]


def test_a_broad_negative_is_refused_before_any_write(fake):
    term = key("search_term", "201~conference camera 4k")
    broad = {"text": "camera", "match_type": "broad", "scope": "campaign"}
    with pytest.raises(PermanentError, match="Amazon takes exact or phrase"):
        make(fake).execute(
            ActionRequest(
                "n", term, "add_negative_keyword", {}, {"negative_keyword": None}, {"negative_keyword": broad}
            )
        )
    assert fake.write_calls() == 0


# -- budget rules ----------------------------------------------------------------------------------------


def test_active_budget_rules_are_noted_with_their_campaigns(fake):
    notes = make(fake).connection_notes()
    assert notes == [
        "platform-side automation present: Amazon budget rule 'Prime Day boost' (+25% budget) on campaign(s) 101; "
        "it stacks with rulerun's budget changes without a cap, and rulerun never edits it"
    ]
    assert not [r for r in fake.requests if r["method"] != "GET" and "budgetRules" in r["path"]]  # read only
