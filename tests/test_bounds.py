"""Dates and durations at and past their bounds: usage errors naming the allowed range, data
dated outside 1970-01-01..2200-12-31 refused, and no traceback anywhere."""

from __future__ import annotations

import json

import pytest

from engine.core.dates import FIRST_DATE, LAST_DATE
from engine.rules.durations import FILE_LONGEST, OPTION_LONGEST, DurationOutOfRange, parse_duration
from tests.helpers.cli import run
from tests.helpers.data import constant_days, entity, write_source
from tests.helpers.rules import PINTEREST_OPERATOR, write_rules


@pytest.mark.parametrize("text", ["3651d", "87601h", "5256001m", "99999999d", "9" * 5000 + "d"])
def test_durations_past_the_longest_are_refused_without_overflow(text):
    with pytest.raises(DurationOutOfRange, match="durations go from 0m to 3650d"):
        parse_duration(text, OPTION_LONGEST)


def test_the_longest_durations_are_allowed():
    assert parse_duration("3650d", OPTION_LONGEST) == OPTION_LONGEST
    assert parse_duration("87600h", OPTION_LONGEST) == OPTION_LONGEST
    assert parse_duration("99999d") == FILE_LONGEST  # what a rule file may write
    with pytest.raises(DurationOutOfRange):
        parse_duration("100000d")


@pytest.mark.parametrize(
    "args, option, allowed",
    [
        (["log", "--since", "99999999d"], "--since", "0m to 3650d"),
        (["log", "--limit", str(10**30)], "--limit", "1<=x<=1000000"),
        (["log", "--limit", "0"], "--limit", "1<=x<=1000000"),
        (["apply", "--approval-ttl", "99999999999d"], "--approval-ttl", "0m to 3650d"),
        (["apply", "--max-plan-age", "4000d"], "--max-plan-age", "0m to 3650d"),
        (["evaluate", "--as-of", "0001-01-01"], "--as-of", "1970-01-01 to 2200-12-31"),
        (["evaluate", "--as-of", "9999-12-31"], "--as-of", "1970-01-01 to 2200-12-31"),
        (["backtest", "--from", "1969-12-31"], "--from", "1970-01-01 to 2200-12-31"),
        (["backtest", "--to", "2201-01-01"], "--to", "1970-01-01 to 2200-12-31"),
        (["log", "--since", "0001-01-01"], "--since", "1970-01-01 to 2200-12-31"),
        (["sync", "--since", "0001-01-01"], "--since", "1970-01-01 to 2200-12-31"),
    ],
)
def test_out_of_range_arguments_are_usage_errors_naming_the_range(tmp_path, args, option, allowed):
    res = run(*args, "--rules", str(tmp_path / "rules"), cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert option in res.stderr and allowed in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / ".rulerun").exists()  # refused before anything was opened


def test_the_approval_ttl_from_the_environment_is_bounded_too(tmp_path):
    res = run("apply", "--rules", str(tmp_path / "rules"), cwd=tmp_path, env={"RULERUN_APPROVAL_TTL": "99999d"})
    assert res.returncode == 2 and "0m to 3650d" in res.stderr


DEEP_WINDOW = """\
workflow: decade
operator: pinterest
level: ad_group
window: last_3650d
rules:
  - id: ten_years
    when: spend >= 0 and prev.spend >= 0 and lifetime.spend >= 0
    action: {type: notify, message: a decade}
"""


def test_the_longest_window_at_the_first_date_evaluates(tmp_path):
    rules = write_rules(tmp_path, {"pinterest/operator.yaml": PINTEREST_OPERATOR, "pinterest/decade.yaml": DEEP_WINDOW})
    write_source(tmp_path / "data", [entity("a")], constant_days("a", ["1970-01-01", "1970-01-02"], spend=5))
    for as_of in (FIRST_DATE.isoformat(), LAST_DATE.isoformat()):
        args = ("evaluate", "--rules", str(rules), "--source", "file:data", "--as-of", as_of, "--format", "json")
        res = run(*args, cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["as_of"] == as_of


def test_data_dated_past_the_last_date_is_refused(tmp_path):
    """The default evaluation date is the day after the newest data: 9999-12-31 has none."""
    rules = write_rules(tmp_path, {"pinterest/operator.yaml": PINTEREST_OPERATOR, "pinterest/decade.yaml": DEEP_WINDOW})
    write_source(tmp_path / "data", [entity("a")], constant_days("a", ["2026-10-01", "9999-12-31"], spend=5))
    res = run("evaluate", "--rules", str(rules), "--source", "file:data", cwd=tmp_path)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "9999-12-31" in res.stderr and "2200-12-31" in res.stderr
