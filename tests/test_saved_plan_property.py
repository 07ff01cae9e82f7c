"""Property: an edited saved plan only ever executes a subset of what a fresh evaluation would,
with the same changes.

Two levels. `narrow` (the filter) gets arbitrary edits of a real demo plan's actions and any
fresh statuses, many examples. End to end, a real `apply PLAN` runs on a copy of a workspace
where the day before was applied (so cooldowns matter), with arbitrary edits of the saved
file (status, cooldown, entity, type, after values, action ids, generated_at, as_of, added
and removed actions) and, half the time, the action log's record rewritten to match the
edited file (as someone with write access to the log could). The oracle is a normal
`apply` at that moment on another copy of the same workspace: whatever the saved plan
executes must be among what it executed, with the same after values.
HYPOTHESIS_PROFILE=nightly runs many more examples.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.apply.actionlog import open_log
from engine.apply.executor import executable
from engine.apply.savedplan import CHANGE, GO, fingerprint, narrow
from engine.apply.service import apply
from engine.core.actions import ACTIONS
from engine.core.catalog import load_catalog
from engine.core.errors import RulerunError
from engine.core.plan import STATUSES, PlannedAction
from engine.data.sources import parse_source
from engine.data.store import Store
from engine.evaluation.evaluate import build_plan, default_as_of
from engine.rules.loader import load_project
from engine.rules.service import open_project
from tests.helpers.cli import REPO, run

NIGHTLY = os.environ.get("HYPOTHESIS_PROFILE") == "nightly"
PIPELINE = ("planned", "clamped", "blocked", "needs_approval", "skipped")
NEXT_DAY = "2026-11-02"
numbers = st.one_of(st.integers(-10, 10_000), st.floats(-1e6, 1e6, allow_nan=False))


def _rank(status: str) -> int:
    return 0 if status in GO else 1 if status == "needs_approval" else 2


# -- the filter --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_plan(tmp_path_factory):
    catalog = load_catalog()
    project = load_project(REPO / "rules", catalog)
    with Store(tmp_path_factory.mktemp("state")) as store:
        loaded = store.load(parse_source("demo"), catalog)
        plan = build_plan(store.con, loaded, catalog, project, project.workflows, default_as_of(loaded))

    def autonomy_of(a: PlannedAction) -> str:
        return project.operators[a.workflow.split("/", 1)[0]].autonomy_for(a.type)

    return plan, autonomy_of


# the edits that would widen a plan if the file were trusted come up more often
EDITS = (
    "unlock",
    "unlock",
    "unlock",
    "status",
    "status",
    "cooldown",
    "cooldown",
    "entity",
    "after",
    "type",
    "action_id",
    "before",
    "params",
    "remove",
    "add",
)
WIDENING_STATUSES = ("planned", "planned", "clamped", *STATUSES)


@st.composite
def edited_actions(draw, docs: list[dict], most: int, hot: frozenset[str] = frozenset()) -> list[dict]:
    """Up to `most` arbitrary edits of a plan's actions: every field that matters, removals, additions.
    Actions in `hot` (ids) are picked more often: those a trusted file would let through."""
    ids = [d["action_id"] for d in docs]
    entities = sorted({d["entity_id"] for d in docs})
    out = copy.deepcopy(docs)
    for _ in range(draw(st.integers(0, most))):
        kind = draw(st.sampled_from(EDITS))
        if kind == "add":  # a copy of another action, re-pointed
            extra = copy.deepcopy(draw(st.sampled_from(docs)))
            extra["entity_id"] = draw(st.sampled_from(entities))
            extra["status"] = draw(st.sampled_from(STATUSES))
            out.insert(draw(st.integers(0, len(out))), extra)
            continue
        if not out:
            continue
        hot_ones = [j for j, d in enumerate(out) if d["action_id"] in hot]
        i = draw(st.sampled_from(hot_ones)) if hot_ones and draw(st.booleans()) else draw(st.integers(0, len(out) - 1))
        d = out[i]
        if kind == "remove":
            del out[i]
        elif kind == "unlock":  # what an edit to run something held back would do
            d["status"], d["cooldown"] = "planned", None
        elif kind == "status":
            d["status"] = draw(st.sampled_from(WIDENING_STATUSES))
        elif kind == "cooldown":
            d["cooldown"] = draw(st.sampled_from([None, None, "1m", "3d", "99999d"]))
        elif kind == "entity":
            d["entity_id"] = draw(st.sampled_from([*entities, "not-an-entity"]))
        elif kind == "type":
            d["type"] = draw(st.sampled_from(sorted(ACTIONS)))
        elif kind == "action_id":
            d["action_id"] = draw(st.sampled_from([*ids, "feedfacecafebeef"]))
        elif kind == "params":
            d["params"] = {**d["params"], "by_pct": draw(numbers)}
        else:  # after, before: every number replaced
            d[kind] = {k: draw(numbers) if isinstance(v, int | float) else v for k, v in d[kind].items()}
    return out


@settings(max_examples=2000 if NIGHTLY else 300, deadline=None)
@given(data=st.data())
def test_narrowing_never_widens_a_fresh_plan(demo_plan, data):
    plan, autonomy_of = demo_plan
    fresh = copy.deepcopy(plan)
    for a in fresh.actions:  # any fresh verdict, not only the demo's
        a.status = data.draw(st.sampled_from(PIPELINE))
    untouched = copy.deepcopy(fresh)
    edits = data.draw(edited_actions([a.to_dict() for a in plan.actions], most=12))
    saved = [PlannedAction.from_dict(d) for d in edits]

    narrowed = narrow(fresh, saved)

    assert fresh == untouched  # the fresh plan is read, never changed
    by_id = {a.action_id: a for a in fresh.actions}
    saved_by_id: dict[str, PlannedAction] = {}
    for s in saved:
        saved_by_id.setdefault(s.action_id, s)
    runnable = {a.action_id for a in executable(fresh, autonomy_of)}
    for a in narrowed.plan.actions:
        f = by_id[a.action_id]  # nothing that the fresh run did not propose
        assert {**a.to_dict(), "status": None, "reasons": None} == {**f.to_dict(), "status": None, "reasons": None}
        assert _rank(a.status) >= _rank(f.status)  # a status only ever gets stricter
        s = saved_by_id[a.action_id]
        if all(getattr(s, name) == getattr(f, name) for name in CHANGE):
            assert _rank(a.status) >= _rank(s.status)  # the plan can hold an action back
        else:
            assert a.status == "skipped"  # another change than the plan's never goes ahead
    assert {a.action_id for a in executable(narrowed.plan, autonomy_of)} <= runnable


# -- end to end --------------------------------------------------------------------------------


def _changes(state: Path) -> dict[str, tuple[str, str]]:
    path = state / "sandbox.sqlite"
    if not path.exists():
        return {}
    with sqlite3.connect(path) as con:
        rows = con.execute("SELECT action_id, entity_id, after FROM changes WHERE kind = 'execute'").fetchall()
    return {a: (entity, after) for a, entity, after in rows}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A workspace where yesterday's apply ran, today's plan saved, and what a normal apply runs today."""
    assert "RULERUN_SLACK_WEBHOOK" not in os.environ
    root = tmp_path_factory.mktemp("workspace")
    shutil.copytree(REPO / "rules", root / "rules")
    guardrails = root / "rules" / "guardrails.yaml"
    guardrails.write_text(guardrails.read_text().replace("max_actions_per_hour: 10", "max_actions_per_hour: 100"))
    env = {"RULERUN_USER": "tester"}
    assert run("apply", "--rules", str(root / "rules"), cwd=root, env=env).returncode == 0
    saved = run(
        "evaluate", "--rules", str(root / "rules"), "--as-of", NEXT_DAY, "--out", "plan.json", cwd=root, env=env
    )
    assert saved.returncode == 0, saved.stderr
    yesterday = _changes(root / ".rulerun")
    reference = root.parent / "reference"
    shutil.copytree(root, reference)
    res = run("apply", "--all", "--rules", str(reference / "rules"), "--as-of", NEXT_DAY, cwd=reference, env=env)
    assert res.returncode == 0, res.stderr
    today = {k: v for k, v in _changes(reference / ".rulerun").items() if k not in yesterday}
    assert today, "a normal apply on the next day should execute something"
    return root, json.loads((root / "plan.json").read_text()), yesterday, today


@st.composite
def edited_plans(draw, doc: dict) -> dict:
    edited = copy.deepcopy(doc)
    # held back today: waiting for a human, blocked, skipped, or in a cooldown since yesterday
    hot = frozenset(a["action_id"] for a in doc["actions"] if a["status"] not in GO or a["cooldown"])
    edited["actions"] = draw(edited_actions(doc["actions"], most=3, hot=hot))
    if draw(st.integers(0, 7)) == 0:
        stamp = draw(st.sampled_from([None, "2099-01-01T00:00:00+00:00", "garbage", "2026-11-02T06:00:00"]))
        if stamp is None:
            del edited["generated_at"]
        else:
            edited["generated_at"] = stamp
    if draw(st.integers(0, 7)) == 0:
        edited["as_of"] = draw(st.sampled_from(["2026-11-01", "2026-13-01", "0001-01-01"]))
    if draw(st.integers(0, 9)) == 0:
        edited["actions"][0:0] = [{**doc["actions"][0], "after": {"bid": float("nan")}}]
    return edited


def _rewrite_record(state: Path, plan_id: str, edited: dict) -> None:
    """Make the log's record of the plan match the edited file (a file with NaN has no digest)."""
    try:
        prints = fingerprint(edited)
    except ValueError:
        return
    with open_log(None, state) as log:
        log._execute(
            "UPDATE saved_plans SET digest = ?, field_digests = ?, action_digests = ? WHERE plan_id = ?",
            (prints["digest"], json.dumps(prints["field_digests"]), json.dumps(prints["action_digests"]), plan_id),
        )


@settings(
    max_examples=200 if NIGHTLY else 40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_an_edited_saved_plan_executes_a_subset_of_a_fresh_apply(workspace, data):
    root, doc, yesterday, today = workspace
    edited = data.draw(edited_plans(doc))
    rewrite_record = data.draw(st.integers(0, 3)) > 0
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        shutil.copytree(root, ws)
        plan = ws / "plan.json"
        plan.write_text(json.dumps(edited))  # NaN is written as NaN: the reader must refuse it
        if rewrite_record:
            _rewrite_record(ws / ".rulerun", doc["run_id"], edited)
        with contextlib.suppress(RulerunError):  # refused: then nothing may have run
            apply(open_project(str(ws / "rules"), str(ws / ".rulerun")), plan_path=str(plan), by="tester")
        ran = {k: v for k, v in _changes(ws / ".rulerun").items() if k not in yesterday}
    assert ran.items() <= today.items(), {k: v for k, v in ran.items() if today.get(k) != v}
