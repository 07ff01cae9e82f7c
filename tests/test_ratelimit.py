"""Pacing under a documented rate limit (platforms/ratelimit.py), on a simulated clock."""

from __future__ import annotations

import threading

from hypothesis import given
from hypothesis import strategies as st

from platforms.ratelimit import CallWindow, shared
from tests.helpers.clock import VirtualClock


def test_calls_under_the_limit_never_wait():
    clock = VirtualClock()
    window = CallWindow(3, 60, clock=clock)
    assert [window.wait(clock.sleep) for _ in range(3)] == [0, 0, 0]
    assert clock.now == 0


def test_the_call_over_the_limit_waits_for_the_oldest_to_leave_the_window():
    clock = VirtualClock()
    window = CallWindow(2, 60, clock=clock)
    window.wait(clock.sleep)
    clock.now = 10
    window.wait(clock.sleep)
    assert window.wait(clock.sleep) == 50  # the first call (t=0) leaves the window at t=60
    assert window.wait(clock.sleep) == 10  # then the second one's turn: t=70


def test_threads_sharing_a_window_queue_behind_each_other():
    clock = VirtualClock()
    window = CallWindow(5, 1.0, clock=clock)
    waits: list[float] = []
    threads = [threading.Thread(target=lambda: waits.append(window.reserve())) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # the clock stands still: 5 start now, 5 after one period, 5 after two, 5 after three
    assert sorted(waits) == [0.0] * 5 + [1.0] * 5 + [2.0] * 5 + [3.0] * 5


def test_shared_windows_are_one_per_key():
    assert shared(("test", "a"), 10, 1) is shared(("test", "a"), 10, 1)
    assert shared(("test", "a"), 10, 1) is not shared(("test", "b"), 10, 1)


@given(
    limit=st.integers(1, 8),
    period=st.floats(0.5, 100),
    gaps=st.lists(st.floats(0, 30), min_size=1, max_size=60),
)
def test_no_period_ever_holds_more_than_the_limit_and_no_call_waits_needlessly(limit, period, gaps):
    clock = VirtualClock()
    window = CallWindow(limit, period, clock=clock)
    starts: list[float] = []
    for gap in gaps:
        clock.now += gap
        arrived = clock.now
        window.wait(clock.sleep)
        assert clock.now >= arrived
        starts.append(clock.now)
        # waited only when `limit` calls already started within the period before this start
        if clock.now > arrived:
            assert sum(1 for s in starts[:-1] if s > clock.now - period - 1e-9) >= limit
    for i, s in enumerate(starts):
        assert sum(1 for t in starts[i:] if t < s + period - 1e-9) <= limit
