"""`rulerun backtest` results: tables per day and per rule, Markdown, JSON, and the HTML chart page."""

from __future__ import annotations

import io
import json
import math
from collections import Counter
from datetime import date
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.table import Table

from engine.authoring.backtest import COLUMNS, Backtest
from engine.core.errors import UsageError
from engine.output import RenderOptions

HEADERS = ("Fired", "Executed", "Cooldown", "Blocked", "Queued", "Other", "Spend touched")


def _cells(t: Counter) -> list[str]:
    return [f"{t[c]:,}" for c in COLUMNS] + [f"${t['spend']:,.2f}"]


def _title(bt: Backtest) -> str:
    return (
        f"rulerun backtest {bt.date_from.isoformat()} to {bt.date_to.isoformat()} · source {bt.source} · "
        f"{', '.join(bt.workflows) or 'no workflows'}"
    )


def render_table(bt: Backtest, out: IO[bytes], options: RenderOptions | None = None) -> None:
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


def render_markdown(bt: Backtest, out: IO[bytes], options: RenderOptions | None = None) -> None:
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


def render_json(bt: Backtest, out: IO[bytes], options: RenderOptions | None = None) -> None:
    out.write((json.dumps(bt.to_dict(), indent=2, default=str) + "\n").encode("utf-8"))


# -- the chart ---------------------------------------------------------------------------------

# Each series of the charts: its CSS class, legend label, colour and what it counts.
SERIES = (
    ("executed", "executed", "#2e7d32", "carried out by the simulated daily apply"),
    ("cooldown", "held by cooldown", "#f9a825", "the rule acted on the entity within its cooldown"),
    ("blocked", "blocked", "#c62828", "a guardrail stopped it"),
    ("queued", "queued", "#6a1b9a", "needs approval: a person would decide"),
    ("other", "other", "#b0b8bf", "skipped by a conflict, autonomy dry_run, a notification, a negative already added"),
)
SPEND = ("spend", "spend touched", "#1565c0", "the rule window's spend of the entities executed actions changed")

CHART_TEMPLATE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1200px; }
  h1 { font-size: 18px; } h2 { font-size: 15px; margin-top: 28px; }
  svg { display: block; width: 100%; height: auto; }
  svg text { font-size: 11px; fill: #555; } svg text.axis-label { fill: #333; }
  {% for cls, _, color, _ in series %}.{{ cls }} { fill: {{ color }}; } {% endfor %}

  .spend { fill: none; stroke: {{ spend_color }}; stroke-width: 2; }
  .grid { stroke: #eee; } .axis { stroke: #999; }
  table { border-collapse: collapse; margin-top: 8px; } td, th { padding: 3px 10px; border-bottom: 1px solid #eee; }
  td.n, th.n { text-align: right; }
  .legend { list-style: none; padding: 0; margin: 4px 0; }
  .legend li { margin: 2px 0; } .legend span { display: inline-block; width: 10px; height: 10px; margin-right: 6px; }
  .table-wrap { overflow-x: auto; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p><strong>{{ summary }}</strong></p>
{% for chart in charts %}
<h2>{{ chart.title }}</h2>
<ul class="legend">
{% for name, color, meaning in chart.legend %}
<li><span style="background: {{ color }}"></span><strong>{{ name }}</strong>: {{ meaning }}</li>
{% endfor %}
</ul>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {{ chart.width }} {{ chart.height }}"
     preserveAspectRatio="xMinYMin meet" role="img" aria-label="{{ chart.title }}">
  <text class="axis-label" x="12" y="{{ (chart.top + chart.bottom) / 2 }}" text-anchor="middle"
        transform="rotate(-90 12 {{ (chart.top + chart.bottom) / 2 }})">{{ chart.ylabel }}</text>
  <text class="axis-label" x="{{ (chart.left + chart.right) / 2 }}" y="{{ chart.height - 4 }}"
        text-anchor="middle">evaluation date (as of)</text>
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
  <circle cx="{{ dot.x }}" cy="{{ dot.y }}" r="2.5" fill="{{ spend_color }}"><title>{{ dot.tip }}</title></circle>
  {% endfor %}
</svg>
{% endfor %}
<h2>Per rule</h2>
<div class="table-wrap">
<table>
<tr><th>Workflow</th><th>Rule</th>{% for h in headers %}<th class="n">{{ h }}</th>{% endfor %}</tr>
{% for row in rules %}
<tr><td>{{ row[0] }}</td><td>{{ row[1] }}</td>{% for c in row[2:] %}<td class="n">{{ c }}</td>{% endfor %}</tr>
{% endfor %}
</table>
</div>
</body>
</html>
"""

# The drawing's own units; the page scales it to the width of the window (viewBox).
WIDTH, HEIGHT = 960, 280
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 12, 44
MAX_TICKS = 5


def _nice_step(value: float) -> float:
    """The smallest 1, 2 or 5 x 10^n at or above `value`: round axis steps."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for m in (1, 2, 5, 10):
        if m * power >= value * (1 - 1e-9):
            return m * power
    return 10 * power


def _ticks(top_value: float, counts: bool) -> list[float]:
    """Tick values from 0 to at least `top_value`, at most MAX_TICKS steps; whole numbers for counts."""
    step = _nice_step(max(top_value, 0.0) / MAX_TICKS)
    if counts:
        step = max(1.0, float(math.ceil(step)))
    n = max(1, math.ceil(top_value / step - 1e-9)) if top_value > 0 else 1
    return [i * step for i in range(n + 1)]


def _frame(days: list[date], top_value: float, money: bool) -> dict[str, Any]:
    """Axes shared by both charts: x per day, y from 0 to a round maximum (whole-number ticks for counts)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    ticks = _ticks(top_value, counts=not money)
    ymax = ticks[-1]
    step = plot_w / max(len(days), 1)
    every = max(1, len(days) // 12)  # about a dozen date labels, whatever the range

    def label(v: float) -> str:
        text = f"{v:,.0f}" if v == int(v) else f"{v:,.2f}"
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
        "top": TOP,
        "bottom": TOP + plot_h,
        "step": step,
        "x": x,
        "y": y,
        "yticks": [{"y": y(v), "label": label(v), "value": v} for v in ticks],
        "xticks": [{"x": x(i), "label": d.strftime("%m-%d")} for i, d in enumerate(days) if i % every == 0],
    }


def _bar(cls: str, x: float, width: float, y, low: float, high: float, tip: str) -> dict[str, Any]:
    """A bar segment from `low` to `high` on the y scale."""
    return {"cls": cls, "x": x, "y": y(high), "w": width, "h": round(y(low) - y(high), 2), "tip": tip}


def _actions_chart(bt: Backtest) -> dict[str, Any]:
    """Actions fired per day, stacked by what became of them."""
    days = bt.days
    totals = [bt.day_total(d) for d in days]
    frame = _frame(days, max((t["fired"] for t in totals), default=0), money=False)
    y, bars = frame["y"], []
    width = round(max(frame["step"] * 0.8, 1), 2)
    for i, (d, t) in enumerate(zip(days, totals, strict=True)):
        x = round(frame["x"](i) - width / 2, 2)
        tip = f"{d.isoformat()}: {t['fired']:,} fired; " + ", ".join(
            f"{t[cls]:,} {label}" for cls, label, _, _ in SERIES if t[cls]
        )
        low = 0
        for cls, _, _, _ in SERIES:
            if t[cls]:
                bars.append(_bar(cls, x, width, y, low, low + t[cls], tip))
                low += t[cls]
    legend = [(label, color, meaning) for _, label, color, meaning in SERIES]
    title = "Actions fired per day, by what the simulated daily apply did with them"
    return {**frame, "title": title, "ylabel": "actions", "bars": bars, "line": "", "dots": [], "legend": legend}


def _spend_chart(bt: Backtest) -> dict[str, Any]:
    days = bt.days
    spend = [bt.day_total(d)["spend"] for d in days]
    frame = _frame(days, max(spend, default=0.0), money=True)
    points = [(frame["x"](i), frame["y"](s)) for i, s in enumerate(spend)]
    dots = [
        {"x": x, "y": y, "tip": f"{d.isoformat()}: ${s:,.2f}"} for (x, y), d, s in zip(points, days, spend, strict=True)
    ]
    _, label, color, meaning = SPEND
    return {
        **frame,
        "title": "Spend touched per day",
        "ylabel": "spend touched ($)",
        "bars": [],
        "line": " ".join(f"{x},{y}" for x, y in points),
        "dots": dots,
        "legend": [(label, color, meaning)],
    }


def render_chart(bt: Backtest) -> str:
    """The self-contained HTML page: two inline SVG charts and the per-rule table."""
    import jinja2

    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return env.from_string(CHART_TEMPLATE).render(
        title=_title(bt),
        summary=bt.summary_line(),
        charts=[_actions_chart(bt), _spend_chart(bt)],
        series=SERIES,
        spend_color=SPEND[2],
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
