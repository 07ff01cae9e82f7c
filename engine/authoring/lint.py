"""`rulerun lint`: warnings about rules that load fine but are probably wrong.

`rulerun validate` rejects what cannot run; `lint` looks for rules that run but cannot do
what their author meant. Each warning is at the rule's file:line:col (or the threshold's key
in operator.yaml), with a hint and a code:

- `never-fires`: the rule's condition can never be true. Its conjuncts (the parts joined by
  top-level `and`) constrain the same value in incompatible ways, e.g.
  `spend > 500 and spend < 100`, `status == 'active' and status == 'paused'`,
  `status in ['active'] and status == 'paused'`, `is_brand and not is_brand`,
  `is_null(cpa) and cpa > 100`; or the condition is the constant false (`1 > 2`, a
  comparison with a null). Thresholds and guardrails count as their constant values; a
  per-product threshold is checked with every product's value (and `default` for the
  rest), and the rule is flagged only when it can fire for no product at all. For an `or`
  conjunct, every side must contradict the other conditions.
- `shadowed`: in one workflow, at one level, two rules change the same attribute (pause
  and enable: status; budget actions: daily_budget; bid actions: bid) and one of them
  never wins: whenever it fires, the other fires too (its conditions are all among the
  first one's, or follow from them), and the other wins the conflict because of its
  higher `priority` or, at equal priority, because it is the safer change (the lower
  amount; ties go to the first rule id). Pause and enable never compete for one entity
  (one needs it active, the other paused), so only rules of one action type shadow each
  other on status.
- `opposite`: two rules of the same platform and level (in any workflows) can make
  opposite changes to the same entity, so it flips between runs: pause vs enable, a bid
  or budget increase vs a decrease (`by_pct`/`by_amount` sign; `set_*` has no known
  direction and is skipped). Not reported when the two conditions together can never
  hold (the `never-fires` analysis). For pause vs enable, conditions on `status` are left
  out of that analysis: the actions already require an active or a paused entity, and the
  question is whether the rest lets the entity flip back.
- `unsettled-window`: a rule reads a window that reaches into the newest days of a platform
  whose catalog fragment says they are too young to act on (`settle_days`: Amazon restates
  3 days); end the window that many days back (`last_7d_ending_3d_ago`).
- `unused-threshold`: a threshold in operator.yaml that no rule of the operator uses.
- `untested`: a workflow without a `<workflow>.test.yaml` beside it.

Every check warns only about what it can prove from the rules alone: a condition it does
not understand (a comparison between two metrics, a function of data) counts as possibly
true. `shadowed` and `opposite` consider enabled rules of enabled workflows that can fire.

`lint --strict` exits 1 when there is any warning, for CI; `--format github` adds
`::warning file=...,line=...,col=...::message` annotations (engine/output/diagnostics.py).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import operator
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeGuard

from engine.core.actions import ACTIONS
from engine.core.catalog import Catalog, load_catalog
from engine.core.errors import Diagnostic, DiagnosticsError
from engine.core.yamlpos import Document, load_file
from engine.language.expr import Expr
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
from engine.language.windows import date_range
from engine.rules.loader import load_project
from engine.rules.model import ActionSpec, Project, Rule, Workflow
from engine.rules.workspace import Workspace

# -- constant folding --------------------------------------------------------------------------

_UNKNOWN: Any = object()  # a value that depends on the data (None is the known null)
_PURE = ("min", "max", "abs", "round", "coalesce", "pct_change")  # functions of their arguments only
_CMP = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_PRODUCT: Hashable = ("name", "attr:product")  # the entity attribute that selects per-product thresholds
_STATUS: Hashable = ("name", "attr:status")


@dataclass(frozen=True)
class _Env:
    """The constants of one scenario: thresholds take the values of `product` (None: `default`)."""

    project: Project
    product: str | None = None
    products: frozenset[str] = frozenset()  # every product with its own value in the thresholds used

    def constant(self, ref: Ref) -> Any:
        if ref.kind == "threshold":
            op, _, name = ref.name.partition("/")
            return self.project.operators[op].thresholds[name].value_for(self.product)
        if ref.kind == "guardrail":
            return self.project.guardrails[ref.name]  # evaluation reads the global values too
        return _UNKNOWN

    def atoms(self) -> list[_Atom]:
        """What the scenario says about the entity's product."""
        if not self.products:
            return []
        if self.product is None:
            listed = ", ".join(repr(p) for p in sorted(self.products))
            text = f"product not in [{listed}] (the default thresholds)"
            return [_Atom(_PRODUCT, Type.STR, _Domain(excluded=self.products), text)]
        text = f"product == {self.product!r} (its thresholds)"
        return [_Atom(_PRODUCT, Type.STR, _Domain(allowed=frozenset([self.product]), null_ok=False), text)]


def _scenarios(project: Project, exprs: Iterable[Expr]) -> list[_Env]:
    products: set[str] = set()
    for expr in exprs:
        for ref in expr.refs:
            if ref.kind == "threshold":
                op, _, name = ref.name.partition("/")
                products.update(project.operators[op].thresholds[name].by_product)
    known = frozenset(products)
    return [_Env(project, None, known), *(_Env(project, p, known) for p in sorted(products))]


def _fold(node: Node, env: _Env) -> Any:
    """The node's value when it does not depend on the data, else _UNKNOWN."""
    if isinstance(node, Const):
        return node.value
    if isinstance(node, Name):
        return env.constant(node.ref)
    if isinstance(node, Unary) and node.op in ("neg", "pos"):
        value = _fold(node.operand, env)
        return -value if node.op == "neg" and isinstance(value, float | int) else value
    if isinstance(node, Call) and node.func in _PURE:
        args = [_fold(a, env) for a in node.args]
        return _UNKNOWN if any(a is _UNKNOWN for a in args) else FUNCTIONS[node.func].py(args, {})
    if isinstance(node, Binary):
        left, right = _fold(node.left, env), _fold(node.right, env)
        if left is None or right is None:
            return None  # null wins over unknown: arithmetic with a null is null
        return _UNKNOWN if left is _UNKNOWN or right is _UNKNOWN else BINARY[node.op](left, right)
    return _UNKNOWN


def _truth(node: Node, env: _Env) -> bool | None:
    """True or False when the condition is constant in this scenario, None when it depends on data."""
    if isinstance(node, Logical):
        values = [_truth(v, env) for v in node.values]
        stop = node.op == "or"  # the value that decides an `or` (True) or an `and` (False)
        if stop in values:
            return stop
        return None if None in values else not stop
    if isinstance(node, Unary) and node.op == "not":
        inner = _truth(node.operand, env)
        return None if inner is None else not inner
    if isinstance(node, Compare):
        return _compare_truth(node, env)
    if isinstance(node, Member):
        return _member_truth(node, env)
    if isinstance(node, Call) and node.func == "is_null":
        value = _fold(node.args[0], env)
        return None if value is _UNKNOWN else value is None
    value = _fold(node, env)
    if value is _UNKNOWN:
        return None
    return value is True  # a null condition counts as false


def _compare_truth(node: Compare, env: _Env) -> bool | None:
    result: bool | None = True
    for op, a, b in zip(node.ops, node.operands, node.operands[1:], strict=False):
        left, right = _fold(a, env), _fold(b, env)
        if left is None or right is None:
            return False  # any comparison with null is false
        if left is _UNKNOWN or right is _UNKNOWN:
            result = None
        elif not _CMP[op](left, right):
            return False
    return result


def _member_truth(node: Member, env: _Env) -> bool | None:
    needle = _fold(node.needle, env)
    if needle is None:
        return False
    if needle is _UNKNOWN or node.items is None:
        return None
    return (needle in [_fold(i, env) for i in node.items]) != node.negate


# -- the values a condition allows ---------------------------------------------------------------


@dataclass(frozen=True)
class _Domain:
    """A set of values: an interval, minus `excluded`, within `allowed`, and null when `null_ok`."""

    lo: float = -math.inf
    lo_open: bool = True
    hi: float = math.inf
    hi_open: bool = True
    allowed: frozenset | None = None  # None: any value
    excluded: frozenset = frozenset()
    null_ok: bool = True

    def meet(self, other: _Domain) -> _Domain:
        # At an equal bound the open one is the tighter: max() prefers lo_open=True, min() hi_open=True.
        lo, lo_open = max((self.lo, self.lo_open), (other.lo, other.lo_open))
        hi, hi_closed = min((self.hi, not self.hi_open), (other.hi, not other.hi_open))
        if self.allowed is None or other.allowed is None:
            allowed = other.allowed if self.allowed is None else self.allowed
        else:
            allowed = self.allowed & other.allowed
        excluded = self.excluded | other.excluded
        return _Domain(lo, lo_open, hi, not hi_closed, allowed, excluded, self.null_ok and other.null_ok)

    def bounded(self) -> bool:
        return self.lo != -math.inf or self.hi != math.inf

    def holds(self, value: Any) -> bool:
        if value in self.excluded:
            return False
        if not self.bounded():
            return True
        above = value > self.lo or (value == self.lo and not self.lo_open)
        below = value < self.hi or (value == self.hi and not self.hi_open)
        return above and below

    def empty(self) -> bool:
        if self.null_ok:
            return False
        if self.allowed is not None:
            return not any(self.holds(v) for v in self.allowed)
        if self.lo != self.hi:
            return self.lo > self.hi  # an interval holds infinitely many numbers: exclusions cannot empty it
        return self.lo_open or self.hi_open or self.lo in self.excluded

    def negate(self) -> _Domain | None:
        """The complement, for the shapes one comparison produces; None for other shapes."""
        null_ok = not self.null_ok
        if self.bounded():
            if self.allowed is not None or self.excluded or (self.lo != -math.inf and self.hi != math.inf):
                return None
            if self.lo != -math.inf:
                return _Domain(hi=self.lo, hi_open=not self.lo_open, null_ok=null_ok)
            return _Domain(lo=self.hi, lo_open=not self.hi_open, null_ok=null_ok)
        if self.allowed is not None and self.excluded:
            return None
        if self.allowed is not None:
            return _Domain(excluded=self.allowed, null_ok=null_ok)
        return _Domain(allowed=self.excluded, null_ok=null_ok)  # "anything but" becomes "only"


def _point(op: str, value: Any) -> _Domain:
    """The non-null values `x op value` allows (every comparison with null is false)."""
    if op == "==":
        return _Domain(allowed=frozenset([value]), null_ok=False)
    if op == "!=":
        return _Domain(excluded=frozenset([value]), null_ok=False)
    if op in ("<", "<="):
        return _Domain(hi=value, hi_open=op == "<", null_ok=False)
    return _Domain(lo=value, lo_open=op == ">", null_ok=False)


@dataclass(frozen=True)
class _Atom:
    """One constraint on one value: `subject` is the canonical form of the constrained expression."""

    subject: Hashable
    type: Type
    domain: _Domain
    text: str

    def negated(self) -> _Atom | None:
        domain = self.domain.negate()
        text = f"not {self.text}" if self.text.isidentifier() else f"not ({self.text})"
        return None if domain is None else _Atom(self.subject, self.type, domain, text)


def _exact_atom(node: Node, env: _Env) -> _Atom | None:
    """The atom equivalent to the whole condition `node`, or None when there is no such atom."""
    if isinstance(node, Compare) and len(node.ops) == 1:
        return _compare_atom(node.ops[0], node.operands[0], node.operands[1], env)
    if isinstance(node, Member):
        return _member_atom(node, env)
    if isinstance(node, Unary) and node.op == "not":
        inner = _exact_atom(node.operand, env)
        return None if inner is None else inner.negated()
    if isinstance(node, Call) and node.func == "is_null":
        arg = node.args[0]
        if _fold(arg, env) is not _UNKNOWN:
            return None
        return _Atom(_canon(arg), arg.type, _Domain(allowed=frozenset(), null_ok=True), _show(node))
    if node.type == Type.BOOL and isinstance(node, Name | Call | IfElse) and _fold(node, env) is _UNKNOWN:
        return _Atom(_canon(node), Type.BOOL, _point("==", True), _show(node))
    return None


def _compare_atom(op: str, a: Node, b: Node, env: _Env) -> _Atom | None:
    left, right = _fold(a, env), _fold(b, env)
    if left is _UNKNOWN and right not in (_UNKNOWN, None):
        subject, value = a, right
    elif right is _UNKNOWN and left not in (_UNKNOWN, None):
        subject, value, op = b, left, _FLIP[op]
    else:
        return None  # both sides depend on the data, or none does (_truth decides those)
    return _Atom(_canon(subject), subject.type, _point(op, value), f"{_show(subject)} {op} {_show_value(value)}")


def _member_atom(node: Member, env: _Env) -> _Atom | None:
    needle = _fold(node.needle, env)
    word = "not in" if node.negate else "in"
    if node.items is not None:
        if needle is not _UNKNOWN:
            return None
        values = frozenset(_fold(i, env) for i in node.items)
        domain = _Domain(excluded=values) if node.negate else _Domain(allowed=values)
        listed = ", ".join(_show_value(v) for v in sorted(values, key=str))
        text = f"{_show(node.needle)} {word} [{listed}]"
        return _Atom(_canon(node.needle), node.needle.type, dataclasses.replace(domain, null_ok=False), text)
    if not isinstance(needle, str) or node.haystack is None:
        return None
    # `'x' in labels` is a yes/no question about the labels: a boolean subject of its own.
    subject = ("has", _canon(node.haystack), needle)
    text = f"{needle!r} {word} {_show(node.haystack)}"
    return _Atom(subject, Type.BOOL, _point("==", not node.negate), text)


def _atoms(node: Node, env: _Env) -> list[_Atom]:
    """Constraints that hold whenever the condition `node` holds (possibly fewer than it implies)."""
    if isinstance(node, Compare):
        pairs = zip(node.ops, node.operands, node.operands[1:], strict=False)
        return [a for op, x, y in pairs if (a := _compare_atom(op, x, y, env)) is not None]
    atom = _exact_atom(node, env)
    return [] if atom is None else [atom]


def _start(atom: _Atom) -> _Domain:
    return _Domain(allowed=frozenset([True, False])) if atom.type == Type.BOOL else _Domain()


def _clash(atoms: list[_Atom]) -> str | None:
    """Why the atoms cannot all hold, or None when they can."""
    by_subject: dict[Hashable, list[_Atom]] = defaultdict(list)
    for atom in atoms:
        by_subject[atom.subject].append(atom)
    for group in by_subject.values():
        domain = _start(group[0])
        for atom in group:
            domain = domain.meet(atom.domain)
        if domain.empty():
            texts = list(dict.fromkeys(f"`{a.text}`" for a in group))
            return f"{texts[0]} can never hold" if len(texts) == 1 else " and ".join(texts) + " cannot all hold"
    return None


# -- conditions ------------------------------------------------------------------------------------


def _conjuncts(node: Node) -> list[Node]:
    """The parts of a top-level `and`, nested ands flattened."""
    if isinstance(node, Logical) and node.op == "and":
        return [part for value in node.values for part in _conjuncts(value)]
    return [node]


def _is_or(node: Node) -> TypeGuard[Logical]:
    return isinstance(node, Logical) and node.op == "or"


def _contradiction(
    conjuncts: list[Node], env: _Env, extra: tuple[_Atom, ...] = (), ignore: frozenset = frozenset()
) -> str | None:
    """Why the conjuncts can never all hold in this scenario, or None when they might."""
    for part in conjuncts:
        if _truth(part, env) is False:
            return _always_false(part, env)
    plain = [part for part in conjuncts if not _is_or(part)]
    atoms = [*extra, *env.atoms(), *(a for part in plain for a in _atoms(part, env))]
    why = _clash([a for a in atoms if a.subject not in ignore])
    if why:
        return why
    for part in conjuncts:
        # An `or` holds only through one of its sides: each must clash with the rest.
        if _is_or(part) and all(
            _contradiction([*plain, *_conjuncts(side)], env, extra, ignore) for side in part.values
        ):
            return f"no side of `{_show(part)}` fits the other conditions"
    return None


def _always_false(part: Node, env: _Env) -> str:
    if isinstance(part, Const):
        return f"its condition is `{_show(part)}`"
    nulls = sorted({_show(n) for n in _walk(part) if isinstance(n, Name) and env.constant(n.ref) is None})
    unset = f" ({', '.join(nulls)} has no value)" if nulls else ""
    return f"`{_show(part)}` is always false{unset}"


def _walk(node: Any) -> Iterable[Node]:
    if isinstance(node, tuple):
        for item in node:
            yield from _walk(item)
    elif isinstance(node, Node):
        yield node
        for f in dataclasses.fields(node):
            yield from _walk(getattr(node, f.name))


def _never(conjuncts: list[Node], scenarios: list[_Env], ignore: frozenset = frozenset()) -> str | None:
    """Why the conjuncts hold for no product at all, or None."""
    reasons = [_contradiction(conjuncts, env, ignore=ignore) for env in scenarios]
    if not all(reasons):
        return None
    suffix = " (with every product's threshold values)" if len(scenarios) > 1 else ""
    return f"{reasons[0]}{suffix}"


def _negation(node: Node, env: _Env) -> list[_Atom] | None:
    """Atoms that together mean `not node`, or None when they cannot express it."""
    if _is_or(node):
        parts = [_negation(v, env) for v in node.values]
        return None if any(p is None for p in parts) else [a for p in parts for a in p]  # type: ignore[union-attr]
    atom = _exact_atom(node, env)
    negated = None if atom is None else atom.negated()
    return None if negated is None else [negated]


def _implies(lower: Rule, higher: Rule, project: Project) -> bool:
    """Whenever `lower`'s condition holds, `higher`'s holds too (for every product)."""
    mine = _conjuncts(lower.when.ir)
    seen = {_canon(part) for part in mine}
    for env in _scenarios(project, (lower.when, higher.when)):
        for part in _conjuncts(higher.when.ir):
            if _canon(part) in seen or _truth(part, env) is True:
                continue
            negation = _negation(part, env)
            if negation is None or not _contradiction(mine, env, extra=tuple(negation)):
                return False
    return True


# -- canonical form and display ----------------------------------------------------------------------


def _canon(node: Any) -> Hashable:
    """Structural identity: names compare by what they read (Ref.key), not by how they were written."""
    if isinstance(node, Name):
        return ("name", node.ref.key)
    if isinstance(node, Node):
        return (type(node).__name__, *(_canon(getattr(node, f.name)) for f in dataclasses.fields(node)))
    if isinstance(node, tuple):
        return tuple(_canon(v) for v in node)
    return node


def _show_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e15 else repr(value)
    return repr(value)


def _show(node: Node) -> str:
    """The condition as the rule language writes it (compact, for messages)."""
    if isinstance(node, Const):
        return _show_value(node.value)
    if isinstance(node, Name):
        return node.ref.text or node.ref.name
    if isinstance(node, Unary):
        inner = _show(node.operand)
        if isinstance(node.operand, Logical | Compare | Member | Binary):
            inner = f"({inner})"
        return {"not": "not ", "neg": "-", "pos": "+"}[node.op] + inner
    if isinstance(node, Logical):
        return f" {node.op} ".join(f"({_show(v)})" if isinstance(v, Logical) else _show(v) for v in node.values)
    if isinstance(node, Compare):
        text = _show(node.operands[0])
        for op, b in zip(node.ops, node.operands[1:], strict=True):
            text += f" {op} {_show(b)}"
        return text
    if isinstance(node, Member):
        hay = _show(node.haystack) if node.haystack is not None else "[" + ", ".join(map(_show, node.items or ())) + "]"
        return f"{_show(node.needle)} {'not in' if node.negate else 'in'} {hay}"
    if isinstance(node, Call):
        return f"{node.func}({', '.join(_show(a) for a in node.args)})"
    if isinstance(node, IfElse):
        return f"{_show(node.body)} if {_show(node.test)} else {_show(node.orelse)}"
    if isinstance(node, Binary):
        return f"{_operand(node.left)} {node.op} {_operand(node.right)}"
    return type(node).__name__


def _operand(node: Node) -> str:
    return f"({_show(node)})" if isinstance(node, Binary) else _show(node)


# -- actions ------------------------------------------------------------------------------------------


def _attribute(action: ActionSpec) -> str | None:
    op = ACTIONS[action.type]
    return op.attribute if op.attribute == "status" or op.is_money() else None


def _direction(action: ActionSpec) -> int | None:
    """+1 raises (or enables), -1 lowers (or pauses), None when unknown."""
    return ACTIONS[action.type].rule_direction(action.params)


def _describe(action: ActionSpec) -> str:
    if action.type in ("pause", "enable"):
        return f"{action.type}s"
    what = "the bid" if _attribute(action) == "bid" else "the daily budget"
    return ("raises " if _direction(action) == 1 else "lowers ") + what


def _amount(action: ActionSpec) -> tuple[str, float] | None:
    """What orders two changes of one kind at equal priority: the lower resulting amount wins."""
    for key in ("amount", "by_pct", "by_amount"):
        if key in action.params:
            return key, float(action.params[key])
    return None


def _wins(winner: Rule, loser: Rule) -> str | None:
    """Why `winner` always beats `loser` when both propose a change to one entity (engine/safety.py)."""
    if _attribute(winner.action) == "status" and winner.action.type != loser.action.type:
        return None  # pause needs an active entity and enable a paused one: never both at once
    if winner.priority != loser.priority:
        return "higher priority" if winner.priority > loser.priority else None
    if winner.action.type in ("pause", "enable"):
        return "the same change; ties go to the first rule id" if winner.id < loser.id else None
    mine, theirs = _amount(winner.action), _amount(loser.action)
    if mine is None or theirs is None or mine[0] != theirs[0] or winner.action.type != loser.action.type:
        return None  # a percentage against an amount: which is lower depends on the entity
    if mine[1] != theirs[1]:
        return "the safer change: the lower amount" if mine[1] < theirs[1] else None
    return "the same change; ties go to the first rule id" if winner.id < loser.id else None


# -- positions ------------------------------------------------------------------------------------------


class _Sources:
    """Columns and key positions the Project does not keep: the files are read again, once each."""

    def __init__(self) -> None:
        self.docs: dict[Path, Document | None] = {}

    def doc(self, path: Path) -> Document | None:
        if path not in self.docs:
            self.docs[path] = load_file(path)[0]
        return self.docs[path]

    def workflow_doc(self, wf: Workflow) -> Document | None:
        return self.doc(wf.operator.folder / Path(wf.file).name)

    def rule(self, wf: Workflow, rule: Rule) -> tuple[int, int]:
        doc = self.workflow_doc(wf)
        raw = doc.data.get("rules") if doc is not None and isinstance(doc.data, dict) else None
        for i, item in enumerate(raw if isinstance(raw, list) else []):
            if isinstance(item, dict) and item.get("id") == rule.id:
                pos = doc.pos(("rules", i))  # type: ignore[union-attr]
                return pos.line, pos.col
        return rule.line, 1

    def key(self, doc: Document | None, path: tuple) -> tuple[int | None, int | None]:
        if doc is None:
            return None, None
        pos = doc.pos(path, key=True)
        return pos.line, pos.col


def _warning(file: str, at: tuple[int | None, int | None], message: str, hint: str, code: str) -> Diagnostic:
    return Diagnostic(file, at[0], at[1], message, hint, "warning", code)


# -- the checks --------------------------------------------------------------------------------------------


@dataclass
class _Context:
    project: Project
    catalog: Catalog
    sources: _Sources
    out: list[Diagnostic]
    live: list[tuple[Workflow, Rule]] = dataclasses.field(default_factory=list)  # rules that run and can fire

    def at_rule(self, wf: Workflow, rule: Rule, message: str, hint: str, code: str) -> None:
        self.out.append(_warning(rule.file or wf.file, self.sources.rule(wf, rule), message, hint, code))


def _check_never_fires(ctx: _Context) -> set[int]:
    """Warn on each rule that can never fire; returns their id()s."""
    never: set[int] = set()
    for wf in ctx.project.workflows:
        for rule in wf.rules:
            why = _never(_conjuncts(rule.when.ir), _scenarios(ctx.project, [rule.when]))
            if why is None:
                continue
            never.add(id(rule))
            ctx.at_rule(
                wf,
                rule,
                f"rule {rule.id!r} can never fire: {why}",
                "check the comparison directions and the threshold values in operator.yaml",
                "never-fires",
            )
    return never


def _check_shadowed(ctx: _Context) -> set[tuple[int, int]]:
    """Warn on each rule that never wins; returns the (winner, loser) pairs by id()."""
    pairs: set[tuple[int, int]] = set()
    for wf, lower in ctx.live:
        for other_wf, higher in ctx.live:
            if other_wf is not wf or higher is lower or higher.level != lower.level:
                continue
            attr = _attribute(lower.action)
            if attr is None or _attribute(higher.action) != attr:
                continue
            why = _wins(higher, lower)
            if why is None or not _implies(lower, higher, ctx.project):
                continue
            pairs.add((id(higher), id(lower)))
            ctx.at_rule(
                wf,
                lower,
                f"rule {lower.id!r} is shadowed by {higher.id!r}: whenever it fires, {higher.id!r} fires too "
                f"and wins on {attr} ({why})",
                f"give {lower.id!r} a higher priority, make the two conditions exclusive, or remove it",
                "shadowed",
            )
            break
    return pairs


def _check_opposite(ctx: _Context, shadowed: set[tuple[int, int]]) -> None:
    groups: dict[tuple[str, str], list[tuple[Workflow, Rule]]] = defaultdict(list)
    for wf, rule in ctx.live:
        if _attribute(rule.action) is not None and _direction(rule.action) is not None:
            groups[(wf.platform, rule.level)].append((wf, rule))
    for group in groups.values():
        for (wf_a, a), (wf_b, b) in itertools.combinations(group, 2):
            attr = _attribute(a.action)
            if attr != _attribute(b.action) or _direction(a.action) == _direction(b.action):
                continue
            if (id(a), id(b)) in shadowed or (id(b), id(a)) in shadowed:
                continue  # the loser never acts, so nothing flips
            ignore = frozenset([_STATUS]) if attr == "status" else frozenset()
            both = [*_conjuncts(a.when.ir), *_conjuncts(b.when.ir)]
            if _never(both, _scenarios(ctx.project, (a.when, b.when)), ignore):
                continue
            line, col = ctx.sources.rule(wf_a, a)
            ctx.at_rule(
                wf_b,
                b,
                f"rule {b.id!r} {_describe(b.action)} and {wf_a.id}/{a.id} ({a.file}:{line}:{col}) "
                f"{_describe(a.action)}: both can fire on the same {b.level}, which then flips between runs",
                "make the two conditions exclusive (e.g. roas < 1 and roas > 3), or remove one of the rules",
                "opposite",
            )


def _check_unsettled_windows(ctx: _Context) -> None:
    as_of = date(2000, 1, 1)  # windows are relative: any evaluation date shows which days they read
    for wf, rule in ctx.live:
        spec = ctx.catalog.sources.get(wf.platform)
        days = spec.settle_days if spec else 0
        if not days:
            continue
        read = dict.fromkeys([rule.window, *(ref.window for ref in rule.when.refs if ref.window)])
        recent = [w for w in read if date_range(w, as_of).end > as_of - timedelta(days=days)]
        if not recent:
            continue
        ctx.at_rule(
            wf,
            rule,
            f"rule {rule.id!r} reads {', '.join(recent)}, which includes the newest {days} days of {wf.platform}: "
            f"they are still settling (the platform revises them) and too young to act on",
            f"end the window {days} days back, e.g. window: last_7d_ending_{days}d_ago",
            "unsettled-window",
        )


def _check_unused_thresholds(ctx: _Context) -> None:
    used: dict[str, set[str]] = defaultdict(set)
    for wf in ctx.project.workflows:
        for rule in wf.rules:
            for ref in rule.when.refs:
                if ref.kind == "threshold":
                    operator, _, name = ref.name.partition("/")
                    used[operator].add(name)
    for op in ctx.project.operators.values():
        doc = ctx.sources.doc(op.folder / Path(op.file).name)
        for name in op.thresholds:
            if name not in used[op.name]:
                ctx.out.append(
                    _warning(
                        op.file,
                        ctx.sources.key(doc, ("thresholds", name)),
                        f"threshold {name!r} is not used by any rule of operator {op.name!r}",
                        f"use it as thresholds.{name} in a rule, or remove it",
                        "unused-threshold",
                    )
                )


def _check_untested(ctx: _Context) -> None:
    for wf in ctx.project.workflows:
        stem = Path(wf.file).stem
        folder = wf.operator.folder
        if (folder / f"{stem}.test.yaml").exists() or (folder / f"{stem}.test.yml").exists():
            continue
        ctx.out.append(
            _warning(
                wf.file,
                ctx.sources.key(ctx.sources.workflow_doc(wf), ("workflow",)),
                f"workflow {wf.id} has no test file {stem}.test.yaml",
                f"add {stem}.test.yaml beside {Path(wf.file).name}: example entities and the actions its rules "
                "should propose",
                "untested",
            )
        )


def _order(d: Diagnostic) -> tuple:
    return (d.file or "", d.line or 0, d.col or 0, d.code or "", d.message)


def lint_project(project: Project, catalog: Catalog | None = None) -> list[Diagnostic]:
    """Every lint warning for a loaded rules folder (default: the shipped catalog), sorted by file and position."""
    if catalog is None:
        catalog = load_catalog()
    ctx = _Context(project, catalog, _Sources(), [])
    never = _check_never_fires(ctx)
    # A rule that cannot fire or does not run shadows nothing and flips nothing.
    ctx.live = [
        (wf, rule)
        for wf in project.workflows
        for rule in wf.rules
        if wf.enabled and rule.enabled and id(rule) not in never
    ]
    _check_opposite(ctx, _check_shadowed(ctx))
    _check_unsettled_windows(ctx)
    _check_unused_thresholds(ctx)
    _check_untested(ctx)
    return sorted(ctx.out, key=_order)


# -- the command ---------------------------------------------------------------------------------------------


@dataclass
class LintReport:
    """`rulerun lint`: the loader's and lint's warnings, sorted by position; or why the rules cannot load."""

    warnings: list[Diagnostic] = dataclasses.field(default_factory=list)
    error: DiagnosticsError | None = None


def lint(rules: str | None) -> LintReport:
    """Load the rules folder and lint it; invalid rules are returned as `error` (ValidationFailed)."""
    workspace = Workspace.resolve(rules, None)
    catalog = load_catalog()
    try:
        project = load_project(workspace.rules, catalog)
    except DiagnosticsError as exc:
        return LintReport(error=exc)
    return LintReport(sorted([*project.warnings, *lint_project(project, catalog)], key=_order))
