"""Compile checked expressions to DuckDB SQL for batch evaluation.

Every operator node becomes a named temporary computed in a projection layer
(static single assignment). A node that must inspect its operand twice (a null guard
such as `CASE WHEN isfinite(x) THEN x END`) then refers to a column name, never to a
copy of the operand's SQL, so compiled size stays linear in expression size.

Semantics (the reference interpreter implements the same):
- numbers are DOUBLE; a non-finite arithmetic result (overflow, 0 * inf) is NULL;
- division by zero is NULL;
- comparisons and membership with a NULL operand are FALSE (never NULL);
- a NULL boolean in a logical context (and/or/not/if) counts as FALSE.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.language.expr.check import Expr
from engine.language.expr.functions import FUNCTIONS
from engine.language.expr.reference import BINARY
from engine.language.expr.types import (
    Binary,
    Call,
    Compare,
    Const,
    IfElse,
    Logical,
    Member,
    Name,
    Node,
    Ref,
    Type,
    Unary,
)
from engine.language.sql import quote_ident, sql_literal

_STRING = re.compile(r"'(?:[^']|'')*'")
_IDENT = re.compile(r'"(?:[^"]|"")*"')
_ALIAS = re.compile(r'\s+AS\s+"(?:[^"]|"")*"$')


_BARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _idents(sql: str) -> set[str]:
    """Identifiers an SQL fragment refers to: quoted ones (string literals skipped), or a bare column name."""
    if _BARE.match(sql):
        return set() if sql.upper() in ("TRUE", "FALSE", "NULL") else {quote_ident(sql)}
    return set(_IDENT.findall(_STRING.sub("", sql)))


def _strip_alias(column: str) -> str:
    return _ALIAS.sub("", column)


def _fin(x: str) -> str:
    return f"(CASE WHEN isfinite({x}) THEN {x} END)"


def _logical(x: str) -> str:
    return f"coalesce({x}, FALSE)"


# A ref resolves to SQL text over the base relation (a column, literal or CASE), or to an
# IR node to compile in turn (a derived metric's formula).
RefResolver = Callable[[Ref], "str | Node"]


@dataclass
class SqlProgram:
    """Temporaries by layer; outputs name the columns holding each expression's value.

    Every temporary's SQL refers only to columns and literals, never to another operator's
    SQL: that keeps compiled size linear however deeply expressions nest.
    """

    resolve: RefResolver
    ctx: dict
    layers: list[list[tuple[str, str]]] = field(default_factory=list)
    _memo: dict[object, tuple[str, int]] = field(default_factory=dict)
    _count: int = 0
    _nonnull: set[str] = field(default_factory=lambda: {"TRUE", "FALSE"})  # booleans that are never NULL
    nonnull_values: set[str] = field(default_factory=set)  # base columns (SQL) that are never NULL

    def add(self, expr: Expr | Node, logical: bool = False) -> str:
        """Compile an expression; return the SQL (a column or literal) holding its value."""
        node = expr.ir if isinstance(expr, Expr) else expr
        text, layer = self._node(node)
        if logical and text not in self._nonnull:
            text, layer = self._temp(_logical(text), layer + 1)
        return text

    def value_of(self, ref: Ref) -> str:
        """The SQL holding a name's value (compiling it, e.g. a derived metric, if needed)."""
        return self._ref(ref)[0]

    def select(self, base: str, columns: list[str], where: str | None = None) -> str:
        """A query over `base` computing every layer, returning `columns`.

        Each layer passes on only the columns later layers or the output still use, so
        the binder never expands `*` over a growing list of temporaries.
        """
        need = set().union(*(_idents(_strip_alias(c)) for c in columns))
        plan: list[tuple[list[str], list[tuple[str, str]]]] = []
        for layer in reversed(self.layers):
            defined = {name for name, _ in layer}
            through = sorted(need - defined)
            plan.append((through, layer))
            need = set(through).union(*(_idents(sql) for _, sql in layer))
        sql = f"SELECT {', '.join(sorted(need)) or '1 AS _none'} FROM ({base}) AS _base"
        for through, layer in reversed(plan):
            items = through + [f"{e} AS {n}" for n, e in layer]
            sql = f"SELECT {', '.join(items)} FROM ({sql}) AS _l"
        out = f"SELECT {', '.join(columns)} FROM ({sql}) AS _e"
        return f"{out} WHERE {where}" if where else out

    # -- internals -------------------------------------------------------------------------
    def _never_null(self, sql: str) -> bool:
        return sql in self.nonnull_values or (sql.startswith("CAST('") and sql.endswith("' AS DOUBLE)"))

    def _lg(self, x: str) -> str:
        """A boolean in a logical context: NULL counts as FALSE (no wrapper when it cannot be NULL)."""
        return x if x in self._nonnull else _logical(x)

    def _bool(self, sql: str, layer: int) -> tuple[str, int]:
        """A temporary holding a boolean that is never NULL."""
        name, layer = self._temp(sql, layer)
        self._nonnull.add(name)
        return name, layer

    def _temp(self, sql: str, layer: int) -> tuple[str, int]:
        self._count += 1
        name = quote_ident(f"_t{self._count}")
        while len(self.layers) < layer:
            self.layers.append([])
        self.layers[layer - 1].append((name, sql))
        return name, layer

    def _node(self, node: Node) -> tuple[str, int]:
        if isinstance(node, Const):
            return sql_literal(node.value), 0
        if isinstance(node, Name):
            return self._ref(node.ref)
        key = node  # IR nodes are frozen dataclasses: equal subtrees compile once
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        result = self._compile(node)
        self._memo[key] = result
        return result

    def _ref(self, ref: Ref) -> tuple[str, int]:
        hit = self._memo.get(ref.key)
        if hit is not None:
            return hit
        resolved = self.resolve(ref)
        result = self._node(resolved) if isinstance(resolved, Node) else (resolved, 0)
        self._memo[ref.key] = result
        return result

    def _compile(self, node: Node) -> tuple[str, int]:
        if isinstance(node, Unary):
            x, lx = self._node(node.operand)
            if node.op == "not":
                return self._bool(f"(NOT {self._lg(x)})", lx + 1)
            return (x, lx) if node.op == "pos" else self._temp(f"(- {x})", lx + 1)
        if isinstance(node, Binary):
            if isinstance(node.left, Const) and isinstance(node.right, Const):
                # Fold with the reference operators: identical IEEE results, one less temporary.
                return sql_literal(BINARY[node.op](node.left.value, node.right.value)), 0
            (a, la), (b, lb) = self._node(node.left), self._node(node.right)
            layer = max(la, lb)
            # Operands are column names or literals, so repeating the operation inside its guard
            # costs one more vector operation, not a copy of a subtree, and saves a layer.
            if node.op == "/":
                quotient = f"({a} / {b})"
                return self._temp(
                    f"(CASE WHEN {b} = 0 OR NOT isfinite({quotient}) THEN NULL ELSE {quotient} END)", layer + 1
                )
            expr = f"pow({a}, {b})" if node.op == "**" else f"({a} {node.op} {b})"
            return self._temp(_fin(expr), layer + 1)
        if isinstance(node, Logical):
            parts = [self._node(v) for v in node.values]
            joined = f" {node.op.upper()} ".join(self._lg(p) for p, _ in parts)
            return self._bool(f"({joined})", max(lv for _, lv in parts) + 1)
        if isinstance(node, Compare):
            parts = [self._node(v) for v in node.operands]
            terms = []
            for op, (a, _), (b, _) in zip(node.ops, parts, parts[1:], strict=False):
                sym = {"==": "=", "!=": "<>"}.get(op, op)
                test = f"{a} {sym} {b}"
                terms.append(f"({test})" if self._never_null(a) and self._never_null(b) else f"coalesce({test}, FALSE)")
            return self._bool("(" + " AND ".join(terms) + ")", max(lv for _, lv in parts) + 1)
        if isinstance(node, Member):
            return self._member(node)
        if isinstance(node, IfElse):
            (t, lt), (b, lb), (o, lo) = (self._node(n) for n in (node.test, node.body, node.orelse))
            return self._temp(f"(CASE WHEN {self._lg(t)} THEN {b} ELSE {o} END)", max(lt, lb, lo) + 1)
        if isinstance(node, Call):
            fn = FUNCTIONS[node.func]
            args = [self._node(a) for a in node.args]
            layer = max((lv for _, lv in args), default=0)
            sql = fn.sql([a for a, _ in args], self.ctx)
            if fn.never_null:
                return self._bool(sql, layer + 1)
            return self._temp(_fin(sql) if fn.may_overflow else sql, layer + 1)
        raise TypeError(f"cannot compile {type(node).__name__}")

    def _member(self, node: Member) -> tuple[str, int]:
        x, lx = self._node(node.needle)
        if node.items is not None:
            items = ", ".join(sql_literal(i.value) for i in node.items)  # type: ignore[attr-defined]
            test = f"{x} {'NOT IN' if node.negate else 'IN'} ({items})"
            return self._bool(f"coalesce({test}, FALSE)", lx + 1)
        assert node.haystack is not None and node.haystack.type == Type.LABELS
        h, lh = self._node(node.haystack)
        test = f"list_contains({h}, {x})"
        if node.negate:
            test = f"NOT {test}"
        return self._bool(f"coalesce({test}, FALSE)", max(lx, lh) + 1)
