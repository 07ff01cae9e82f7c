"""Spinners and progress bars on standard error, only when a person is watching (a terminal)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
from rich.progress import Progress as Bars

from engine.core.progress import Progress
from engine.output.live import render_sync_warnings


class TerminalProgress(Progress):
    def __init__(self) -> None:
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    @contextmanager
    def status(self, message: str) -> Iterator[None]:
        if not self.err.is_terminal:
            yield
            return
        with self.err.status(message):
            yield

    @contextmanager
    def per_key(self, label: str, totals: dict[str, int]) -> Iterator[Callable[[str], None]]:
        if not self.err.is_terminal:
            yield lambda key: None
            return
        with Bars(
            TextColumn(label + " {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=self.err,
            transient=True,
        ) as bars:
            tasks = {key: bars.add_task(key, total=n) for key, n in totals.items()}
            yield lambda key: bars.advance(tasks[key])

    @contextmanager
    def counted(self, label: str) -> Iterator[Callable[[int, int], None]]:
        if not self.err.is_terminal:
            yield lambda done, total: None
            return
        with Bars(TextColumn(label), BarColumn(), MofNCompleteColumn(), console=self.err, transient=True) as bars:
            task = bars.add_task(label, total=None)
            yield lambda done, total: bars.update(task, completed=done, total=total)

    def synced(self, report: Any) -> None:
        render_sync_warnings(report)
