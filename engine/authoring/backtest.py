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
actions and spend touched per day.

Limits: the metrics are history, not a counterfactual. Pausing an ad group in the
simulation does not remove its later spend from the data, so rules that look at spend
after a change see what really happened, not what the change would have caused. The
simulation starts from the source's entity state (not the demo sandbox's), and the
rate limit (`max_actions_per_hour`) is not simulated.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

from engine.apply.executor import STATE_KEYS, parse_duration
from engine.core.actions import ACTIONS
from engine.core.errors import EXIT_OK, RulerunError, UsageError
from engine.core.plan import PlannedAction

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
        if a.status == "blocked":
            return "blocked"
        if a.status == "needs_approval":
            return "queued"
        if a.status not in ("planned", "clamped") or a.type == "notify" or a.autonomy != "auto":
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
        elif key in STATE_KEYS and key in a.after:
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
            tally["spend"] += float(a.spend or 0.0)

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


def run_backtest(con, loaded, catalog, project, workflows, date_from: date, date_to: date, progress=None) -> Backtest:
    """Evaluate `workflows` as of every day of [date_from, date_to] and simulate what apply would execute."""
    from engine.evaluation.evaluate import build_plan

    started = time.perf_counter()
    sim = Simulation()
    result = Backtest(
        date_from,
        date_to,
        loaded.source,
        [w.id for w in workflows],
        [(w.id, r.id) for w in workflows for r in w.rules if r.enabled],
    )
    for i, day in enumerate(result.days):
        plan = build_plan(con, loaded, catalog, project, workflows, day, mode="backtest", overrides=sim.overrides())
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


# -- output ------------------------------------------------------------------------------------

HEADERS = ("Fired", "Executed", "Cooldown", "Blocked", "Queued", "Other", "Spend touched")


def _cells(t: Counter) -> list[str]:
    return [f"{t[c]:,}" for c in COLUMNS] + [f"${t['spend']:,.2f}"]


def _title(bt: Backtest) -> str:
    return (
        f"rulerun backtest {bt.date_from.isoformat()} to {bt.date_to.isoformat()} · source {bt.source} · "
        f"{', '.join(bt.workflows) or 'no workflows'}"
    )


def render_table(bt: Backtest, out: IO[bytes]) -> None:
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=160, highlight=False, soft_wrap=False)
    console.print(f"[bold]{_title(bt)}[/]")
    days = Table(title="Per day", title_justify="left")
    days.add_column("Date")
    for h in HEADERS:
        days.add_column(h, justify="right")
    for d in bt.days:
        days.add_row(d.isoformat(), *_cells(bt.day_total(d)))
    days.add_row("[bold]total[/]", *_cells(bt.total()))
    console.print(days)
    rules = Table(title="Per rule", title_justify="left")
    rules.add_column("Workflow")
    rules.add_column("Rule", overflow="fold", max_width=36)
    for h in HEADERS:
        rules.add_column(h, justify="right")
    for w, r in bt.rules:
        rules.add_row(w, r, *_cells(bt.rule_total(w, r)))
    console.print(rules)
    console.print(f"[bold]{bt.summary_line()}[/]")
    out.write(buffer.getvalue().encode("utf-8"))


def render_markdown(bt: Backtest, out: IO[bytes]) -> None:
    def table(first: list[str], rows: list[list[str]]) -> list[str]:
        header = [*first, *HEADERS]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(first) + "---:|" * len(HEADERS)]
        return lines + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]

    busy = [d for d in bt.days if bt.day_total(d)["fired"]]
    lines = [f"### {_title(bt)}", "", f"**{bt.summary_line()}**", "", "#### Per rule", ""]
    lines += table(["Workflow", "Rule"], [[w, r, *_cells(bt.rule_total(w, r))] for w, r in bt.rules])
    lines += ["", f"#### Per day ({len(busy)} of {len(bt.days)} days with actions)", ""]
    lines += table(["Date"], [[d.isoformat(), *_cells(bt.day_total(d))] for d in busy])
    out.write(("\n".join(lines) + "\n").encode("utf-8"))


def render_json(bt: Backtest, out: IO[bytes]) -> None:
    out.write((json.dumps(bt.to_dict(), indent=2, default=str) + "\n").encode("utf-8"))


RENDERERS = {"table": render_table, "json": render_json, "markdown": render_markdown}


# -- the chart ---------------------------------------------------------------------------------

CHART_TEMPLATE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
  h1 { font-size: 18px; } h2 { font-size: 15px; margin-top: 28px; }
  svg text { font-size: 11px; fill: #555; }
  .executed { fill: #2e7d32; } .held { fill: #c0c6cc; } .spend { fill: none; stroke: #1565c0; stroke-width: 2; }
  .grid { stroke: #eee; } .axis { stroke: #999; }
  table { border-collapse: collapse; margin-top: 8px; } td, th { padding: 3px 10px; border-bottom: 1px solid #eee; }
  td.n, th.n { text-align: right; }
  .legend span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p><strong>{{ summary }}</strong></p>
{% for chart in charts %}
<h2>{{ chart.title }}</h2>
<p class="legend">
{% for name, color in chart.legend %}<span style="background: {{ color }}"></span>{{ name }}{% endfor %}
</p>
<svg xmlns="http://www.w3.org/2000/svg" width="{{ chart.width }}" height="{{ chart.height }}" role="img"
     aria-label="{{ chart.title }}">
  {% for tick in chart.yticks %}
  <line class="grid" x1="{{ chart.left }}" x2="{{ chart.right }}" y1="{{ tick.y }}" y2="{{ tick.y }}"/>
  <text x="{{ chart.left - 6 }}" y="{{ tick.y + 4 }}" text-anchor="end">{{ tick.label }}</text>
  {% endfor %}
  {% for tick in chart.xticks %}
  <text x="{{ tick.x }}" y="{{ chart.bottom + 16 }}" text-anchor="middle">{{ tick.label }}</text>
  {% endfor %}
  <line class="axis" x1="{{ chart.left }}" x2="{{ chart.right }}" y1="{{ chart.bottom }}" y2="{{ chart.bottom }}"/>
  {% for bar in chart.bars %}
  <rect class="{{ bar.cls }}" x="{{ bar.x }}" y="{{ bar.y }}" width="{{ bar.w }}" height="{{ bar.h }}">
    <title>{{ bar.tip }}</title></rect>
  {% endfor %}
  {% if chart.line %}<polyline class="spend" points="{{ chart.line }}"/>{% endif %}
  {% for dot in chart.dots %}
  <circle cx="{{ dot.x }}" cy="{{ dot.y }}" r="2.5" fill="#1565c0"><title>{{ dot.tip }}</title></circle>
  {% endfor %}
</svg>
{% endfor %}
<h2>Per rule</h2>
<table>
<tr><th>Workflow</th><th>Rule</th>{% for h in headers %}<th class="n">{{ h }}</th>{% endfor %}</tr>
{% for row in rules %}
<tr><td>{{ row[0] }}</td><td>{{ row[1] }}</td>{% for c in row[2:] %}<td class="n">{{ c }}</td>{% endfor %}</tr>
{% endfor %}
</table>
</body>
</html>
"""

WIDTH, HEIGHT = 960, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 12, 28


def _nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 x 10^n at or above `value`: round axis labels."""
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    for m in (1, 2, 5, 10):
        if m * step >= value:
            return float(m * step)
    return float(10 * step)


def _frame(days: list[date], top_value: float, money: bool) -> dict[str, Any]:
    """Axes shared by both charts: x per day, y from 0 to a round maximum."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    ymax = _nice_max(top_value)
    step = plot_w / max(len(days), 1)
    every = max(1, len(days) // 12)  # about a dozen date labels, whatever the range

    def label(v: float) -> str:
        text = f"{v:,.0f}" if v == int(v) else f"{v:,.1f}"
        return f"${text}" if money else text

    def x(i: int) -> float:
        return round(LEFT + (i + 0.5) * step, 2)

    def y(v: float) -> float:
        return round(TOP + plot_h - v / ymax * plot_h, 2)

    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "bottom": TOP + plot_h,
        "step": step,
        "x": x,
        "y": y,
        "yticks": [{"y": y(f * ymax), "label": label(f * ymax)} for f in (0, 0.25, 0.5, 0.75, 1)],
        "xticks": [{"x": x(i), "label": d.strftime("%m-%d")} for i, d in enumerate(days) if i % every == 0],
    }


def _bar(cls: str, x: float, width: float, y, low: float, high: float, tip: str) -> dict[str, Any]:
    """A bar segment from `low` to `high` on the y scale."""
    return {"cls": cls, "x": x, "y": y(high), "w": width, "h": round(y(low) - y(high), 2), "tip": tip}


def _actions_chart(bt: Backtest) -> dict[str, Any]:
    days = bt.days
    totals = [bt.day_total(d) for d in days]
    frame = _frame(days, max((t["fired"] for t in totals), default=0), money=False)
    y, bars = frame["y"], []
    width = round(max(frame["step"] * 0.8, 1), 2)
    for i, (d, t) in enumerate(zip(days, totals, strict=True)):
        x = round(frame["x"](i) - width / 2, 2)
        tip = f"{d.isoformat()}: {t['fired']} fired, {t['executed']} executed"
        if t["executed"]:
            bars.append(_bar("executed", x, width, y, 0, t["executed"], tip))
        if t["fired"] > t["executed"]:
            bars.append(_bar("held", x, width, y, t["executed"], t["fired"], tip))
    legend = [("executed", "#2e7d32"), ("fired, not executed (cooldown, blocked, queued, other)", "#c0c6cc")]
    return {**frame, "title": "Actions per day", "bars": bars, "line": "", "dots": [], "legend": legend}


def _spend_chart(bt: Backtest) -> dict[str, Any]:
    days = bt.days
    spend = [bt.day_total(d)["spend"] for d in days]
    frame = _frame(days, max(spend, default=0.0), money=True)
    points = [(frame["x"](i), frame["y"](s)) for i, s in enumerate(spend)]
    dots = [
        {"x": x, "y": y, "tip": f"{d.isoformat()}: ${s:,.2f}"} for (x, y), d, s in zip(points, days, spend, strict=True)
    ]
    legend = [("window spend of the entities executed actions changed", "#1565c0")]
    return {
        **frame,
        "title": "Spend touched per day",
        "bars": [],
        "line": " ".join(f"{x},{y}" for x, y in points),
        "dots": dots,
        "legend": legend,
    }


def render_chart(bt: Backtest) -> str:
    """The self-contained HTML page: two inline SVG charts and the per-rule table."""
    import jinja2

    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return env.from_string(CHART_TEMPLATE).render(
        title=_title(bt),
        summary=bt.summary_line(),
        charts=[_actions_chart(bt), _spend_chart(bt)],
        headers=HEADERS,
        rules=[[w, r, *_cells(bt.rule_total(w, r))] for w, r in bt.rules],
    )


def check_chart_path(chart: str) -> Path:
    path = Path(chart)
    if path.suffix.lower() != ".html":
        raise UsageError(f"--chart {chart!r} must name an .html file", hint="e.g. --chart backtest.html")
    if not path.parent.is_dir():
        raise UsageError(f"--chart {chart!r}: folder {str(path.parent)!r} does not exist")
    return path


# -- the command -------------------------------------------------------------------------------


def backtest_command(
    *,
    rules: str | None,
    workflows: tuple[str, ...] | list[str] | None,
    source: str,
    date_from: date | None,
    date_to: date | None,
    state_dir: str | None,
    fmt: str,
    chart: str | None = None,
) -> int:
    """Replay the workflows on every day of the range; print the report (and write the chart). Returns 0.

    Without `date_from`/`date_to`, the range runs from the first day of data to the day after the newest.
    """
    from engine.cli.commands import _load, _project, _write_atomic, err, status
    from engine.evaluation.evaluate import default_as_of

    if fmt not in RENDERERS:
        raise UsageError(f"unknown format {fmt!r}", hint="formats: " + ", ".join(RENDERERS))
    chart_path = check_chart_path(chart) if chart else None
    ws, catalog, project = _project(rules, state_dir)
    selected = project.select(workflows)
    store, loaded = _load(ws, catalog, source)
    try:
        date_to = date_to or default_as_of(loaded)
        date_from = date_from or loaded.info.min_date or date_to
        check_range(store.con, loaded, date_from, date_to)
        with status(f"Backtesting {date_from.isoformat()} to {date_to.isoformat()} …"):
            bt = run_backtest(store.con, loaded, catalog, project, selected, date_from, date_to)
    finally:
        store.close()
    RENDERERS[fmt](bt, sys.stdout.buffer)
    sys.stdout.buffer.flush()
    if chart_path:
        html = render_chart(bt).encode("utf-8")
        _write_atomic(chart_path, lambda fh: fh.write(html))
        err.print(f"wrote {chart_path}")
    return EXIT_OK
