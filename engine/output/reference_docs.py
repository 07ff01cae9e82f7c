"""Reference documentation generated from the registries and the catalog (`rulerun docs`)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from rich.console import Group
from rich.markdown import Markdown

from engine.core.actions import ACTIONS
from engine.core.catalog import Catalog, load_catalog
from engine.language import windows
from engine.language.expr.functions import FUNCTIONS
from engine.output import RenderOptions
from engine.output.console import console
from engine.rules.scope import BUILTINS
from platforms import all_platforms

TOPICS = ("functions", "metrics", "attributes", "names", "actions", "platforms", "windows")


def _doc(obj) -> str:
    return " ".join((obj.__doc__ or "").split())


def _has_adapter(platform: type) -> bool:
    """Whether the platform's package has a live adapter module (checked on disk, not imported)."""
    declared = Path(inspect.getfile(platform))
    return declared.name == "__init__.py" and (declared.parent / "adapter.py").is_file()


def _source_facts(cat: Catalog, name: str) -> str:
    spec = cat.sources.get(name)
    if spec is None:
        return "not in the catalog"
    window = f"restates the last {spec.restatement_days} days" if spec.restatement_days else "no restatement"
    settle = f"; rules should leave out the newest {spec.settle_days} days" if spec.settle_days else ""
    return f"{window}{settle}; freshness SLA {spec.freshness_sla_hours:g}h"


def markdown(topic: str) -> str:
    cat = load_catalog()
    if topic == "functions":
        rows = [f"| `{f.signature}` | {_doc(f)} |" for f in FUNCTIONS.values()]
        return "## Functions\n\n| call | meaning |\n|---|---|\n" + "\n".join(rows)
    if topic == "metrics":
        rows = [
            f"| `{m.name}` | {m.kind} | {m.unit} | {m.formula or ''} | {m.description} |" for m in cat.metrics.values()
        ]
        truth = [f"| `truth.{m.name}` | truth | {m.unit} | {m.formula} | {m.description} |" for m in cat.truth.values()]
        return (
            "## Metrics\n\nWindow sums; derived metrics are ratios of sums (division by zero is null).\n\n"
            "| name | kind | unit | formula | meaning |\n|---|---|---|---|---|\n" + "\n".join(rows + truth)
        )
    if topic == "attributes":
        rows = [f"| `{a.name}` | {a.type} | {a.description} |" for a in cat.attributes.values()]
        return "## Entity attributes\n\n| name | type | meaning |\n|---|---|---|\n" + "\n".join(rows)
    if topic == "names":
        return (
            "## Names in expressions\n\n"
            "- `spend`, `cpa`, ...: metrics over the rule's window\n"
            "- `prev.spend`: the equally long window just before it\n"
            "- `last_3d.spend`, `last_7d_ending_3d_ago.spend`, `today.spend`, `yesterday.spend`, `mtd.spend`, "
            "`lifetime.spend`: other windows\n"
            "- `status`, `daily_budget`, `is_brand`, ...: entity attributes; `parent.status`: the parent's\n"
            "- `account.ctr`, `account.cost_per_lead`, ...: the metric over the window for the whole account "
            "(every entity of the rule's level)\n"
            "- `thresholds.<name>`: from the operator's operator.yaml (per product when given per product)\n"
            "- `guardrails.<name>`: global hard limits (rules/guardrails.yaml)\n"
            "- `benchmarks.<name>`: the platform's benchmarks (platforms/<name>/catalog.yaml)\n"
            "- `truth.<name>`: Shopify truth over the window (`truth.mer`, `truth.cac`, ...)\n"
            + "".join(
                f"- `{b}`: the platform's conversion over-reporting ratio against Shopify: the live ratio of "
                "the latest complete week (`rulerun truth`), else the catalog's seed\n"
                for b in BUILTINS
            )
            + "- literals: numbers, 'text', true/false, null; lists for `in`: `status in ['active', 'paused']`"
        )
    if topic == "actions":
        lines = ["## Actions\n"]
        for a in ACTIONS.values():
            params = ", ".join(a.params_schema.get("properties", {})) or "none"
            support = "; ".join(
                f"{p.name}: {', '.join(p.levels_supporting(a.name))}"
                for p in all_platforms()
                if p.levels_supporting(a.name) and a.name != "notify"
            )
            lines.append(
                f"### `{a.name}`\n\n{_doc(a)}\n\n- parameters: {params}\n- example: `{a.example}`\n"
                + (f"- supported: {support}\n" if support else "- supported: every platform and level\n")
            )
        return "\n".join(lines)
    if topic == "platforms":
        lines = ["## Platforms\n"]
        for p in all_platforms():
            acts = "; ".join(f"{lvl}: {', '.join(p.supported_actions(lvl))}" for lvl in p.levels)
            lines.append(
                f"### `{p.name}` ({p.title})\n\n{_doc(p)}\n\n- levels: {', '.join(p.levels)}\n"
                f"- levels and actions: {acts}\n"
                f"- credentials: {', '.join(p.credentials) or 'none'}\n"
                f"- traits: {', '.join(sorted(cat.traits.get(p.name, ()))) or 'none'}\n"
                f"- data: {_source_facts(cat, p.name)}\n"
                f"- live adapter: {'yes' if _has_adapter(p) else 'no'}\n"
            )
        return "\n".join(lines)
    if topic == "windows":
        return "## Windows\n\n" + (windows.__doc__ or "").split("\n", 2)[2]
    raise KeyError(topic)


@dataclass
class ReferenceDocs:
    """`rulerun docs`: the reference of some topics (all of them when none is named)."""

    topics: list[str]

    @classmethod
    def of(cls, topic: str | None) -> ReferenceDocs:
        return cls([topic] if topic else list(TOPICS))


def render_text(docs: ReferenceDocs, out: IO[bytes], options: RenderOptions) -> None:
    with console(out, soft_wrap=False) as c:
        c.print(Group(*(Markdown(markdown(t)) for t in docs.topics)))
