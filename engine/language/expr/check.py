"""Parse and statically check an expression into typed IR plus a reference AST.

The syntax is Python's (a whitelisted subset); everything else is refused with a
message naming the construct and its position, before any data is read.
"""

from __future__ import annotations

import ast
import functools
import io
import itertools
import math
import tokenize
import unicodedata
from dataclasses import dataclass, field
from typing import cast

from engine.language.expr.functions import FUNCTIONS
from engine.language.expr.types import (
    Binary,
    Call,
    Compare,
    Const,
    ExprError,
    IfElse,
    Logical,
    Member,
    Name,
    Node,
    Ref,
    Scope,
    Type,
    Unary,
)

MAX_LENGTH = 2000
MAX_NODES = 250
MAX_DEPTH = 24
MAX_EXPONENT = 64.0  # literal exponents only: refuses 9 ** 9 ** 9 style bombs at validation

LITERALS = {"true": True, "True": True, "false": False, "False": False, "null": None, "None": None}

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_CMPOPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_FORBIDDEN = {
    ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.Subscript: "indexing (x[...])",
    ast.Starred: "starred arguments",
    ast.JoinedStr: "f-strings",
    ast.Dict: "dict literals",
    ast.Set: "set literals",
    ast.NamedExpr: "assignment (:=)",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slices",
}


@dataclass
class Expr:
    """A checked expression: typed IR for SQL, a normalized AST for the reference."""

    text: str
    ir: Node
    pyast: ast.expr
    variables: dict[str, Ref] = field(default_factory=dict)  # reference AST name -> Ref

    @property
    def type(self) -> Type:
        return self.ir.type

    @functools.cached_property
    def refs(self) -> list[Ref]:
        return list(dict.fromkeys(self.variables.values()))


def compile_expr(text: str, scope: Scope, *, want: Type | None = None) -> Expr:
    """Parse and check `text`; raise ExprError (with an offset into text) on any problem."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("expression is empty", 0, "write a condition, e.g. spend > 100")
    if len(text) > MAX_LENGTH:
        raise ExprError(
            f"expression is too long ({len(text)} characters, at most {MAX_LENGTH})",
            0,
            "split the rule or simplify the condition",
        )
    tree = _parse(text)
    _refuse_non_ascii_names(text)
    checker = _Checker(text, scope)
    ir = checker.visit(tree.body, depth=1)
    if want is not None and ir.type != want:
        raise ExprError(
            f"expression must give a {want}, but gives a {ir.type}",
            0,
            "compare it with something, e.g. `cpa > 100`" if want == Type.BOOL else None,
        )
    body = _rewrite(tree.body, checker.replace)
    return Expr(text=text, ir=ir, pyast=body, variables=checker.variables)  # type: ignore[arg-type]


def _parse(text: str) -> ast.Expression:
    # Parenthesized so that multi-line (block scalar) expressions parse like one line.
    try:
        tree = ast.parse("(" + text + "\n)", mode="eval")
    except SyntaxError as exc:
        offset = _offset(text, exc.lineno or 1, (exc.offset or 1) - 1, chars=True)
        raise ExprError(
            f"syntax error: {exc.msg}",
            offset,
            "expressions use Python syntax: and/or/not, ==, !=, <, <=, quotes around text",
        ) from None
    except ValueError as exc:  # a lone surrogate cannot be encoded for the parser
        offset = max(0, getattr(exc, "start", 1) - 1)  # the parsed source starts with "("
        message = "expression holds a character that is not valid text"
        raise ExprError(message, offset, "retype the expression") from None
    return tree


_LITERAL_TOKENS = {tokenize.STRING, tokenize.COMMENT} | {
    getattr(tokenize, name) for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END") if hasattr(tokenize, name)
}


def _refuse_non_ascii_names(text: str) -> None:
    """Names are ASCII: Python would read the look-alike `ｓｐｅｎｄ` (fullwidth) as `spend` (NFKC).

    Text in quotes may hold any character; anything else outside ASCII is refused, at the
    offending character.
    """
    if text.isascii():
        return
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO("(" + text + "\n)").readline))
    except (tokenize.TokenError, SyntaxError):
        tokens = []  # unreachable after a successful parse; the character scan below still runs
    spans = [(t.start, t.end) for t in tokens if t.type in _LITERAL_TOKENS]
    for lineno, line in enumerate(("(" + text).split("\n"), start=1):
        for col, ch in enumerate(line):
            if ch.isascii() or any(start <= (lineno, col) < end for start, end in spans):
                continue
            offset = _offset(text, lineno, col, chars=True)
            word = next((t.string for t in tokens if t.start <= (lineno, col) < t.end), ch)
            ascii_word = unicodedata.normalize("NFKC", word)
            raise ExprError(
                f"{word!r} holds the non-ASCII character {ch!r} "
                f"(U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')}) at position {offset + 1} of the expression",
                offset,
                f"names are plain ASCII: type {ascii_word!r}"
                if ascii_word.isascii() and ascii_word != word
                else "names use ASCII letters, digits and underscores; quote text that holds other characters",
            )


def _offset(text: str, lineno: int, col: int, chars: bool = False) -> int:
    """Character offset into `text` of (lineno, col) in the parenthesized source."""
    lines = ("(" + text).split("\n")
    lineno = max(1, min(lineno, len(lines)))
    line = lines[lineno - 1]
    if not chars:  # ast column offsets count UTF-8 bytes
        col = len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))
    offset = sum(len(x) + 1 for x in lines[: lineno - 1]) + col - 1
    return max(0, min(offset, len(text)))


def _dotted(node: ast.expr) -> tuple[str, ...] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return tuple(reversed(parts))
    return None


class _Checker:
    def __init__(self, text: str, scope: Scope):
        self.text = text
        self.scope = scope
        self.nodes = 0
        self.variables: dict[str, Ref] = {}
        self._var_of: dict[str, str] = {}
        self.replace: dict[int, ast.AST] = {}  # AST node id -> its node in the reference AST

    def pos(self, node: ast.AST) -> int:
        return _offset(self.text, getattr(node, "lineno", 1), getattr(node, "col_offset", 1))

    def fail(self, node: ast.AST, message: str, hint: str | None = None) -> ExprError:
        return ExprError(message, self.pos(node), hint)

    # -- dispatch --------------------------------------------------------------------------
    def visit(self, node: ast.expr, depth: int) -> Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(
                node, f"expression is too large (more than {MAX_NODES} parts)", "split it into several rules"
            )
        if depth > MAX_DEPTH:
            raise self.fail(
                node,
                f"expression is nested too deeply (more than {MAX_DEPTH} levels)",
                "simplify the condition",
            )
        for kind, what in _FORBIDDEN.items():
            if isinstance(node, kind):
                raise self.fail(
                    node,
                    f"{what} are not allowed in rule expressions",
                    "use comparisons, arithmetic, and/or/not and the documented functions",
                )
        method = getattr(self, f"v_{type(node).__name__}", None)
        if method is None:
            raise self.fail(
                node,
                f"{type(node).__name__} is not allowed in rule expressions",
                "use comparisons, arithmetic, and/or/not and the documented functions",
            )
        return method(node, depth)

    # -- leaves ----------------------------------------------------------------------------
    def v_Constant(self, node: ast.Constant, depth: int) -> Node:
        value = node.value
        if isinstance(value, bool):
            return Const(Type.BOOL, value)
        if value is None:
            return Const(Type.NULL, None)
        if isinstance(value, (int, float)):
            f = float(value) if abs(value) < 1e308 or isinstance(value, float) else math.inf
            if not math.isfinite(f):
                raise self.fail(node, "number literal is too large", "numbers must be below 1e308")
            node.value = f  # the reference computes in floats, like the batch path
            return Const(Type.NUM, f)
        if isinstance(value, str):
            return Const(Type.STR, value)
        raise self.fail(node, f"{type(value).__name__} literals are not allowed")

    def v_Name(self, node: ast.Name, depth: int) -> Node:
        if node.id in LITERALS:
            return self._literal(node, LITERALS[node.id])
        return self._name(node, (node.id,))

    def v_Attribute(self, node: ast.Attribute, depth: int) -> Node:
        parts = _dotted(node)
        if parts is None:
            raise self.fail(
                node,
                "attribute access is only allowed on names such as prev.spend",
                "write a dotted name: prev.spend, thresholds.target_cpa, parent.status",
            )
        return self._name(node, parts)

    def _literal(self, node: ast.Name, value: bool | None) -> Node:
        new = ast.Constant(value=value)
        ast.copy_location(new, node)
        self.replace[id(node)] = new
        return Const(Type.BOOL if isinstance(value, bool) else Type.NULL, value)

    def _name(self, node: ast.expr, parts: tuple[str, ...]) -> Node:
        for part in parts:
            if part.startswith("_"):
                raise self.fail(node, f"names starting with '_' are not allowed ({part!r})")
        ref = self.scope.resolve(parts, self.pos(node))
        var = self._var_of.get(ref.key)
        if var is None:
            var = f"v{len(self._var_of)}"
            self._var_of[ref.key] = var
            self.variables[var] = ref
        new = ast.Name(id=var, ctx=ast.Load())
        ast.copy_location(new, node)
        self.replace[id(node)] = new
        return Name(ref.type, ref)

    # -- operators -------------------------------------------------------------------------
    def v_UnaryOp(self, node: ast.UnaryOp, depth: int) -> Node:
        operand = self.visit(node.operand, depth + 1)
        if isinstance(node.op, ast.Not):
            self._want_bool(node.operand, operand, "not")
            return Unary(Type.BOOL, "not", operand)
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            self._want_num(node.operand, operand, "unary minus" if isinstance(node.op, ast.USub) else "+")
            if isinstance(operand, Const) and isinstance(operand.value, int | float):  # fold -3 into a literal
                value = -operand.value if isinstance(node.op, ast.USub) else operand.value
                return Const(Type.NUM, value)
            return Unary(Type.NUM, "neg" if isinstance(node.op, ast.USub) else "pos", operand)
        raise self.fail(node, "bitwise operators are not allowed", "use and/or/not")

    def v_BinOp(self, node: ast.BinOp, depth: int) -> Node:
        op = _BINOPS.get(type(node.op))
        if op is None:
            sym = {
                ast.FloorDiv: "//",
                ast.Mod: "%",
                ast.MatMult: "@",
                ast.LShift: "<<",
                ast.RShift: ">>",
                ast.BitOr: "|",
                ast.BitAnd: "&",
                ast.BitXor: "^",
            }.get(type(node.op), "?")
            raise self.fail(node, f"operator {sym} is not allowed", "use + - * / and ** with a literal exponent")
        left = self.visit(node.left, depth + 1)
        right = self.visit(node.right, depth + 1)
        self._want_num(node.left, left, op)
        self._want_num(node.right, right, op)
        if op == "**" and (not isinstance(right, Const) or abs(right.value) > MAX_EXPONENT):  # type: ignore[arg-type]
            raise self.fail(
                node.right,
                f"the exponent of ** must be a number literal between -{MAX_EXPONENT:g} and {MAX_EXPONENT:g}",
                "e.g. ctr ** 2; exponents from data could overflow",
            )
        return Binary(Type.NUM, op, left, right)

    def v_BoolOp(self, node: ast.BoolOp, depth: int) -> Node:
        values = tuple(self.visit(v, depth + 1) for v in node.values)
        word = "and" if isinstance(node.op, ast.And) else "or"
        for src, v in zip(node.values, values, strict=True):
            self._want_bool(src, v, word)
        return Logical(Type.BOOL, word, values)

    def v_Compare(self, node: ast.Compare, depth: int) -> Node:
        if len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn)):
            return self._member(node, depth)
        operands = [self.visit(node.left, depth + 1)]
        ops: list[str] = []
        for op, comp in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.Is, ast.IsNot)):
                raise self.fail(node, "'is' is not allowed", "use is_null(x) or not is_null(x)")
            if isinstance(op, (ast.In, ast.NotIn)):
                raise self.fail(node, "'in' cannot be chained with other comparisons", "use `and`")
            ops.append(_CMPOPS[type(op)])
            operands.append(self.visit(comp, depth + 1))
        for sym, (a, b) in zip(ops, itertools.pairwise(operands), strict=True):
            self._check_compare(node, sym, a, b)
        return Compare(Type.BOOL, tuple(ops), tuple(operands))

    def _check_compare(self, node: ast.AST, sym: str, a: Node, b: Node) -> None:
        if Type.NULL in (a.type, b.type):
            raise self.fail(
                node, f"comparing with null using {sym} is always false", "use is_null(x) or not is_null(x)"
            )
        if sym in ("<", "<=", ">", ">="):
            if a.type != Type.NUM or b.type != Type.NUM:
                raise self.fail(
                    node,
                    f"{sym} compares numbers, got a {a.type} and a {b.type}",
                    "compare text with == or !=; for dates use days_since(date)",
                )
        elif a.type != b.type:
            raise self.fail(
                node,
                f"cannot compare a {a.type} with a {b.type} using {sym}",
                "both sides of == and != must have the same type (quote text: status == 'active')",
            )
        elif a.type == Type.LABELS:
            raise self.fail(node, "labels cannot be compared with == or !=", "use 'name' in labels")

    def _member(self, node: ast.Compare, depth: int) -> Node:
        negate = isinstance(node.ops[0], ast.NotIn)
        needle = self.visit(node.left, depth + 1)
        target = node.comparators[0]
        if isinstance(target, (ast.List, ast.Tuple)):
            if not target.elts:
                raise self.fail(target, "the list after 'in' is empty")
            items = tuple(self.visit(e, depth + 1) for e in target.elts)
            for e, item in zip(target.elts, items, strict=True):
                if not isinstance(item, Const) or item.type not in (Type.NUM, Type.STR):
                    raise self.fail(e, "the list after 'in' may only hold number or text literals")
                if item.type != needle.type:
                    raise self.fail(e, f"list item is a {item.type} but the value tested is a {needle.type}")
            repl = ast.Tuple(elts=target.elts, ctx=ast.Load())
            ast.copy_location(repl, target)
            self.replace[id(target)] = repl
            return Member(Type.BOOL, needle, items, None, negate)
        haystack = self.visit(target, depth + 1)
        if haystack.type != Type.LABELS:
            raise self.fail(
                target,
                "'in' needs a list literal like ['a', 'b'] or a labels attribute",
                "e.g. status in ['active', 'paused'] or 'brand' in labels",
            )
        if needle.type != Type.STR:
            raise self.fail(node.left, f"labels are text; got a {needle.type}")
        return Member(Type.BOOL, needle, None, haystack, negate)

    def v_IfExp(self, node: ast.IfExp, depth: int) -> Node:
        test = self.visit(node.test, depth + 1)
        self._want_bool(node.test, test, "if")
        body = self.visit(node.body, depth + 1)
        orelse = self.visit(node.orelse, depth + 1)
        types = {body.type, orelse.type} - {Type.NULL}
        if len(types) > 1:
            raise self.fail(
                node,
                f"both branches of `x if c else y` must have one type, got {body.type} and {orelse.type}",
            )
        return IfElse(types.pop() if types else Type.NULL, test, body, orelse)

    def v_Call(self, node: ast.Call, depth: int) -> Node:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, "only the documented functions can be called", "see `rulerun docs functions`")
        name = node.func.id
        fn = FUNCTIONS.get(name)
        if fn is None:
            import difflib

            close = difflib.get_close_matches(name, FUNCTIONS, n=1)
            raise self.fail(
                node,
                f"unknown function {name!r}",
                f"did you mean {close[0]}()?" if close else "available: " + ", ".join(sorted(FUNCTIONS)),
            )
        if node.keywords:
            raise self.fail(node, f"{name}() takes positional arguments only", f"usage: {fn.signature}")
        args = tuple(self.visit(a, depth + 1) for a in node.args)
        return Call(fn.check(args, self.pos(node)), name, args)

    # -- helpers ---------------------------------------------------------------------------
    def _want_num(self, src: ast.AST, node: Node, what: str) -> None:
        if node.type == Type.NULL:
            raise self.fail(src, f"null in arithmetic ({what}) always gives null", "use coalesce(x, 0)")
        if node.type != Type.NUM:
            raise self.fail(src, f"{what} needs numbers, got a {node.type}")

    def _want_bool(self, src: ast.AST, node: Node, what: str) -> None:
        if node.type != Type.BOOL:
            raise self.fail(
                src,
                f"'{what}' needs a condition (true/false), got a {node.type}",
                "compare the value, e.g. `spend > 0`",
            )


def _rewrite(tree: ast.AST, replace: dict[int, ast.AST]) -> ast.AST:
    """The reference AST: names become plain variables, literal names become constants."""

    class Rewriter(ast.NodeTransformer):
        def visit(self, node: ast.AST) -> ast.AST:
            new = replace.get(id(node))
            if new is None:
                return self.generic_visit(node)
            if isinstance(new, ast.Tuple):
                # an expression's replacement is an expression
                new.elts = [cast(ast.expr, self.visit(e)) for e in new.elts]
            return new

    return Rewriter().visit(tree)
