"""The loaded rules folder: guardrails, operators, workflows and rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.core.actions import ACTIONS
from engine.core.errors import Diagnostic, UsageError
from engine.language.expr import Expr
from engine.rules.autonomy import default_level
from engine.rules.guardrails import GuardrailSettings, defaults


@dataclass(frozen=True)
class Threshold:
    """A named number; per-product values override `default` for entities of that product."""

    name: str
    default: float | None
    by_product: dict[str, float] = field(default_factory=dict)

    def value_for(self, product: str | None) -> float | None:
        if product is not None and product in self.by_product:
            return self.by_product[product]
        return self.default


@dataclass
class Operator:
    name: str
    platform: str
    description: str
    thresholds: dict[str, Threshold]
    folder: Path
    file: str
    guardrails: GuardrailSettings = field(default_factory=defaults)  # effective: global values tightened by overrides
    escalation: list[Any] = field(default_factory=list)  # the operator's own EscalationRules
    autonomy: dict[str, str] = field(default_factory=dict)  # action type (or "default") -> level

    def autonomy_for(self, action_type: str) -> str:
        level = self.autonomy.get(action_type) or self.autonomy.get("default") or default_level(action_type)
        action = ACTIONS.get(action_type)
        if level == "auto" and action is not None and not action.reversible:
            return "approve"  # what cannot be rolled back is never automatic
        return level


@dataclass(frozen=True)
class ActionSpec:
    type: str
    params: dict[str, Any]


@dataclass
class Rule:
    id: str
    description: str
    when: Expr
    action: ActionSpec
    level: str
    window: str
    priority: int = 0
    cooldown: str | None = None
    enabled: bool = True
    file: str = ""
    line: int = 0


@dataclass
class Workflow:
    name: str
    operator: Operator
    description: str
    schedule: str | None
    level: str
    window: str
    rules: list[Rule]
    file: str
    enabled: bool = True

    @property
    def id(self) -> str:
        return f"{self.operator.name}/{self.name}"

    @property
    def platform(self) -> str:
        return self.operator.platform


@dataclass
class Project:
    root: Path
    guardrails: GuardrailSettings
    guardrails_file: str | None
    operators: dict[str, Operator]
    workflows: list[Workflow]
    warnings: list[Diagnostic] = field(default_factory=list)
    digest: str = ""

    def select(self, ids: list[str] | tuple[str, ...] | None) -> list[Workflow]:
        """Workflows named by `operator/workflow` (or `operator` for all of its workflows)."""
        if not ids:
            return [w for w in self.workflows if w.enabled]
        chosen: list[Workflow] = []
        for wanted in ids:
            found = [w for w in self.workflows if w.id == wanted or w.operator.name == wanted]
            if not found:
                known = ", ".join(w.id for w in self.workflows) or "none"
                raise UsageError(f"no workflow {wanted!r} in {self.root}", hint=f"known workflows: {known}")
            chosen.extend(w for w in found if w not in chosen)
        return chosen
