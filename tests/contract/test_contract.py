"""The adapter contract, checked on the sandbox and on each platform's fake (see tests/contract/__init__.py)."""

from __future__ import annotations

import importlib
import logging

import pytest

from engine.core.actions import ACTIONS, FROM_REQUEST
from engine.core.execution import (
    ActionRequest,
    AdapterError,
    AuthError,
    PartialFailure,
    PermanentError,
    RateLimited,
    TransientError,
)
from platforms import get_platform

# One line per platform: the module of its fake, which defines ContractHarness.
HARNESSES = [
    "tests.fakes.sandbox_fake",
    "tests.fakes.google_ads_fake",
    "tests.fakes.meta_graph_fake",
    "tests.fakes.amazon_ads_fake",
    "tests.fakes.linkedin_fake",
    "tests.fakes.pinterest_fake",
    "tests.fakes.tiktok_fake",
    "tests.fakes.klaviyo_fake",
    "tests.fakes.shopify_fake",
    "tests.fakes.activecampaign_fake",
]

FAULTS = {"auth": AuthError, "rate_limit": RateLimited, "transient": TransientError, "permanent": PermanentError}


def _marks(module: str) -> list:
    """A harness whose traffic goes through a Prism proxy runs on the proxy's xdist worker."""
    return [pytest.mark.prism] if getattr(importlib.import_module(module).ContractHarness, "via_prism", False) else []


def _modules(having: str | None = None) -> list:
    """A param per harness (only those whose ContractHarness has the attribute `having`, when given)."""
    return [
        pytest.param(m, id=m.rsplit(".", 1)[1], marks=_marks(m))
        for m in HARNESSES
        if having is None or hasattr(importlib.import_module(m).ContractHarness, having)
    ]


def _cases() -> list:
    out = []
    for module in HARNESSES:
        platform = get_platform(importlib.import_module(module).ContractHarness.platform)
        for level, types in platform.actions.items():
            out += [
                pytest.param(module, t, level, id=f"{module.rsplit('.', 1)[1]}-{t}-{level}", marks=_marks(module))
                for t in types
            ]
    return out


def _fault_cases(kinds) -> list:
    """(module, kind) for each fault kind a harness can inject: the sandbox has no auth step to fail."""
    out = []
    for module in HARNESSES:
        supported = importlib.import_module(module).ContractHarness.faults
        out += [
            pytest.param(module, k, id=f"{module.rsplit('.', 1)[1]}-{k}", marks=_marks(module))
            for k in sorted(kinds)
            if k in supported
        ]
    return out


@pytest.fixture
def make(tmp_path, monkeypatch):
    made = []

    def harness(module: str):
        made.append(importlib.import_module(module).ContractHarness(tmp_path, monkeypatch))
        return made[-1]

    yield harness
    for h in made:
        h.close()


def _fail_every_attempt(h, kind: str) -> None:
    """Queue `kind` for every attempt the adapter's retry policy makes (once for what is never retried)."""
    attempts = h.adapter().retry_policy.max_attempts if kind in ("rate_limit", "transient") else 1
    for _ in range(attempts):
        h.fail_next(kind)


def _recording(adapter, waits: list[float]):
    """The adapter with its waits recorded instead of slept."""
    adapter.sleep = waits.append
    return adapter


def _fault_action(h) -> tuple[str, str]:
    """(action type, level) the fault checks change: a pause of a campaign, or what the harness names."""
    return getattr(h, "fault_action", ("pause", "campaign"))


def _request(h, action_type: str, key, state: dict, action_id: str = "contract-1") -> ActionRequest:
    own = getattr(h, "request", None)  # a harness builds the requests of the action types only it has
    if own is not None and (req := own(action_type, key, state, action_id)) is not None:
        return req
    op = ACTIONS[action_type]
    attr = op.key()
    if op.is_item():  # one item of a collection: a negative keyword, or the harness's `item`
        item = h.negative(key) if attr == "negative_keyword" else h.item(action_type, key)
        return ActionRequest(action_id, key, action_type, {}, {attr: None}, {attr: item})
    if op.sets is not FROM_REQUEST:
        return ActionRequest(action_id, key, action_type, {}, {attr: state[attr]}, {attr: op.sets})
    return ActionRequest(action_id, key, action_type, {}, {attr: state[attr]}, {attr: round(state[attr] * 1.5, 2)})


def _shows(h, state: dict, req: ActionRequest) -> bool:
    if hasattr(h, "shows"):
        return h.shows(state, req)
    op = ACTIONS[req.type]
    attr = op.key()
    if op.is_item():  # one item of a collection (a negative keyword, an enrollment): present
        return op.holds(state, req.after[attr])
    return state[attr] == req.after[attr]


@pytest.mark.parametrize(("module", "action_type", "level"), _cases())
def test_every_supported_action_executes_verifies_and_rolls_back(make, module, action_type, level):
    h = make(module)
    key = h.entity(action_type, level)
    original = h.adapter().read_state(key)
    req = _request(h, action_type, key, original)

    done = h.adapter().execute(req)
    assert _shows(h, h.adapter().read_state(key), req)
    writes = h.writes()

    # the same action id again, in a NEW adapter (a new process): nothing is written
    again = h.adapter().execute(req)
    assert h.writes() == writes
    # ... and its rollback plan restores the same state (platform details in params may differ)
    assert {k: again.rollback_plan[k] for k in ("type", "before", "after")} == {
        k: done.rollback_plan[k] for k in ("type", "before", "after")
    }

    undone = h.adapter().rollback(done.rollback_plan, key)
    assert h.adapter().read_state(key) == original
    h.adapter().rollback(undone.rollback_plan, key)  # rolling back the rollback re-applies the change
    assert _shows(h, h.adapter().read_state(key), req)


@pytest.mark.parametrize("module", _modules())
def test_unsupported_actions_are_refused(make, module):
    h = make(module)
    platform = get_platform(h.platform)
    level, types = next(iter(platform.actions.items()))
    refused = next(t for t in ACTIONS if t not in types and t != "notify")
    key = h.entity(types[0], level)
    before = h.writes()
    with pytest.raises(PermanentError, match="not supported"):
        h.adapter().execute(ActionRequest("contract-x", key, refused, {}, {}, {"bid": 1.0, "daily_budget": 1.0}))
    with pytest.raises(PermanentError):
        h.adapter().execute(ActionRequest("contract-y", key, "delete_everything", {}, {}, {}))
    assert h.writes() == before


@pytest.mark.parametrize("module", _modules())
def test_notify_changes_nothing(make, module):
    h = make(module)
    platform = get_platform(h.platform)
    level, types = next(iter(platform.actions.items()))
    before = h.writes()
    res = h.adapter().execute(ActionRequest("n", h.entity(types[0], level), "notify", {}, {}, {"message": "hi"}))
    assert res.result == {"notified": True} and res.rollback_plan is None and h.writes() == before


@pytest.mark.parametrize(("module", "kind"), _fault_cases(FAULTS))
def test_failures_map_to_the_typed_errors(make, module, kind):
    h = make(module)
    action, level = _fault_action(h)
    key = h.entity(action, level)
    state = h.adapter().read_state(key)
    _fail_every_attempt(h, kind)
    waits: list[float] = []
    with pytest.raises(FAULTS[kind]) as err:
        _recording(h.adapter(), waits).execute(_request(h, action, key, state, action_id="contract-fault"))
    assert type(err.value) is FAULTS[kind] or (kind == "permanent" and not isinstance(err.value, AuthError))
    assert err.value.retryable == (kind in ("rate_limit", "transient"))
    assert len(waits) == (h.adapter().retry_policy.max_attempts - 1 if err.value.retryable else 0)
    assert h.adapter().read_state(key) == state  # nothing changed


@pytest.mark.parametrize(("module", "kind"), _fault_cases(["rate_limit", "transient"]))
def test_a_retryable_failure_is_retried_inside_the_call_and_changes_once(make, module, kind):
    h = make(module)
    action, level = _fault_action(h)
    key = h.entity(action, level)
    req = _request(h, action, key, h.adapter().read_state(key), action_id="contract-retried")
    before = h.writes()
    h.fail_next(kind)
    waits: list[float] = []
    _recording(h.adapter(), waits).execute(req)
    assert _shows(h, h.adapter().read_state(key), req)
    assert h.writes() == before + 1 and len(waits) == 1  # one wait, then the change, made once


@pytest.mark.parametrize("module", _modules())
def test_a_partial_batch_keeps_what_succeeded(make, module):
    h = make(module)
    platform = get_platform(h.platform)
    action, level = _fault_action(h)
    if hasattr(h, "second"):  # one level: two entities of it
        keys = [h.entity(action, level), h.second(h.entity(action, level))]
    else:
        levels = [lvl for lvl, types in platform.actions.items() if action in types][:2]
        keys = [h.entity(action, lvl) for lvl in levels]
        if len(keys) < 2:  # one level can take the action: two entities of it
            keys.append(h.another(action, levels[0]))
    adapter = h.adapter()
    states = [adapter.read_state(k) for k in keys]
    reqs = [_request(h, action, k, states[i], action_id=f"batch-{i}") for i, k in enumerate(keys)]
    h.fail_in_batch(keys[-1])
    with pytest.raises(PartialFailure) as err:
        h.adapter().execute_batch(reqs)
    assert set(err.value.succeeded) == {r.action_id for r in reqs[:-1]}
    assert set(err.value.failed) == {reqs[-1].action_id}
    assert _shows(h, h.adapter().read_state(keys[0]), reqs[0])
    assert h.adapter().read_state(keys[-1]) == states[-1]


@pytest.mark.parametrize("module", _modules(having="use_jpy"))  # platforms that change budgets or bids
def test_a_jpy_account_round_trips_whole_yen(make, module):
    h = make(module)
    key, attr = h.use_jpy()
    adapter = h.adapter(currency="JPY")
    assert adapter.read_state(key)[attr] == 5000.0
    done = adapter.execute(ActionRequest("jpy", key, "set_budget", {"amount": 7500.4}, {attr: 5000.0}, {attr: 7500.4}))
    assert h.adapter(currency="JPY").read_state(key)[attr] == 7500.0 and done.result[attr] == 7500.0
    wire = h.wire(key, attr)
    assert wire in (7500.0, 7500, 7_500_000_000)  # the canonical amount, Meta's offset-1 yen, Google's micros
    h.adapter(currency="JPY").rollback(done.rollback_plan, key)
    assert h.adapter(currency="JPY").read_state(key)[attr] == 5000.0


@pytest.mark.parametrize("module", _modules())
def test_no_credential_appears_in_errors_results_or_logs(make, module, caplog):
    h = make(module)
    caplog.set_level(logging.DEBUG)
    action, level = _fault_action(h)
    key = h.entity(action, level)
    seen: list[str] = []
    state = h.adapter().read_state(key)
    seen.append(repr(h.adapter().execute(_request(h, action, key, state, action_id="s-1"))))
    undo = "enable" if action == "pause" else action
    for kind in h.faults:
        _fail_every_attempt(h, kind)
        with pytest.raises(AdapterError) as err:
            adapter = _recording(h.adapter(), [])
            undone = {"status": "paused"} if action == "pause" else state
            adapter.execute(_request(h, undo, key, undone, action_id="contract-fault"))
        seen += [str(err.value), repr(err.value.details)]
    text = "\n".join(seen) + caplog.text
    for secret in h.secrets:
        assert secret not in text
