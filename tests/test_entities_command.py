"""`rulerun entities`: find the id `explain` needs, by platform, level and part of the name."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from engine.cli.main import main
from tests.helpers.data import constant_days, entity, october, write_source
from tests.helpers.rules import pinterest_rules

ENTITIES = [
    entity("c1", level="campaign", name="Spring Campaign"),
    entity("g1", parent_id="c1", name="Spring Sale - Bot", status="paused"),
    entity("g2", parent_id="c1", name="Evergreen Dot"),
    entity("m1", level="campaign", platform="meta", name="SPRING retargeting"),
]


@pytest.fixture
def workspace(tmp_path):
    rules = pinterest_rules(tmp_path)
    data = write_source(tmp_path / "data", ENTITIES, constant_days("g1", october(30, 31), spend=5))
    return tmp_path, rules, data


def entities(workspace, *args: str, code: int = 0):
    tmp, rules, data = workspace
    common = ["--rules", str(rules), "--source", f"file:{data}", "--state-dir", str(tmp / "state")]
    result = CliRunner().invoke(main, ["entities", *common, *args])
    assert result.exit_code == code, result.output
    return result


def listed(workspace, *args: str) -> list[dict]:
    return json.loads(entities(workspace, "--format", "json", *args).stdout)["entities"]


def test_json_lists_every_entity_with_what_explain_needs(workspace):
    rows = listed(workspace)
    assert [(r["platform"], r["entity_id"]) for r in rows] == [
        ("meta", "m1"),
        ("pinterest", "c1"),
        ("pinterest", "g1"),
        ("pinterest", "g2"),
    ]
    g1 = next(r for r in rows if r["entity_id"] == "g1")
    assert g1 == {
        "platform": "pinterest",
        "account_id": "acct",
        "level": "ad_group",
        "entity_id": "g1",
        "name": "Spring Sale - Bot",
        "status": "paused",
        "parent_id": "c1",
    }


def test_filters_by_platform_level_and_name(workspace):
    assert [r["entity_id"] for r in listed(workspace, "--platform", "pinterest", "--level", "ad_group")] == ["g1", "g2"]
    assert [r["entity_id"] for r in listed(workspace, "--name", "spring")] == ["m1", "c1", "g1"]  # any letter case
    assert [r["entity_id"] for r in listed(workspace, "--name", "spring", "--level", "campaign")] == ["m1", "c1"]
    assert [r["entity_id"] for r in listed(workspace, "--level", "ADGROUP")] == ["g1", "g2"]  # as files may write it
    assert listed(workspace, "--name", "nothing like it") == []


def test_text_is_a_table_with_a_count(workspace):
    out = entities(workspace, "--platform", "pinterest").stdout
    header = next(line for line in out.splitlines() if "Platform" in line)
    for column in ("Platform", "Account", "Level", "Id", "Name", "Status", "Parent"):
        assert column in header
    assert "Spring Sale - Bot" in out and "3 entities" in out


def test_limit_says_how_many_more(workspace):
    doc = json.loads(entities(workspace, "--format", "json", "--limit", "2").stdout)
    assert len(doc["entities"]) == 2 and doc["total"] == 4
    assert "2 more" in entities(workspace, "--limit", "2").stdout


def test_unknown_platform_or_level_is_a_usage_error_with_the_choices(workspace):
    result = entities(workspace, "--platform", "pinterst", code=2)
    assert "pinterst" in result.output and "pinterest" in result.output and "Traceback" not in result.output
    result = entities(workspace, "--level", "adgrp", code=2)
    assert "adgrp" in result.output and "ad_group" in result.output


def test_rows_are_never_cut_or_folded_to_fit_a_narrow_terminal(workspace, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    out = entities(workspace, "--platform", "pinterest").stdout
    (row,) = [line for line in out.splitlines() if " g1 " in line]
    assert "Spring Sale - Bot" in row and "c1" in row and "acct" in row


def test_explain_points_to_entities_when_the_id_is_unknown(workspace):
    tmp, rules, data = workspace
    common = ["--rules", str(rules), "--source", f"file:{data}", "--state-dir", str(tmp / "state")]
    args = ["explain", *common, "--workflow", "pinterest/daily_optimize", "--entity", "nope"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0 and "rulerun entities --platform pinterest --name TEXT" in result.output
