"""The rule expression language.

An expression is parsed once (Python syntax, a small whitelisted subset), checked
statically against a Scope (every name known, types compatible, size bounded), and
compiled twice: to DuckDB SQL for batch evaluation (engine.language.expr.sqlgen) and to a
normalized AST for the simpleeval reference interpreter (engine.language.expr.reference).
Both implement the same semantics; a property test holds them to it.
"""

from engine.language.expr.check import Expr, compile_expr
from engine.language.expr.types import ExprError, Ref, Scope, Type

__all__ = ["Expr", "ExprError", "Ref", "Scope", "Type", "compile_expr"]
