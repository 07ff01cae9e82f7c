"""The backtest chart page: every series explained, whole-number ticks for counts, the width of the window."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.authoring.backtest import OUTCOMES, Backtest
from engine.output.backtest import _ticks, render_chart

DAY = date(2026, 10, 1)


def _backtest(per_day: list[dict[str, int]], spend: float = 123.45) -> Backtest:
    bt = Backtest(DAY, DAY + timedelta(days=len(per_day) - 1), "demo", ["meta/daily"], [("meta/daily", "r1")])
    for i, counts in enumerate(per_day):
        tally = Counter(counts)
        tally["fired"] = sum(counts.values())
        tally["spend"] = spend if counts.get("executed") else 0.0
        bt.tallies[(DAY + timedelta(days=i), "meta/daily", "r1")] = tally
    return bt


def _y_labels(svg: str) -> list[str]:
    return re.findall(r'text-anchor="end">([^<]*)</text>', svg)


def _svgs(html: str) -> list[str]:
    return re.findall(r"<svg.*?</svg>", html, re.S)


def test_count_ticks_are_whole_numbers_even_for_a_few_actions():
    html = render_chart(_backtest([{"executed": 1, "cooldown": 1}, {"blocked": 3}, {}]))
    actions, spend = _svgs(html)
    assert _y_labels(actions) == ["0", "1", "2", "3"]
    assert _y_labels(spend)[0] == "$0" and all(label.startswith("$") for label in _y_labels(spend))


def test_every_series_drawn_is_explained_in_a_legend_and_the_axes_are_labelled():
    counts = {o: i + 1 for i, o in enumerate(OUTCOMES)}
    html = render_chart(_backtest([counts, counts]))
    drawn = set(re.findall(r'<rect class="([a-z]+)"', html))
    assert drawn == set(OUTCOMES)
    legends = re.findall(r'<ul class="legend">(.*?)</ul>', html, re.S)
    assert len(legends) == 2
    for label in ("executed", "held by cooldown", "blocked", "queued", "other"):
        assert f"<strong>{label}</strong>: " in legends[0]
    assert "<strong>spend touched</strong>: " in legends[1]
    for cls in drawn:  # each drawn class has its own colour rule
        assert re.search(rf"\.{cls} {{ fill: #[0-9a-f]{{6}}; }}", html)
    assert html.count(">evaluation date (as of)</text>") == 2
    assert ">actions</text>" in html and ">spend touched ($)</text>" in html
    # a bar's tooltip names what it counts
    assert re.search(r"<title>2026-10-01: 15 fired; 1 executed, 2 held by cooldown", html)


def test_the_chart_takes_the_width_of_the_window():
    html = render_chart(_backtest([{"executed": 2}]))
    assert '<meta name="viewport"' in html
    for svg in _svgs(html):
        head = svg.split(">", 1)[0]
        assert re.search(r'viewBox="0 0 \d+ \d+"', head) and " width=" not in head and " height=" not in head
    assert "svg { display: block; width: 100%; height: auto; }" in html


@settings(max_examples=300)
@given(top=st.integers(min_value=0, max_value=10**7))
def test_count_ticks_cover_the_top_with_at_most_five_whole_steps(top):
    ticks = _ticks(float(top), counts=True)
    assert ticks[0] == 0 and ticks[-1] >= top and len(ticks) <= 6
    assert all(t == int(t) for t in ticks)
    steps = {b - a for a, b in pairwise(ticks)}
    assert len(steps) <= 1


@pytest.mark.parametrize("top", [0.5, 7.25, 1234.5, 99999.0])
def test_money_ticks_cover_the_top(top):
    ticks = _ticks(top, counts=False)
    assert ticks[0] == 0 and ticks[-1] >= top and len(ticks) <= 6
