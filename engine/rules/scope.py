"""Which names a rule expression may use, and what they resolve to.

Names: the window's metrics (`spend`, `cpa`), other windows (`prev.spend`,
`last_3d.spend`, `lifetime.spend`), entity attributes (`status`, `daily_budget`),
`parent.<attribute>`, `account.<metric>` (the metric over the window for the whole
platform account: every entity of the rule's level summed), `thresholds.*`,
`guardrails.*`, `benchmarks.*`, `truth.*`, and `credibility_ratio` (the platform's
conversion over-reporting ratio: live from engine/data/truthcheck.py, else the catalog seed).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from engine.core.catalog import Catalog
from engine.language import windows
from engine.language.expr import ExprError, Ref, Type
from engine.rules.guardrails import GUARDRAILS
from engine.rules.model import Threshold

ATTR_TYPES = {
    "string": Type.STR,
    "number": Type.NUM,
    "boolean": Type.BOOL,
    "date": Type.DATE,
    "labels": Type.LABELS,
}
NAMESPACES = ("prev", "parent", "account", "thresholds", "guardrails", "benchmarks", "truth")
BUILTINS = {"credibility_ratio": Type.NUM}


def _suggest(name: str, choices) -> str | None:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.7)
    return f"did you mean {close[0]!r}?" if close else None


@dataclass
class RuleScope:
    catalog: Catalog
    platform: str
    window: str
    thresholds: dict[str, Threshold]
    operator_file: str = "operator.yaml"
    operator: str = ""

    def resolve(self, parts: tuple[str, ...], offset: int) -> Ref:
        text = ".".join(parts)
        head = parts[0]
        if len(parts) == 1:
            return self._single(head, offset)
        if len(parts) == 2:
            ns, name = parts
            if ns == "prev" or windows.is_window(ns):
                return self._metric(name, self._window(ns, offset), text, offset)
            if ns == "parent":
                attr = self.catalog.attributes.get(name)
                if attr is None:
                    raise ExprError(
                        f"unknown parent attribute {name!r}",
                        offset,
                        _suggest(name, self.catalog.attributes)
                        or "parent.* gives the parent entity's attributes (status, name, is_brand, ...)",
                    )
                return Ref("parent", name, ATTR_TYPES[attr.type], text=text)
            if ns == "account":
                metric = self._metric(name, self.window, text, offset)
                return Ref("account", metric.name, Type.NUM, window=self.window, text=text)
            if ns == "thresholds":
                if name not in self.thresholds:
                    defined = ", ".join(sorted(self.thresholds)) or "none"
                    raise ExprError(
                        f"threshold {name!r} is not defined in {self.operator_file}",
                        offset,
                        _suggest(name, self.thresholds) or f"defined thresholds: {defined}",
                    )
                # Keyed by operator: one batch query may hold rules of several operators.
                return Ref("threshold", f"{self.operator}/{name}", Type.NUM, text=text)
            if ns == "guardrails":
                if name not in GUARDRAILS:
                    raise ExprError(
                        f"unknown guardrail {name!r}",
                        offset,
                        _suggest(name, GUARDRAILS) or "see rules/guardrails.yaml",
                    )
                typ = Type.BOOL if GUARDRAILS[name].type == "boolean" else Type.NUM
                return Ref("guardrail", name, typ, text=text)
            if ns == "benchmarks":
                values = self.catalog.benchmarks.get(self.platform, {})
                if name not in values:
                    known = ", ".join(sorted(values)) or "none"
                    raise ExprError(
                        f"no benchmark {name!r} for platform {self.platform}",
                        offset,
                        _suggest(name, values) or f"benchmarks for {self.platform}: {known}",
                    )
                return Ref("benchmark", name, Type.NUM, text=text)
            if ns == "truth":
                if name not in self.catalog.truth:
                    raise ExprError(
                        f"unknown truth metric {name!r}",
                        offset,
                        _suggest(name, self.catalog.truth) or "truth metrics: " + ", ".join(sorted(self.catalog.truth)),
                    )
                return Ref("truth", name, Type.NUM, window=self.window, text=text)
            if head in self.catalog.metrics or head in self.catalog.attributes:
                raise ExprError(
                    f"{head!r} has no fields (got {text!r})",
                    offset,
                    "dotted names start with a window or namespace: prev.spend, parent.status",
                )
        raise ExprError(
            f"unknown name {text!r}",
            offset,
            _suggest(text, self._all_names())
            or "names: metrics (spend, cpa, ...), attributes (status, ...), prev.<metric>, "
            "last_Nd.<metric>, parent.<attr>, account.<metric>, thresholds.*, guardrails.*, benchmarks.*, truth.*",
        )

    def _single(self, name: str, offset: int) -> Ref:
        if name in self.catalog.metrics:
            return self._metric(name, self.window, name, offset)
        attr = self.catalog.attributes.get(name)
        if attr is not None:
            return Ref("attr", name, ATTR_TYPES[attr.type], text=name)
        if name in BUILTINS:
            return Ref("builtin", name, BUILTINS[name], text=name)
        if name in NAMESPACES or windows.is_window(name):
            example = {
                "parent": "parent.status",
                "account": "account.ctr",
                "thresholds": "thresholds.target_cpa",
                "guardrails": "guardrails.min_spend_before_pause",
                "truth": "truth.mer",
                "benchmarks": "benchmarks.min_outbound_ctr",
            }.get(name, f"{name}.spend")
            raise ExprError(f"{name!r} needs a field", offset, f"e.g. {example}")
        raise ExprError(
            f"unknown name {name!r}",
            offset,
            _suggest(name, self._all_names())
            or "use a metric (spend, cpa, ...), an attribute (status, ...) or a namespace (prev.spend)",
        )

    def _window(self, ns: str, offset: int) -> str:
        if ns != "prev":
            return ns
        if self.window == "lifetime":
            raise ExprError(
                "prev. has no meaning for the lifetime window",
                offset,
                "use an explicit window such as last_30d.spend",
            )
        return f"prev:{self.window}"

    def _metric(self, name: str, window: str, text: str, offset: int) -> Ref:
        if name not in self.catalog.metrics:
            raise ExprError(
                f"unknown metric {name!r}",
                offset,
                _suggest(name, self.catalog.metrics) or "see `rulerun docs metrics`",
            )
        if name not in self.catalog.metrics_available(self.platform):
            raise ExprError(
                f"metric {name!r} is not reported by platform {self.platform}",
                offset,
                f"platforms/{self.platform}/catalog.yaml (field_mapping) lists the metrics it reports",
            )
        return Ref("metric", name, Type.NUM, window=window, text=text)

    def _all_names(self) -> list[str]:
        return [
            *self.catalog.metrics,
            *self.catalog.attributes,
            *BUILTINS,
            *(f"thresholds.{t}" for t in self.thresholds),
            *(f"prev.{m}" for m in self.catalog.metrics),
        ]
