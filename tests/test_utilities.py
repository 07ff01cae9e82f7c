"""Small utilities with one implementation each: durations, SQL quoting, secret scrubbing, Slack, atomic writes."""

from __future__ import annotations

import re
import socket
from datetime import timedelta

import duckdb
import pytest

from engine.apply import slack
from engine.apply.actionlog.urls import scrub_url
from engine.authoring.schemas import all_schemas
from engine.core import jsonstrict
from engine.core.secrets import scrub
from engine.language.sql import quote_ident, sql_literal
from engine.output.files import write_atomic
from engine.rules.durations import PATTERN, parse_duration
from tests.helpers.webhook import webhook


@pytest.mark.parametrize(
    "text, expected",
    [("30m", timedelta(minutes=30)), ("12h", timedelta(hours=12)), ("3d", timedelta(days=3)), ("0m", timedelta())],
)
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "3", "h", "3w", "-1d", "1.5h", "3 days", "d3"])
def test_not_durations(text):
    with pytest.raises(ValueError, match=re.escape("is not a duration; use e.g. 30m, 6h or 2d")):
        parse_duration(text)


def test_files_use_the_one_duration_notation():
    rule = all_schemas()["workflow.schema.json"]["properties"]["rules"]["items"]["properties"]
    workspace = all_schemas()["workspace.schema.json"]["properties"]["approvals"]["properties"]
    assert rule["cooldown"]["pattern"] == PATTERN == workspace["expire_after"]["pattern"]


def test_quoting_round_trips_through_duckdb():
    con = duckdb.connect()
    name, text = 'we"ird col', 'it\'s "quoted"'
    con.execute(f"CREATE TABLE t ({quote_ident(name)} VARCHAR)")
    con.execute(f"INSERT INTO t VALUES ({sql_literal(text)})")
    assert con.execute(f"SELECT {quote_ident(name)} FROM t").fetchone() == (text,)
    assert con.execute(f"SELECT {sql_literal(0.1)}, {sql_literal(None)}, {sql_literal(True)}").fetchone() == (
        0.1,
        None,
        True,
    )


def test_scrub_masks_the_longest_secret_first():
    assert scrub("token=abcdef, part=abc", ["abc", "abcdef", ""]) == "token=***, part=***"
    assert scrub("Bearer s3cr3t-t0ken", ["s3cr3t-t0ken"], mask="[redacted]") == "Bearer [redacted]"
    assert scrub("nothing here", []) == "nothing here"


def test_a_database_url_is_scrubbed_with_the_same_scrubber():
    url = "postgresql://alice:p%40ss@db.example:5432/log?sslpassword=key123"
    message = f"connection to {url} failed; password p@ss rejected; key123 unreadable"
    cleaned = scrub_url(message, url)
    assert "p@ss" not in cleaned and "p%40ss" not in cleaned and "key123" not in cleaned
    assert "postgresql://alice:***@db.example:5432/log?sslpassword=***" in cleaned


def test_slack_posts_only_when_a_webhook_is_configured(monkeypatch):
    monkeypatch.delenv(slack.SLACK_ENV, raising=False)
    assert slack.post("nobody listens") is False
    with webhook() as (url, received):
        monkeypatch.setenv(slack.SLACK_ENV, url)
        assert slack.post("hello") is True
    assert received == [{"text": "hello"}]


def test_a_failed_slack_post_never_names_the_webhook(monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(slack.SLACK_ENV, f"http://127.0.0.1:{port}/hook/SECRET-TOKEN")
    with pytest.raises(slack.SlackFailed) as exc:
        slack.post("hello")
    assert str(exc.value) == "ConnectError" and "SECRET" not in repr(exc.value)


def test_atomic_write_replaces_whole_or_leaves_the_old_file(tmp_path):
    path = tmp_path / "plan.json"
    write_atomic(path, b"old")
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    target = tmp_path / "taken"
    target.mkdir()
    with pytest.raises(OSError):
        write_atomic(target, b"data")  # cannot replace a directory
    assert target.is_dir() and sorted(p.name for p in tmp_path.iterdir()) == ["plan.json", "taken"]


@pytest.mark.parametrize(
    "text, line, col",
    [
        ('{"a": NaN}', 1, 7),
        ('{\n  "a": [1, -Infinity]\n}', 2, 12),
        ('{"NaN": "NaN", "b": 1e999}', 1, 21),
        ("[" + "9" * 400 + "]", 1, 2),
    ],
)
def test_strict_json_refuses_non_finite_numbers_where_they_are(text, line, col):
    with pytest.raises(jsonstrict.JsonError, match="not a finite number") as exc:
        jsonstrict.loads(text)
    assert (exc.value.line, exc.value.col) == (line, col)


def test_strict_json_bounds_nesting_without_recursion_errors():
    with pytest.raises(jsonstrict.JsonError, match="nested deeper than 32"):
        jsonstrict.loads("[" * 200_000 + "]" * 200_000)
    with pytest.raises(jsonstrict.JsonError, match="nested deeper than 32"):
        jsonstrict.loads("[" * 33 + "]" * 33)
    deepest = jsonstrict.loads("[" * 32 + "]" * 32)
    for _ in range(31):
        (deepest,) = deepest
    assert deepest == []


def test_one_digest_per_content_whatever_the_layout():
    value = {"b": [1, 2.5, "x"], "a": {"z": None, "y": True}}
    relaid = jsonstrict.loads('{\n  "a": {"y": true, "z": null},\n  "b": [1, 2.5, "x"]\n}')
    assert jsonstrict.digest(value) == jsonstrict.digest(relaid)
    assert jsonstrict.digest(value) != jsonstrict.digest({**value, "b": [1, 2.5, "y"]})
    with pytest.raises(ValueError):
        jsonstrict.digest({"bid": float("nan")})
