"""Autonomy levels: how far rulerun may go on its own, per operator and action type.

- `off`: the action is never proposed;
- `dry_run`: shown in plans, never executed;
- `approve`: always waits for a human;
- `auto`: executed by `apply` once guardrails and escalation pass.

A team runs the phased launch of the operator plan by editing YAML: everything
`dry_run` first (sandbox), then `auto` for the safest actions, then more.
"""

from __future__ import annotations

LEVELS = ("off", "dry_run", "approve", "auto")

# The seed's autonomous actions: pausing, enabling, bid and budget changes within the
# guardrails, negative keywords for proven waste, lifecycle automations for a segment (over
# 1,000 contacts they escalate), and notifications (which change nothing).
AUTO_BY_DEFAULT = frozenset(
    {
        "pause",
        "enable",
        "set_budget",
        "change_budget",
        "set_bid",
        "change_bid",
        "add_negative_keyword",
        "add_to_automation",
        "notify",
    }
)


def default_level(action_type: str) -> str:
    """Without configuration: `auto` for the autonomous actions, `approve` for every other type."""
    return "auto" if action_type in AUTO_BY_DEFAULT else "approve"
