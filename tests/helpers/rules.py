"""Build small rules folders in a temporary directory for tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

PINTEREST_OPERATOR = """\
operator: pinterest
platform: pinterest
description: "Pinterest Ads: discovery and shopping"
thresholds:
  target_cpa: 300
  min_outbound_ctr: 0.005
"""

# The DESIGN.md example, verbatim: users and tests depend on these keys.
PINTEREST_WORKFLOW = """\
# rules/pinterest/daily_optimize.yaml
workflow: daily_optimize
operator: pinterest
schedule: "0 6 * * *"
level: ad_group
window: last_7d
rules:
  - id: pause_expensive_low_outbound
    description: Pause ad groups spending >2x target CPA with <0.3% outbound CTR
    when: spend > 2 * thresholds.target_cpa and outbound_ctr < 0.003
    action: pause
  - id: lower_bid_low_outbound_ctr
    when: outbound_ctr < thresholds.min_outbound_ctr and impressions >= 2000
    action: {type: change_bid, by_pct: -15}
    cooldown: 3d
"""


def write_rules(root: Path, files: dict[str, str]) -> Path:
    """Write `files` (relative path -> YAML text, dedented) under root/rules and return that folder."""
    rules = root / "rules"
    for rel, text in files.items():
        path = rules / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return rules


def pinterest_rules(root: Path, workflow: str = PINTEREST_WORKFLOW, operator: str = PINTEREST_OPERATOR) -> Path:
    return write_rules(root, {"pinterest/operator.yaml": operator, "pinterest/daily_optimize.yaml": workflow})
