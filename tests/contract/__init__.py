"""The adapter contract suite: every adapter, sandbox and live, held to the same promises.

`test_contract.py` runs each check against every module in its `HARNESSES` list. A
module there is a platform's fake (tests/fakes/<name>.py) that also defines
`ContractHarness(tmp_path, monkeypatch)`, the suite's handle on that fake and its adapter:

- `platform`: the platform name (its declaration, platforms/<name>/__init__.py, says which
  action types each level supports: the suite checks every one of them);
- `adapter(currency="USD")`: a NEW adapter instance on the fake's account (real SDK, real
  wire protocol), as a new process would make it; the suite replaces its `sleep` (every
  wait of its `retry_policy`, engine/core/retry.py) with a recorder, so nothing really sleeps;
- `entity(action_type, level)`: an EntityKey where that action changes something (an
  active entity to pause, a paused one to enable, one with a budget or manual bid);
- `negative(key)`: the negative keyword to add for a search term (platforms that have them);
- `item(action_type, key)`: the item another collection action adds (an automation
  enrollment, a subject test: `ActionType.identity`), for platforms that have them;
- `writes()`: how many changes the fake has received so far;
- `faults`: the kinds `fail_next` can inject, from "auth", "rate_limit", "transient",
  "permanent" (a request with action id "contract-fault"); `fail_next(kind)` makes the
  next call fail so, before `adapter()` is called; called n times, the next n calls (the
  suite queues one per attempt of the retry policy to see the error the caller gets);
- `fail_in_batch(key)`: the next batch fails the change of `key` only;
- `use_jpy()`: the account is in JPY from now on; returns (key, attribute) of an entity
  holding 5,000 yen there, and `wire(key, attribute)` is the raw value the fake stores;
- `secrets`: the sentinel credential values in use (none may appear in an error, a
  result or a log record);
- `close()`.

A new platform joins with one folder under platforms/ (its declaration and
`adapter.py`), one fake under tests/fakes/ with its `ContractHarness`, and one line in
`HARNESSES`.
"""
