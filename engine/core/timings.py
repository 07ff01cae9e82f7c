"""Seconds per stage of one command, for `--profile`."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


class Timings:
    """Stage -> seconds, in the order the stages first ran; `evaluations` counts entity x rule evaluations."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = defaultdict(float)
        self.evaluations = 0
        self.started = time.perf_counter()

    def add(self, stage: str, seconds: float) -> None:
        self.stages[stage] += seconds

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)

    def total(self) -> float:
        return time.perf_counter() - self.started
