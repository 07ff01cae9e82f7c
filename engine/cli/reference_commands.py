"""What `schema` and `docs` do: the reference generated from the registries."""

from __future__ import annotations

from pathlib import Path

from engine.authoring.schemas import get_schema, list_schemas, write_schemas
from engine.cli.common import show
from engine.output.reference_docs import ReferenceDocs


def schema_command(name: str | None, write_dir: str | None) -> None:
    if write_dir:
        show(write_schemas(Path(write_dir)))
    elif name is None:
        show(list_schemas())
    else:
        show(get_schema(name))


def docs_command(topic: str | None) -> None:
    show(ReferenceDocs.of(topic))
