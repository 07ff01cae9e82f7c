"""What the action log already did, marked in a fresh plan, so `evaluate` shows what `apply` will do.

An action the log holds as settled (executed, rolled back, rejected, expired, failed, or
executing in another run) never runs again for its evaluation date, and a rule's cooldown
holds its entity after an execution. A plan that still listed those as `planned` would
promise changes apply then drops; instead they are `skipped`, with the reason and the run
that did them, exactly as apply counts them.
"""

from __future__ import annotations

from engine.apply.actionlog import ActionLog
from engine.apply.actionlog.values import now
from engine.apply.executor import SETTLED
from engine.core.plan import Plan, PlannedAction
from engine.rules.durations import parse_duration

# statuses a fresh evaluation may still turn into an execution
OPEN = ("planned", "clamped", "needs_approval")
# a prior row with one of these is still in the pipeline: the plan's own verdict stands
_PIPELINE = ("planned", "clamped", "blocked", "skipped")


def why_not_again(log: ActionLog, a: PlannedAction) -> str | None:
    """Why the log keeps `a` from running now (done or cooling down, naming the run), or None."""
    prior = log.get(a.action_id)
    if prior and prior["status"] in SETTLED:
        return f"{SETTLED[prior['status']]} (run {prior.get('run_id')})"
    if prior and prior["status"] not in _PIPELINE:
        return None  # a human's decision (pending or approved) stands; apply re-checks it
    if not a.cooldown:
        return None
    last = log.last_change(a.workflow, a.rule_id, a.platform, a.account_id, a.entity_id)
    if last is None or now() - last["at"] >= parse_duration(a.cooldown):
        return None
    until = (last["at"] + parse_duration(a.cooldown)).strftime("%Y-%m-%d %H:%M")
    return f"cooldown {a.cooldown}: last executed in run {last['run_id']}, again after {until} UTC"


def mark_history(plan: Plan, log: ActionLog) -> int:
    """Mark as skipped every action of `plan` the log already settled (whatever the fresh verdict:
    apply counts it so), and every open one a cooldown holds; returns how many."""
    marked = 0
    for a in plan.actions:
        if a.status not in OPEN and a.status not in ("blocked", "skipped"):
            continue
        why = why_not_again(log, a)
        if why and a.status not in OPEN and not why.startswith(tuple(SETTLED.values())):
            continue  # a cooldown matters only to what would run; what was done matters to every action
        if why:
            a.status, a.reasons = "skipped", [*a.reasons, why]
            marked += 1
    return marked
