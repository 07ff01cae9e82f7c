"""The functions rules may call: one registry, one class per function.

Each function declares its signature, its SQL (batch) and Python (reference)
implementations, and documents itself: the docstring is user documentation, shown by
`rulerun docs` and in the README. Both implementations follow the language's null
rules: numeric nulls propagate, a non-finite result is null.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date
from typing import ClassVar

from engine.language.expr.types import ExprError, Node, Type

FUNCTIONS: dict[str, type[Function]] = {}

# Case folding that DuckDB and Python do identically: ASCII letters only.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def register(cls: type[Function]) -> type[Function]:
    FUNCTIONS[cls.name] = cls
    return cls


def finite(x: float | None) -> float | None:
    """The language's number normalization: NaN and +-inf are null."""
    if x is None or not math.isfinite(x):
        return None
    return float(x)


class Function:
    """Base class. Subclasses set name/signature and implement sql() and py()."""

    name: ClassVar[str]
    signature: ClassVar[str]  # shown in docs
    min_args: ClassVar[int] = 1
    max_args: ClassVar[int | None] = 1
    may_overflow: ClassVar[bool] = False  # the SQL result needs the non-finite -> null wrap
    never_null: ClassVar[bool] = False  # the SQL result is a boolean that is never NULL

    @classmethod
    def check(cls, args: Sequence[Node], offset: int) -> Type:
        n = len(args)
        if n < cls.min_args or (cls.max_args is not None and n > cls.max_args):
            raise ExprError(f"{cls.name}() takes {cls._arity()} (got {n})", offset, f"usage: {cls.signature}")
        return cls.result_type(args, offset)

    @classmethod
    def _arity(cls) -> str:
        if cls.max_args is None:
            return f"at least {cls.min_args} arguments"
        if cls.min_args == cls.max_args:
            return f"{cls.min_args} argument{'s' if cls.min_args != 1 else ''}"
        return f"{cls.min_args} to {cls.max_args} arguments"

    @classmethod
    def result_type(cls, args: Sequence[Node], offset: int) -> Type:
        _expect_all(cls, args, Type.NUM, offset)
        return Type.NUM

    @staticmethod
    def sql(args: list[str], ctx: dict) -> str:
        raise NotImplementedError

    @staticmethod
    def py(args: list, ctx: dict):
        raise NotImplementedError


def _expect_all(cls: type[Function], args: Sequence[Node], typ: Type, offset: int) -> None:
    for i, arg in enumerate(args, 1):
        if arg.type not in (typ, Type.NULL):
            raise ExprError(
                f"{cls.name}() argument {i} must be a {typ}, got a {arg.type}",
                offset,
                f"usage: {cls.signature}",
            )


def _null_if_any(fn: Callable) -> Callable:
    def wrapped(args: list, ctx: dict):
        if any(a is None for a in args):
            return None
        return fn(args, ctx)

    return wrapped


def _any_null_sql(args: list[str]) -> str:
    return " OR ".join(f"{a} IS NULL" for a in args)


@register
class Min(Function):
    """Smallest of its numeric arguments; null if any argument is null."""

    name = "min"
    signature = "min(a, b, ...)"
    min_args, max_args = 2, None

    @staticmethod
    def sql(args, ctx):
        return f"(CASE WHEN {_any_null_sql(args)} THEN NULL ELSE least({', '.join(args)}) END)"

    py = staticmethod(_null_if_any(lambda a, ctx: min(a)))


@register
class Max(Function):
    """Largest of its numeric arguments; null if any argument is null."""

    name = "max"
    signature = "max(a, b, ...)"
    min_args, max_args = 2, None

    @staticmethod
    def sql(args, ctx):
        return f"(CASE WHEN {_any_null_sql(args)} THEN NULL ELSE greatest({', '.join(args)}) END)"

    py = staticmethod(_null_if_any(lambda a, ctx: max(a)))


@register
class Abs(Function):
    """Absolute value."""

    name = "abs"
    signature = "abs(x)"

    @staticmethod
    def sql(args, ctx):
        return f"abs({args[0]})"

    py = staticmethod(_null_if_any(lambda a, ctx: abs(a[0])))


@register
class Round(Function):
    """Round half away from zero to `digits` decimals (a literal 0 to 10, default 0)."""

    name = "round"
    signature = "round(x, digits=0)"
    min_args, max_args = 1, 2
    may_overflow = True

    @classmethod
    def result_type(cls, args, offset):
        _expect_all(cls, args, Type.NUM, offset)
        if len(args) == 2:
            d = getattr(args[1], "value", None)
            if not (isinstance(d, float) and d.is_integer() and 0 <= d <= 10):
                raise ExprError(
                    "round() digits must be a whole number literal from 0 to 10", offset, "e.g. round(cpa, 2)"
                )
        return Type.NUM

    @staticmethod
    def sql(args, ctx):
        x = args[0]
        m = f"pow(10.0, {args[1]})" if len(args) == 2 else "1.0"
        # The same IEEE operations as py(), so both paths round identically.
        return f"(sign({x}) * floor(abs({x}) * {m} + 0.5) / {m})"

    @staticmethod
    def py(args, ctx):
        x = args[0]
        if x is None:
            return None
        m = math.pow(10.0, args[1]) if len(args) == 2 else 1.0
        y = abs(x) * m + 0.5
        if not math.isfinite(y):
            return None
        sign = 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)
        return finite(sign * float(math.floor(y)) / m)


@register
class Coalesce(Function):
    """First argument that is not null (all arguments of one type)."""

    name = "coalesce"
    signature = "coalesce(a, b, ...)"
    min_args, max_args = 2, None

    @classmethod
    def result_type(cls, args, offset):
        types = {a.type for a in args} - {Type.NULL}
        if len(types) > 1:
            raise ExprError(
                "coalesce() arguments must all have the same type, got " + ", ".join(sorted(str(t) for t in types)),
                offset,
                "e.g. coalesce(cpa, 0)",
            )
        return types.pop() if types else Type.NULL

    @staticmethod
    def sql(args, ctx):
        return f"coalesce({', '.join(args)})"

    @staticmethod
    def py(args, ctx):
        return next((a for a in args if a is not None), None)


@register
class IsNull(Function):
    """True when the value is unknown (no data, division by zero, missing attribute)."""

    name = "is_null"
    signature = "is_null(x)"
    never_null = True

    @classmethod
    def result_type(cls, args, offset):
        return Type.BOOL

    @staticmethod
    def sql(args, ctx):
        return f"({args[0]} IS NULL)"

    @staticmethod
    def py(args, ctx):
        return args[0] is None


@register
class PctChange(Function):
    """Percent change from `old` to `new`: (new - old) / old * 100; null when old is 0.

    Percent, like an action's `by_pct`: pct_change(spend, prev.spend) > 50 means
    "spend grew by more than half".
    """

    name = "pct_change"
    signature = "pct_change(new, old)"
    min_args, max_args = 2, 2
    may_overflow = True

    @staticmethod
    def sql(args, ctx):
        new, old = args
        return f"(CASE WHEN {old} = 0 THEN NULL ELSE ({new} - {old}) / {old} * 100.0 END)"

    @staticmethod
    def py(args, ctx):
        new, old = args
        if new is None or old is None or old == 0:
            return None
        return finite((new - old) / old * 100.0)


@register
class Contains(Function):
    """True when `text` contains `part`, ignoring the case of ASCII letters; false on null."""

    name = "contains"
    signature = "contains(text, part)"
    min_args, max_args = 2, 2
    never_null = True

    @classmethod
    def result_type(cls, args, offset):
        _expect_all(cls, args, Type.STR, offset)
        return Type.BOOL

    @staticmethod
    def sql(args, ctx):
        fold = "'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'"
        return f"coalesce(contains(translate({args[0]}, {fold}), translate({args[1]}, {fold})), FALSE)"

    @staticmethod
    def py(args, ctx):
        text, part = args
        if text is None or part is None:
            return False
        return part.translate(_ASCII_LOWER) in text.translate(_ASCII_LOWER)


@register
class DaysSince(Function):
    """Whole days from a date attribute (e.g. created_at) to the evaluation date."""

    name = "days_since"
    signature = "days_since(date)"

    @classmethod
    def result_type(cls, args, offset):
        _expect_all(cls, args, Type.DATE, offset)
        return Type.NUM

    @staticmethod
    def sql(args, ctx):
        # `as_of_sql`: a column holding the evaluation date, when one query evaluates many dates
        as_of = ctx.get("as_of_sql") or f"DATE '{ctx['as_of'].isoformat()}'"
        return f"CAST(date_diff('day', {args[0]}, {as_of}) AS DOUBLE)"

    @staticmethod
    def py(args, ctx):
        d = args[0]
        if d is None:
            return None
        as_of: date = ctx["as_of"]
        return float((as_of - d).days)
