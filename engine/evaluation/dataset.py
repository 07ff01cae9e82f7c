"""The data one run reads: a source materialized in the metrics store (or the live accounts,
synced first), and the demo sandbox's changes to lay over it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.core.catalog import Catalog
from engine.core.dates import RANGE_TEXT, out_of_range
from engine.core.errors import RulerunError
from engine.core.progress import QUIET, Progress
from engine.data.sources import parse_source
from engine.data.store import LoadedSource, Store
from engine.data.sync import SyncReport, load_live
from engine.evaluation.live import sync_into
from engine.rules.workspace import Workspace
from platforms.sandbox import DemoSandbox

if TYPE_CHECKING:
    import duckdb

DATE_HINT = f"correct the dates in the source: rulerun evaluates data dated {RANGE_TEXT}"


@dataclass
class Dataset:
    """An open metrics store and the source loaded in it; close it (or use `with`) when done."""

    store: Store
    loaded: LoadedSource
    overrides: list[dict[str, Any]] = field(default_factory=list)  # the demo sandbox's live entity states
    sync: SyncReport | None = None  # the sync that ran first, for `--source live`

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        con = self.store.con
        if con is None:  # a programming error: the dataset is used after close()
            raise RuntimeError("the dataset is closed")
        return con

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def sandbox_overrides(source: str, state_dir: Path) -> list[dict[str, Any]]:
    """The demo sandbox's changed entity states, overlaid on the demo data by every evaluation."""
    if not source.startswith("demo") or not (state_dir / "sandbox.sqlite").exists():
        return []
    return DemoSandbox(state_dir=state_dir, baseline=lambda key: None).overrides()


def open_dataset(ws: Workspace, catalog: Catalog, source: str, progress: Progress = QUIET) -> Dataset:
    """Load `source` into the workspace's store (reused while unchanged); `live` syncs the accounts first.

    The store is held writable only while loading: the run then reads it read-only, so
    that another process (a dry run in CI while cron applies) can read it too.
    """
    store = Store(ws.state_dir)
    try:
        if source == "live":
            report = sync_into(ws, catalog, store, progress=progress)
            progress.synced(report)
            loaded = load_live(store, catalog)
            store.read_only()
            return Dataset(store, _dated(loaded), sync=report)
        src = parse_source(source)
        with progress.status(f"Loading {src.describe()} into {ws.state_dir} …"):
            loaded = store.load(src, catalog)
        return Dataset(store, _dated(loaded), sandbox_overrides(source, ws.state_dir))
    except BaseException:
        store.close()
        raise


def _dated(loaded: LoadedSource) -> LoadedSource:
    """The loaded source, refused when its data is dated outside the supported range."""
    for day, which in ((loaded.info.min_date, "oldest"), (loaded.info.max_date, "newest")):
        problem = day and out_of_range(day, f"{which} data date")
        if problem:
            raise RulerunError(f"source {loaded.source}: {problem}", hint=DATE_HINT)
    return loaded
