"""`rulerun sync` mechanics: incremental ranges, restatement windows, all-or-nothing per account.

The platform here is a scripted stand-in for an external API (a LiveAdapter serving
deterministic rows for any range); the Google Ads and Meta adapters have their own
wire-level tests.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest

from engine.core.catalog import load_catalog
from engine.core.execution import RateLimited, TransientError
from engine.data.store import Store
from engine.data.sync import INITIAL_DAYS, LIVE_SCHEMA, load_live, sync
from platforms.adapter import Account, Fetched
from platforms.template import LiveAdapter

TODAY = date(2026, 11, 21)
CATALOG = load_catalog()


class ScriptedPlatform(LiveAdapter):
    calls: list[tuple[str, date, date]] = []
    failing: set[str] = set()
    rate_limited: dict[str, int] = {}
    malformed: set[str] = set()
    lock = threading.Lock()

    def read(self, date_from, date_to):
        with self.lock:
            self.calls.append((self.account.account_id, date_from, date_to))
        if self.account.account_id in self.failing:
            raise TransientError("HTTP 500 on page 3", platform=self.platform, account_id=self.account.account_id)
        if self.rate_limited.get(self.account.account_id, 0) > 0:
            self.rate_limited[self.account.account_id] -= 1
            raise RateLimited(
                "error 17: user request limit reached",
                retry_after=42.0,
                platform=self.platform,
                account_id=self.account.account_id,
            )
        key = {"platform": self.platform, "account_id": self.account.account_id, "level": "campaign", "entity_id": "c1"}
        metrics = []
        d = date_from
        while d <= date_to:
            metrics.append({**key, "date": d, "spend": 10.0 + d.day, "impressions": 100.0})
            d += timedelta(days=1)
        if self.account.account_id in self.malformed:
            metrics[-1]["date"] = date_to + timedelta(days=5)
        return Fetched([{**key, "name": "Campaign", "status": "active"}], metrics, api_calls=2)

    def probe(self):
        return "scripted"

    def state(self, key):  # pragma: no cover - writes are not part of sync
        raise NotImplementedError

    def write(self, change):  # pragma: no cover
        raise NotImplementedError


@pytest.fixture(autouse=True)
def reset():
    ScriptedPlatform.calls, ScriptedPlatform.failing, ScriptedPlatform.malformed = [], set(), set()
    ScriptedPlatform.rate_limited = {}


def adapter(account):
    return ScriptedPlatform(account, CATALOG)


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
        ScriptedPlatform.failing = {"act_2"}
        report = sync(store, CATALOG, accounts, adapter, today=TODAY + timedelta(days=1), concurrency={"meta": 2})
        assert [f.account_id for f in report.failed] == ["act_2"]
        assert "meta account act_2: HTTP 500 on page 3" in report.failed[0].error
        assert "1 failed" in report.line()
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
    waits = []
    ScriptedPlatform.rate_limited = {"act_5": 2, "act_6": 10}
    accounts = [Account("meta", "act_5"), Account("meta", "act_6")]
    with Store(tmp_path) as store:
        report = sync(store, CATALOG, accounts, adapter, today=TODAY, sleep=waits.append)
    assert waits.count(42.0) == 2 + 3  # act_5 after two refusals; act_6 gives up after 4 attempts
    assert [f.account_id for f in report.failed] == ["act_6"] and "request limit" in report.failed[0].error


class TrickyPlatform(ScriptedPlatform):
    """Values a platform may send that a bulk load must keep exactly."""

    def read(self, date_from, date_to):
        key = {"platform": self.platform, "account_id": self.account.account_id, "level": "ad_group"}
        entity = {
            **key,
            "entity_id": "g'1",
            "name": 'Lead "gen", Q3 — Ünïcode\nsecond line',
            "status": "active",
            "daily_budget": 12.34,
            "bid": None,
            "is_brand": False,
            "learning_phase": None,
            "labels": ("b2b", "it's"),
            "created_at": date(2026, 1, 5),
        }
        metrics = [
            {**key, "entity_id": "g'1", "date": date_from, "spend": 0.1 + 0.2, "impressions": 3.0, "leads": None},
            {**key, "entity_id": "g'1", "date": date_to.isoformat(), "spend": 1e-7, "impressions": 0.0},
        ]
        return Fetched([entity], metrics, api_calls=1)


def test_stored_values_come_back_exactly(tmp_path):
    with Store(tmp_path) as store:
        report = sync(
            store, CATALOG, [Account("meta", "act_7")], TrickyPlatform, today=TODAY, since=TODAY - timedelta(2)
        )
        assert not report.failed
        con = store.connect()
        columns = "entity_id, name, daily_budget, bid, is_brand, learning_phase, labels, created_at"
        entity = con.execute(f'SELECT {columns} FROM "{LIVE_SCHEMA}".entities').fetchone()
        metrics = con.execute(
            f'SELECT date, spend, impressions, leads FROM "{LIVE_SCHEMA}".metrics_daily ORDER BY date'
        ).fetchall()
    assert entity == (
        "g'1",
        'Lead "gen", Q3 — Ünïcode\nsecond line',
        12.34,
        None,
        False,
        None,
        ["b2b", "it's"],
        date(2026, 1, 5),
    )
    assert metrics == [(TODAY - timedelta(2), 0.1 + 0.2, 3.0, None), (TODAY - timedelta(1), 1e-7, 0.0, None)]
