"""The one retry policy (engine/core/retry.py): bounds, platform delays, single attempts, no real sleep."""

from __future__ import annotations

import logging
from contextlib import suppress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.core.execution import AuthError, PermanentError, RateLimited, TransientError
from engine.core.retry import MAX_WAIT_ENV, RetryPolicy, single_attempt


class Script:
    """A call that fails with each scripted error in turn, then returns "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_transient_errors_back_off_exponentially_with_jitter():
    waits: list[float] = []
    call = Script(TransientError("502"), TransientError("503"), TransientError("timeout"))
    assert RetryPolicy().run(call, sleep=waits.append) == "ok"
    assert call.calls == 4
    for wait, low in zip(waits, (0.5, 1.0, 2.0), strict=True):
        assert low <= wait <= low + 0.5


def test_the_platforms_delay_is_waited_exactly():
    waits: list[float] = []
    assert RetryPolicy().run(Script(RateLimited("quota", retry_after=7.0)), sleep=waits.append) == "ok"
    assert waits == [7.0]


def test_a_delay_beyond_max_wait_is_not_waited_for():
    waits: list[float] = []
    call = Script(RateLimited("come back in 3 minutes", retry_after=180.0))
    with pytest.raises(RateLimited):
        RetryPolicy(max_wait=60).run(call, sleep=waits.append)
    assert call.calls == 1 and waits == []


@pytest.mark.parametrize("error", [PermanentError("bad bid"), AuthError("token expired"), ValueError("a bug")])
def test_what_retrying_cannot_fix_fails_at_once(error):
    call = Script(error)
    with pytest.raises(type(error)):
        RetryPolicy().run(call, sleep=pytest.fail)
    assert call.calls == 1


def test_the_last_error_is_raised_after_max_attempts():
    waits: list[float] = []
    call = Script(*(TransientError(f"try {i}") for i in range(1, 6)))
    with pytest.raises(TransientError, match="try 3"):
        RetryPolicy(max_attempts=3).run(call, sleep=waits.append)
    assert call.calls == 3 and len(waits) == 2


def test_a_classifier_types_sdk_exceptions():
    class SdkError(Exception):
        pass

    def classify(exc):
        return TransientError("mapped") if isinstance(exc, SdkError) else None

    waits: list[float] = []
    call = Script(SdkError("UNAVAILABLE"))
    assert RetryPolicy().run(call, sleep=waits.append, classify=classify) == "ok"
    call = Script(*(SdkError("UNAVAILABLE") for _ in range(4)))
    with pytest.raises(SdkError):  # the SDK's own exception comes back, for the adapter to name
        RetryPolicy().run(call, sleep=waits.append, classify=classify)


def test_inside_single_attempt_nothing_is_retried():
    call = Script(TransientError("lost response"))
    with single_attempt(), pytest.raises(TransientError):
        RetryPolicy().run(call, sleep=pytest.fail)
    assert call.calls == 1
    assert RetryPolicy().run(Script(TransientError("again")), sleep=lambda s: None) == "ok"  # the scope ended


def test_the_environment_lowers_every_wait(monkeypatch, caplog):
    monkeypatch.setenv(MAX_WAIT_ENV, "2")
    waits: list[float] = []
    policy = RetryPolicy(base=5.0, jitter=0.0)
    assert policy.run(Script(TransientError("a"), RateLimited("b", retry_after=1.5)), sleep=waits.append) == "ok"
    assert waits == [2.0, 1.5]
    with pytest.raises(RateLimited):  # 30 s asked, 2 s allowed: not waited for
        policy.run(Script(RateLimited("c", retry_after=30.0)), sleep=waits.append)
    monkeypatch.setenv(MAX_WAIT_ENV, "soon")
    with caplog.at_level(logging.WARNING, logger="rulerun.retry"):
        assert policy.cap() == policy.max_wait
    assert "RULERUN_RETRY_MAX_WAIT='soon' is not a number" in caplog.text


def test_pauses_are_capped_and_go_through_sleep():
    waits: list[float] = []
    RetryPolicy(max_wait=3).pause(10.0, sleep=waits.append, why="usage at 95%")
    RetryPolicy().pause(0.0, sleep=waits.append, why="nothing to wait for")
    assert waits == [3.0]


def test_a_policy_refuses_nonsense():
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(max_wait=-1)


_OUTCOMES = st.one_of(
    st.builds(TransientError, st.just("transient")),
    st.builds(RateLimited, st.just("limited"), retry_after=st.one_of(st.none(), st.floats(0, 200))),
    st.builds(PermanentError, st.just("permanent")),
)


@given(
    errors=st.lists(_OUTCOMES, max_size=8),
    attempts=st.integers(1, 6),
    max_wait=st.floats(0, 120),
)
def test_property_calls_and_waits_stay_within_the_policy(errors, attempts, max_wait):
    policy = RetryPolicy(max_attempts=attempts, max_wait=max_wait)
    waits: list[float] = []
    call = Script(*errors)
    with suppress(TransientError, RateLimited, PermanentError):
        policy.run(call, sleep=waits.append)
    assert 1 <= call.calls <= attempts
    assert len(waits) == call.calls - 1  # a wait before every retry, none after the last call
    for error, wait in zip(errors, waits, strict=False):
        assert error.retryable  # nothing is retried after an error retrying cannot fix
        assert 0 <= wait <= max_wait
        if error.retry_after is not None:
            assert wait == error.retry_after  # never sooner than the platform asked
