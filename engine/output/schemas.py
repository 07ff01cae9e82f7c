"""`rulerun schema`: the published schemas' names, one schema as JSON, or the files written."""

from __future__ import annotations

from typing import IO

from engine.authoring.schemas import SchemaDocument, SchemaList, SchemasWritten, render
from engine.output import RenderOptions


def render_list(listing: SchemaList, out: IO[bytes], options: RenderOptions) -> None:
    out.write("".join(f"{name}\n" for name in listing.names).encode("utf-8"))


def render_document(doc: SchemaDocument, out: IO[bytes], options: RenderOptions) -> None:
    out.write(render(doc.schema).encode("utf-8"))


def render_written(written: SchemasWritten, out: IO[bytes], options: RenderOptions) -> None:
    out.write("".join(f"wrote {path}\n" for path in written.paths).encode("utf-8"))
