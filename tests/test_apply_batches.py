"""`apply` in batches, in process: the executor against a real SQLite action log and real
adapters (Google Ads through its SDK against the gRPC fake, and the demo sandbox).

The command-line crash tests with real SIGKILLs are in tests/test_apply.py.
"""

from __future__ import annotations

import pytest

from engine.apply.actionlog import open_log
from engine.apply.executor import Executor
from engine.core.execution import EntityKey
from engine.core.plan import PlannedAction
from engine.rules.guardrails import GuardrailSettings
from platforms.adapter import Account
from platforms.sandbox import DemoSandbox

pytest.importorskip("google.ads.googleads")

ACCOUNT = "123-456-7890"


@pytest.fixture
def google(monkeypatch):
    from google.oauth2.credentials import Credentials

    from platforms.google.adapter import GoogleAdsAdapter
    from tests.fakes.google_ads_fake import TOKEN, GoogleAdsFake, bulk_account

    fake = GoogleAdsFake(bulk_account(12))
    monkeypatch.setenv("GOOGLE_ADS_DEVELOPER_TOKEN", "dev-token")
    adapter = GoogleAdsAdapter(
        Account("google", ACCOUNT, endpoint=fake.endpoint), credentials=Credentials(token=TOKEN), insecure=True
    )
    adapter.sleep = pytest.fail  # nothing here is retried
    yield fake, adapter
    adapter.close()
    fake.stop()


def bid_cut(i: int, platform: str = "google", account: str = ACCOUNT, entity: str | None = None) -> PlannedAction:
    """Lower the bid of ad group 1000+i from 1.00 to 0.90."""
    return PlannedAction(
        workflow="ads/trim",
        rule_id="trim_bids",
        platform=platform,
        account_id=account,
        level="ad_group",
        entity_id=entity or str(1000 + i),
        entity_name=None,
        type="change_bid",
        params={"by_pct": -10},
        before={"bid": 1.0},
        after={"bid": 0.9},
        action_id=f"cut-{i}",
    )


def executor(log, adapter, limit: int = 1000) -> Executor:
    return Executor(
        log,
        lambda platform, account_id=None: adapter,
        lambda a: GuardrailSettings.from_dict({"max_actions_per_hour": limit}),
        lambda a: None,
        "run-1",
        "tester",
    )


def mutates(fake) -> list:
    return [r for m, r in fake.calls if m == "MutateAdGroupsRequest"]


def test_one_mutate_call_per_batch_and_one_log_row_per_action(tmp_path, google):
    fake, adapter = google
    adapter.max_batch = 5
    actions = [bid_cut(i) for i in range(12)]
    seen: list[tuple[int, int]] = []
    with open_log(None, tmp_path) as log:
        ex = executor(log, adapter)
        ex.run_all(actions, lambda done, total: seen.append((done, total)))
        rows = [log.get(a.action_id) for a in actions]
    assert [len(r.operations) for r in mutates(fake)] == [5, 5, 2]  # ceil(12 / 5) calls
    assert all(r["status"] == "executed" and r["result"]["bid"] == 0.9 for r in rows)
    assert all(r["rollback_plan"]["after"] == {"bid": 1.0} for r in rows)
    assert all(fake.account.ad_groups[str(1000 + i)]["cpc"] == 900_000 for i in range(12))
    assert ex.outcome.counts["executed"] == 12 and seen == [(5, 12), (10, 12), (12, 12)]  # progress counts actions


def test_a_partial_failure_settles_each_action_on_its_own(tmp_path, google):
    fake, adapter = google
    fake.fail_operation(f"customers/1234567890/adGroups/{1000 + 2}")
    actions = [bid_cut(i) for i in range(4)]
    with open_log(None, tmp_path) as log:
        ex = executor(log, adapter)
        ex.run_all(actions)
        rows = {a.action_id: log.get(a.action_id) for a in actions}
    assert len(mutates(fake)) == 1
    assert rows["cut-2"]["status"] == "failed" and "FIELD_HAS_SUBFIELDS" in rows["cut-2"]["error_message"]
    assert [rows[f"cut-{i}"]["status"] for i in (0, 1, 3)] == ["executed"] * 3
    assert ex.outcome.failed == ["cut-2"] and ex.outcome.counts["executed"] == 3


def test_the_rate_limit_counts_the_actions_already_in_the_batch(tmp_path, google):
    fake, adapter = google
    actions = [bid_cut(i) for i in range(5)]
    with open_log(None, tmp_path) as log:
        ex = executor(log, adapter, limit=3)
        ex.run_all(actions)
        statuses = [log.get(a.action_id)["status"] for a in actions]
    assert statuses == ["executed"] * 3 + ["skipped"] * 2
    assert [len(r.operations) for r in mutates(fake)] == [3]
    assert ex.outcome.counts == {"executed": 3, "skipped": 2}


def sandbox_baseline(key: EntityKey) -> dict:
    return {"status": "active", "daily_budget": None, "bid": 1.0}


def test_two_actions_on_one_entity_never_share_a_batch(tmp_path):
    sandbox = DemoSandbox(tmp_path, sandbox_baseline, platform="google", faults="", max_batch=10)
    same = bid_cut(2, entity="1000")
    same.action_id, same.rule_id = "cut-again", "other_rule"
    meta = bid_cut(3, platform="meta", account="act_1")
    actions = [bid_cut(0), bid_cut(1), same, meta, bid_cut(4)]
    with open_log(None, tmp_path) as log:
        batches = [[a.action_id for a in b] for b in executor(log, sandbox).batches(actions)]
    assert batches == [["cut-0", "cut-1"], ["cut-again", "cut-4"], ["cut-3"]]


def test_the_stop_is_checked_before_every_batch(tmp_path):
    sandbox = DemoSandbox(tmp_path, sandbox_baseline, platform="google", faults="", max_batch=2)
    actions = [bid_cut(i) for i in range(5)]
    with open_log(None, tmp_path) as log:
        ex = executor(log, sandbox)
        ex.run_all(actions, lambda done, total: done == 2 and log.engage_stop("spend anomaly", "oncall"))
    assert [c["action_id"] for c in sandbox.changes()] == ["cut-0", "cut-1"]
    assert ex.outcome.counts == {"executed": 2, "not_executed": 3} and ex.outcome.stopped == "spend anomaly"
