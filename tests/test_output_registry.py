"""One renderer registry for every command's results: the same format names everywhere."""

from __future__ import annotations

import importlib
import io
from datetime import date

import pytest

from engine.apply.records import ActionRecord, Decision
from engine.core.errors import UsageError
from engine.core.plan import Plan, PlannedAction
from engine.output import RENDERERS, formats_for, render, type_name
from tests.helpers.cli import run


def _plan() -> Plan:
    action = PlannedAction("pinterest/w", "r", "pinterest", "acct", "ad_group", "g1", "G one", "pause", {}, {}, {})
    action.before, action.after = {"status": "active"}, {"status": "paused"}
    return Plan(
        "run-1", "dry_run", "demo", date(2026, 11, 1), "2026-11-01T00:00:00+00:00", "d", ["pinterest/w"], [action]
    )


def test_every_registered_renderer_exists_and_every_result_type_is_real():
    for result_type, formats in RENDERERS.items():
        module, _, name = result_type.rpartition(".")
        assert isinstance(getattr(importlib.import_module(module), name), type), result_type
        for spec in formats.values():
            path, _, function = spec.partition(":")
            assert callable(getattr(importlib.import_module(path), function)), spec


def test_formats_mean_the_same_everywhere():
    assert formats_for(type_name(Plan)) == ["text", "table", "json", "jsonl", "markdown", "github"]
    assert formats_for("engine.authoring.lint.LintReport") == ["text", "table", "json", "github"]
    assert formats_for(type_name(ActionRecord), type_name(Decision)) == ["text", "table", "json"]


def test_text_and_table_are_one_format():
    text, table = io.BytesIO(), io.BytesIO()
    render(_plan(), "text", text)
    render(_plan(), "table", table)
    assert text.getvalue() == table.getvalue() and b"status: active -> paused" in text.getvalue()


def test_a_format_a_result_does_not_offer_is_a_usage_error():
    with pytest.raises(UsageError) as exc:
        render(Decision("a1", True, "maria"), "markdown", io.BytesIO())
    assert "--format markdown is not available" in exc.value.message
    assert exc.value.hint == "formats: text, table, json"


def test_the_command_line_offers_the_registered_formats():
    res = run("lint", "--format", "table")
    assert res.returncode == 0 and res.stdout.splitlines()[-1].startswith("lint: ")
    assert res.stdout == run("lint", "--format", "text").stdout
    bad = run("lint", "--format", "jsonl")
    assert bad.returncode == 2 and "'jsonl' is not one of 'text', 'table', 'json', 'github'" in bad.stderr
