"""Saved plans (`evaluate --out`, `apply PLAN`) through the real command line.

A saved plan is a filter on a fresh evaluation: every attack below edits a plan file and
checks that nothing runs that a fresh evaluation would not run. Two layers are tested:
the action log's record refuses an edited or foreign file outright, and, with that record
rewritten to match the edited file (as someone with write access to the log could), the
fresh evaluation still decides status, cooldown, escalation, entity and values.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from engine.apply.actionlog import open_log
from engine.apply.actionlog.values import now
from engine.apply.savedplan import MAX_PLAN_BYTES, fingerprint
from tests.helpers.cli import run
from tests.test_apply import REPO, auto_actions, log_rows, rr, sandbox_calls

NEXT_DAY = "2026-11-02"
EMAIL = ("klaviyo", "activecampaign")  # the demo's email actions wait for approval too
MONEY_TYPES = ("set_budget", "change_budget", "set_bid", "change_bid")


@pytest.fixture
def ws(tmp_path):
    """A copy of the shipped rules allowing 100 actions an hour (the demo plan has more than 10)."""
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    # the store offers always wait for a human: their approval flow is tested on its own (test_live_shopify_e2e)
    shutil.rmtree(tmp_path / "rules" / "cro")
    guardrails = tmp_path / "rules" / "guardrails.yaml"
    guardrails.write_text(guardrails.read_text().replace("max_actions_per_hour: 10", "max_actions_per_hour: 100"))
    return tmp_path


def save(ws: Path, name: str = "plan.json", *extra: str) -> tuple[Path, dict]:
    path = ws / name
    res = rr(ws, "evaluate", "--dry-run", "--out", str(path), "--format", "markdown", *extra)
    assert res.returncode == 0, res.stderr
    return path, json.loads(path.read_text())


def write(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc, indent=2))


def re_record(ws: Path, doc: dict, **columns) -> None:
    """Rewrite the log's record of the plan to match an edited file, as a log writer could."""
    prints = fingerprint(doc)
    with open_log(None, ws / ".rulerun") as log:
        values = {**prints, **columns}
        sets = ", ".join(f"{c} = ?" for c in values)
        log._execute(
            f"UPDATE saved_plans SET {sets} WHERE plan_id = ?",
            [*(log._db.encode(c, v) for c, v in values.items()), doc["run_id"]],
        )


def executed_changes(ws: Path) -> dict[str, tuple[str, dict]]:
    """action id -> (entity id, the `after` the sandbox platform applied), for every executed change."""
    path = ws / ".rulerun" / "sandbox.sqlite"
    if not path.exists():
        return {}
    with sqlite3.connect(path) as con:
        rows = con.execute("SELECT action_id, entity_id, after FROM changes WHERE kind = 'execute'").fetchall()
    return {a: (entity, json.loads(after)) for a, entity, after in rows}


def assert_refused(res: subprocess.CompletedProcess, ws: Path, *phrases: str) -> None:
    assert res.returncode == 1, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    for phrase in phrases:
        assert phrase in res.stderr, res.stderr
    assert sandbox_calls(ws) == []


# -- the attacks ---------------------------------------------------------------------------------


def test_a_plan_edited_to_skip_approval_is_refused_and_the_filter_queues_it_anyway(ws):
    path, doc = save(ws)
    # the budget cut (the demo's email actions wait for approval too, untouched here)
    (waiting,) = [a for a in doc["actions"] if a["status"] == "needs_approval" and a["platform"] not in EMAIL]
    waiting["status"] = "planned"
    write(path, doc)
    res = rr(ws, "apply", str(path))
    assert_refused(res, ws, f"action {waiting['action_id']}", "was changed", "cannot be edited")

    re_record(ws, doc)  # the record no longer protects it: escalation comes from the fresh run
    res = rr(ws, "apply", str(path))
    assert res.returncode == 0, res.stderr
    assert waiting["action_id"] not in sandbox_calls(ws)
    queued = json.loads(rr(ws, "approvals", "list", "--format", "json").stdout)
    assert [q["action_id"] for q in queued if q["platform"] not in EMAIL] == [waiting["action_id"]]


def test_a_next_day_plan_without_cooldowns_cannot_repeat_bid_changes(ws):
    assert rr(ws, "apply").returncode == 0
    bids = {r["entity_id"] for r in log_rows(ws, "--status", "executed") if r["action_type"] == "change_bid"}
    assert bids
    before = sandbox_calls(ws)
    path, doc = save(ws, "next.json", "--as-of", NEXT_DAY)
    # the bid changes of rules with a cooldown proposed again the next day, held by the cooldown
    again = [a for a in doc["actions"] if a["type"] == "change_bid" and a["entity_id"] in bids and a["cooldown"]]
    assert again and all(a["status"] == "skipped" and a["reasons"][-1].startswith("cooldown ") for a in again)
    cooldowns = {a["action_id"]: a["cooldown"] for a in again}
    for a in again:  # the attack: no cooldown, and planned
        a["cooldown"], a["status"], a["reasons"] = None, "planned", a["reasons"][:-1]
    write(path, doc)
    refused = rr(ws, "apply", str(path))
    assert refused.returncode == 1 and "was changed" in refused.stderr

    re_record(ws, doc)
    res = rr(ws, "apply", str(path))
    assert res.returncode == 0, res.stderr
    assert not {a["action_id"] for a in again} & set(sandbox_calls(ws)[len(before) :])
    rows = {r["action_id"]: r for r in log_rows(ws)}
    assert all(f"cooldown {cooldowns[a['action_id']]}" in rows[a["action_id"]]["status_reason"] for a in again)


def test_a_far_future_generated_at_does_not_make_a_plan_young(ws):
    path, doc = save(ws)
    doc["generated_at"] = "2099-01-01T00:00:00+00:00"
    write(path, doc)
    assert_refused(rr(ws, "apply", str(path)), ws, "field 'generated_at' was changed")

    re_record(ws, doc, saved_at=now() - timedelta(hours=7))  # the age comes from the log
    assert_refused(rr(ws, "apply", str(path)), ws, "older than the 6.0h allowed")


def test_a_pause_re_pointed_at_another_entity_never_executes(ws):
    path, doc = save(ws)
    # the victim: a live entity (its budget or bid is being changed) at the pause's level, paused by no rule
    paused = {(a["level"], a["entity_id"]) for a in doc["actions"] if a["type"] == "pause"}
    pause, victim = next(
        (p, v)
        for p in doc["actions"]
        if p["type"] == "pause" and p["status"] == "planned"
        for v in doc["actions"]
        if v["level"] == p["level"] and (v["level"], v["entity_id"]) not in paused and v["type"] in MONEY_TYPES
    )
    original = pause["entity_id"]
    pause["entity_id"], pause["entity_name"] = victim["entity_id"], victim["entity_name"]
    write(path, doc)
    assert_refused(rr(ws, "apply", str(path)), ws, f"action {pause['action_id']}")

    re_record(ws, doc)
    res = rr(ws, "apply", str(path))
    assert res.returncode == 0, res.stderr
    assert "differs from the saved plan: entity_id" in res.stderr
    changes = executed_changes(ws)
    assert changes and pause["action_id"] not in changes
    assert not any(
        entity == victim["entity_id"] and after.get("status") == "paused" for entity, after in changes.values()
    )
    row = next(r for r in log_rows(ws) if r["action_id"] == pause["action_id"])
    assert row["entity_id"] == original and row["status"] == "skipped"
    assert any(r.startswith("differs from the saved plan: entity_id") for r in row["reasons"]), row["reasons"]


def test_an_edited_after_value_is_skipped_and_only_fresh_values_run(ws):
    path, doc = save(ws)
    fresh = {a["action_id"]: (a["entity_id"], a["after"]) for a in doc["actions"]}
    bid = next(a for a in doc["actions"] if a["type"] == "change_bid" and a["status"] == "planned")
    bid["after"]["bid"] = round(bid["after"]["bid"] * 3, 2)
    write(path, doc)
    assert_refused(rr(ws, "apply", str(path)), ws, f"action {bid['action_id']}")

    re_record(ws, doc)
    res = rr(ws, "apply", str(path))
    assert res.returncode == 0, res.stderr
    changes = executed_changes(ws)
    assert changes and bid["action_id"] not in changes
    assert all(fresh[i] == change for i, change in changes.items())  # exactly what the evaluation proposed


@pytest.mark.parametrize(
    "field, token",
    [("after", "NaN"), ("before", "NaN"), ("after", "Infinity"), ("before", "-Infinity"), ("after", "1e999")],
)
def test_non_finite_numbers_refuse_the_whole_plan_before_any_change(ws, field, token):
    path, doc = save(ws)
    text = path.read_text()
    # the plan's last bid change: a half-done apply would have run the others first
    last = [a for a in doc["actions"] if a["type"] == "change_bid"][-1]
    at = text.index(f'"{field}": {{', text.index(f'"action_id": "{last["action_id"]}"'))
    number = re.compile(r'"bid": (-?[0-9][0-9.eE+-]*)').search(text, at)
    line = text.count("\n", 0, number.start(1)) + 1
    col = number.start(1) - text.rfind("\n", 0, number.start(1))
    path.write_text(text[: number.start(1)] + token + text[number.end(1) :])
    assert_refused(rr(ws, "apply", str(path)), ws, f"{path}:{line}:{col}:", "not a finite number")


# -- bad files and arguments ---------------------------------------------------------------------


def _plan_variants(doc: dict) -> dict[str, tuple[bytes, str]]:
    """name -> (file content, a phrase the error must contain)."""

    def with_fields(**changes) -> bytes:
        edited = dict(doc)
        for key, value in changes.items():
            if value is None:
                del edited[key]
            else:
                edited[key] = value
        return json.dumps(edited).encode()

    text = json.dumps(doc, indent=2)
    return {
        "latin-1": (text.replace('"demo"', '"d\u00e9mo"').encode("latin-1"), "not UTF-8"),
        "utf-16": (text.encode("utf-16"), "UTF-16"),
        "utf-16-no-bom": (text.encode("utf-16-le"), "UTF-16"),
        "nested": (b"[" * 200_000 + b"]" * 200_000, "nested deeper than"),
        "empty": (b"", "empty"),
        "not-json": (b"{plan: yes}", ":1:2:"),
        "no-generated-at": (with_fields(generated_at=None), "generated_at is missing"),
        "garbage-generated-at": (with_fields(generated_at="yesterday-ish"), "is not a date and time"),
        "naive-generated-at": (with_fields(generated_at="2026-11-01T06:00:00"), "has no timezone"),
        "garbage-as-of": (with_fields(as_of="2026-13-45"), "is not a date"),
        "ancient-as-of": (with_fields(as_of="0001-01-01"), "outside the supported dates"),
        "wrong-shape": (with_fields(actions={"a": 1}), "$.actions"),
    }


def test_bad_plan_files_are_clear_errors_before_anything_runs(ws):
    _, doc = save(ws)
    for name, (content, phrase) in _plan_variants(doc).items():
        bad = ws / f"{name}.json"
        bad.write_bytes(content)
        res = rr(ws, "apply", str(bad))
        assert res.returncode == 1 and "Traceback" not in res.stderr, (name, res.stderr)
        assert phrase in res.stderr, (name, res.stderr)
    assert_refused(rr(ws, "apply", str(ws)), ws, "is a directory")
    assert sandbox_calls(ws) == []


def test_a_plan_file_over_the_size_cap_is_refused_unread(ws):
    big = ws / "big.json"
    with big.open("wb") as f:
        f.truncate(MAX_PLAN_BYTES + 1)  # sparse: no disk used
    assert_refused(rr(ws, "apply", str(big)), ws, "larger than 100 MiB")


def test_a_plan_never_saved_to_this_action_log_is_refused(ws):
    path, _ = save(ws)
    other = ws / "elsewhere"
    res = run("apply", str(path), "--rules", str(ws / "rules"), "--state-dir", str(other), cwd=ws)
    assert res.returncode == 1 and "was never saved to the action log" in res.stderr, res.stderr
    assert not (other / "sandbox.sqlite").exists()


def test_added_and_removed_actions_are_named(ws):
    path, doc = save(ws)
    removed = doc["actions"].pop(0)
    added = {**doc["actions"][0], "action_id": "feedfacecafebeef"}
    doc["actions"].append(added)
    write(path, doc)
    res = rr(ws, "apply", str(path))
    assert_refused(res, ws, f"action {removed['action_id']} was removed", "action feedfacecafebeef", "was added")


@pytest.mark.parametrize("flags", [["--source", "demo"], ["--as-of", "2026-10-01"], ["--workflow", "google"]])
def test_a_saved_plan_refuses_settings_it_would_ignore(ws, flags):
    path, _ = save(ws)
    res = rr(ws, "apply", str(path), *flags)
    assert res.returncode == 2 and f"leave out {flags[0]}" in res.stderr, res.stderr
    assert sandbox_calls(ws) == []  # nothing ran


def test_an_unedited_plan_runs_what_the_fresh_run_allows_and_queues_approvals(ws):
    path, doc = save(ws)
    path.write_text(json.dumps(doc))  # re-indenting is no edit: the digest is of the content
    res = rr(ws, "apply", str(path))
    assert res.returncode == 0, res.stderr
    assert sorted(sandbox_calls(ws)) == sorted(auto_actions(doc))
    queued = json.loads(rr(ws, "approvals", "list", "--format", "json").stdout)
    assert [q["status"] for q in queued if q["platform"] not in EMAIL] == ["needs_approval"]
    assert {q["status"] for q in queued} == {"needs_approval"}  # the email actions wait too
    (run_row,) = [r for r in _runs(ws) if r["plan_id"]]
    assert run_row["plan_id"] == doc["run_id"] and run_row["rules_digest"] == doc["rules_digest"]


def _runs(ws: Path) -> list[dict]:
    with sqlite3.connect(ws / ".rulerun" / "actions.sqlite") as con:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute("SELECT * FROM runs")]


# -- the rules the plan was made with ------------------------------------------------------------


def _git(ws: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(ws), *args], check=True, capture_output=True)


def _repo(ws: Path) -> None:
    _git(ws, "init", "-q")
    _git(ws, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", "rules")
    _git(ws, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "rules")


def _loosen(ws: Path) -> None:
    guardrails = ws / "rules" / "guardrails.yaml"
    guardrails.write_text(guardrails.read_text() + "\n# edited after the plan was saved\n")


def test_rules_edited_since_the_plan_are_read_back_from_its_commit(ws, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(ws.parent))
    _repo(ws)
    path, doc = save(ws)
    _loosen(ws)  # the working rules' digest is no longer the plan's
    res = rr(ws, "apply", str(path))
    assert res.returncode == 0, res.stderr
    assert "rules read from its commit" in res.stderr
    assert sorted(sandbox_calls(ws)) == sorted(auto_actions(doc))
    (run_row,) = [r for r in _runs(ws) if r["plan_id"]]
    assert run_row["rules_digest"] == doc["rules_digest"] and re.fullmatch(r"[0-9a-f]{40}", run_row["git_commit"])


def test_rules_matching_neither_the_working_tree_nor_the_commit_are_refused(ws, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(ws.parent))
    _repo(ws)
    _loosen(ws)  # saved from uncommitted rules...
    path, _ = save(ws)
    _loosen(ws)  # ...that changed again
    assert_refused(rr(ws, "apply", str(path)), ws, "the rules changed since plan", "not the ones it was made with")


def test_rules_changed_outside_git_are_refused(ws, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(ws.parent))
    path, _ = save(ws)
    _loosen(ws)
    assert_refused(rr(ws, "apply", str(path)), ws, "no git commit was recorded")
