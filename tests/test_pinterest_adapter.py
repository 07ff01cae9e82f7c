"""PinterestAdapter over HTTP against the local Pinterest fake, through Prism when it is installed."""

from __future__ import annotations

import logging
import math
from datetime import timedelta

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
from platforms.pinterest.adapter import PinterestAdapter
from platforms.ratelimit import CallWindow
from tests.fakes import pinterest_prism
from tests.fakes.pinterest_fake import (
    A_PAUSED,
    ACCOUNT,
    APP_SECRET,
    C_DAILY,
    C_LIFETIME,
    C_PAUSED,
    G_ARCHIVED,
    G_AUTO,
    G_CBO,
    G_LIFETIME,
    G_MANUAL,
    G_PAUSED,
    REFRESH_TOKEN,
    TOKEN,
    PinterestFake,
    env,
)

pytestmark = pytest.mark.prism  # through the Prism proxy: one worker runs them all


@pytest.fixture
def fake():
    server = PinterestFake(async_polls=2)
    server.api = pinterest_prism.route(server)
    yield server
    server.close()
    pinterest_prism.check()


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    for name, value in env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PINTEREST_REFRESH_TOKEN", raising=False)


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make(fake, sleeps, *, account=ACCOUNT, currency="USD", **kw) -> PinterestAdapter:
    kw.setdefault("window", CallWindow(300, 60))
    return PinterestAdapter(
        Account("pinterest", account, currency=currency, endpoint=fake.api), sleep=sleeps.append, poll_interval=1, **kw
    )


def key(level, entity_id):
    return EntityKey("pinterest", ACCOUNT, level, entity_id)


def pause(level, entity_id, action_id="a-1"):
    return ActionRequest(action_id, key(level, entity_id), "pause", {}, {"status": "active"}, {"status": "paused"})


def requests_to(fake, suffix, method="GET"):
    return [(m, p, q, b) for m, p, q, b in fake.requests if m == method and p.endswith(suffix)]


def test_reads_entities_and_daily_metrics_of_a_recent_range(fake, sleeps):
    start, end = fake.today - timedelta(days=7), fake.today - timedelta(days=1)
    got = make(fake, sleeps).fetch(start, end)
    ents = {e["entity_id"]: e for e in got.entities}
    assert {e["level"] for e in got.entities} == {"campaign", "ad_group", "ad"}
    assert len(ents) == len(fake.campaigns) + len(fake.ad_groups) + len(fake.ads)  # archived ones included
    assert ents[G_ARCHIVED]["status"] == "archived" and ents[C_PAUSED]["status"] == "paused"
    # micro-currency converted; budgets only where they are the entity's own daily budget
    assert ents[C_DAILY]["daily_budget"] == 200.0 and ents[C_LIFETIME]["daily_budget"] is None
    assert ents[G_MANUAL]["daily_budget"] == 90.0 and ents[G_MANUAL]["bid"] == 1.1
    assert ents[G_CBO]["daily_budget"] is None and ents[G_LIFETIME]["daily_budget"] is None
    assert ents[G_MANUAL]["bidding_strategy"] == "custom" and ents[G_AUTO]["bidding_strategy"] == "automatic"
    assert ents[G_CBO]["learning_phase"] is True and ents[G_MANUAL]["learning_phase"] is False
    assert ents[C_PAUSED]["is_brand"] and ents[G_PAUSED]["is_brand"] and ents[A_PAUSED]["is_brand"]
    assert ents[G_MANUAL]["parent_id"] == C_DAILY and ents[A_PAUSED]["parent_id"] == G_PAUSED
    assert str(ents[G_MANUAL]["created_at"]) == "2026-01-01"
    assert ents[C_LIFETIME]["labels"] == ["shopping"] and ents[C_DAILY]["labels"] == ["consideration"]

    day = end
    row = next(m for m in got.metrics if m["entity_id"] == G_MANUAL and m["date"] == day.isoformat())
    raw = fake.daily(G_MANUAL, day)
    assert row["level"] == "ad_group" and row["account_id"] == ACCOUNT and row["platform"] == "pinterest"
    assert row["spend"] == raw["SPEND_IN_MICRO_DOLLAR"] / 1e6 and row["impressions"] == raw["IMPRESSION_1"]
    assert row["clicks"] == raw["CLICKTHROUGH_1"] and row["outbound_clicks"] == raw["OUTBOUND_CLICK_1"]
    assert row["conversions"] == raw["TOTAL_CHECKOUT"]
    assert row["conversion_value"] == raw["TOTAL_CHECKOUT_VALUE_IN_MICRO_DOLLAR"] / 1e6
    campaign = next(m for m in got.metrics if m["entity_id"] == C_DAILY and m["date"] == day.isoformat())
    groups = [g for g, o in fake.ad_groups.items() if o["campaign_id"] == C_DAILY]
    assert campaign["impressions"] == sum(fake.daily(g, day)["IMPRESSION_1"] for g in groups)
    assert not requests_to(fake, "/reports", "POST")  # a recent range needs no async report
    assert got.api_calls == len(fake.requests)


def test_lists_are_paged_and_analytics_take_250_ids_a_call(fake, sleeps):
    fake.bulk(ad_groups=600, per_campaign=10)
    adapter = make(fake, sleeps)
    adapter.PAGE_SIZE = 100
    got = adapter.fetch(fake.today - timedelta(days=3), fake.today - timedelta(days=1))
    assert len(requests_to(fake, "/ad_groups")) == 6 and len(requests_to(fake, "/ads")) == 6
    group_calls = requests_to(fake, "/ad_groups/analytics")
    assert sorted(len(q["ad_group_ids"]) for _, _, q, _ in group_calls) == [100, 250, 250]
    assert len(requests_to(fake, "/campaigns/analytics")) == 1
    assert all("," in q["columns"][0] and len(q["columns"]) == 1 for _, _, q, _ in group_calls)
    assert len([m for m in got.metrics if m["level"] == "ad_group"]) == 600 * 3


def test_analytics_calls_are_paced_under_the_limit(fake, sleeps):
    fake.bulk(ad_groups=1000, per_campaign=100)
    window = CallWindow(2, 60, clock=lambda: 0.0)  # a clock that stands still: every call past 2 waits
    make(fake, sleeps, window=window, workers=1).fetch(fake.today - timedelta(days=2), fake.today - timedelta(days=1))
    calls = len(requests_to(fake, "/analytics"))
    assert calls == 4 + 1
    assert sleeps == [60.0, 60.0, 120.0]  # calls 3 and 4 a period later, call 5 two periods later


def test_an_old_range_is_read_through_async_reports(fake, sleeps):
    start, end = fake.today - timedelta(days=150), fake.today - timedelta(days=120)
    got = make(fake, sleeps).fetch(start, end)
    creates = requests_to(fake, "/reports", "POST")
    assert [b["level"] for *_, b in creates] == ["CAMPAIGN", "AD_GROUP"]
    assert all(b["granularity"] == "DAY" and b["report_format"] == "JSON" for *_, b in creates)
    assert len(requests_to(fake, "/reports")) == 2 * 3  # two IN_PROGRESS polls, then FINISHED, per report
    assert sleeps == [1.0, 1.5] * 2  # growing pauses between polls
    downloads = [r for r in fake.requests if r[1].startswith("/files/")]
    assert len(downloads) == 2  # fetched without the access token (the fake refuses one)
    assert not requests_to(fake, "/analytics")
    expected = fake.rows("ad_group", list(fake.ad_groups), start, end)
    groups = {(m["entity_id"], m["date"]): m for m in got.metrics if m["level"] == "ad_group"}
    assert len(groups) == len(expected)
    sample = expected[17]
    assert groups[(sample["AD_GROUP_ID"], sample["DATE"])]["spend"] == sample["SPEND_IN_MICRO_DOLLAR"] / 1e6


def test_a_report_that_never_finishes_fails_within_the_bound(fake, sleeps):
    fake.async_polls = 10**6
    adapter = make(fake, sleeps, report_timeout=60)
    with pytest.raises(TransientError, match=r"not ready after .* nothing was stored") as err:
        adapter.fetch(fake.today - timedelta(days=150), fake.today - timedelta(days=120))
    assert err.value.platform == "pinterest" and err.value.account_id == ACCOUNT
    assert sum(sleeps) <= 60 and len(sleeps) >= 5


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (b'{"2026-01-01": [{"AD_GROUP_ID": "1", "SPEND_IN', "not JSON"),
        (b"[1, 2, 3]", "not an object"),
        (b'{"2026-01-01": [{"CAMPAIGN_ID": "1", "SPEND_IN_MICRO_DOLLAR": "lots"}]}', "SPEND_IN_MICRO_DOLLAR of 1"),
        (b'{"2026-01-01": [{"SPEND_IN_MICRO_DOLLAR": 5}]}', "no date or id"),
    ],
)
def test_a_malformed_report_fails_the_read(fake, sleeps, file, message):
    fake.report_file = file
    with pytest.raises(PermanentError, match=message):
        make(fake, sleeps).fetch(fake.today - timedelta(days=150), fake.today - timedelta(days=120))


def test_a_500_in_the_middle_of_paging_is_retried_without_starting_over(fake, sleeps):
    adapter = make(fake, sleeps)
    adapter.PAGE_SIZE = 2
    fake.fail_page(2)
    got = adapter.fetch(fake.today - timedelta(days=2), fake.today - timedelta(days=1))
    assert len(got.entities) == len(fake.campaigns) + len(fake.ad_groups) + len(fake.ads)
    first_pages = [r for r in fake.requests if r[0] == "GET" and "bookmark" not in r[2] and "page_size" in r[2]]
    assert len(first_pages) == 3  # one first page per list: the failed page alone was asked again
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    ("step", "method", "suffix"),
    [
        ("ad account", "GET", ACCOUNT),
        ("list", "GET", "/ad_groups"),
        ("analytics", "GET", "/ad_groups/analytics"),
        ("report", "POST", "/reports"),
        ("poll", "GET", "/reports"),
    ],
)
def test_rate_limiting_at_every_read_step_fails_cleanly(fake, sleeps, step, method, suffix):
    old = step in ("report", "poll")
    start = fake.today - timedelta(days=150 if old else 3)
    original = fake.record

    def limited(m, path):  # every attempt of the step's call answers 429 (with Retry-After: 2)
        return "rate_limit" if m == method and path.endswith(suffix) else original(m, path)

    fake.record = limited
    with pytest.raises(RateLimited) as err:
        make(fake, sleeps).fetch(start, start + timedelta(days=1))
    assert str(err.value).startswith(f"pinterest account {ACCOUNT}: ") and "HTTP 429" in str(err.value)
    assert sleeps.count(2.0) == 3  # Retry-After honoured between the 4 attempts


def test_rate_limiting_of_a_bulk_update_executes_nothing(fake, sleeps):
    fake.fail_next("rate_limit", n=4, method="PATCH")
    with pytest.raises(RateLimited):
        make(fake, sleeps).execute(pause("ad_group", G_MANUAL))
    assert fake.ad_groups[G_MANUAL]["status"] == "ACTIVE" and not fake.updates


def test_a_spam_refusal_is_final_and_not_retried(fake, sleeps):
    fake.fail_next("spam", n=1)
    with pytest.raises(PermanentError, match="refused the request as spam") as err:
        make(fake, sleeps).check_connection()
    assert not err.value.retryable and sleeps == [] and len(fake.requests) == 1


def test_an_expired_token_is_renewed_once_and_the_call_made_again(fake, sleeps, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("PINTEREST_REFRESH_TOKEN", REFRESH_TOKEN)
    fake.expire_token()
    adapter = make(fake, sleeps)
    assert adapter.check_connection() == "Acme Pinterest"
    renewed = fake.token
    assert renewed != TOKEN
    oauth = [r for r in fake.requests if r[1] == "/oauth/token"]
    assert len(oauth) == 1 and "grant_type=refresh_token" in oauth[0][3]
    assert adapter.read_state(key("campaign", C_DAILY))["status"] == "active"  # the renewed token serves on
    assert len([r for r in fake.requests if r[1] == "/oauth/token"]) == 1
    for secret in (TOKEN, REFRESH_TOKEN, APP_SECRET, renewed):
        assert secret not in caplog.text


def test_a_revoked_token_names_the_variable_to_fix(fake, sleeps, monkeypatch):
    fake.revoke()
    with pytest.raises(AuthError, match="set a valid PINTEREST_ACCESS_TOKEN") as err:
        make(fake, sleeps).check_connection()
    assert TOKEN not in str(err.value)
    monkeypatch.setenv("PINTEREST_REFRESH_TOKEN", REFRESH_TOKEN)
    with pytest.raises(
        AuthError, match=r"renewing the access token failed .* set a valid PINTEREST_REFRESH_TOKEN"
    ) as err:
        make(fake, sleeps).check_connection()
    assert REFRESH_TOKEN not in str(err.value) and APP_SECRET not in str(err.value)


def test_an_unknown_ad_account_is_named(fake, sleeps):
    with pytest.raises(PermanentError, match="unknown ad account 123456789") as err:
        make(fake, sleeps, account="123456789").fetch(fake.today - timedelta(days=2), fake.today - timedelta(days=1))
    assert "rulerun.yaml" in str(err.value)


def test_an_account_in_another_currency_is_refused(fake, sleeps):
    with pytest.raises(PermanentError, match=r"is in USD but rulerun\.yaml says EUR"):
        make(fake, sleeps, currency="EUR").fetch(fake.today - timedelta(days=2), fake.today - timedelta(days=1))


def test_one_apply_sends_few_bulk_calls_and_settles_each_change_alone(fake, sleeps):
    fake.bulk(ad_groups=70, per_campaign=10)
    groups, campaigns = list(fake.ad_groups), list(fake.campaigns)
    reqs = [pause("ad_group", g, f"g-{g}") for g in groups[:65]] + [pause("campaign", c, f"c-{c}") for c in campaigns]
    fake.fail_item(groups[40])
    with pytest.raises(PartialFailure) as err:
        make(fake, sleeps).execute_batch(reqs)
    assert set(err.value.failed) == {f"g-{groups[40]}"} and "refuse" in err.value.failed[f"g-{groups[40]}"]
    assert len(err.value.succeeded) == len(reqs) - 1
    patches = [b for m, _, _, b in fake.requests if m == "PATCH"]
    assert [len(b) for b in patches] == [7, 30, 30, 5]  # at most 30 items a call, one level a call
    assert len(patches) == math.ceil(65 / 30) + math.ceil(7 / 30)
    assert all(item.get("ad_account_id") == ACCOUNT for item in patches[0])  # campaigns name their account
    assert fake.ad_groups[groups[40]]["status"] == "ACTIVE" and fake.ad_groups[groups[41]]["status"] == "PAUSED"


def test_two_changes_of_one_entity_go_in_two_calls(fake, sleeps):
    adapter = make(fake, sleeps)
    budget = ActionRequest(
        "b", key("ad_group", G_MANUAL), "set_budget", {}, {"daily_budget": 90.0}, {"daily_budget": 95.5}
    )
    bid = ActionRequest("d", key("ad_group", G_MANUAL), "set_bid", {}, {"bid": 1.1}, {"bid": 1.25})
    done = adapter.execute_batch([budget, bid])
    assert set(done) == {"b", "d"}
    patches = [b for m, _, _, b in fake.requests if m == "PATCH"]
    assert patches == [
        [{"id": G_MANUAL, "budget_in_micro_currency": 95_500_000}],
        [{"id": G_MANUAL, "bid_in_micro_currency": 1_250_000}],
    ]


@pytest.mark.parametrize(
    ("level", "entity_id", "message"),
    [
        ("ad_group", G_CBO, "campaign budget optimization .* change the campaign's budget instead"),
        ("ad_group", G_LIFETIME, "has a lifetime budget, not a daily one"),
        ("campaign", C_LIFETIME, "has a lifetime spend cap: its budget lives on its ad groups"),
    ],
)
def test_budgets_that_are_not_the_entitys_own_daily_budget_are_refused(fake, sleeps, level, entity_id, message):
    req = ActionRequest("x", key(level, entity_id), "set_budget", {}, {}, {"daily_budget": 20.0})
    with pytest.raises(PermanentError, match=message):
        make(fake, sleeps).execute(req)
    assert not fake.updates


def test_a_bulk_answer_that_does_not_confirm_the_change_is_a_failure(fake, sleeps):
    original = fake._update

    def forgetful(collection, objs, items):
        status, body, headers = original(collection, objs, items)
        for item in body["items"]:
            item["data"] = {**item["data"], "status": "ACTIVE"}  # applied, but the answer shows it unchanged
        return status, body, headers

    fake._update = forgetful
    with pytest.raises(PermanentError, match="the platform holds status='ACTIVE' after the update"):
        make(fake, sleeps).execute(pause("ad_group", G_MANUAL))


def test_an_unknown_entity_is_named(fake, sleeps):
    with pytest.raises(PermanentError, match="unknown ad_group 999 in this ad account"):
        make(fake, sleeps).read_state(key("ad_group", "999"))
