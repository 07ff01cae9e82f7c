"""YAML loading that keeps every node's position, rejects duplicate keys and bounds the input.

PyYAML's safe loader silently keeps the last of two equal keys and forgets where
values came from; rule files need both: duplicates are errors, and every later
diagnostic (schema, expression, semantic) points at file:line:col.

Files come from pull requests, so nothing in them is trusted: size, nesting, aliases,
tags and numbers are bounded (engine.core.limits) while the file is parsed, before any
value is built, and each refusal is a diagnostic at its position.
"""

from __future__ import annotations

import gc
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from engine.core.errors import Diagnostic, DiagnosticsError
from engine.core.limits import (
    MAX_ALIAS_VALUES,
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NUMBER,
    MAX_NUMBER_CHARS,
)

try:
    from yaml._yaml import CParser  # libyaml's parser, where yaml.cyaml takes it from
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    CParser = None  # type: ignore[assignment,misc]

Path_ = tuple[str | int, ...]


class Pos(NamedTuple):  # a tuple: one per value of a file, so cheap to make
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


_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_CORE + t: t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_NUMBER_TAGS = frozenset((_CORE + "int", _CORE + "float"))
_KIND = {"str": "text", "int": "integer", "float": "number", "bool": "boolean", "null": "null", "timestamp": "date"}
_STR = _CORE + "str"
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_MESSAGE = "text holds half of a surrogate pair (\\ud800 to \\udfff), which is not a character"
_SURROGATE_HINT = "remove the \\u escape, or write the character itself"
_CONSTRUCTOR = SafeConstructor()  # its scalar constructors keep no state between calls
_BOUND = f"{MAX_NUMBER:.0e}".replace("+", "")
NUMBER_HINT = f"numbers must be finite and between -{_BOUND} and {_BOUND}; quote the value if it is text"


_LEAF = (1, 1)  # a scalar's shape: one value, one level


class _Refused(Exception):
    """The input crosses a bound of engine.core.limits: composing stops at `mark`."""

    def __init__(self, mark: Any, message: str, hint: str):
        super().__init__(message)
        self.mark = mark
        self.message = message
        self.hint = hint


class _BoundedComposer(Composer):
    """PyYAML's composer with bounds checked as each node arrives, before anything is built.

    It measures every node as it completes (values once aliases are expanded, levels of
    nesting), so an alias costs a lookup: nine anchors of nine aliases are refused after
    a few dozen events instead of expanding to 9^9 values.
    """

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.aliases = 0
        self.alias_values = 0
        self.open_anchors: set[str] = set()  # anchors whose value is still being composed
        self.shape: dict[int, tuple[int, int]] = {}  # id(node) -> (values once expanded, levels)

    # supplied by the parser this composer is mixed with (PyYAML's Parser or libyaml's CParser)
    peek_event: Callable[[], Any]
    get_event: Callable[[], Any]

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            return self._alias(event)
        if self.depth >= MAX_DEPTH:
            raise _Refused(
                event.start_mark,
                f"values are nested more than {MAX_DEPTH} levels deep",
                "rule files need a few levels; flatten the lists and mappings",
            )
        anchor = event.anchor
        if anchor is not None:
            self.open_anchors.add(anchor)
        self.depth += 1
        node = super().compose_node(parent, index)
        self.depth -= 1
        assert node is not None  # None only at the end of a stream, which is not a node's place
        if anchor is not None:
            self.open_anchors.discard(anchor)
        if isinstance(node, yaml.ScalarNode):
            self.shape[id(node)] = _LEAF
            return node
        if isinstance(node, yaml.MappingNode):
            shapes = [self.shape[id(child)] for pair in node.value for child in pair]
        else:
            shapes = [self.shape[id(child)] for child in node.value]
        self.shape[id(node)] = (1 + sum(s[0] for s in shapes), 1 + max((s[1] for s in shapes), default=0))
        return node

    def _alias(self, event: AliasEvent) -> yaml.Node:
        self.get_event()
        anchor = event.anchor
        if anchor in self.open_anchors:
            raise _Refused(
                event.start_mark,
                f"alias *{anchor} is inside the value it refers to (a value cannot contain itself)",
                f"remove *{anchor} here, or move it out of the value anchored &{anchor}",
            )
        if anchor not in self.anchors:
            # libyaml's marks have the same fields as PyYAML's, which the stubs do not say
            mark: Any = event.start_mark
            raise yaml.composer.ComposerError(None, None, f"found undefined alias {anchor!r}", mark)
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            raise _Refused(
                event.start_mark,
                f"more than {MAX_ALIASES} aliases (*name) in one file",
                "write the values out, or split the file",
            )
        node = self.anchors[anchor]
        values, levels = self.shape[id(node)]
        self.alias_values += values
        if self.alias_values > MAX_ALIAS_VALUES:
            raise _Refused(
                event.start_mark,
                f"aliases expand to more than {MAX_ALIAS_VALUES:,} values in one file",
                "write the values out instead of nesting aliases in aliases",
            )
        if self.depth + levels > MAX_DEPTH:
            raise _Refused(
                event.start_mark,
                f"alias *{anchor} nests values more than {MAX_DEPTH} levels deep",
                "write the values out instead of nesting aliases in aliases",
            )
        return node


class _PythonLoader(Reader, Scanner, Parser, _BoundedComposer, Resolver):
    """PyYAML's pure-Python parser under the bounded composer."""

    def __init__(self, text: str):
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        _BoundedComposer.__init__(self)
        Resolver.__init__(self)


PARSERS: dict[str, type] = {"python": _PythonLoader}

if CParser is not None:

    class _LibyamlLoader(_BoundedComposer, CParser, Resolver):
        """libyaml's event parser (in C, several times faster) under the bounded composer."""

        def __init__(self, text: str):
            CParser.__init__(self, text)
            _BoundedComposer.__init__(self)
            Resolver.__init__(self)

    PARSERS["libyaml"] = _LibyamlLoader

DEFAULT_PARSER = "libyaml" if "libyaml" in PARSERS else "python"


class _Builder:
    def __init__(self, doc: Document, problems: list[Diagnostic]):
        self.doc = doc
        self.problems = problems

    def build(self, node: yaml.Node, path: Path_) -> Any:
        mark = node.start_mark
        self.doc.values[path] = Pos(mark.line + 1, mark.column + 1, getattr(node, "style", None))
        if isinstance(node, yaml.MappingNode):
            if node.tag != _CORE + "map":
                self._tag_problem(node)
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _CORE + "seq":
                self._tag_problem(node)
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)  # the third and last kind of node
        return self._scalar(node)

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        """The scalar's value by the safe loader's rules; anything refused stays its source text."""
        tag = node.tag
        if tag == _STR:
            value = node.value
            if _SURROGATE.search(value):
                self._problem(node, _SURROGATE_MESSAGE, _SURROGATE_HINT)
                return _SURROGATE.sub("\ufffd", value)
            return value
        if tag == _CORE + "value":  # a lone `=`: YAML 1.1's "value key", plain text here
            return node.value
        kind = _SCALAR_TAGS.get(tag)
        if kind is None:
            self._tag_problem(node)
            return node.value
        if tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_CHARS:
            self._problem(node, f"number {_short(node.value)} is too long ({len(node.value)} characters)", NUMBER_HINT)
            return node.value
        try:
            value = SafeConstructor.yaml_constructors[tag](_CONSTRUCTOR, node)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, yaml.YAMLError) as exc:
            # An impossible date such as 2026-11-31 (PyYAML raises a bare ValueError), or an
            # explicit tag the text does not fit: !!int abc, !!bool maybe, !!timestamp soon.
            if kind == "timestamp":
                self._problem(
                    node,
                    f"{_short(node.value)!r} is not a valid date or value: {exc}",
                    "write dates as YYYY-MM-DD with a real day of the month, or quote the text",
                )
            else:
                self._problem(node, f"{_short(node.value)!r} is not a valid {_KIND[kind]}", "remove the !!tag")
            return node.value
        if isinstance(value, float) and math.isnan(value):
            self._problem(node, f"{node.value} is not a number", NUMBER_HINT)
            return node.value
        if isinstance(value, int | float) and not isinstance(value, bool) and not abs(value) <= MAX_NUMBER:
            self._problem(node, f"number {_short(node.value)} is out of range", NUMBER_HINT)
            return node.value
        return value

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict:
        result: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, "mapping keys must be plain names", "write `key: value`")
                continue
            if key_node.tag == _CORE + "merge":
                self._problem(
                    key_node,
                    "YAML merge keys (<<) are not supported in rule files",
                    "repeat the keys explicitly",
                )
                continue
            before = len(self.problems)
            key = self._scalar(key_node)
            if len(self.problems) != before:
                continue  # the key itself was refused
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

    def _tag_problem(self, node: yaml.Node) -> None:
        tag = node.tag.replace(_CORE, "!!", 1) if node.tag.startswith(_CORE) else node.tag
        self._problem(
            node,
            f"YAML tag {_short(tag)} is not allowed in rule files",
            "remove the tag: rule files hold plain text, numbers, booleans, dates, lists and mappings",
        )

    def _problem(self, node: yaml.Node, message: str, hint: str) -> None:
        m = node.start_mark
        self.problems.append(Diagnostic(self.doc.file, m.line + 1, m.column + 1, message, hint))


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_text(text: str, file: str, parser: str = DEFAULT_PARSER) -> tuple[Document | None, list[Diagnostic]]:
    """Parse YAML text; returns the document (None when it cannot be parsed) and the problems found.

    `parser` is "libyaml" (when PyYAML has it) or "python"; both give the same results.
    """
    with _cycle_collector_paused():
        return _load_text(text, file, parser)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    # Every node of a file stays alive until the file is built, so the collector's passes over
    # them are wasted: about half the time of a large file. Nodes form no cycles (a recursive
    # alias is refused), so nothing waits on the collector meanwhile.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_text(text: str, file: str, parser: str) -> tuple[Document | None, list[Diagnostic]]:
    doc = Document(file=file, data=None, source=text)
    problems: list[Diagnostic] = []
    try:
        loader = PARSERS[parser](text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except _Refused as exc:
        return None, [Diagnostic(file, exc.mark.line + 1, exc.mark.column + 1, exc.message, exc.hint)]
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
    except yaml.reader.ReaderError as exc:
        index = exc.position
        if parser == "libyaml":  # libyaml counts bytes of the UTF-8 text
            index = len(text.encode("utf-8", "surrogatepass")[:index].decode("utf-8", "ignore"))
        line, col = _line_col(text, index)
        char = exc.character if isinstance(exc.character, int) else ord(exc.character or "\0")
        return None, [
            Diagnostic(
                file,
                line,
                col,
                f"the control character U+{char:04X} is not allowed in YAML",
                'remove it; in a double-quoted string write it as an escape such as "\\t"',
            )
        ]
    except UnicodeEncodeError as exc:  # a lone surrogate in the text (libyaml reads UTF-8)
        line, col = _line_col(text, exc.start)
        return None, [Diagnostic(file, line, col, "the text holds half of a surrogate pair", "re-save it as UTF-8")]
    except yaml.YAMLError as exc:
        return None, [Diagnostic(file, None, None, f"YAML error: {exc}", None)]
    if node is None:
        doc.data = None
        return doc, problems
    doc.data = _Builder(doc, problems).build(node, ())
    return doc, problems


def load_file(path: Path) -> tuple[Document | None, list[Diagnostic]]:
    """Read and parse a YAML file, reporting unreadable, oversized or non-UTF-8 files as diagnostics."""
    shown = display_path(path)
    try:
        if not path.is_file():
            return None, [Diagnostic(shown, None, None, "not a regular file", "rule files are plain YAML files")]
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)  # never more than the limit, whatever the file claims
    except OSError as exc:
        return None, [Diagnostic(shown, None, None, f"cannot read file: {exc.strerror}", None)]
    if len(raw) > MAX_FILE_BYTES:
        line = raw[:MAX_FILE_BYTES].count(b"\n") + 1
        return None, [
            Diagnostic(
                shown,
                line,
                None,
                f"file is larger than {MAX_FILE_BYTES:,} bytes (the limit is reached on this line)",
                "split it: one workflow per file, or fewer, shorter rules",
            )
        ]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [Diagnostic(shown, line, col, "file is not valid UTF-8", "re-save the file as UTF-8")]
    if text.startswith("\ufeff"):
        text = text[1:]
    return load_text(text, shown)


def without_echoes(diagnostics: list[Diagnostic], reading: list[Diagnostic]) -> list[Diagnostic]:
    """`diagnostics` less the later ones at the position of a reading problem.

    A value refused while reading stays its source text, so a later check (a schema type,
    a series format) trips on it again: the reading problem already said what is wrong.
    """
    first = set(reading)
    refused = {(d.file, d.line, d.col) for d in first}
    return [d for d in diagnostics if d in first or (d.file, d.line, d.col) not in refused]


def load_data(path: Path) -> Any:
    """The data of a YAML file read under the same bounds; any problem raises DiagnosticsError."""
    doc, problems = load_file(path)
    if problems or doc is None:
        raise DiagnosticsError(problems, f"invalid {display_path(path)}")
    return doc.data
