"""The demo sandbox (platforms/sandbox.py) and the adapter contract (platforms/adapter.py)."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from engine.core.execution import (
    ActionRequest,
    AuthError,
    EntityKey,
    ExecResult,
    PartialFailure,
    PermanentError,
    RateLimited,
    TransientError,
)
from engine.core.retry import RetryPolicy
from platforms import adapter_for
from platforms.adapter import Adapter
from platforms.sandbox import DemoSandbox

CAMPAIGN = EntityKey("google", "111", "campaign", "c1")
AD_GROUP = EntityKey("google", "111", "ad_group", "ag1")
KEYWORD = EntityKey("google", "111", "keyword", "kw1")
TERM = EntityKey("google", "111", "search_term", "ag1~free camera software")
REMOVED = EntityKey("google", "111", "campaign", "c_removed")
PIN_GROUP = EntityKey("pinterest", "549", "ad_group", "pg1")
UNKNOWN = EntityKey("google", "111", "campaign", "nope")

BASELINE = {
    CAMPAIGN: {"status": "active", "daily_budget": 650.0, "bid": None},
    AD_GROUP: {"status": "active", "daily_budget": None, "bid": 1.5},
    KEYWORD: {"status": "active", "daily_budget": None, "bid": 2.4},
    TERM: {"status": "active", "daily_budget": None, "bid": None},
    REMOVED: {"status": "removed", "daily_budget": 200.0, "bid": None},
    PIN_GROUP: {"status": "paused", "daily_budget": 120.0, "bid": 3.0},
}
NEGATIVE = {"text": "free camera software", "match_type": "exact", "scope": "campaign", "parent_id": "ag1"}


def baseline(key: EntityKey) -> dict | None:
    state = BASELINE.get(key)
    return dict(state) if state is not None else None


def tried_once(sandbox: DemoSandbox) -> DemoSandbox:
    """The sandbox with a one-attempt policy: each fault surfaces as the call's error."""
    sandbox.retry_policy = RetryPolicy(max_attempts=1)
    return sandbox


def replays(sandbox: DemoSandbox) -> list[str]:
    with sqlite3.connect(sandbox.path) as con:
        return [r[0] for r in con.execute("SELECT action_id FROM replays")]


@pytest.fixture
def sandbox(tmp_path) -> DemoSandbox:
    return DemoSandbox(tmp_path, baseline, faults="")


def req(action_id: str, key: EntityKey, type_: str, before: dict, after: dict, params: dict | None = None):
    return ActionRequest(action_id, key, type_, params or {}, before, after)


# (request, the attribute it changes, the rollback type, the value after the change)
REVERSIBLE = [
    (req("a-pause", CAMPAIGN, "pause", {"status": "active"}, {"status": "paused"}), "status", "enable", "paused"),
    (req("a-enable", PIN_GROUP, "enable", {"status": "paused"}, {"status": "active"}), "status", "pause", "active"),
    (
        req("a-setb", CAMPAIGN, "set_budget", {"daily_budget": 650.0}, {"daily_budget": 500.0}, {"amount": 500}),
        "daily_budget",
        "set_budget",
        500.0,
    ),
    (
        req("a-chgb", PIN_GROUP, "change_budget", {"daily_budget": 120.0}, {"daily_budget": 144.0}, {"by_pct": 20}),
        "daily_budget",
        "set_budget",
        144.0,
    ),
    (req("a-setbid", AD_GROUP, "set_bid", {"bid": 1.5}, {"bid": 1.25}, {"amount": 1.25}), "bid", "set_bid", 1.25),
    (req("a-chgbid", KEYWORD, "change_bid", {"bid": 2.4}, {"bid": 2.76}, {"by_pct": 15}), "bid", "set_bid", 2.76),
    (
        req("a-neg", TERM, "add_negative_keyword", {"negative_keyword": None}, {"negative_keyword": NEGATIVE}),
        "negative_keyword",
        "remove_negative_keyword",
        NEGATIVE,
    ),
]


@pytest.mark.parametrize(("request_", "attr", "undo_type", "new"), REVERSIBLE, ids=lambda v: getattr(v, "type", ""))
def test_every_reversible_action_round_trips(sandbox, request_, attr, undo_type, new):
    key = request_.entity
    original = sandbox.read_state(key)

    done = sandbox.execute(request_)
    changed = sandbox.read_state(key)
    assert changed != original
    if attr == "negative_keyword":
        assert changed["negative_keywords"] == [{"text": new["text"], "match_type": "exact", "scope": "campaign"}]
    else:
        assert changed[attr] == new
    plan = done.rollback_plan
    assert plan["type"] == undo_type
    assert plan["before"] == {attr: new}
    assert plan["after"] == {attr: request_.before[attr]}

    undone = sandbox.rollback(plan, key)
    assert sandbox.read_state(key) == original
    assert sandbox.overrides() == [] and sandbox.negative_keywords() == []

    # the rollback's own plan re-applies the change: a rollback can be undone too
    redo_type = {"remove_negative_keyword": "add_negative_keyword", "enable": "pause", "pause": "enable"}
    assert undone.rollback_plan["type"] == redo_type.get(undo_type, undo_type)
    sandbox.rollback(undone.rollback_plan, key)
    assert sandbox.read_state(key) == changed

    kinds = [c["kind"] for c in sandbox.changes()]
    assert kinds == ["execute", "rollback", "rollback"]


def test_read_state_has_the_levels_keys(sandbox):
    assert sandbox.read_state(CAMPAIGN) == {"status": "active", "daily_budget": 650.0, "bid": None}
    assert sandbox.read_state(TERM)["negative_keywords"] == []
    assert "negative_keywords" not in sandbox.read_state(KEYWORD)


def test_overrides_and_negatives_reflect_the_state(sandbox):
    sandbox.execute(REVERSIBLE[2][0])  # campaign budget 650 -> 500
    sandbox.execute(REVERSIBLE[0][0])  # campaign paused
    sandbox.execute(REVERSIBLE[5][0])  # keyword bid 2.4 -> 2.76
    sandbox.execute(REVERSIBLE[6][0])  # negative added
    assert sandbox.overrides() == [
        {
            "platform": "google",
            "account_id": "111",
            "level": "campaign",
            "entity_id": "c1",
            "status": "paused",
            "daily_budget": 500.0,
            "bid": None,
        },
        {
            "platform": "google",
            "account_id": "111",
            "level": "keyword",
            "entity_id": "kw1",
            "status": None,
            "daily_budget": None,
            "bid": 2.76,
        },
    ]
    assert sandbox.negative_keywords() == [
        {"platform": "google", "account_id": "111", "level": "search_term", "entity_id": TERM.entity_id, **NEGATIVE}
    ]
    # back at the baseline value, a field stops being an override
    sandbox.execute(req("a-back", CAMPAIGN, "set_budget", {"daily_budget": 500.0}, {"daily_budget": 650.0}))
    campaign = sandbox.overrides()[0]
    assert (campaign["entity_id"], campaign["status"], campaign["daily_budget"]) == ("c1", "paused", None)


def test_state_persists_across_instances(sandbox, tmp_path):
    sandbox.execute(REVERSIBLE[0][0])
    sandbox.execute(REVERSIBLE[6][0])
    again = DemoSandbox(tmp_path, baseline, faults="")
    assert again.read_state(CAMPAIGN)["status"] == "paused"
    assert again.negative_keywords() == sandbox.negative_keywords()
    assert again.execute(REVERSIBLE[0][0]) == sandbox.execute(REVERSIBLE[0][0])  # the ledger is shared too
    assert len(again.changes()) == 2


def test_the_same_action_id_is_applied_once(sandbox):
    first = sandbox.execute(REVERSIBLE[3][0])
    # someone changes the budget in between: a replay must not set it back
    sandbox.execute(req("other", PIN_GROUP, "set_budget", {}, {"daily_budget": 90.0}))
    again = sandbox.execute(REVERSIBLE[3][0])
    assert again == first
    assert sandbox.read_state(PIN_GROUP)["daily_budget"] == 90.0
    assert [c["action_id"] for c in sandbox.changes()] == ["a-chgb", "other"]


def test_an_action_id_reused_for_another_change_is_refused(sandbox):
    sandbox.execute(REVERSIBLE[0][0])
    with pytest.raises(PermanentError, match="already used"):
        sandbox.execute(req("a-pause", KEYWORD, "pause", {"status": "active"}, {"status": "paused"}))


def test_notify_changes_nothing_and_has_no_rollback(sandbox):
    done = sandbox.execute(req("n1", CAMPAIGN, "notify", {}, {"message": "CPA doubled"}))
    assert done == ExecResult({"notified": True}, None)
    assert sandbox.read_state(CAMPAIGN) == BASELINE[CAMPAIGN]
    assert sandbox.overrides() == [] and sandbox.changes() == []


def test_a_rollback_retried_is_harmless(sandbox):
    plan = sandbox.execute(REVERSIBLE[2][0]).rollback_plan  # 650 -> 500
    first = sandbox.rollback(plan, CAMPAIGN)
    retried = sandbox.rollback(plan, CAMPAIGN)
    assert retried.result["already"] is True and retried.rollback_plan == first.rollback_plan
    assert sandbox.read_state(CAMPAIGN)["daily_budget"] == 650.0
    assert [c["kind"] for c in sandbox.changes()] == ["execute", "rollback"]


def test_a_rollback_over_a_later_change_restores_the_plan_and_undoes_to_the_later_state(sandbox):
    # whether to roll back over a later change is the caller's call (read_state, --force)
    plan = sandbox.execute(req("b2", CAMPAIGN, "set_budget", {}, {"daily_budget": 400.0})).rollback_plan
    sandbox.execute(req("b3", CAMPAIGN, "set_budget", {}, {"daily_budget": 300.0}))
    undone = sandbox.rollback(plan, CAMPAIGN)
    assert sandbox.read_state(CAMPAIGN)["daily_budget"] == 650.0
    assert undone.rollback_plan["after"] == {"daily_budget": 300.0}


def test_a_rollback_plan_must_name_what_it_restores(sandbox):
    with pytest.raises(PermanentError, match="not a rollback plan"):
        sandbox.rollback({"type": "enable", "params": {}, "before": {}, "after": {}}, CAMPAIGN)
    with pytest.raises(PermanentError, match="not a rollback plan"):
        sandbox.rollback({"type": "notify"}, CAMPAIGN)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (req("u1", UNKNOWN, "pause", {}, {"status": "paused"}), "unknown campaign nope"),
        (req("u2", CAMPAIGN, "set_bid", {}, {"bid": 1.0}), "set_bid is not supported on google campaigns"),
        (req("u3", REMOVED, "enable", {}, {"status": "active"}), "is removed"),
        (req("u4", AD_GROUP, "change_bid", {}, {"bid": 0}), "above zero"),
        (req("u5", EntityKey("pinterest", "549", "ad_group", "x"), "pause", {}, {}), "unknown ad_group x"),
        (req("u6", CAMPAIGN, "delete_everything", {}, {}), "unsupported action type"),
    ],
)
def test_what_a_platform_would_refuse_is_a_permanent_error(sandbox, request_, message):
    with pytest.raises(PermanentError, match=message) as err:
        sandbox.execute(request_)
    assert str(err.value).startswith(f"{request_.entity.platform} account {request_.entity.account_id}: ")
    assert sandbox.changes() == []


def test_unknown_entity_state(sandbox):
    with pytest.raises(PermanentError, match="unknown"):
        sandbox.read_state(UNKNOWN)


def test_call_faults_raise_typed_errors_in_order(tmp_path):
    sandbox = tried_once(DemoSandbox(tmp_path, baseline, faults="429x2, 503x1, timeout x1"))
    pause = REVERSIBLE[0][0]
    raised = []
    for _ in range(4):
        with pytest.raises((RateLimited, TransientError)) as err:
            sandbox.execute(pause)
        raised.append((type(err.value), err.value.message))
    assert raised == [
        (RateLimited, "rate limited (sandbox fault)"),
        (RateLimited, "rate limited (sandbox fault)"),
        (TransientError, "HTTP 503 (sandbox fault)"),
        (TransientError, "timed out"),
    ]
    assert sandbox.read_state(CAMPAIGN)["status"] == "active"  # nothing reached the "platform"
    assert sandbox.execute(pause).result["status"] == "paused"
    assert sandbox.waits == []


def test_call_faults_are_retried_through_the_policy_on_a_simulated_clock(tmp_path):
    sandbox = DemoSandbox(tmp_path, baseline, faults="429x2, 503x1")
    assert sandbox.execute(REVERSIBLE[0][0]).result["status"] == "paused"
    # the rate limits' own delay, then exponential backoff with jitter for the 5xx (attempt 3: 2 s + up to 0.5 s)
    assert sandbox.waits[:2] == [0.01, 0.01] and 2.0 <= sandbox.waits[2] <= 2.5 and len(sandbox.waits) == 3
    assert len(sandbox.changes()) == 1


def test_faults_beyond_the_attempts_fail_the_call(tmp_path):
    sandbox = DemoSandbox(tmp_path, baseline, faults="500x4")
    with pytest.raises(TransientError, match="HTTP 500"):
        sandbox.execute(REVERSIBLE[0][0])
    assert len(sandbox.waits) == 3 and sandbox.read_state(CAMPAIGN)["status"] == "active"


def test_rate_limit_fault_says_when_to_retry(tmp_path):
    with pytest.raises(RateLimited) as err:
        tried_once(DemoSandbox(tmp_path, baseline, faults="429")).execute(REVERSIBLE[0][0])
    assert err.value.retry_after == 0.01 and err.value.retryable


def test_fail_fault_fails_that_action_only(tmp_path):
    sandbox = DemoSandbox(tmp_path, baseline, faults="fail:a-pause")
    for _ in range(2):
        with pytest.raises(PermanentError, match="fail:a-pause"):
            sandbox.execute(REVERSIBLE[0][0])
    assert sandbox.execute(REVERSIBLE[5][0]).result["bid"] == 2.76


def test_lost_response_is_applied_once(tmp_path):
    sandbox = tried_once(DemoSandbox(tmp_path, baseline, faults="lost"))
    with pytest.raises(TransientError, match="timed out"):
        sandbox.execute(REVERSIBLE[0][0])
    assert sandbox.read_state(CAMPAIGN)["status"] == "paused"
    retried = sandbox.execute(REVERSIBLE[0][0])
    assert retried.rollback_plan["type"] == "enable"
    assert len(sandbox.changes()) == 1


def test_a_lost_response_is_read_back_before_the_retry(tmp_path):
    sandbox = DemoSandbox(tmp_path, baseline, faults="lost")
    done = sandbox.execute(REVERSIBLE[0][0])
    assert done.rollback_plan["type"] == "enable" and len(sandbox.waits) == 1
    assert len(sandbox.changes()) == 1 and replays(sandbox) == []  # found in the ledger, not executed again
    batch = [REVERSIBLE[4][0], REVERSIBLE[5][0]]
    lost_batch = DemoSandbox(tmp_path, baseline, faults="lost")
    assert set(lost_batch.execute_batch(batch)) == {"a-setbid", "a-chgbid"}
    assert len(sandbox.changes()) == 3 and replays(sandbox) == []


def test_a_lost_rollback_response_finds_it_restored(tmp_path):
    done = DemoSandbox(tmp_path, baseline, faults="").execute(REVERSIBLE[0][0])
    sandbox = DemoSandbox(tmp_path, baseline, faults="lost")
    undone = sandbox.rollback(done.rollback_plan, CAMPAIGN)
    assert undone.result == {"status": "active", "already": True} and len(sandbox.waits) == 1
    assert [c["kind"] for c in sandbox.changes()] == ["execute", "rollback"]


def test_faults_default_to_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RULERUN_SANDBOX_FAULTS", "500")
    with pytest.raises(TransientError):
        tried_once(DemoSandbox(tmp_path, baseline)).execute(REVERSIBLE[0][0])
    DemoSandbox(tmp_path, baseline, faults="").execute(REVERSIBLE[0][0])  # "" turns them off


def test_batch_size_defaults_to_one_and_reads_the_environment(tmp_path, monkeypatch):
    assert DemoSandbox(tmp_path, baseline, faults="").max_batch == 1
    monkeypatch.setenv("RULERUN_SANDBOX_BATCH", "25")
    assert DemoSandbox(tmp_path, baseline, faults="").max_batch == 25
    assert DemoSandbox(tmp_path, baseline, faults="", max_batch=3).max_batch == 3
    monkeypatch.setenv("RULERUN_SANDBOX_BATCH", "lots")
    with pytest.raises(ValueError, match="RULERUN_SANDBOX_BATCH: cannot read 'lots'"):
        DemoSandbox(tmp_path, baseline, faults="")


def test_a_bad_fault_spec_is_reported(tmp_path):
    with pytest.raises(ValueError, match="RULERUN_SANDBOX_FAULTS: cannot read '42x1'"):
        DemoSandbox(tmp_path, baseline, faults="429x1,42x1")


def test_partial_batch_keeps_what_succeeded(tmp_path):
    sandbox = DemoSandbox(tmp_path, baseline, faults="partial")
    batch = [REVERSIBLE[0][0], REVERSIBLE[4][0], REVERSIBLE[5][0]]
    with pytest.raises(PartialFailure) as err:
        sandbox.execute_batch(batch)
    assert set(err.value.succeeded) == {"a-pause", "a-setbid"}
    assert list(err.value.failed) == ["a-chgbid"]
    assert "partial fault" in err.value.failed["a-chgbid"]
    assert sandbox.read_state(AD_GROUP)["bid"] == 1.25
    assert sandbox.read_state(KEYWORD)["bid"] == 2.4
    # the retry of the batch applies the rest; the applied ones replay their results
    results = sandbox.execute_batch(batch)
    assert results["a-pause"] == err.value.succeeded["a-pause"]
    assert sandbox.read_state(KEYWORD)["bid"] == 2.76


def test_batch_failures_include_failing_actions(tmp_path):
    sandbox = DemoSandbox(tmp_path, baseline, faults="fail:a-setbid")
    with pytest.raises(PartialFailure) as err:
        sandbox.execute_batch([REVERSIBLE[0][0], REVERSIBLE[4][0], req("u", UNKNOWN, "pause", {}, {})])
    assert set(err.value.succeeded) == {"a-pause"}
    assert set(err.value.failed) == {"a-setbid", "u"}


def test_a_platform_sandbox_refuses_other_platforms(tmp_path):
    google = DemoSandbox(tmp_path, baseline, platform="google", faults="")
    with pytest.raises(PermanentError, match="not pinterest"):
        google.execute(REVERSIBLE[1][0])


def test_adapter_for_demo_sources_is_the_sandbox(tmp_path):
    adapter = adapter_for("pinterest", source="demo:ad_groups=500", state_dir=tmp_path, baseline=baseline)
    assert isinstance(adapter, DemoSandbox) and adapter.platform == "pinterest"
    adapter.check_credentials()
    with pytest.raises(PermanentError, match="no live adapter for google yet"):
        adapter_for("google", source="file:data", state_dir=tmp_path, baseline=baseline)


def test_default_credential_check_names_the_missing_variables(monkeypatch):
    class Live(Adapter):
        platform = "pinterest"

        def read_state(self, key):
            return {}

        def execute(self, req):
            return ExecResult()

        def rollback(self, plan, key):
            return ExecResult()

    for name in ("PINTEREST_APP_ID", "PINTEREST_APP_SECRET", "PINTEREST_ACCESS_TOKEN", "PINTEREST_AD_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PINTEREST_ACCESS_TOKEN", "s3cr3t-token")
    with pytest.raises(AuthError) as err:
        Live().check_credentials()
    assert "PINTEREST_APP_ID" in str(err.value) and "PINTEREST_AD_ACCOUNT_ID" in str(err.value)
    assert "PINTEREST_ACCESS_TOKEN" not in str(err.value) and "s3cr3t" not in str(err.value)


def test_concurrent_executions_of_one_action_apply_it_once(tmp_path):
    DemoSandbox(tmp_path, baseline, faults="")  # create the database before the race
    results: list[ExecResult] = []

    def run() -> None:
        results.append(DemoSandbox(tmp_path, baseline, faults="").execute(REVERSIBLE[3][0]))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and all(r == results[0] for r in results)
    assert len(DemoSandbox(tmp_path, baseline, faults="").changes()) == 1
