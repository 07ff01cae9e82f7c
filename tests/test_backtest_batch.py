"""A backtest evaluates every day at once (engine/evaluation/days.py) and gets what a day-by-day replay gets."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from engine.authoring.backtest import OUTCOMES, backtest, run_backtest
from engine.core.progress import Progress
from engine.data.metrics import MetricsService, SharedMetrics
from engine.data.sources import parse_source
from engine.data.store import Store
from engine.evaluation.days import DayBatch
from engine.evaluation.evaluate import build_plan
from engine.rules.service import open_project
from tests.helpers.cli import REPO

FIRST, LAST = date(2026, 8, 2), date(2026, 8, 12)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    opened = open_project(str(REPO / "rules"))
    with Store(tmp_path_factory.mktemp("state")) as store:
        loaded = store.load(parse_source("demo"), opened.catalog)
        yield store.con, loaded, opened.catalog, opened.project


def _plain(bt):
    """Counts and executions, with float sums compared approximately (summation order differs)."""
    tallies = {k: {c: v[c] for c in ("fired", *OUTCOMES)} for k, v in bt.tallies.items()}
    executions = [{**e.to_dict(), "spend": pytest.approx(e.spend)} for e in bt.executions]
    return tallies, executions, pytest.approx(bt.total()["spend"])


def test_batched_replay_equals_the_day_by_day_replay(demo):
    con, loaded, catalog, project = demo
    workflows = project.select(None)
    batched = run_backtest(con, loaded, catalog, project, workflows, FIRST, LAST)
    by_day = run_backtest(con, loaded, catalog, project, workflows, FIRST, LAST, batched=False)
    assert batched.total()["executed"] > 0
    # some executed change is to a state later days' rules read (a paused campaign)
    assert any(e.after.get("status") == "paused" and e.day < LAST for e in batched.executions)
    tallies, executions, spend = _plain(by_day)
    assert _plain(batched)[0] == tallies
    assert [e.to_dict() for e in batched.executions] == executions
    assert batched.total()["spend"] == spend


class CountingConnection:
    """A DuckDB connection that counts the statements run through it."""

    def __init__(self, con):
        self._con, self.statements = con, 0

    def execute(self, *args, **kwargs):
        self.statements += 1
        return self._con.execute(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_each_further_day_costs_a_few_statements_not_a_few_per_platform_and_level(demo):
    con, loaded, catalog, project = demo
    workflows = project.select(None)
    counts = []
    for days in (5, 15):
        counting = CountingConnection(con)
        run_backtest(counting, loaded, catalog, project, workflows, FIRST, FIRST + timedelta(days=days - 1))
        counts.append(counting.statements)
    per_day = (counts[1] - counts[0]) / 10
    groups = len({(w.platform, r.level) for w in workflows for r in w.rules if r.enabled})
    assert groups >= 10
    # day by day, every (platform, level) group costs 7 statements a day; batched, a day costs the
    # simulated state, the safety facts and the truth of a new date
    assert per_day < 2 * groups, counts


STATES = st.sampled_from([{}, {"status": "paused"}, {"status": "active"}])
FACTORS = st.sampled_from([None, 0.5, 1.3, 4.0])


@settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # each example takes a second: no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_a_day_from_the_batch_with_simulated_state_equals_its_own_evaluation(demo, data):
    con, loaded, catalog, project = demo
    workflows = project.select(None)
    day = data.draw(st.sampled_from([FIRST, FIRST + timedelta(days=4), LAST]))
    # the simulation changes only entities it evaluated: never a removed or archived one
    entities = con.execute(
        f"SELECT platform, account_id, level, entity_id, daily_budget, bid FROM {loaded.table('entities')} "
        "WHERE coalesce(status, '') NOT IN ('removed', 'archived') ORDER BY ALL"
    ).fetchall()
    chosen = data.draw(st.lists(st.sampled_from(entities), max_size=25, unique=True))
    overrides = []
    for platform, account, level, entity_id, budget, bid in chosen:
        state = dict(data.draw(STATES))
        budget_factor, bid_factor = data.draw(FACTORS), data.draw(FACTORS)
        if budget is not None and budget_factor:
            state["daily_budget"] = round(budget * budget_factor, 2)
        if bid is not None and bid_factor:
            state["bid"] = round(bid * bid_factor, 2)
        if state:
            overrides.append(
                {"platform": platform, "account_id": account, "level": level, "entity_id": entity_id, **state}
            )
    with DayBatch(con, loaded, catalog, project, workflows, _batch_days()) as batch:
        batched = build_plan(con, loaded, catalog, project, workflows, day, overrides=overrides, batch=batch)
    alone = build_plan(con, loaded, catalog, project, workflows, day, overrides=overrides)
    assert _actions(batched) == _actions(alone)
    assert batched.entities_evaluated == alone.entities_evaluated
    assert batched.data_quality == alone.data_quality  # which credibility_ratio was read, drift


_DAYS: list[date] = []


def _batch_days() -> list[date]:
    if not _DAYS:
        _DAYS.extend(FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1))
    return _DAYS


def _approx(values: dict) -> dict:
    """Floats compared approximately: sums in another order differ in the last bits."""
    return {k: pytest.approx(v) if isinstance(v, float) else v for k, v in values.items()}


def _actions(plan) -> list[dict]:
    out = []
    for a in plan.actions:
        out.append(
            {
                "id": a.action_id,
                "status": a.status,
                "before": _approx(a.before),
                "after": a.after if a.type == "add_negative_keyword" else _approx(a.after),
                "reasons": a.reasons,
                "evidence": _approx(a.evidence),
                "guardrails": [_approx(g) for g in a.guardrails],
            }
        )
    return out


class Recorded(Progress):
    def __init__(self) -> None:
        self.updates: list[tuple[int, int]] = []

    def counted(self, label):
        from contextlib import contextmanager

        @contextmanager
        def bar():
            yield lambda done, total: self.updates.append((done, total))

        return bar()


def test_backtest_reports_its_progress_day_by_day(tmp_path):
    progress = Recorded()
    opened = open_project(str(REPO / "rules"), state_dir=str(tmp_path))
    backtest(opened, date_from=date(2026, 10, 20), date_to=date(2026, 10, 26), progress=progress)
    assert progress.updates == [(i, 7) for i in range(8)]


def test_the_command_draws_a_progress_bar_on_a_terminal_and_nothing_when_piped(tmp_path):
    args = [sys.executable, "-m", "engine.cli.main", "backtest", "--from", "2026-10-20", "--to", "2026-10-26"]
    args += ["--state-dir", str(tmp_path), "--format", "json"]
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=follower, timeout=180)
        os.close(follower)
        err = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
    finally:
        os.close(leader)
    assert proc.returncode == 0 and proc.stdout.lstrip().startswith(b"{")
    assert b"Backtesting 2026-10-20 to 2026-10-26" in err and b"7/7" in err
    piped = subprocess.run(args, cwd=REPO, env=env, capture_output=True, timeout=180)
    assert piped.returncode == 0 and b"Backtesting" not in piped.stderr


@pytest.mark.parametrize("window", ["last_7d", "last_30d", "mtd", "lifetime", "yesterday", "last_7d_ending_3d_ago"])
def test_truth_for_many_days_in_one_scan_equals_each_day_on_its_own(demo, window):
    con, loaded, catalog, _ = demo
    days = [date(2026, 8, 1), date(2026, 8, 2), date(2026, 9, 1), date(2026, 9, 17), date(2026, 11, 1)]
    shared = SharedMetrics()
    MetricsService(con, loaded, catalog, days[0], shared=shared).truth_by_day(window, days)
    for day in days:
        alone = MetricsService(con, loaded, catalog, day)
        assert shared.truth[(day, window)] == pytest.approx(alone.truth(window), nan_ok=True), day
        batched = MetricsService(con, loaded, catalog, day, shared=shared)
        assert batched.mer_unknown_reason(window) == alone.mer_unknown_reason(window), day
    assert any(v is not None for day in days for v in shared.truth[(day, window)].values())
