"""Plan output formats behind one small interface: `render(plan, out, options)`.

Each format lives in its own module and is imported only when used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from engine.core.plan import Plan

FORMATS: dict[str, str] = {
    "table": "engine.output.table",
    "json": "engine.output.json_format",
    "jsonl": "engine.output.json_format",
    "markdown": "engine.output.markdown",
    "github": "engine.output.github",
}


@dataclass
class RenderOptions:
    format: str = "table"
    limit: int | None = 50  # rows per workflow in human formats; None for all
    color: bool | None = None


class Renderer(Protocol):
    def __call__(self, plan: Plan, out: IO[bytes], options: RenderOptions) -> None: ...


def get_renderer(name: str) -> Renderer:
    module = importlib.import_module(FORMATS[name])
    return getattr(module, f"render_{name}")
