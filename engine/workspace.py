"""Resolving the rules folder, the state directory and the source for a command."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SOURCE = "demo"


@dataclass
class Workspace:
    rules: Path
    state_dir: Path

    @classmethod
    def resolve(cls, rules: str | None, state_dir: str | None) -> Workspace:
        rules_path = Path(rules or os.environ.get("RULERUN_RULES") or "rules")
        state = state_dir or os.environ.get("RULERUN_STATE_DIR")
        # Like a Terraform root: state lives beside the rules folder unless told otherwise.
        state_path = Path(state) if state else rules_path.resolve().parent / ".rulerun"
        return cls(rules_path, state_path)
