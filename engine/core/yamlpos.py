"""YAML loading that keeps every node's position and rejects duplicate keys.

PyYAML's safe loader silently keeps the last of two equal keys and forgets where
values came from; rule files need both: duplicates are errors, and every later
diagnostic (schema, expression, semantic) points at file:line:col.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.core.errors import Diagnostic

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Pos:
    line: int  # 1-based
    col: int  # 1-based
    style: str | None = None  # scalar style: None (plain), "'", '"', "|", ">"


@dataclass
class Document:
    """A loaded YAML file: its data, and where each value and key is."""

    file: str
    data: Any
    values: dict[Path_, Pos] = field(default_factory=dict)
    keys: dict[Path_, Pos] = field(default_factory=dict)
    source: str = ""

    def pos(self, path: Path_, key: bool = False) -> Pos:
        """Position of the value at `path` (or of its key), falling back to the closest parent."""
        table = self.keys if key else self.values
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if p in self.values:
                return self.values[p]
            p = p[:-1]
        return self.values.get((), Pos(1, 1))

    def diag(
        self,
        path: Path_,
        message: str,
        hint: str | None = None,
        *,
        key: bool = False,
        severity: str = "error",
        code: str | None = None,
    ) -> Diagnostic:
        pos = self.pos(path, key=key)
        return Diagnostic(self.file, pos.line, pos.col, message, hint, severity, code)  # type: ignore[arg-type]


class _Builder:
    def __init__(self, doc: Document, problems: list[Diagnostic]):
        self.doc = doc
        self.problems = problems

    def build(self, node: yaml.Node, path: Path_) -> Any:
        mark = node.start_mark
        self.doc.values[path] = Pos(mark.line + 1, mark.column + 1, getattr(node, "style", None))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        try:
            return yaml.SafeLoader.construct_scalar_value(node)  # type: ignore[attr-defined]
        except ValueError as exc:  # an impossible date such as 2026-11-31: PyYAML raises a bare ValueError
            self._problem(
                node,
                f"{node.value!r} is not a valid date or value: {exc}",
                "write dates as YYYY-MM-DD with a real day of the month, or quote the text",
            )
            return node.value

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict:
        result: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, "mapping keys must be plain names", "write `key: value`")
                continue
            key = yaml.SafeLoader.construct_scalar_value(key_node)  # type: ignore[attr-defined]
            if key == "<<":
                self._problem(
                    key_node,
                    "YAML merge keys (<<) are not supported in rule files",
                    "repeat the keys explicitly",
                )
                continue
            key = str(key)
            kmark = key_node.start_mark
            if key in result:
                first = self.doc.keys[(*path, key)]
                self._problem(
                    key_node,
                    f"duplicate key {key!r} (first defined at line {first.line})",
                    "remove one of them: YAML would silently keep only the last",
                )
                continue
            self.doc.keys[(*path, key)] = Pos(kmark.line + 1, kmark.column + 1)
            result[key] = self.build(value_node, (*path, key))
        return result

    def _problem(self, node: yaml.Node, message: str, hint: str) -> None:
        m = node.start_mark
        self.problems.append(Diagnostic(self.doc.file, m.line + 1, m.column + 1, message, hint))


def _construct_scalar_value(node: yaml.ScalarNode) -> Any:
    # Resolve the scalar with the safe loader's own constructors (ints, floats, bools, null, dates).
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


yaml.SafeLoader.construct_scalar_value = staticmethod(_construct_scalar_value)  # type: ignore[attr-defined]


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_text(text: str, file: str) -> tuple[Document | None, list[Diagnostic]]:
    """Parse YAML text; returns the document (None on a syntax error) and the problems found."""
    doc = Document(file=file, data=None, source=text)
    problems: list[Diagnostic] = []
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        msg = f"YAML syntax error: {exc.problem or exc.context}"
        if exc.context and exc.problem:
            msg += f" ({exc.context})"
        return None, [
            Diagnostic(
                file,
                line,
                col,
                msg,
                "check indentation, colons and quotes; strings with ': ' or '#' need quotes",
            )
        ]
    except yaml.YAMLError as exc:
        return None, [Diagnostic(file, None, None, f"YAML error: {exc}", None)]
    if node is None:
        doc.data = None
        return doc, problems
    doc.data = _Builder(doc, problems).build(node, ())
    return doc, problems


def load_file(path: Path) -> tuple[Document | None, list[Diagnostic]]:
    """Read and parse a YAML file, reporting unreadable or non-UTF-8 files as diagnostics."""
    shown = display_path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Diagnostic(shown, None, None, f"cannot read file: {exc.strerror}", None)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [Diagnostic(shown, line, col, "file is not valid UTF-8", "re-save the file as UTF-8")]
    if text.startswith("\ufeff"):
        text = text[1:]
    return load_text(text, shown)
