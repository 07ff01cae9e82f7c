"""`rulerun sync` mechanics: incremental ranges, restatement windows, all-or-nothing per account.

The platform here is a scripted stand-in for an external API (a LiveAdapter serving
deterministic rows for any range, a week per page, each page one API call through the
template's retry policy); the Google Ads and Meta adapters have their own wire-level tests.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, timedelta

import pytest

from engine.core.catalog import load_catalog
from engine.core.execution import RateLimited, TransientError
from engine.data.store import Store
from engine.data.sync import INITIAL_DAYS, LIVE_SCHEMA, load_live, sync
from engine.output.live import sync_line
from platforms.adapter import Account, Fetched
from platforms.template import LiveAdapter

TODAY = date(2026, 11, 21)
CATALOG = load_catalog()


PAGE_DAYS = 7
WAITS: list[float] = []  # every adapter's waits (the policy's sleep), never slept


class ScriptedPlatform(LiveAdapter):
    calls: list[tuple[str, date, date]] = []  # one per read of an account
    requests: list[tuple[str, int]] = []  # (account, page) per API call
    failing_page: dict[str, tuple[int, int]] = {}  # account -> (page, how many times it answers 500)
    rate_limited: dict[str, int] = {}  # account -> calls refused with a 42 s delay
    malformed: set[str] = set()
    lock = threading.Lock()

    def read(self, date_from, date_to):
        with self.lock:
            self.calls.append((self.account.account_id, date_from, date_to))
        metrics, page, start = [], 1, date_from
        while start <= date_to:
            end = min(date_to, start + timedelta(days=PAGE_DAYS - 1))
            metrics += self.call(self._page, page, start, end)
            page, start = page + 1, end + timedelta(days=1)
        key = self._key()
        if self.account.account_id in self.malformed:
            metrics[-1]["date"] = date_to + timedelta(days=5)
        return Fetched([{**key, "name": "Campaign", "status": "active"}], metrics, api_calls=page - 1)

    def _key(self):
        return {
            "platform": self.platform,
            "account_id": self.account.account_id,
            "level": "campaign",
            "entity_id": "c1",
        }

    def _page(self, page, start, end):
        """One API call: a week of daily rows."""
        account = self.account.account_id
        with self.lock:
            self.requests.append((account, page))
            failing, times = self.failing_page.get(account, (0, 0))
            if page == failing and times > 0:
                self.failing_page[account] = (failing, times - 1)
                raise TransientError(f"HTTP 500 on page {page}", platform=self.platform, account_id=account)
            if self.rate_limited.get(account, 0) > 0:
                self.rate_limited[account] -= 1
                raise RateLimited("error 17: user request limit reached", retry_after=42.0)
        rows, d = [], start
        while d <= end:
            rows.append({**self._key(), "date": d, "spend": 10.0 + d.day, "impressions": 100.0})
            d += timedelta(days=1)
        return rows

    def probe(self):
        return "scripted"

    def state(self, key):  # pragma: no cover - writes are not part of sync
        raise NotImplementedError

    def write(self, change):  # pragma: no cover
        raise NotImplementedError


@pytest.fixture(autouse=True)
def reset():
    ScriptedPlatform.calls, ScriptedPlatform.requests, ScriptedPlatform.malformed = [], [], set()
    ScriptedPlatform.failing_page, ScriptedPlatform.rate_limited = {}, {}
    WAITS.clear()


def adapter(account):
    platform = ScriptedPlatform(account, CATALOG)
    platform.sleep = WAITS.append
    return platform


def stored(store, account_id):
    return (
        store.connect()
        .execute(
            f'SELECT min(date), max(date), count(*) FROM "{LIVE_SCHEMA}".metrics_daily WHERE account_id = ?',
            [account_id],
        )
        .fetchone()
    )


def test_first_sync_backfills_then_only_new_days_plus_restatement(tmp_path):
    google = Account("google", "111-111-1111")
    with Store(tmp_path) as store:
        report = sync(store, CATALOG, [google], adapter, today=TODAY)
        assert not report.failed
        first = (TODAY - timedelta(days=INITIAL_DAYS), TODAY - timedelta(days=1))
        assert ScriptedPlatform.calls == [("111-111-1111", *first)]
        assert stored(store, "111-111-1111") == (*first, INITIAL_DAYS)
        # two days later: the two new days plus Google's 3-day restatement window, nothing else
        sync(store, CATALOG, [google], adapter, today=TODAY + timedelta(days=2))
        assert ScriptedPlatform.calls[-1] == ("111-111-1111", TODAY - timedelta(days=3), TODAY + timedelta(days=1))
        assert stored(store, "111-111-1111")[2] == INITIAL_DAYS + 2  # restated days replaced, not duplicated
        loaded = load_live(store, CATALOG)
        assert loaded.info.max_date == TODAY + timedelta(days=1) and loaded.source == "live"


def test_since_overrides_the_incremental_range(tmp_path):
    with Store(tmp_path) as store:
        sync(store, CATALOG, [Account("meta", "act_1")], adapter, today=TODAY, since=TODAY - timedelta(days=5))
    assert ScriptedPlatform.calls == [("act_1", TODAY - timedelta(days=5), TODAY - timedelta(days=1))]


def test_a_failing_account_writes_nothing_and_the_others_land(tmp_path):
    accounts = [Account("meta", "act_1"), Account("meta", "act_2"), Account("google", "222-222-2222")]
    with Store(tmp_path) as store:
        sync(store, CATALOG, accounts, adapter, today=TODAY)
        ScriptedPlatform.failing_page = {"act_2": (1, 99)}
        report = sync(store, CATALOG, accounts, adapter, today=TODAY + timedelta(days=1), concurrency={"meta": 2})
        assert [f.account_id for f in report.failed] == ["act_2"]
        assert "meta account act_2: HTTP 500 on page 1" in report.failed[0].error
        assert "1 failed" in sync_line(report)
        # act_2 keeps exactly its earlier rows: no partial write of the new range
        assert stored(store, "act_2") == (TODAY - timedelta(days=INITIAL_DAYS), TODAY - timedelta(days=1), INITIAL_DAYS)
        assert stored(store, "act_1")[1] == TODAY


def test_a_malformed_response_is_refused_whole(tmp_path):
    ScriptedPlatform.malformed = {"act_9"}
    with Store(tmp_path) as store:
        report = sync(store, CATALOG, [Account("meta", "act_9")], adapter, today=TODAY)
        assert report.failed and "outside the requested" in report.failed[0].error
        assert stored(store, "act_9")[2] == 0


def test_rate_limits_are_waited_out_within_a_bound(tmp_path):
    ScriptedPlatform.rate_limited = {"act_5": 2, "act_6": 10}
    accounts = [Account("meta", "act_5"), Account("meta", "act_6")]
    with Store(tmp_path) as store:
        report = sync(store, CATALOG, accounts, adapter, today=TODAY)
    assert WAITS.count(42.0) == 2 + 3  # act_5 after two refusals; act_6 gives up after 4 attempts
    assert [f.account_id for f in report.failed] == ["act_6"] and "request limit" in report.failed[0].error
    assert Counter(a for a, _ in ScriptedPlatform.requests)["act_6"] == 4  # the call's attempts, nothing more


def test_a_failed_page_is_retried_alone_and_the_read_resumes_there(tmp_path):
    ScriptedPlatform.failing_page = {"act_7": (9, 1)}
    with Store(tmp_path) as store:
        report = sync(store, CATALOG, [Account("meta", "act_7")], adapter, today=TODAY)
        assert not report.failed
        per_page = Counter(page for _, page in ScriptedPlatform.requests)
        pages = -(-INITIAL_DAYS // PAGE_DAYS)
        assert per_page == {page: 2 if page == 9 else 1 for page in range(1, pages + 1)}  # never from page 1 again
        assert len(ScriptedPlatform.calls) == 1 and len(WAITS) == 1  # sync itself does not retry the read
        assert stored(store, "act_7")[2] == INITIAL_DAYS


def test_an_account_whose_page_keeps_failing_is_read_once_and_reported(tmp_path):
    ScriptedPlatform.failing_page = {"act_8": (2, 99)}
    with Store(tmp_path) as store:
        report = sync(store, CATALOG, [Account("meta", "act_8")], adapter, today=TODAY)
    assert [f.account_id for f in report.failed] == ["act_8"] and "HTTP 500 on page 2" in report.failed[0].error
    assert ScriptedPlatform.requests == [("act_8", 1)] + [("act_8", 2)] * 4  # page 2's attempts, page 1 once
    assert len(ScriptedPlatform.calls) == 1


AWKWARD_ID = "g\"1'x\\y"  # a double quote, a single quote and a backslash


def test_every_kind_of_value_is_stored_as_read(tmp_path):
    class Awkward(ScriptedPlatform):
        def read(self, date_from, date_to):
            key = {"platform": "meta", "account_id": "act_7", "level": "ad_group", "entity_id": AWKWARD_ID}
            entity = {
                **key,
                "name": "Q4 \u2014 \u00abBot\u00bb launch \u26a1",
                "labels": ["brand", "q'4"],
                "created_at": date(2026, 1, 2),
                "is_brand": True,
                "learning_phase": None,
                "daily_budget": 12.34,
            }
            metrics = [{**key, "date": date_to, "spend": 0.1 + 0.2, "impressions": None}]
            return Fetched([entity], metrics, api_calls=1)

    with Store(tmp_path) as store:
        sync(store, CATALOG, [Account("meta", "act_7")], lambda a: Awkward(a, CATALOG), today=TODAY)
        con = store.connect()
        row = con.execute(
            "SELECT entity_id, name, labels, created_at, is_brand, learning_phase, daily_budget, bid "
            f'FROM "{LIVE_SCHEMA}".entities'
        ).fetchone()
        metric = con.execute(f'SELECT date, spend, impressions FROM "{LIVE_SCHEMA}".metrics_daily').fetchone()
    name = "Q4 \u2014 \u00abBot\u00bb launch \u26a1"
    assert row == (AWKWARD_ID, name, ["brand", "q'4"], date(2026, 1, 2), True, None, 12.34, None)
    assert metric == (TODAY - timedelta(days=1), 0.1 + 0.2, None)


class VariedPlatform(ScriptedPlatform):
    """Entities with every attribute type, and text that needs quoting."""

    def read(self, date_from, date_to):
        key = {"platform": self.platform, "account_id": self.account.account_id}
        entities = [
            {**key, "level": "campaign", "entity_id": "c'1", "name": 'Brand "Vibe"\nQ3 – €', "status": "active"}
            | {"daily_budget": 12.5, "is_brand": True, "labels": ["brand", "it's"], "created_at": date(2026, 1, 2)},
            {**key, "level": "keyword", "entity_id": "k1", "parent_id": "c'1", "bid": None, "labels": None},
        ]
        metrics = [
            {**key, "level": "keyword", "entity_id": "k1", "date": date_from, "spend": 1.25, "clicks": 3}
            | {"conversions": None}
        ]
        return Fetched(entities, metrics, api_calls=1)


def test_stored_rows_keep_every_value_as_given(tmp_path):
    with Store(tmp_path) as store:
        report = sync(store, CATALOG, [Account("meta", "act_7")], lambda a: VariedPlatform(a, CATALOG), today=TODAY)
        assert not report.failed
        con = store.connect()
        campaign = con.execute(
            f"SELECT entity_id, name, daily_budget, is_brand, labels, created_at, bid FROM {LIVE_SCHEMA}.entities "
            "WHERE level = 'campaign'"
        ).fetchone()
        assert campaign == ("c'1", 'Brand "Vibe"\nQ3 – €', 12.5, True, ["brand", "it's"], date(2026, 1, 2), None)
        assert con.execute(f"SELECT labels, bid FROM {LIVE_SCHEMA}.entities WHERE level = 'keyword'").fetchone() == (
            None,
            None,
        )
        row = con.execute(f"SELECT date, spend, clicks, conversions FROM {LIVE_SCHEMA}.metrics_daily").fetchone()
        assert row == (TODAY - timedelta(days=INITIAL_DAYS), 1.25, 3.0, None)
