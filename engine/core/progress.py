"""How long-running services report progress while they work.

Services take a `Progress` and call it; the command line passes one that draws spinners
and bars on a terminal. The default, `QUIET`, shows nothing (pipes, tests, libraries).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class Progress:
    """Progress of one command; every hook does nothing here."""

    @contextmanager
    def status(self, message: str) -> Iterator[None]:
        """A long step, e.g. `Evaluating rules …`."""
        yield

    @contextmanager
    def per_key(self, label: str, totals: dict[str, int]) -> Iterator[Callable[[str], None]]:
        """Work counted per key (accounts per platform); yields `advance(key)`."""
        yield lambda key: None

    @contextmanager
    def counted(self, label: str) -> Iterator[Callable[[int, int], None]]:
        """Work of a size known as it goes; yields `update(done, total)`."""
        yield lambda done, total: None

    def synced(self, report: Any) -> None:
        """A sync that ran inside another command finished (its report, for warnings)."""


QUIET = Progress()
