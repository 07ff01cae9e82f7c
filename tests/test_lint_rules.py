"""`rulerun lint`: rules that load but are probably wrong (engine/lint.py)."""

from __future__ import annotations

import itertools
import random
import textwrap
from pathlib import Path

import pytest

from engine.authoring.lint import lint_project
from engine.cli.check_commands import lint_command
from engine.core.catalog import load_catalog
from engine.core.errors import ValidationFailed
from engine.rules.loader import load_project
from tests.helpers.rules import write_rules

REPO = Path(__file__).resolve().parent.parent
CATALOG = load_catalog()

OPERATOR = """\
operator: pinterest
platform: pinterest
thresholds:
  target_cpa: 300
  per_product_cpa: {default: 250, bot: 300, dot: 220}
"""
# Rules that use every threshold above, so that only the rules under test draw warnings.
USES_ALL = """\
- id: uses_thresholds
  when: >-
    cpa > thresholds.target_cpa and cpa > thresholds.per_product_cpa
  action: {type: notify}
"""


def workflow(rules: str, name: str = "daily", level: str = "ad_group") -> str:
    head = f'workflow: {name}\noperator: pinterest\nschedule: "0 6 * * *"\nlevel: {level}\nwindow: last_7d\nrules:\n'
    return head + textwrap.indent(textwrap.dedent(rules) + USES_ALL, "  ")


def rules_dir(
    tmp_path: Path, rules: str, operator: str = OPERATOR, tested: bool = True, more: dict | None = None
) -> Path:
    files = {"pinterest/operator.yaml": operator, "pinterest/daily.yaml": workflow(rules)}
    if tested:
        files["pinterest/daily.test.yaml"] = "cases: []\n"  # lint only looks for the file
    return write_rules(tmp_path, files | (more or {}))


def lint(tmp_path: Path, rules: str, **kw) -> list:
    return lint_project(load_project(rules_dir(tmp_path, rules, **kw), CATALOG))


def codes(tmp_path: Path, rules: str, **kw) -> list[tuple[str, str]]:
    """(code, first quoted rule id) of every warning."""
    return [(d.code, d.message.split("'")[1]) for d in lint(tmp_path, rules, **kw)]


def one_rule(when: str, action: str = "pause") -> str:
    return f'- id: r\n  when: "{when}"\n  action: {action}\n'


# -- never-fires -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "when",
    [
        "spend > 500 and spend < 100",
        "spend > 100 and spend <= 100",
        "spend >= 100 and spend < 100",
        "spend == 100 and spend != 100",
        "spend == 100 and spend > 200",
        "status == 'active' and status == 'paused'",
        "status in ['active', 'paused'] and status == 'removed'",
        "status not in ['active', 'paused'] and status == 'active'",
        "is_brand and not is_brand",
        "is_brand == true and is_brand == false",
        "'brand' in labels and 'brand' not in labels",
        "is_null(cpa) and cpa > 5",
        "1 < roas < 3 and roas > 5",
        "spend > 2 * thresholds.target_cpa and spend < 500",
        "not (spend > 100) and spend > 200",
        "last_7d.spend > 500 and spend < 100",
        "spend > 500 and clicks > 3 and (spend < 100 or spend < 50)",
        "clicks > 3 and (spend > 500 and spend < 100)",
        "1 > 2",
        "false",
        "spend > 0 and 2 > 3",
        "spend > 100 / 0",
    ],
)
def test_contradictory_conditions_never_fire(tmp_path, when):
    (d,) = lint(tmp_path, one_rule(when))
    assert (d.code, d.severity) == ("never-fires", "warning")
    assert d.message.startswith("rule 'r' can never fire: ")
    assert d.hint


@pytest.mark.parametrize(
    "when",
    [
        "spend > 100 and spend < 500",
        "spend >= 100 and spend <= 100",
        "spend > 100 and spend != 200",
        "status in ['active', 'paused'] and status == 'paused'",
        "status != 'active' and status != 'paused'",
        "spend > 500 and prev.spend < 100",
        "spend > 500 and last_30d.spend < 100",
        "spend > 500 and (spend < 100 or clicks > 3)",
        "spend > 500 or spend < 100",
        "not (spend > 100) and not (spend < 50)",
        "not is_brand and not (is_brand == false)",
        "spend > clicks and spend < clicks",
        "spend > 2 * thresholds.target_cpa and spend < 700",
    ],
)
def test_satisfiable_conditions_are_fine(tmp_path, when):
    assert lint(tmp_path, one_rule(when)) == []


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("spend > 2 * thresholds.target_cpa and spend < 500", "`spend > 600` and `spend < 500` cannot all hold"),
        ("is_brand and not is_brand", "`is_brand` and `not is_brand` cannot all hold"),
        ("false", "its condition is `false`"),
        ("spend > 100 and (spend < 50 or spend < 10)", "no side of `spend < 50 or spend < 10` fits the other"),
        (
            "cpa > thresholds.per_product_cpa and cpa < 200",
            "`cpa > 250` and `cpa < 200` cannot all hold (with every product's threshold values)",
        ),
    ],
)
def test_the_message_says_why(tmp_path, when, message):
    (d,) = lint(tmp_path, one_rule(when))
    assert message in d.message


def test_warning_is_at_the_rule(tmp_path):
    rules = "- id: fine\n  when: spend > 1\n  action: pause\n" + one_rule("spend > 5 and spend < 1")
    (d,) = lint(tmp_path, rules)
    assert d.file.endswith("daily.yaml") and (d.line, d.col) == (10, 5)


@pytest.mark.parametrize(
    ("when", "warns"),
    [
        ("cpa > thresholds.per_product_cpa and cpa < 260", False),  # default (250) can fire
        ("cpa > thresholds.per_product_cpa and cpa < 230", False),  # dot (220) can fire
        ("cpa > thresholds.per_product_cpa and cpa < 200", True),  # no product can
        ("product == 'dot' and cpa > thresholds.per_product_cpa and cpa < 230", False),
        ("product == 'bot' and cpa > thresholds.per_product_cpa and cpa < 260", True),
        ("product == 'board' and cpa > thresholds.per_product_cpa and cpa < 240", True),
    ],
)
def test_per_product_thresholds_warn_only_when_no_product_can_fire(tmp_path, when, warns):
    found = lint(tmp_path, one_rule(when))
    assert [d.code for d in found] == (["never-fires"] if warns else [])


def test_disabled_rules_are_still_checked(tmp_path):
    rules = "- id: r\n  enabled: false\n  when: spend > 5 and spend < 1\n  action: pause\n"
    assert codes(tmp_path, rules) == [("never-fires", "r")]


# -- shadowed --------------------------------------------------------------------------------------


def test_a_safer_rule_with_a_subset_of_the_conditions_shadows(tmp_path):
    rules = """\
    - id: cut
      when: cpa > 100
      action: {type: change_bid, by_pct: -20}
    - id: trim
      when: cpa > 100 and clicks > 50
      action: {type: change_bid, by_pct: -10}
    """
    (d,) = lint(tmp_path, rules)
    assert (d.code, d.line) == ("shadowed", 10)
    assert "'trim' is shadowed by 'cut'" in d.message and "the lower amount" in d.message


def test_priority_decides_who_is_shadowed(tmp_path):
    rules = """\
    - id: cut
      when: cpa > 100
      action: {type: change_bid, by_pct: -20}
    - id: trim
      priority: 1
      when: cpa > 100 and clicks > 50
      action: {type: change_bid, by_pct: -10}
    """
    assert lint(tmp_path, rules) == []  # trim wins where it fires; cut acts alone elsewhere


def test_higher_priority_shadows_even_the_safer_change(tmp_path):
    rules = """\
    - id: trim
      priority: 5
      when: cpa > 100
      action: {type: change_bid, by_pct: -10}
    - id: cut
      when: cpa > 100 and clicks > 50
      action: {type: change_bid, by_pct: -20}
    """
    (d,) = lint(tmp_path, rules)
    assert d.code == "shadowed" and "'cut' is shadowed by 'trim'" in d.message and "higher priority" in d.message


def test_implied_conditions_shadow_too(tmp_path):
    rules = """\
    - id: broad
      priority: 1
      when: spend > 100 and status in ['active', 'paused']
      action: pause
    - id: narrow
      when: spend > 500 and status == 'active' and clicks < 5
      action: pause
    """
    assert codes(tmp_path, rules) == [("shadowed", "narrow")]


def test_identical_pauses_tie_on_rule_id(tmp_path):
    rules = """\
    - id: b_second
      when: spend > 100
      action: pause
    - id: a_first
      when: spend > 100
      action: pause
    """
    assert codes(tmp_path, rules) == [("shadowed", "b_second")]


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        # pause needs an active entity and enable a paused one: they never compete, but they flip
        ("pause", "enable", ["opposite"]),
        ("{type: change_bid, by_pct: -20}", "{type: change_bid, by_amount: -0.1}", []),  # order depends on the bid
        ("{type: change_bid, by_pct: -20}", "{type: set_bid, amount: 0.5}", []),
        ("{type: change_bid, by_pct: -20}", "{type: change_budget, by_pct: -10}", []),  # other attributes
        ("{type: change_bid, by_pct: -20}", "{type: notify}", []),
    ],
)
def test_rules_that_never_compete_do_not_shadow(tmp_path, first, second, expected):
    rules = f"""\
    - id: one
      when: roas < 1
      action: {first}
    - id: two
      when: roas < 1 and clicks > 5
      action: {second}
    """
    assert [d.code for d in lint(tmp_path, rules)] == expected


def test_rules_at_other_levels_do_not_shadow(tmp_path):
    rules = """\
    - id: cut
      when: cpa > 100
      action: {type: change_bid, by_pct: -20}
    - id: trim
      level: ad
      when: cpa > 100 and clicks > 50
      action: pause
    - id: trim_bid
      level: campaign
      when: cpa > 100 and clicks > 50
      action: {type: change_budget, by_pct: -10}
    """
    assert lint(tmp_path, rules) == []


def test_disabled_rules_shadow_nothing(tmp_path):
    rules = """\
    - id: cut
      enabled: false
      when: cpa > 100
      action: {type: change_bid, by_pct: -20}
    - id: trim
      when: cpa > 100 and clicks > 50
      action: {type: change_bid, by_pct: -10}
    """
    assert lint(tmp_path, rules) == []


# -- opposite ----------------------------------------------------------------------------------------


def test_pause_and_enable_that_can_both_fire_are_opposite(tmp_path):
    rules = """\
    - id: pause_bad
      when: status == 'active' and cpa > 100
      action: pause
    - id: enable_good
      when: status == 'paused' and roas > 2
      action: enable
    """
    (d,) = lint(tmp_path, rules)
    assert (d.code, d.line) == ("opposite", 10)
    assert "'enable_good' enables" in d.message and "pinterest/daily/pause_bad" in d.message
    assert "pauses" in d.message


def test_exclusive_conditions_are_not_opposite(tmp_path):
    rules = """\
    - id: pause_bad
      when: status == 'active' and roas < 1
      action: pause
    - id: enable_good
      when: status == 'paused' and roas > 3
      action: enable
    - id: bid_up
      when: cpa < thresholds.target_cpa and clicks > 10
      action: {type: change_bid, by_pct: 10}
    - id: bid_down
      when: cpa > 2 * thresholds.target_cpa
      action: {type: change_bid, by_pct: -10}
    """
    assert lint(tmp_path, rules) == []


def test_bid_and_budget_directions(tmp_path):
    rules = """\
    - id: bid_up
      when: roas > 4
      action: {type: change_bid, by_amount: 0.1}
    - id: bid_down
      when: cpa > 100
      action: {type: change_bid, by_pct: -10}
    - id: bid_set
      when: cpa > 50
      action: {type: set_bid, amount: 1}
    - id: budget_up
      when: roas > 4
      action: {type: change_budget, by_pct: 10}
    - id: budget_down
      when: clicks < 10
      action: {type: change_budget, by_amount: -5}
    """
    assert codes(tmp_path, rules) == [("opposite", "bid_down"), ("opposite", "budget_down")]


def test_opposite_across_workflows_and_operators_of_one_platform(tmp_path):
    eu = workflow("- id: enable_eu\n  when: clicks > 10\n  action: enable\n", name="eu")
    more = {
        "pinterest/weekly.yaml": workflow("- id: pause_all\n  when: spend > 10\n  action: pause\n", name="weekly"),
        "pinterest/weekly.test.yaml": "cases: []\n",
        "pinterest_eu/operator.yaml": OPERATOR.replace("operator: pinterest", "operator: pinterest_eu"),
        "pinterest_eu/eu.yaml": eu.replace("operator: pinterest\n", "operator: pinterest_eu\n"),
        "pinterest_eu/eu.test.yaml": "cases: []\n",
    }
    found = lint(tmp_path, "- id: enable_cheap\n  when: cpa < 10\n  action: enable\n", more=more)
    pairs = sorted(d.message.split("'")[1] + " <> " + d.message.split(" and ")[1].split(" ")[0] for d in found)
    assert [d.code for d in found] == ["opposite", "opposite"]
    assert pairs == ["enable_eu <> pinterest/weekly/pause_all", "pause_all <> pinterest/daily/enable_cheap"]


def test_opposite_needs_the_same_level(tmp_path):
    rules = """\
    - id: pause_bad
      when: cpa > 100
      action: pause
    - id: enable_good
      level: ad
      when: roas > 2
      action: enable
    """
    assert lint(tmp_path, rules) == []


# -- unsettled-window -------------------------------------------------------------------------------


def amazon_rules(tmp_path: Path, window: str, when: str) -> list:
    """Lint one Amazon campaign rule (Amazon's catalog fragment: settle_days 3)."""
    flow = (
        f"workflow: daily\noperator: amazon\nlevel: campaign\nwindow: {window}\n"
        f'rules:\n  - id: r\n    when: "{when}"\n    action: pause\n'
    )
    files = {"amazon/operator.yaml": "operator: amazon\nplatform: amazon\n", "amazon/daily.yaml": flow}
    root = write_rules(tmp_path, files | {"amazon/daily.test.yaml": "cases: []\n"})
    return lint_project(load_project(root, CATALOG), CATALOG)


@pytest.mark.parametrize(
    "window, when, read",
    [
        ("last_7d", "spend > 10", "last_7d"),
        ("lifetime", "spend > 10", "lifetime"),
        ("last_7d_ending_2d_ago", "spend > 10", "last_7d_ending_2d_ago"),
        ("last_7d_ending_3d_ago", "spend > 10 and last_3d.spend > 0", "last_3d"),
        ("last_7d_ending_3d_ago", "spend > 10 and yesterday.spend > 0", "yesterday"),
    ],
)
def test_a_window_reaching_into_unsettled_days_is_reported(tmp_path, window, when, read):
    (d,) = amazon_rules(tmp_path, window, when)
    assert d.code == "unsettled-window" and d.file.endswith("daily.yaml") and (d.line, d.col) == (6, 5)
    assert f"reads {read}," in d.message and "newest 3 days of amazon" in d.message
    assert "last_7d_ending_3d_ago" in d.hint


@pytest.mark.parametrize(
    "window, when",
    [
        ("last_7d_ending_3d_ago", "spend > 10"),
        ("last_14d_ending_3d_ago", "spend > 10 and prev.spend > 0 and last_7d_ending_4d_ago.spend > 0"),
    ],
)
def test_settled_windows_are_not_reported(tmp_path, window, when):
    assert amazon_rules(tmp_path, window, when) == []


def test_platforms_without_settle_days_read_their_newest_days(tmp_path):
    assert CATALOG.sources["pinterest"].settle_days == 0
    assert lint(tmp_path, one_rule("spend > 1 and yesterday.spend > 0")) == []


# -- unused-threshold and untested ----------------------------------------------------------------------


def test_unused_threshold_is_reported_at_its_key(tmp_path):
    operator = OPERATOR + "  never_used: 5\n"
    (d,) = lint(tmp_path, one_rule("spend > 1"), operator=operator)
    assert d.code == "unused-threshold" and "'never_used'" in d.message
    assert d.file.endswith("operator.yaml") and (d.line, d.col) == (6, 3)


def test_workflow_without_test_file_is_untested(tmp_path):
    (d,) = lint(tmp_path, one_rule("spend > 1"), tested=False)
    assert d.code == "untested" and d.file.endswith("daily.yaml") and (d.line, d.col) == (1, 1)
    assert "daily.test.yaml" in d.message


def test_shipped_library_is_clean_apart_from_missing_test_files():
    project = load_project(REPO / "rules", CATALOG)
    found = lint_project(project)
    untested = [w for w in project.workflows if not (w.operator.folder / f"{w.name}.test.yaml").exists()]
    assert [d.format() for d in found if d.code != "untested"] == []
    assert len([d for d in found if d.code == "untested"]) == len(untested)


# -- the command ---------------------------------------------------------------------------------------


def test_command_prints_warnings_and_summary(tmp_path, capsys):
    root = rules_dir(tmp_path, one_rule("spend > 5 and spend < 1"))
    assert lint_command(str(root), False, "text") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith(
        "daily.yaml:7:5: warning: rule 'r' can never fire: `spend > 5` and `spend < 1` cannot all hold"
    )
    assert out[1].startswith("  hint: ")
    assert out[-1] == "lint: 1 warning(s)"


def test_strict_fails_only_with_warnings(tmp_path, capsys):
    assert lint_command(str(rules_dir(tmp_path / "a", one_rule("spend > 5 and spend < 1"))), True, "text") == 1
    assert lint_command(str(rules_dir(tmp_path / "b", one_rule("spend > 5"))), True, "text") == 0
    assert capsys.readouterr().out.splitlines()[-1] == "lint: 0 warning(s)"


def test_github_format_adds_annotations(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    root = rules_dir(tmp_path, one_rule("spend > 5 and spend < 1"), tested=False)
    assert lint_command(str(root), True, "github") == 1
    out = capsys.readouterr().out.splitlines()
    annotations = [line for line in out if line.startswith("::warning ")]
    assert len(annotations) == 2 and "lint: 2 warning(s)" in out
    assert any(",line=7,col=5::rule 'r' can never fire" in line for line in annotations)
    assert all("daily.yaml" in line for line in annotations)


def test_invalid_rules_raise_like_the_loader(tmp_path):
    with pytest.raises(ValidationFailed):
        lint_command(str(rules_dir(tmp_path, one_rule("spnd > 5"))), True, "text")


# -- soundness: what lint proves, the reference interpreter confirms --------------------------------------


def _random_condition(rnd: random.Random, n: int) -> str:
    numbers = ["50", "100", "250", "300", "600", "thresholds.t", "2 * thresholds.k", "thresholds.bot_only", "100 / 0"]
    atoms = [
        lambda: f"spend {rnd.choice(['<', '<=', '>', '>=', '==', '!='])} {rnd.choice(numbers)}",
        lambda: f"{rnd.choice(numbers)} < spend <= {rnd.choice(numbers)}",
        lambda: f"status {rnd.choice(['==', '!='])} '{rnd.choice(['active', 'paused'])}'",
        lambda: f"status {rnd.choice(['in', 'not in'])} {rnd.sample(['active', 'paused', 'removed'], 2)}",
        lambda: rnd.choice(["is_brand", "not is_brand", "is_brand != false", "'x' in labels", "'x' not in labels"]),
        lambda: rnd.choice(["is_null(spend)", "not is_null(spend)", "product == 'bot'", "product in ['board']"]),
        lambda: f"not ({rnd.choice(atoms)()})",
        lambda: f"({rnd.choice(atoms)()} or {rnd.choice(atoms)()})",
    ]
    return " and ".join(rnd.choice(atoms)() for _ in range(n))


def test_never_fires_and_shadowing_are_sound():
    from engine.authoring.lint import _conjuncts, _implies, _never, _scenarios
    from engine.language.expr import Type, compile_expr
    from engine.language.expr.reference import Reference
    from engine.rules.model import ActionSpec, Operator, Project, Rule, Threshold
    from engine.rules.scope import RuleScope

    thresholds = {
        "t": Threshold("t", 250.0, {"bot": 300.0, "dot": 220.0}),
        "k": Threshold("k", 100.0),
        "bot_only": Threshold("bot_only", None, {"bot": 100.0}),
    }
    project = Project(Path("."), {}, None, {"op": Operator("op", "pinterest", "", thresholds, Path("."), "")}, [])
    scope = RuleScope(CATALOG, "pinterest", "last_7d", thresholds, "operator.yaml", "op")
    rows = [
        {"spend": s, "status": st, "is_brand": b, "labels": lb, "product": p}
        for s, st, b, lb, p in itertools.product(
            [None, 0.0, 99.5, 100.0, 220.0, 250.0, 300.0, 600.0],
            [None, "active", "removed"],
            [None, True, False],
            [None, ["x"]],
            [None, "bot", "dot", "board"],
        )
    ]
    reference = Reference({})

    def fires(rule: Rule, row: dict) -> bool:
        values = {}
        for ref in rule.when.refs:
            if ref.kind == "threshold":
                values[ref.key] = thresholds[ref.name.split("/")[1]].value_for(row["product"])
            else:
                values[ref.key] = row["spend" if ref.kind == "metric" else ref.name]
        return bool(reference(rule.when, values))

    def rule(text: str) -> Rule:
        return Rule("r", "", compile_expr(text, scope, want=Type.BOOL), ActionSpec("pause", {}), "ad_group", "last_7d")

    rnd = random.Random(7)
    proofs = 0
    for _ in range(150):
        lower, higher = rule(_random_condition(rnd, rnd.randint(1, 4))), rule(_random_condition(rnd, 1))
        if _never(_conjuncts(lower.when.ir), _scenarios(project, [lower.when])):
            proofs += 1
            assert not any(fires(lower, row) for row in rows), lower.when.text
        elif _implies(lower, higher, project):
            proofs += 1
            assert all(fires(higher, row) for row in rows if fires(lower, row)), (lower.when.text, higher.when.text)
    assert proofs > 30  # the generator exercises both claims
