"""The reference interpreter: simpleeval over the normalized AST, one row at a time.

Slow by design and simple to read; `explain` uses it to show every sub-expression's
value, and the property tests hold the batch SQL path to its answers.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Mapping
from typing import Any

from simpleeval import EvalWithCompoundTypes

from engine.language.expr.check import Expr
from engine.language.expr.functions import FUNCTIONS, finite


def _num(fn):
    def op(a, b):
        if a is None or b is None:
            return None
        return finite(fn(a, b))

    return op


def _div(a, b):
    if a is None or b is None or b == 0:
        return None
    return finite(a / b)


def _pow(a, b):
    if a is None or b is None:
        return None
    try:
        return finite(math.pow(a, b))
    except (OverflowError, ValueError, ZeroDivisionError):
        return None


def _cmp(fn):
    def op(a, b):
        if a is None or b is None:
            return False
        return bool(fn(a, b))

    return op


def _in(a, b):
    return a is not None and b is not None and a in b


def _not_in(a, b):
    return a is not None and b is not None and a not in b


OPERATORS = {
    ast.Add: _num(operator.add),
    ast.Sub: _num(operator.sub),
    ast.Mult: _num(operator.mul),
    ast.Div: _div,
    ast.Pow: _pow,
    ast.USub: lambda a: None if a is None else -a,
    ast.UAdd: lambda a: a,
    ast.Not: lambda a: not bool(a),
    ast.Lt: _cmp(operator.lt),
    ast.LtE: _cmp(operator.le),
    ast.Gt: _cmp(operator.gt),
    ast.GtE: _cmp(operator.ge),
    ast.Eq: _cmp(operator.eq),
    ast.NotEq: _cmp(operator.ne),
    ast.In: _in,
    ast.NotIn: _not_in,
}


# The arithmetic operators by symbol (the batch compiler folds constants with them).
BINARY = {
    "+": OPERATORS[ast.Add],
    "-": OPERATORS[ast.Sub],
    "*": OPERATORS[ast.Mult],
    "/": OPERATORS[ast.Div],
    "**": OPERATORS[ast.Pow],
}


class ReferenceEvaluator(EvalWithCompoundTypes):
    """simpleeval with the language's null semantics in and/or/if."""

    def _eval_boolop(self, node: ast.BoolOp) -> bool:
        if isinstance(node.op, ast.And):
            return all(bool(self._eval(v)) for v in node.values)
        return any(bool(self._eval(v)) for v in node.values)

    def _eval_ifexp(self, node: ast.IfExp) -> Any:
        return self._eval(node.body) if bool(self._eval(node.test)) else self._eval(node.orelse)


def make_evaluator(variables: Mapping[str, Any], ctx: Mapping[str, Any]) -> ReferenceEvaluator:
    functions = {name: _bind(fn, ctx) for name, fn in FUNCTIONS.items()}
    return ReferenceEvaluator(operators=dict(OPERATORS), functions=functions, names=dict(variables))


def _bind(fn, ctx):
    def call(*args):
        return fn.py(list(args), ctx)

    return call


class Reference:
    """One evaluator reused across rows: building simpleeval's tables once per row is most of its cost."""

    def __init__(self, ctx: Mapping[str, Any]):
        self.evaluator = make_evaluator({}, ctx)

    def __call__(self, expr: Expr, values: Mapping[str, Any]) -> Any:
        self.evaluator.names = {var: values.get(ref.key) for var, ref in expr.variables.items()}
        return self.evaluator._eval(expr.pyast)


def evaluate(expr: Expr, values: Mapping[str, Any], ctx: Mapping[str, Any]) -> Any:
    """Evaluate `expr` for one row; `values` maps Ref.key to the row's value."""
    return Reference(ctx)(expr, values)


def evaluate_steps(expr: Expr, values: Mapping[str, Any], ctx: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Every sub-expression's source text and value, outermost first (for `explain`)."""
    variables = {var: values.get(ref.key) for var, ref in expr.variables.items()}
    evaluator = make_evaluator(variables, ctx)
    source = "(" + expr.text + "\n)"
    steps: list[tuple[str, Any]] = []
    seen: set[str] = set()
    # The name of a called function (`max` in `max(a, b)`) has no value to show: only the call has.
    called = {id(node.func) for node in ast.walk(expr.pyast) if isinstance(node, ast.Call)}
    for node in ast.walk(expr.pyast):
        if isinstance(node, ast.Constant) or not hasattr(node, "lineno") or id(node) in called:
            continue
        text = ast.get_source_segment(source, node)
        if not text or text in seen:
            continue
        seen.add(text)
        steps.append((" ".join(text.split()), evaluator._eval(node)))
    return steps
