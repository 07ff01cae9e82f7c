"""Machine formats: `json` (one document, the plan contract) and `jsonl` (one record a line)."""

from __future__ import annotations

from typing import IO

import orjson

from engine.core.plan import Plan
from engine.output import RenderOptions

_OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def render_json(plan: Plan, out: IO[bytes], options: RenderOptions) -> None:
    out.write(orjson.dumps(plan.to_dict(), option=_OPTS | orjson.OPT_INDENT_2))
    out.write(b"\n")


def render_jsonl(plan: Plan, out: IO[bytes], options: RenderOptions) -> None:
    """Each action on its own line (`"record": "action"`), then one `"record": "summary"` line."""
    head = {"run_id": plan.run_id, "as_of": plan.as_of.isoformat()}
    for action in plan.actions:
        out.write(orjson.dumps({"record": "action", **head, **action.to_dict()}, option=_OPTS))
        out.write(b"\n")
    doc = plan.to_dict()
    del doc["actions"]
    out.write(orjson.dumps({"record": "summary", **doc}, option=_OPTS))
    out.write(b"\n")
