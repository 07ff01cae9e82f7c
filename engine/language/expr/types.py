"""Types, the typed IR, and the scope interface of the expression language."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol


class Type(Enum):
    NUM = "number"
    STR = "string"
    BOOL = "boolean"
    DATE = "date"
    LABELS = "labels"
    NULL = "null"  # the literal `null` only

    def __str__(self) -> str:
        return self.value


class ExprError(Exception):
    """A problem in an expression, at a character offset into its text."""

    def __init__(self, message: str, offset: int = 0, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint


@dataclass(frozen=True)
class Ref:
    """A resolved name: where its value comes from.

    kind: metric | attr | parent | account | threshold | guardrail | benchmark | truth | builtin
    window: for metrics (and account metrics), the window name (e.g. "last_7d", "prev:last_7d").
    """

    kind: str
    name: str
    type: Type
    window: str | None = None
    text: str = ""  # as written by the user, e.g. "prev.spend"

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.window}:{self.name}" if self.window else f"{self.kind}:{self.name}"

    @property
    def windowed(self) -> str:
        """The window of a metric or truth ref, which always has one."""
        if self.window is None:
            raise ValueError(f"{self.kind} ref {self.name!r} has no window")
        return self.window


class Scope(Protocol):
    """Resolves dotted names to Refs for one evaluation context (a workflow rule)."""

    def resolve(self, parts: tuple[str, ...], offset: int) -> Ref:
        """Return the Ref for `a.b.c`, or raise ExprError with a hint."""


# ---- typed IR ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    type: Type


@dataclass(frozen=True)
class Const(Node):
    value: float | str | bool | None


@dataclass(frozen=True)
class Name(Node):
    ref: Ref


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "neg", "pos", "not"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str  # "+", "-", "*", "/", "**"
    left: Node
    right: Node


@dataclass(frozen=True)
class Logical(Node):
    op: str  # "and", "or"
    values: tuple[Node, ...]


@dataclass(frozen=True)
class Compare(Node):
    ops: tuple[str, ...]  # "<", "<=", ">", ">=", "==", "!="
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Member(Node):
    """`x in [..]`, `x not in [..]` (literal list) or `'label' in labels`."""

    needle: Node
    items: tuple[Node, ...] | None  # literal items, or None for a labels haystack
    haystack: Node | None
    negate: bool


@dataclass(frozen=True)
class IfElse(Node):
    test: Node
    body: Node
    orelse: Node


@dataclass(frozen=True)
class Call(Node):
    func: str
    args: tuple[Node, ...] = field(default=())
