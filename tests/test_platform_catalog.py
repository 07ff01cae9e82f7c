"""Platform catalog fragments (platforms/<name>/catalog.yaml) and the merged catalog."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from engine.core.catalog import load_catalog
from engine.core.platform_catalog import STATUSES, CatalogError
from engine.core.resources import platform_files, platforms_dir
from engine.output.reference_docs import markdown
from platforms import platform_names
from tests.helpers.layout import copy_layout, run_in

CATALOG = load_catalog()

GOOD = """\
source:
  type: ad_platform
  freshness_sla_hours: 24
  restatement_days: 2
credibility_ratio: 1.2
field_mapping:
  cost_micros: {metric: spend, transform: micros}
  clicks: {metric: clicks}
attribute_mapping:
  budget_micros: {attribute: daily_budget, transform: micros}
benchmarks:
  target_cpa: 40
statuses:
  LIVE: active
  STOPPED: paused
traits:
  learning_phase: true
"""


def platform_folder(root: Path, name: str, fragment: str | None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    if fragment is not None:
        (folder / "catalog.yaml").write_text(textwrap.dedent(fragment))
    return folder


def load(root: Path):
    return load_catalog(None, str(root))


def problems(root: Path) -> list:
    with pytest.raises(CatalogError) as err:
        load(root)
    return err.value.diagnostics


# -- the shipped fragments


def test_every_platform_with_catalog_data_has_a_fragment_named_by_its_folder():
    fragments = platform_files("catalog.yaml")
    assert set(fragments) == set(CATALOG.sources) == set(platform_names())
    for name, path in fragments.items():
        assert path.parent.name == name and "name" not in yaml.safe_load(path.read_text())
    assert set(CATALOG.field_mapping) <= set(fragments) and set(CATALOG.credibility) <= set(fragments)
    assert CATALOG.sources["shopify"].truth and CATALOG.credibility_ratio("tiktok") == 1.65
    assert CATALOG.field_mapping["google"]["metrics.cost_micros"].convert(2_500_000) == 2.5
    assert CATALOG.benchmarks["pinterest"]["bot_target_cpa"] == 350


def test_learning_phase_is_a_trait_of_tiktok_only():
    assert {p for p in CATALOG.sources if CATALOG.has_trait(p, "learning_phase")} == {"tiktok"}
    assert not CATALOG.has_trait("unknown_platform", "learning_phase")


@pytest.mark.parametrize(
    ("platform", "raw", "canonical"),
    [
        ("meta", "ARCHIVED", "archived"),
        ("meta", "deleted", "removed"),
        ("google", "Enabled", "active"),
        ("amazon", "ENABLED", "active"),
        ("tiktok", "disable", "paused"),
        ("linkedin", "CANCELED", "removed"),
        ("klaviyo", "LIVE", "active"),
        ("activecampaign", "5", "archived"),
    ],
)
def test_status_vocabulary_lookup_ignores_case(platform, raw, canonical):
    vocabulary = CATALOG.status_vocabulary(platform)
    assert vocabulary[raw] == canonical and raw in vocabulary and vocabulary.get(raw.swapcase()) == canonical


def test_status_vocabularies_map_to_canonical_statuses_only():
    for platform in ("meta", "google", "amazon", "tiktok", "pinterest", "linkedin", "klaviyo", "activecampaign"):
        vocabulary = CATALOG.status_vocabulary(platform)
        assert vocabulary and set(vocabulary.values()) <= set(STATUSES), platform
    assert dict(CATALOG.status_vocabulary("mixpanel")) == {}
    assert "RUNNING" not in CATALOG.status_vocabulary("google")
    with pytest.raises(KeyError):
        CATALOG.status_vocabulary("google")["RUNNING"]


@given(st.sampled_from(["ENABLED", "PAUSED", "REMOVED"]), st.lists(st.booleans(), min_size=8, max_size=8))
def test_any_casing_of_a_status_finds_it(status, upper):
    cased = "".join(c.upper() if u else c.lower() for c, u in zip(status, upper, strict=False))
    assert CATALOG.status_vocabulary("google")[cased] == CATALOG.status_vocabulary("google")[status]


def test_docs_platforms_show_traits_restatement_and_live_adapter():
    text = markdown("platforms")
    sections = {block.split("`")[1]: block for block in text.split("### ")[1:]}
    assert set(sections) == set(platform_names())
    assert "- traits: learning_phase" in sections["tiktok"] and "- traits: none" in sections["meta"]
    assert "restates the last 3 days" in sections["amazon"] and "no restatement" in sections["vwo"]
    for name, section in sections.items():
        has_adapter = (platforms_dir() / name / "adapter.py").is_file()
        assert f"- live adapter: {'yes' if has_adapter else 'no'}" in section, name
        assert "- levels: " in section and "- credentials: " in section
    assert "- live adapter: yes" in sections["google"]


# -- adding a platform


def test_a_new_platform_folder_joins_the_merged_catalog(tmp_path):
    platform_folder(tmp_path, "newads", GOOD)
    platform_folder(tmp_path, "nodata", None)  # a platform without catalog data
    (tmp_path / "not_a_package").mkdir()
    (tmp_path / "not_a_package" / "catalog.yaml").write_text("bogus: [")
    cat = load(tmp_path)
    assert set(cat.sources) == {"newads"}
    assert cat.sources["newads"].restatement_days == 2 and cat.credibility_ratio("newads") == 1.2
    assert cat.field_mapping["newads"]["cost_micros"].convert(3_000_000) == 3.0
    assert cat.mapped_metrics("newads") == {"spend", "clicks"}
    assert "cpc" in cat.metrics_available("newads") and "cpa" not in cat.metrics_available("newads")
    assert cat.attribute_mapping["newads"]["budget_micros"].target == "daily_budget"
    assert cat.benchmarks == {"newads": {"target_cpa": 40.0}}
    assert cat.has_trait("newads", "learning_phase") and cat.status_vocabulary("newads")["stopped"] == "paused"
    assert set(cat.metrics) == set(CATALOG.metrics)  # the cross-platform part is the shipped one


def test_a_trait_set_to_false_is_not_declared(tmp_path):
    platform_folder(tmp_path, "calm", GOOD.replace("learning_phase: true", "learning_phase: false"))
    assert not load(tmp_path).has_trait("calm", "learning_phase")


def test_a_trait_given_as_text_is_declared_and_says_how_it_is_derived(tmp_path):
    platform_folder(tmp_path, "derived", GOOD.replace("learning_phase: true", "learning_phase: derived from dates"))
    platform_folder(tmp_path, "reported", GOOD)
    cat = load(tmp_path)
    assert cat.has_trait("derived", "learning_phase") and cat.trait_note("derived", "learning_phase") == (
        "derived from dates"
    )
    assert cat.has_trait("reported", "learning_phase") and cat.trait_note("reported", "learning_phase") is None


# -- invalid fragments: file:line:col and how to fix


def test_a_field_mapped_to_an_undefined_metric_is_an_error_at_its_line(tmp_path):
    platform_folder(tmp_path, "newads", GOOD.replace("{metric: clicks}", "{metric: clics}"))
    (d,) = problems(tmp_path)
    assert d.file.endswith(os.path.join("newads", "catalog.yaml"))
    assert (d.line, d.col) == (8, 20)
    assert "'clics'" in d.message and "does not define" in d.message and "'clicks'" in d.hint


def test_a_field_mapped_to_a_derived_metric_is_an_error(tmp_path):
    platform_folder(tmp_path, "newads", GOOD.replace("{metric: clicks}", "{metric: cpc}"))
    (d,) = problems(tmp_path)
    assert d.line == 8 and "derived metric" in d.message and "additive" in d.hint


def test_an_undefined_attribute_is_an_error(tmp_path):
    platform_folder(tmp_path, "newads", GOOD.replace("attribute: daily_budget", "attribute: budget"))
    (d,) = problems(tmp_path)
    assert d.line == 10 and "attribute 'budget'" in d.message


@pytest.mark.parametrize(
    ("old", "new", "line", "col", "message", "hint"),
    [
        ("benchmarks:", "benchmark:", 11, 1, "unknown key 'benchmark'", "did you mean 'benchmarks'?"),
        ("STOPPED: paused", "STOPPED: pause", 15, 12, "'pause' is not allowed", "did you mean 'paused'?"),
        ("learning_phase: true", "learning_fase: true", 17, 3, "unknown key 'learning_fase'", "'learning_phase'"),
        (
            "spend, transform: micros}",
            "spend, transform: micro}",
            7,
            43,
            "'micro' is not allowed",
            "did you mean 'micros'?",
        ),
        ("freshness_sla_hours: 24", "freshness_sla_hours: soon", 3, 24, "expected a number", None),
        ("credibility_ratio: 1.2", "credibility_ratio: 0", 5, 20, "must be above 0", None),
        ("  target_cpa: 40", "  target cpa: 40", 12, 3, "'target cpa' is not a valid name", "letters"),
        ("  type: ad_platform\n", "", 2, 3, "missing required key 'type' in source", "schema"),
        ("  STOPPED: paused", "  live: paused", 15, 3, "'live' repeats 'LIVE'", "keep one"),
        ("  clicks: {metric: clicks}", "  cost_micros: {metric: clicks}", 8, 3, "duplicate key 'cost_micros'", None),
    ],
)
def test_fragment_errors_point_at_the_offending_key_or_value(tmp_path, old, new, line, col, message, hint):
    assert old in GOOD
    platform_folder(tmp_path, "newads", GOOD.replace(old, new))
    found = problems(tmp_path)
    assert len(found) == 1, [d.format() for d in found]
    (d,) = found
    assert (d.line, d.col) == (line, col), d.format()
    assert message in d.message, d.format()
    assert hint is None or hint in (d.hint or ""), d.format()


def test_a_fragment_without_a_source_names_the_missing_key(tmp_path):
    platform_folder(tmp_path, "newads", "credibility_ratio: 1.1\n")
    (d,) = problems(tmp_path)
    assert "missing required key 'source'" in d.message and d.line == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "is empty"), ("- a\n- b\n", "must be a mapping"), ("source: [\n", "YAML syntax error")],
)
def test_unreadable_fragments(tmp_path, text, message):
    platform_folder(tmp_path, "newads", text)
    (d,) = problems(tmp_path)
    assert message in d.message and d.file.endswith("catalog.yaml")


def test_every_bad_fragment_is_reported_at_once(tmp_path):
    platform_folder(tmp_path, "one", GOOD.replace("{metric: clicks}", "{metric: klicks}"))
    platform_folder(tmp_path, "two", GOOD.replace("benchmarks:", "benchmark:"))
    platform_folder(tmp_path, "three", GOOD)
    found = problems(tmp_path)
    assert sorted(Path(d.file).parent.name for d in found) == ["one", "two"]


def test_the_cli_reports_a_bad_shipped_fragment_without_a_traceback(tmp_path):
    root = copy_layout(tmp_path)
    fragment = root / "platforms" / "tiktok" / "catalog.yaml"
    fragment.write_text(fragment.read_text().replace("{metric: video_views}", "{metric: video_plays}"))
    res = run_in(root, "-m", "engine.cli.main", "validate", "--rules", "rules")
    assert res.returncode == 1, res.stderr
    line = next(n for n, text in enumerate(fragment.read_text().splitlines(), 1) if "video_plays" in text)
    assert f"platforms/tiktok/catalog.yaml:{line}:" in res.stderr
    assert "'video_plays'" in res.stderr and "did you mean 'video_views'?" in res.stderr
    assert "Traceback" not in res.stderr
