"""The TikTok adapter (platforms/tiktok/adapter.py) over HTTP against the local fake of the Business API."""

from __future__ import annotations

import json
import logging
import re
from datetime import date, timedelta

import httpx
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
from platforms.tiktok.adapter import TikTokAdsAdapter, envelope_error
from tests.fakes.tiktok_fake import ADVERTISER, FIRST_DAY, TOKEN, TikTokFake

LAST_DAY = FIRST_DAY + timedelta(days=30)
ATTEMPTS = 3
G_BID, G_NEW, G_TOTAL, G_PAUSED, G_CBO, G_EDITED = (f"181000000000{n}" for n in range(1, 7))
C_DAILY, C_TOTAL, C_PAUSED, C_CBO = (f"180000000000{n}" for n in range(1, 5))


@pytest.fixture
def fake():
    server = TikTokFake(page_cap=2)
    yield server
    server.close()


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("TIKTOK_ADVERTISER_ID", ADVERTISER)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make(fake, sleeps):
    def adapter(advertiser: str = ADVERTISER, currency: str = "USD") -> TikTokAdsAdapter:
        account = Account("tiktok", advertiser, currency=currency, endpoint=fake.url)
        return TikTokAdsAdapter(account, sleep=sleeps.append, max_attempts=ATTEMPTS, max_qps=1e6)

    return adapter


def key(level: str, entity_id: str) -> EntityKey:
    return EntityKey("tiktok", ADVERTISER, level, entity_id)


def calls(fake, endpoint: str) -> list:
    return [params for _, name, params in fake.requests if name == endpoint]


# -- reads


def test_fetch_reads_entities_and_daily_metrics_in_the_wire_format(fake, make):
    got = make().fetch(FIRST_DAY, LAST_DAY)
    entities = {e["entity_id"]: e for e in got.entities}
    assert {e["level"] for e in got.entities} == {"campaign", "ad_group"}
    assert entities[C_DAILY].items() >= {"status": "active", "daily_budget": 500.0, "budget_mode": "daily"}.items()
    assert (entities[C_TOTAL]["daily_budget"], entities[C_TOTAL]["budget_mode"]) == (None, "lifetime")
    assert (entities[C_PAUSED]["status"], entities[C_PAUSED]["budget_mode"]) == ("paused", "unlimited")
    group = entities[G_BID]
    assert (group["parent_id"], group["daily_budget"], group["bid"], group["bidding_strategy"]) == (
        C_DAILY,
        150.0,
        2.5,
        "bid_cap",
    )
    assert (entities[G_TOTAL]["bid"], entities[G_TOTAL]["bidding_strategy"]) == (30.0, "cost_cap")
    assert (entities[G_CBO]["budget_mode"], entities[G_CBO]["bid"]) == ("parent", None)
    assert entities[G_NEW]["bidding_strategy"] == "lowest_cost"
    assert entities[G_BID]["created_at"] == FIRST_DAY - timedelta(days=30)

    rows = {(m["level"], m["entity_id"], m["date"]): m for m in got.metrics}
    day = FIRST_DAY + timedelta(days=4)
    want = fake.daily(G_BID, day)
    row = rows[("ad_group", G_BID, day)]
    assert (row["spend"], row["impressions"], row["clicks"]) == (want["spend"], want["impressions"], want["clicks"])
    assert (row["conversions"], row["conversion_value"], row["video_views"]) == (
        want["complete_payment"],
        want["total_complete_payment_rate"],
        want["video_play_actions"],
    )
    campaign = rows[("campaign", C_DAILY, day)]
    members = [g for g, r in fake.adgroups.items() if r["campaign_id"] == C_DAILY]
    assert campaign["spend"] == pytest.approx(sum(fake.daily(g, day).get("spend", 0) for g in members))
    assert len([m for m in got.metrics if m["level"] == "ad_group"]) == sum(
        1 for g in fake.adgroups for d in range(31) if fake.daily(g, FIRST_DAY + timedelta(days=d))
    )


def test_requests_carry_the_token_header_a_trailing_slash_and_json_list_parameters(fake, make):
    make().fetch(LAST_DAY, LAST_DAY)
    (report, *_) = calls(fake, "report/integrated/get")
    assert json.loads(report["dimensions"]) in (["adgroup_id", "stat_time_day"], ["campaign_id", "stat_time_day"])
    assert "conversion" in json.loads(report["metrics"]) and report["page_size"] == "1000"
    assert isinstance(json.loads(calls(fake, "adgroup/get")[0]["fields"]), list)
    assert fake.paths and all(p.startswith("/open_api/v1.3/") and p.endswith("/") for p in fake.paths)


def test_every_page_is_read_once_and_ranges_split_into_30_day_windows(fake, make):
    got = make().fetch(FIRST_DAY, LAST_DAY)
    reports = calls(fake, "report/integrated/get")
    windows = {(r["data_level"], r["start_date"], r["end_date"]) for r in reports}
    assert windows == {
        (level, start, end)
        for level in ("AUCTION_CAMPAIGN", "AUCTION_ADGROUP")
        for start, end in (("2026-01-01", "2026-01-30"), ("2026-01-31", "2026-01-31"))
    }
    pages = [(r["data_level"], r["start_date"], r["page"]) for r in reports]
    assert len(pages) == len(set(pages))  # no page twice
    assert got.api_calls == len(fake.requests)
    rows_of_groups = [m for m in got.metrics if m["level"] == "ad_group"]
    assert len({(m["entity_id"], m["date"]) for m in rows_of_groups}) == len(rows_of_groups)


def test_learning_phase_is_derived_from_dates_and_conversions(fake, make):
    learning = {e["entity_id"]: e["learning_phase"] for e in make().fetch(FIRST_DAY, LAST_DAY).entities}
    assert learning[G_NEW] is True  # launched 3 days ago, a few conversions
    assert learning[G_CBO] is False  # launched 5 days ago, 12 a day: past 50
    assert learning[G_EDITED] is True  # old, but edited 2 days ago
    assert learning[G_BID] is False and learning[G_PAUSED] is False  # launched long ago
    assert learning[C_DAILY] is True  # its ad groups G_NEW and G_EDITED learn: changing it would disturb them
    assert learning[C_CBO] is False and learning[C_TOTAL] is False


def test_a_short_sync_reads_the_conversions_of_the_learning_window_it_does_not_cover(fake, make):
    learning = {e["entity_id"]: e["learning_phase"] for e in make().fetch(LAST_DAY, LAST_DAY).entities}
    assert learning[G_CBO] is False  # 12 a day since 5 days ago: read from an extra, filtered report
    assert learning[G_NEW] is True and learning[G_EDITED] is True
    filtered = [r for r in calls(fake, "report/integrated/get") if "filtering" in r]
    (rule,) = json.loads(filtered[0]["filtering"])
    assert set(json.loads(rule["filter_value"])) == {G_NEW, G_CBO, G_EDITED}
    assert filtered[0]["end_date"] == (LAST_DAY - timedelta(days=1)).isoformat()


@pytest.mark.parametrize("stamp", [None, "", "yesterday-ish"])
def test_an_unreadable_creation_time_counts_as_learning(fake, make, stamp):
    fake.adgroups[G_BID]["create_time"] = stamp
    learning = {e["entity_id"]: e["learning_phase"] for e in make().fetch(FIRST_DAY, LAST_DAY).entities}
    assert learning[G_BID] is True


def test_probe_names_the_advertiser_and_checks_its_currency(fake, make):
    assert make().check_connection() == "Acme TikTok"
    fake.currency = "EUR"
    with pytest.raises(PermanentError, match=r"currency is EUR, rulerun.yaml says USD: set `currency: EUR`"):
        make().check_connection()


# -- faults


def test_an_expired_token_is_an_auth_error_naming_the_variable(fake, make, sleeps):
    fake.fail_next("expired")
    with pytest.raises(AuthError) as err:
        make().fetch(FIRST_DAY, LAST_DAY)
    text = str(err.value)
    assert "expired" in text and "TIKTOK_ACCESS_TOKEN" in text and f"tiktok account {ADVERTISER}" in text
    assert TOKEN not in text and sleeps == []  # not retried


def test_a_revoked_token_is_an_auth_error(fake, monkeypatch, make):
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", "revoked-token-0123456789")
    with pytest.raises(AuthError, match=r"invalid or revoked.*set TIKTOK_ACCESS_TOKEN") as err:
        make().check_connection()
    assert "revoked-token-0123456789" not in str(err.value)


def test_a_missing_token_names_the_variable(monkeypatch, make):
    monkeypatch.delenv("TIKTOK_ACCESS_TOKEN")
    with pytest.raises(AuthError, match="missing credentials: set TIKTOK_ACCESS_TOKEN"):
        make().fetch(FIRST_DAY, LAST_DAY)


def test_an_unknown_advertiser_names_the_account(make):
    with pytest.raises(AuthError, match=r"tiktok account 999: .*no permission.*advertiser id in rulerun.yaml"):
        make("999").fetch(FIRST_DAY, LAST_DAY)
    with pytest.raises(AdapterError, match="tiktok account 999"):
        make("999").check_connection()


@pytest.mark.parametrize("endpoint", ["campaign/get", "adgroup/get", "report/integrated/get"])
@pytest.mark.parametrize("kind", ["rate_limit", "frequency"])
def test_rate_limiting_in_a_200_at_every_step_is_retried_then_named(fake, make, sleeps, endpoint, kind):
    fake.fail_next(kind, n=ATTEMPTS - 1, endpoint=endpoint)
    assert make().fetch(FIRST_DAY, LAST_DAY).metrics  # retried, then served
    assert len(sleeps) == ATTEMPTS - 1
    fake.fail_next(kind, n=100, endpoint=endpoint)
    with pytest.raises(RateLimited) as err:
        make().fetch(FIRST_DAY, LAST_DAY)
    assert f"tiktok account {ADVERTISER}" in str(err.value) and "rate limited" in str(err.value)
    assert err.value.details["code"] in (40100, 40132)


@pytest.mark.parametrize("kind", ["http500", "transient"])
def test_a_failure_in_the_middle_of_paging_retries_that_page_only(fake, make, kind):
    fake.fail_page(3, kind)
    got = make().fetch(FIRST_DAY, LAST_DAY)
    clean = TikTokFake(page_cap=2)
    try:
        clean_adapter = TikTokAdsAdapter(
            Account("tiktok", ADVERTISER, endpoint=clean.url), sleep=lambda _: None, max_qps=1e6
        )
        assert len(got.metrics) == len(clean_adapter.fetch(FIRST_DAY, LAST_DAY).metrics)
    finally:
        clean.close()
    pages = [(r["data_level"], r["start_date"], r["page"]) for r in calls(fake, "report/integrated/get")]
    assert len(pages) == len(set(pages)) + 1  # one page asked twice ...
    assert pages.count(("AUCTION_ADGROUP", "2026-01-01", "1")) == 1  # ... and never page 1 again


def test_a_report_that_never_finishes_fails_after_a_bounded_wait(fake, make, sleeps):
    fake.fail_next("timeout", n=1000, endpoint="report/integrated/get")
    with pytest.raises(TransientError, match="System timeout") as err:
        make().fetch(FIRST_DAY, LAST_DAY)
    assert f"tiktok account {ADVERTISER}" in str(err.value) and "report" in str(err.value)
    assert len(sleeps) <= ATTEMPTS * 4  # bounded: each call gave up after its attempts


def test_a_short_page_is_refused_rather_than_stored_in_part(fake, make):
    fake.fail_page(2, "short_page")
    with pytest.raises(TransientError, match=r"incomplete report: .* rows came back; nothing was stored"):
        make().fetch(FIRST_DAY, LAST_DAY)


def test_malformed_json_is_a_clear_permanent_error(fake, make):
    fake.fail_next("malformed", endpoint="adgroup/get")
    with pytest.raises(
        PermanentError, match=r"listing ad groups: GET /open_api/v1.3/adgroup/get/: the response is not JSON"
    ):
        make().fetch(FIRST_DAY, LAST_DAY)


def test_a_metric_that_is_not_a_number_is_refused(fake, make):
    original = fake.report_rows

    def broken(level, start, end):
        (owner, day, numbers), *rest = original(level, start, end)
        return [(owner, day, {**numbers, "spend": "12,5 USD"}), *rest]

    fake.report_rows = broken
    with pytest.raises(PermanentError, match="malformed report: spend is '12,5 USD', not a number"):
        make().fetch(FIRST_DAY, LAST_DAY)


def test_envelope_codes_map_to_the_typed_errors():
    def kind(code):
        err = envelope_error(httpx.Response(200, json={"code": code, "message": "m", "request_id": "r"}))
        return type(err).__name__ if err else None

    assert [kind(c) for c in (0, None, 40100, 40132, 40102, 40105, 40001, 40300, 50000, 51010, 40202, 40002)] == [
        None,
        None,
        "RateLimited",
        "RateLimited",
        "AuthError",
        "AuthError",
        "AuthError",
        "PermanentError",
        "TransientError",
        "TransientError",
        "TransientError",
        "PermanentError",
    ]


# -- writes


def request(action_type: str, k: EntityKey, before: dict, after: dict, action_id: str = "") -> ActionRequest:
    return ActionRequest(action_id or f"{action_type}-{k.entity_id}", k, action_type, {}, before, after)


def test_status_changes_share_calls_of_twenty_after_one_read_of_their_state():
    bulk = TikTokFake(ad_groups=45)
    try:
        adapter = TikTokAdsAdapter(Account("tiktok", ADVERTISER, endpoint=bulk.url), sleep=lambda _: None, max_qps=1e6)
        reqs = [
            request("pause", key("ad_group", gid), {"status": "active"}, {"status": "paused"}) for gid in bulk.adgroups
        ]
        done = adapter.execute_batch(reqs)
        assert len(done) == 45 and all(r.result["status"] == "paused" for r in done.values())
        sizes = [len(body["adgroup_ids"]) for _, name, body in bulk.requests if name == "adgroup/status/update"]
        assert sizes == [20, 20, 5]
        # the live state of all 45 was read up front: one list call per 100 ids, not one per change
        (read,) = [params for _, name, params in bulk.requests if name == "adgroup/get"]
        assert len(json.loads(read["filtering"])["adgroup_ids"]) == 45
        assert all(g["operation_status"] == "DISABLE" for g in bulk.adgroups.values())
    finally:
        bulk.close()


def test_a_refused_id_is_settled_on_its_own_and_the_others_still_change(fake, make):
    fake.fail_object(G_EDITED)
    reqs = [
        request("pause", key("ad_group", gid), {"status": "active"}, {"status": "paused"})
        for gid in (G_BID, G_EDITED, G_NEW)
    ]
    with pytest.raises(PartialFailure) as err:
        make().execute_batch(reqs)
    assert set(err.value.succeeded) == {f"pause-{G_BID}", f"pause-{G_NEW}"}
    assert (
        set(err.value.failed) == {f"pause-{G_EDITED}"} and "cannot be updated" in err.value.failed[f"pause-{G_EDITED}"]
    )
    statuses = {gid: fake.adgroups[gid]["operation_status"] for gid in (G_BID, G_EDITED, G_NEW)}
    assert statuses == {G_BID: "DISABLE", G_EDITED: "ENABLE", G_NEW: "DISABLE"}
    batched = [body["adgroup_ids"] for _, name, body in fake.requests if name == "adgroup/status/update"]
    assert batched == [[G_BID, G_EDITED, G_NEW], [G_BID], [G_EDITED], [G_NEW]]


def test_an_id_the_platform_does_not_confirm_is_not_counted_as_changed(fake, make):
    fake.unconfirmed.add(G_NEW)
    reqs = [request("pause", key("ad_group", g), {"status": "active"}, {"status": "paused"}) for g in (G_BID, G_NEW)]
    with pytest.raises(PartialFailure) as err:
        make().execute_batch(reqs)
    assert set(err.value.succeeded) == {f"pause-{G_BID}"}
    assert "not confirmed" in err.value.failed[f"pause-{G_NEW}"]


def test_rate_limited_after_a_first_success_keeps_what_the_platform_confirmed(fake, make):
    reqs = [
        request("pause", key("campaign", C_DAILY), {"status": "active"}, {"status": "paused"}),
        request("change_budget", key("ad_group", G_BID), {"daily_budget": 150.0}, {"daily_budget": 120.0}),
    ]
    fake.fail_next("rate_limit", n=100, endpoint="adgroup/update")
    with pytest.raises(PartialFailure) as err:
        make().execute_batch(reqs)
    assert (
        set(err.value.succeeded) == {f"pause-{C_DAILY}"}
        and "rate limited" in err.value.failed[f"change_budget-{G_BID}"]
    )
    assert fake.campaigns[C_DAILY]["operation_status"] == "DISABLE" and fake.adgroups[G_BID]["budget"] == 150.0


def test_rate_limited_before_anything_changed_fails_the_whole_call(fake, make):
    fake.fail_next("rate_limit", n=100, endpoint="adgroup/status/update")
    with pytest.raises(RateLimited, match=f"tiktok account {ADVERTISER}"):
        make().execute(request("pause", key("ad_group", G_BID), {"status": "active"}, {"status": "paused"}))
    assert fake.updates == []


@pytest.mark.parametrize(
    ("gid", "reason"),
    [
        (G_TOTAL, "has a total budget (budget_mode BUDGET_MODE_TOTAL), not a daily one"),
        (G_CBO, "has an unlimited budget (budget_mode BUDGET_MODE_INFINITE), not a daily one"),
    ],
)
def test_a_budget_that_is_not_daily_is_left_alone_with_the_reason(fake, make, gid, reason):
    with pytest.raises(PermanentError, match=re.escape(reason)):
        make().execute(request("set_budget", key("ad_group", gid), {"daily_budget": None}, {"daily_budget": 90.0}))
    assert fake.updates == []


def test_an_automatic_bid_is_left_alone_with_the_reason(fake, make):
    with pytest.raises(PermanentError, match="bids automatically \\(bid_type BID_TYPE_NO_BID\\)"):
        make().execute(request("set_bid", key("ad_group", G_NEW), {"bid": None}, {"bid": 1.0}))
    assert fake.updates == []


def test_a_cost_cap_bid_is_written_where_it_lives(fake, make):
    done = make().execute(request("change_bid", key("ad_group", G_TOTAL), {"bid": 30.0}, {"bid": 25.5}))
    assert fake.adgroups[G_TOTAL]["conversion_bid_price"] == 25.5 and fake.adgroups[G_TOTAL]["bid_price"] == 0
    assert done.result["request_id"] and done.rollback_plan["after"] == {"bid": 30.0}


def test_writes_are_logged_without_the_token(fake, make, caplog):
    caplog.set_level(logging.DEBUG)
    make().execute(request("set_budget", key("campaign", C_DAILY), {"daily_budget": 500.0}, {"daily_budget": 450.0}))
    assert fake.campaigns[C_DAILY]["budget"] == 450.0
    assert "set_budget campaign 1800000000001 -> 450.0" in caplog.text and TOKEN not in caplog.text


def test_an_unknown_entity_is_a_permanent_error(make):
    with pytest.raises(PermanentError, match="unknown ad_group 42"):
        make().read_state(key("ad_group", "42"))


def test_a_range_of_30_days_is_one_report_window(fake, make):
    make().fetch(date(2026, 1, 1), date(2026, 1, 30))
    assert {r["end_date"] for r in calls(fake, "report/integrated/get")} == {"2026-01-30"}
