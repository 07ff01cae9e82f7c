"""`rulerun backtest --from DATE --to DATE`: replay workflows day by day on historical data.

For each day D from `--from` to `--to` (both included) the workflows are evaluated as of D,
exactly as the morning's scheduled `rulerun apply` would have seen them: on the data before
D, through the whole safety pipeline (conflicts, guardrails, escalation, autonomy). The
actions apply would have executed are then carried out in a simulation, and the entity
state they leave (status, daily budget, bid, negative keywords) is what the next day's
evaluation sees. An action is executed in the simulation when:

- its status is `planned` or `clamped`, its autonomy is `auto` and it is not a `notify`;
- the rule's `cooldown` has passed for that entity since the rule last executed on it in
  the simulation (`cooldown: 3d` after an execution on D allows the next one on D+3);
- for a negative keyword, the simulation has not already added it.

Everything else is counted by what stopped it: `cooldown`, `blocked` (a guardrail),
`queued` (needs approval), and `other` (skipped by a conflict or a missing bid, autonomy
`dry_run`, notifications, negatives already added).

The report gives, per day and per rule, the actions fired (proposed by a rule), executed,
held by cooldown, blocked, queued and other, and the **spend touched**: the rule window's
spend of the entities that executed actions changed (`spend` over `last_7d` for a
`last_7d` rule). `--chart FILE.html` also writes a self-contained page with charts of
actions and spend touched per day (engine/output/backtest.py).

Limits: the metrics are history, not a counterfactual. Pausing an ad group in the
simulation does not remove its later spend from the data, so rules that look at spend
after a change see what really happened, not what the change would have caused. The
simulation starts from the source's entity state (not the demo sandbox's), and the
rate limit (`max_actions_per_hour`) is not simulated.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from engine.core.actions import ACTIONS
from engine.core.errors import RulerunError, UsageError
from engine.core.plan import PlannedAction
from engine.core.progress import QUIET, Progress
from engine.core.status import GOING_AHEAD, ActionStatus
from engine.data.entities import LIVE_STATE
from engine.evaluation.dataset import open_dataset
from engine.evaluation.days import DayBatch
from engine.evaluation.evaluate import build_plan, default_as_of
from engine.rules.durations import parse_duration
from engine.rules.service import OpenProject

OUTCOMES = ("executed", "cooldown", "blocked", "queued", "other")
COLUMNS = ("fired", *OUTCOMES)
EntityKey = tuple[str, str, str, str]
RuleKey = tuple[str, str]  # (workflow, rule_id)


@dataclass
class Execution:
    """One action the simulation carried out."""

    day: date
    workflow: str
    rule_id: str
    platform: str
    account_id: str
    level: str
    entity_id: str
    type: str
    before: dict[str, Any]
    after: dict[str, Any]
    spend: float

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "day": self.day.isoformat()}


class Simulation:
    """Entity state and execution history as daily applies would have left them."""

    def __init__(self) -> None:
        self.state: dict[EntityKey, dict[str, Any]] = {}
        self.negatives: set[tuple[EntityKey, str, str]] = set()
        self.last_executed: dict[tuple[str, str, str, str, str], date] = {}

    def overrides(self) -> list[dict[str, Any]]:
        """The simulated state as build_plan's live-state overlay."""
        keys = ("platform", "account_id", "level", "entity_id")
        return [{**dict(zip(keys, key, strict=True)), **values} for key, values in self.state.items()]

    def settle(self, a: PlannedAction, day: date) -> str:
        """What a daily apply would have done with this action on `day`; carries out executions."""
        if a.status == ActionStatus.BLOCKED:
            return "blocked"
        if a.status == ActionStatus.NEEDS_APPROVAL:
            return "queued"
        if a.status not in GOING_AHEAD or a.type == "notify" or a.autonomy != "auto":
            return "other"
        if self._cooling(a, day):
            return "cooldown"
        negative = self._negative(a)
        if negative is not None and negative in self.negatives:
            return "other"  # apply skips it: the live state already holds the negative
        self._execute(a, day, negative)
        return "executed"

    def _cooling(self, a: PlannedAction, day: date) -> bool:
        if not a.cooldown:
            return False
        last = self.last_executed.get((a.workflow, a.rule_id, a.platform, a.account_id, a.entity_id))
        return last is not None and day - last < parse_duration(a.cooldown)

    @staticmethod
    def _negative(a: PlannedAction) -> tuple[EntityKey, str, str] | None:
        neg = a.after.get("negative_keyword")
        if not neg:
            return None
        return (_key(a), str(neg.get("text")), str(neg.get("match_type")))

    def _execute(self, a: PlannedAction, day: date, negative) -> None:
        key = ACTIONS[a.type].key()  # the one state the action changes
        if negative is not None:
            self.negatives.add(negative)
        elif key in LIVE_STATE and key in a.after:
            self.state.setdefault(_key(a), {})[key] = a.after[key]
        self.last_executed[(a.workflow, a.rule_id, a.platform, a.account_id, a.entity_id)] = day


def _key(a: PlannedAction) -> EntityKey:
    return (a.platform, a.account_id, a.level, a.entity_id)


@dataclass
class Backtest:
    """Counts per (day, rule): `fired`, each outcome, and `spend` (window spend touched by executions)."""

    date_from: date
    date_to: date
    source: str
    workflows: list[str]
    rules: list[RuleKey]
    tallies: dict[tuple[date, str, str], Counter] = field(default_factory=dict)
    executions: list[Execution] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def days(self) -> list[date]:
        return [self.date_from + timedelta(days=i) for i in range((self.date_to - self.date_from).days + 1)]

    def record(self, day: date, a: PlannedAction, outcome: str) -> None:
        tally = self.tallies.setdefault((day, a.workflow, a.rule_id), Counter())
        tally["fired"] += 1
        tally[outcome] += 1
        if outcome == "executed":
            tally["spend"] += float(a.spend or 0.0)  # type: ignore[assignment]  # a Counter sums floats as well

    def day_total(self, day: date) -> Counter:
        return _sum(t for (d, _, _), t in self.tallies.items() if d == day)

    def rule_total(self, workflow: str, rule_id: str) -> Counter:
        return _sum(t for (_, w, r), t in self.tallies.items() if (w, r) == (workflow, rule_id))

    def total(self) -> Counter:
        return _sum(self.tallies.values())

    def summary_line(self) -> str:
        t = self.total()
        n_days = len(self.days)
        head = (
            f"Backtest {self.date_from.isoformat()} to {self.date_to.isoformat()} "
            f"({n_days} day{'s' if n_days != 1 else ''}, {len(self.workflows)} workflow"
            f"{'s' if len(self.workflows) != 1 else ''})"
        )
        if not t["fired"]:
            return f"{head}: no rule fired"
        return (
            f"{head}: {t['fired']:,} actions fired, {t['executed']:,} executed, {t['cooldown']:,} held by cooldown, "
            f"{t['blocked']:,} blocked, {t['queued']:,} queued, {t['other']:,} other; "
            f"spend touched ${t['spend']:,.2f}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "source": self.source,
            "workflows": self.workflows,
            "totals": _counts(self.total()),
            "days": [
                {
                    "date": d.isoformat(),
                    **_counts(self.day_total(d)),
                    "rules": [
                        {"workflow": w, "rule_id": r, **_counts(t)}
                        for (day, w, r), t in sorted(self.tallies.items())
                        if day == d
                    ],
                }
                for d in self.days
            ],
            "rules": [{"workflow": w, "rule_id": r, **_counts(self.rule_total(w, r))} for w, r in self.rules],
            "executions": [e.to_dict() for e in self.executions],
            "summary": self.summary_line(),
        }


def _sum(tallies) -> Counter:
    total: Counter = Counter()
    for t in tallies:
        total.update(t)
    return total


def _counts(t: Counter) -> dict[str, Any]:
    return {**{c: t[c] for c in COLUMNS}, "spend_touched": round(t["spend"], 2)}


# -- running it --------------------------------------------------------------------------------


def run_backtest(
    con, loaded, catalog, project, workflows, date_from: date, date_to: date, progress=None, batched: bool = True
) -> Backtest:
    """Evaluate `workflows` as of every day of [date_from, date_to] and simulate what apply would execute.

    `batched=False` evaluates each day on its own, as `evaluate` would (the reference for the batch).
    """
    started = time.perf_counter()
    sim = Simulation()
    result = Backtest(
        date_from,
        date_to,
        loaded.source,
        [w.id for w in workflows],
        [(w.id, r.id) for w in workflows for r in w.rules if r.enabled],
    )
    if progress:
        progress(0, len(result.days))
    # Every day's window sums and verdicts in one query per (platform, level); each day then
    # lays the simulated state over them (engine/evaluation/days.py).
    with DayBatch(con, loaded, catalog, project, workflows, result.days if batched else []) as batch:
        for i, day in enumerate(result.days):
            plan = build_plan(
                con, loaded, catalog, project, workflows, day, mode="backtest", overrides=sim.overrides(), batch=batch
            )
            for a in plan.actions:
                outcome = sim.settle(a, day)
                result.record(day, a, outcome)
                if outcome == "executed":
                    result.executions.append(_execution(a, day))
            if progress:
                progress(i + 1, len(result.days))
    result.seconds = time.perf_counter() - started
    return result


def _execution(a: PlannedAction, day: date) -> Execution:
    return Execution(
        day,
        a.workflow,
        a.rule_id,
        a.platform,
        a.account_id,
        a.level,
        a.entity_id,
        a.type,
        dict(a.before),
        dict(a.after),
        float(a.spend or 0.0),
    )


def check_range(con, loaded, date_from: date, date_to: date) -> None:
    """Refuse a reversed range, or one the data does not reach (most often a mistyped year)."""
    if date_from > date_to:
        raise UsageError(
            f"--from {date_from.isoformat()} is after --to {date_to.isoformat()}",
            hint="the range runs from the earlier date to the later one, both included",
        )
    # Day D is evaluated on the data before it, so the day before --from counts as in range.
    n = con.execute(
        f"SELECT count(*) FROM {loaded.table('metrics_daily')} WHERE date >= ? AND date <= ?",
        [date_from - timedelta(days=1), date_to],
    ).fetchone()[0]
    if n:
        return
    info = loaded.info
    actual = (
        f"its data runs from {info.min_date.isoformat()} to {info.max_date.isoformat()}"
        if info.min_date and info.max_date
        else "it has no metric rows at all"
    )
    raise RulerunError(
        f"no data from {date_from.isoformat()} to {date_to.isoformat()} in source {loaded.source}: {actual}",
        hint="choose --from and --to within the data; each day is evaluated on the data before it",
    )


# -- the command -------------------------------------------------------------------------------


def backtest(
    opened: OpenProject,
    *,
    workflows: tuple[str, ...] | list[str] | None = None,
    source: str = "demo",
    date_from: date | None = None,
    date_to: date | None = None,
    progress: Progress = QUIET,
) -> Backtest:
    """Replay the workflows on every day of the range.

    Without `date_from`/`date_to`, the range runs from the first day of data to the day after the newest.
    """
    selected = opened.project.select(workflows)
    with open_dataset(opened.workspace, opened.catalog, source, progress) as data:
        date_to = date_to or default_as_of(data.loaded)
        date_from = date_from or data.loaded.info.min_date or date_to
        check_range(data.con, data.loaded, date_from, date_to)
        with progress.counted(f"Backtesting {date_from.isoformat()} to {date_to.isoformat()}: days") as advance:
            return run_backtest(
                data.con, data.loaded, opened.catalog, opened.project, selected, date_from, date_to, advance
            )
