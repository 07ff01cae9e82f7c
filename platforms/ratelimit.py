"""Pacing calls under a platform's documented rate limit: use the limit, never trip it.

`CallWindow(limit, period)` admits at most `limit` calls in any `period` seconds. A caller
asks `reserve()` for its turn and waits the seconds it returns before calling: the turn is
booked at once (a later caller queues behind it), so threads sharing a window never burst
past the limit, and a caller whose sleep does not pass real time (a test's recorder) still
gets the waits the limit implies. `shared(key, limit, period)` is the process-wide window
of one quota (a platform's rate-limit category for one app), for every adapter on it.

Pacing complements the HTTP client's retries (platforms/http.py): a 429 still waits its
Retry-After there, for quota that other processes spend.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable


class CallWindow:
    """At most `limit` call starts in any `period` seconds (a sliding window)."""

    def __init__(self, limit: int, period: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("a call window needs a limit of at least 1 and a positive period")
        self.limit = limit
        self.period = period
        self.clock = clock
        self._starts: deque[float] = deque()  # booked start times, oldest first (some may lie ahead)
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Book the earliest start the limit allows; the seconds to wait until it."""
        with self._lock:
            now = self.clock()
            start = now
            if len(self._starts) >= self.limit:
                # the call `limit` places back must be a whole period old when this one starts
                start = max(now, self._starts.popleft() + self.period)
            self._starts.append(start)
            return start - now

    def wait(self, sleep: Callable[[float], None]) -> float:
        """Reserve a turn and sleep until it; the seconds waited."""
        delay = self.reserve()
        if delay > 0:
            sleep(delay)
        return delay


_SHARED: dict[Hashable, CallWindow] = {}
_SHARED_LOCK = threading.Lock()


def shared(key: Hashable, limit: int, period: float) -> CallWindow:
    """The process-wide window for `key` (made on first use with `limit` calls per `period` seconds)."""
    with _SHARED_LOCK:
        window = _SHARED.get(key)
        if window is None:
            window = _SHARED[key] = CallWindow(limit, period)
        return window
