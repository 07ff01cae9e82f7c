"""`rulerun diff` compares the settings too: guardrails, thresholds and autonomy, flagging what loosens."""

from __future__ import annotations

import shutil

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from engine.authoring.settings_diff import compare_settings
from engine.core.actions import ACTIONS
from engine.core.catalog import load_catalog
from engine.rules.autonomy import LEVELS
from engine.rules.guardrails import GUARDRAILS
from engine.rules.loader import load_project
from engine.rules.model import Operator, Project
from tests.helpers.cli import REPO

CATALOG = load_catalog()


def copy(tmp_path, name: str):
    shutil.copytree(REPO / "rules", tmp_path / name)
    return tmp_path / name


def edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def changes(tmp_path, *edits, base_edits=()):
    base, head = copy(tmp_path, "base"), copy(tmp_path, "head")
    for rel, old, new in base_edits:
        edit(base / rel, old, new)
    for rel, old, new in edits:
        edit(head / rel, old, new)
    return compare_settings(load_project(base, CATALOG), load_project(head, CATALOG))


def test_identical_rules_have_no_setting_changes(tmp_path):
    assert changes(tmp_path) == []


def test_a_loosened_global_guardrail_is_flagged_at_its_line(tmp_path):
    (c,) = changes(tmp_path, ("guardrails.yaml", "max_bid_change_pct: 20 ", "max_bid_change_pct: 35 "))
    assert (c.kind, c.scope, c.name, c.before, c.after, c.loosens) == (
        "guardrail",
        "global",
        "max_bid_change_pct",
        20,
        35,
        True,
    )
    assert c.file.endswith("guardrails.yaml") and c.line == 6
    assert c.describe() == "guardrail max_bid_change_pct: 20 -> 35 (loosens a global limit)"


def test_a_tightened_guardrail_is_reported_but_not_flagged(tmp_path):
    (c,) = changes(tmp_path, ("guardrails.yaml", "min_mer_for_increase: 2.0", "min_mer_for_increase: 2.5"))
    assert (c.name, c.before, c.after, c.loosens) == ("min_mer_for_increase", 2, 2.5, False)
    assert c.describe() == "guardrail min_mer_for_increase: 2 -> 2.50"


def test_a_switched_off_boolean_guardrail_loosens(tmp_path):
    (c,) = changes(
        tmp_path, ("guardrails.yaml", "brand_campaigns_no_auto_pause: true", "brand_campaigns_no_auto_pause: false")
    )
    assert (c.before, c.after, c.loosens) == (True, False, True)


def test_removing_an_operator_override_loosens_that_operator(tmp_path):
    override = "  learning_phase_no_changes: true"
    (c,) = changes(tmp_path, base_edits=[("tiktok/operator.yaml", override, override + "\n  max_bid_change_pct: 10")])
    assert (c.kind, c.scope, c.name, c.before, c.after, c.loosens) == (
        "guardrail",
        "tiktok",
        "max_bid_change_pct",
        10,
        20,
        True,
    )
    assert c.file.endswith("tiktok/operator.yaml")


def test_a_global_change_is_not_repeated_for_every_operator(tmp_path):
    found = changes(tmp_path, ("guardrails.yaml", "max_daily_spend_cap: 5000", "max_daily_spend_cap: 4000"))
    assert [(c.scope, c.name) for c in found] == [("global", "max_daily_spend_cap")]


def test_threshold_changes_show_both_values(tmp_path):
    found = changes(
        tmp_path,
        ("pinterest/operator.yaml", "min_outbound_ctr: 0.005", "min_outbound_ctr: 0.004"),
        ("meta/operator.yaml", "    default: 250", "    default: 275"),
    )
    by_name = {(c.scope, c.name): c for c in found}
    ctr = by_name[("pinterest", "min_outbound_ctr")]
    assert (ctr.kind, ctr.before, ctr.after, ctr.loosens) == ("threshold", 0.005, 0.004, False)
    assert ctr.line is not None and ctr.file.endswith("pinterest/operator.yaml")
    cpa = by_name[("meta", "target_cpa")]
    assert cpa.before["default"] == 250 and cpa.after["default"] == 275
    assert "default: 250" in cpa.describe() and "default: 275" in cpa.describe()


def test_autonomy_towards_execution_loosens_and_towards_dry_run_does_not(tmp_path):
    text = (REPO / "rules/pinterest/operator.yaml").read_text()
    assert "autonomy" not in text  # the shipped operator relies on the defaults
    looser = changes(
        tmp_path,
        ("pinterest/operator.yaml", "thresholds:", "autonomy:\n  notify: dry_run\nthresholds:"),
        base_edits=[("pinterest/operator.yaml", "thresholds:", "autonomy:\n  default: dry_run\nthresholds:")],
    )
    # one line per (before, after) pair: every other action type becomes auto again; notify stays
    groups = {(c.before, c.after): c for c in looser}
    assert set(groups) == {("dry_run", "auto")}
    assert all(c.kind == "autonomy" and c.scope == "pinterest" and c.loosens for c in looser)
    assert "pause" in groups[("dry_run", "auto")].name.split(", ")
    assert "notify" not in groups[("dry_run", "auto")].name.split(", ")
    stricter = compare_settings(*reversed([load_project(tmp_path / n, CATALOG) for n in ("base", "head")]))
    assert [(c.after, c.loosens) for c in stricter] == [("dry_run", False)]


ESCALATION = """\
escalation:
  - id: big_bid_cut
    when: action.type == 'change_bid' and action.pct < -10
    reason: big bid cuts need a human
thresholds:"""


def test_a_removed_escalation_rule_loosens_and_a_changed_one_is_listed(tmp_path):
    (removed,) = changes(tmp_path, base_edits=[("pinterest/operator.yaml", "thresholds:", ESCALATION)])
    assert (removed.kind, removed.scope, removed.name, removed.after, removed.loosens) == (
        "escalation",
        "pinterest",
        "big_bid_cut",
        None,
        True,
    )
    assert removed.before == "action.type == 'change_bid' and action.pct < -10"
    shutil.rmtree(tmp_path / "base")
    shutil.rmtree(tmp_path / "head")
    (changed,) = changes(
        tmp_path,
        ("pinterest/operator.yaml", "thresholds:", ESCALATION.replace("< -10", "< -30")),
        base_edits=[("pinterest/operator.yaml", "thresholds:", ESCALATION)],
    )
    assert (changed.name, changed.after, changed.loosens) == (
        "big_bid_cut",
        "action.type == 'change_bid' and action.pct < -30",
        False,
    )
    assert changed.line == 7 and changed.file.endswith("pinterest/operator.yaml")


# -- property: every difference is reported, and exactly the loosening ones are flagged ------------

GUARDRAIL_VALUE = {
    "boolean": st.booleans(),
    "integer": st.integers(0, 1000),
    "number": st.sampled_from([0.0, 1.0, 2.0, 5.0, 20.0, 500.0, 5000.0]),
}


@st.composite
def settings(draw):
    guardrails = {
        name: draw(GUARDRAIL_VALUE[g.type]) if draw(st.booleans()) else g.default for name, g in GUARDRAILS.items()
    }
    autonomy = draw(st.dictionaries(st.sampled_from(["default", *ACTIONS]), st.sampled_from(LEVELS), max_size=4))
    return guardrails, autonomy


def project(tmp_path, guardrails: dict, autonomy: dict) -> Project:
    op = Operator("ops", "google", "", {}, tmp_path / "ops", "ops/operator.yaml", dict(guardrails), [], autonomy)
    return Project(tmp_path, dict(guardrails), None, {"ops": op}, [])


def stricter_or_equal(name: str, before, after) -> bool:
    """The oracle, from the guardrail's declared direction only."""
    direction = GUARDRAILS[name].tighter
    if direction == "true":
        return bool(after) or not bool(before)
    return after <= before if direction == "lower" else after >= before


@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=settings(), head=settings())
def test_every_change_is_listed_and_only_loosenings_are_flagged(tmp_path_factory, base, head):
    tmp = tmp_path_factory.mktemp("p")
    found = compare_settings(project(tmp, *base), project(tmp, *head))
    guardrails = {c.name: c for c in found if c.kind == "guardrail"}
    assert all(c.scope == "global" for c in guardrails.values())  # operators only follow the global values here
    assert set(guardrails) == {k for k in GUARDRAILS if base[0][k] != head[0][k]}
    for name, c in guardrails.items():
        assert c.loosens == (not stricter_or_equal(name, base[0][name], head[0][name]))
    old_op, new_op = project(tmp, *base).operators["ops"], project(tmp, *head).operators["ops"]
    autonomy = [c for c in found if c.kind == "autonomy"]
    listed = {t: c for c in autonomy for t in c.name.split(", ")}
    assert set(listed) == {t for t in ACTIONS if old_op.autonomy_for(t) != new_op.autonomy_for(t)}
    for t, c in listed.items():
        before, after = old_op.autonomy_for(t), new_op.autonomy_for(t)
        assert (c.before, c.after) == (before, after)
        assert c.loosens == (after in ("approve", "auto") and LEVELS.index(after) > LEVELS.index(before))
