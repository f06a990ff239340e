"""Compile expression trees into Python closures, once, at load.

A compiled expression is a function ``fn(ctx) -> value`` over a ``Ctx``
(the observation and its asset). Absent fields are ``None``; every
comparison with an absent value is false, arithmetic on it is absent, and no
operator raises on a value of the wrong type, so evaluation never crashes.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from engine.ruleset import functions as fn
from engine.ruleset.context import Ctx
from engine.ruleset.nodes import (
    Arith,
    Call,
    Compare,
    Field,
    ListLit,
    Lit,
    Logic,
    Macro,
    Node,
    Unary,
)
from engine.vocabulary import EVENT_FIELDS

Fn = Callable[[Ctx], Any]

_NUM = (int, float)
_SCALAR = (str, int, float, bool)
_SIZED = (str, list, tuple, dict)  # what ``len`` measures (functions.f_len)
_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_ARITH = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
    "**": operator.pow,
}
_MISSING: Any = object()  # a macro not computed yet for this observation
_TESTS = {"contains": fn.t_contains, "startswith": fn.t_startswith, "endswith": fn.t_endswith}


def field_getter(path: str) -> Fn:
    """A fast reader of one field path; ``None`` when it is absent."""
    parts = path.split(".")
    if len(parts) == 1:
        name = parts[0]
        assert name in EVENT_FIELDS
        get = operator.attrgetter(f"obs.{name}")
        return get
    root, key = parts[0], parts[1]
    if root == "asset":

        def asset_field(c: Ctx) -> Any:
            a = c.asset
            return None if a is None else getattr(a, key)

        return asset_field
    if len(parts) == 2:

        def data_field(c: Ctx) -> Any:
            return c.data.get(key)

        return data_field
    sub = parts[2]

    def data_subfield(c: Ctx) -> Any:
        v = c.data.get(key)
        return v.get(sub) if isinstance(v, dict) else None

    return data_subfield


def _data_key(node: Node) -> str | None:
    """``name`` for a ``data.<name>`` field (read inline by the fused closures below)."""
    if isinstance(node, Field) and node.path.startswith("data.") and node.path.count(".") == 1:
        return node.path[5:]
    return None


def _asset_key(node: Node) -> str | None:
    """``name`` for an ``asset.<name>`` field (read inline by the fused closures below)."""
    if isinstance(node, Field) and node.path.startswith("asset.") and node.path.count(".") == 1:
        return node.path[6:]
    return None


def _obs_field(node: Node) -> Callable[[Any], Any] | None:
    """A reader of an observation attribute (``ok``, ``probe``…) for a plain field."""
    if isinstance(node, Field) and "." not in node.path and node.path in EVENT_FIELDS:
        return operator.attrgetter(node.path)
    return None


def constant(node: Node) -> tuple[bool, Any]:
    """Whether a node is a constant, and its value."""
    if isinstance(node, Lit):
        return True, node.value
    if isinstance(node, ListLit):
        return True, list(node.items)
    return False, None


def compile_node(node: Node) -> Fn:
    """Compile a tree into one closure."""
    if isinstance(node, Lit | ListLit):
        value = constant(node)[1]
        return lambda c: value
    if isinstance(node, Field):
        return field_getter(node.path)
    if isinstance(node, Macro):
        return _macro(node.name, compile_node(node.body))
    if isinstance(node, Unary):
        x = compile_node(node.operand)
        if node.op == "not":
            obs_field = _obs_field(node.operand)
            if obs_field is not None:  # ``not ok``: one call, not two
                return lambda c: not obs_field(c.obs)
            return lambda c: not x(c)

        def neg(c: Ctx) -> Any:
            v = x(c)
            return -v if type(v) in _NUM else None

        return neg
    if isinstance(node, Logic):
        left, right = compile_node(node.left), compile_node(node.right)
        # an observation attribute (``ok``) or its negation on the left: read inline
        lnode, negated = node.left, False
        if isinstance(lnode, Unary) and lnode.op == "not":
            lnode, negated = lnode.operand, True
        attr = _obs_field(lnode)
        if attr is not None:
            if node.op == "and":
                if negated:
                    return lambda c: not attr(c.obs) and right(c)
                return lambda c: attr(c.obs) and right(c)
            if negated:
                return lambda c: not attr(c.obs) or right(c)
            return lambda c: attr(c.obs) or right(c)
        if node.op == "and":
            return lambda c: left(c) and right(c)
        return lambda c: left(c) or right(c)
    if isinstance(node, Arith):
        return _arith(node)
    if isinstance(node, Compare):
        return _compare(node)
    if isinstance(node, Call):
        return _call(node)
    raise TypeError(f"cannot compile {type(node).__name__}")


def _macro(name: str, body: Fn) -> Fn:
    """A macro's value is computed once per observation, however many rules use it."""

    missing = _MISSING

    def macro(c: Ctx) -> Any:
        memo = c.memo
        if memo is None:
            v = body(c)
            c.memo = {name: v}
            return v
        v = memo.get(name, missing)
        if v is missing:
            v = memo[name] = body(c)
        return v

    return macro


def _arith(node: Arith) -> Fn:
    left, right, op = compile_node(node.left), compile_node(node.right), _ARITH[node.op]

    def arith(c: Ctx) -> Any:
        a, b = left(c), right(c)
        if type(a) not in _NUM or type(b) not in _NUM:
            return None
        try:
            return op(a, b)
        except (ZeroDivisionError, OverflowError, ValueError):
            return None

    return arith


def _data_const(node: Compare) -> Fn | None:
    """Fast paths for the commonest shape: ``data.<name> <op> <literal>``."""
    left, right, op = node.left, node.right, node.op
    if not (isinstance(left, Field) and left.path.startswith("data.") and left.path.count(".") == 1
            and isinstance(right, Lit) and right.value is not None):
        return None
    key, k = left.path[5:], right.value
    if op == "==":
        return lambda c: c.data.get(key) == k
    if type(k) not in _NUM:
        return None
    if op == "<":

        def lt(c: Ctx) -> bool:
            v = c.data.get(key)
            return type(v) in _NUM and v < k

        return lt
    if op == "<=":

        def le(c: Ctx) -> bool:
            v = c.data.get(key)
            return type(v) in _NUM and v <= k

        return le
    if op == ">":

        def gt(c: Ctx) -> bool:
            v = c.data.get(key)
            return type(v) in _NUM and v > k

        return gt
    if op == ">=":

        def ge(c: Ctx) -> bool:
            v = c.data.get(key)
            return type(v) in _NUM and v >= k

        return ge
    return None


def _len_const(node: Compare) -> Fn | None:
    """``len(<x>) <op> <number>``, in one closure (as ``len`` then the compare)."""
    left, right = node.left, node.right
    if not (node.op in _ORDER and isinstance(left, Call) and left.name == "len"
            and len(left.args) == 1 and isinstance(right, Lit) and type(right.value) in _NUM):
        return None
    order, k = _ORDER[node.op], right.value
    key = _data_key(left.args[0])
    if key is not None:

        def len_const(c: Ctx) -> Any:
            v = c.data.get(key)
            return isinstance(v, _SIZED) and order(len(v), k)  # no length: not ordered, false

        return len_const
    akey = _asset_key(left.args[0])
    if akey is not None:

        def len_asset_const(c: Ctx) -> Any:
            a = c.asset
            v = None if a is None else getattr(a, akey)
            return isinstance(v, _SIZED) and order(len(v), k)

        return len_asset_const
    arg = compile_node(left.args[0])

    def len_of_const(c: Ctx) -> Any:
        v = arg(c)
        return isinstance(v, _SIZED) and order(len(v), k)

    return len_of_const


def _const_in(node: Compare) -> Fn | None:
    """``<literal> in <field>`` (e.g. ``"decommissioned" in asset.tags``), in one closure."""
    if node.op not in ("in", "not in") or not isinstance(node.left, Lit) \
            or not isinstance(node.right, Field):
        return None
    v, get, negate = node.left.value, compile_node(node.right), node.op == "not in"
    if v is None:
        return lambda c: False
    t_in = fn.t_in
    akey = _asset_key(node.right)
    if akey is not None:

        def const_in_asset(c: Ctx) -> bool:
            a = c.asset
            return t_in(v, None if a is None else getattr(a, akey)) != negate

        return const_in_asset
    return lambda c: t_in(v, get(c)) != negate


def _compare(node: Compare) -> Fn:
    fast = _data_const(node) or _len_const(node) or _const_in(node)
    if fast is not None:
        return fast
    left = compile_node(node.left)
    is_const, k = constant(node.right)
    right = compile_node(node.right)
    op = node.op
    if op == "==":
        if is_const:
            return lambda c: left(c) == k
        return lambda c: left(c) == right(c)
    if op == "!=":
        if is_const and k is None:
            return lambda c: left(c) is not None

        def ne(c: Ctx) -> bool:
            a, b = left(c), right(c)
            return a is not None and b is not None and a != b

        return ne
    if op in _ORDER:
        order = _ORDER[op]

        if is_const:

            def ordered_const(c: Ctx) -> Any:
                try:
                    return order(left(c), k)
                except TypeError:  # absent, or values that do not order
                    return False

            return ordered_const

        def ordered(c: Ctx) -> Any:
            try:
                return order(left(c), right(c))
            except TypeError:  # absent, or values that do not order
                return False

        return ordered
    if op in ("in", "not in"):
        negate = op == "not in"
        if is_const and isinstance(k, list) and all(_hashable(x) for x in k):
            members = frozenset(k)

            def in_set(c: Ctx) -> bool:
                v = left(c)
                if v is None:
                    return False
                try:
                    return (v in members) != negate
                except TypeError:  # an unhashable value (a list) is in no set of scalars
                    return negate

            return in_set

        def in_any(c: Ctx) -> bool:
            v = left(c)
            if v is None:
                return False
            return fn.t_in(v, right(c)) != negate

        return in_any
    if op == "matches":
        matches = fn.searcher(k)
        return lambda c: matches(left(c))
    if op == "in_cidr":
        in_nets = fn.network_test(fn.parse_networks([k] if isinstance(k, str) else k))
        return lambda c: in_nets(left(c))
    test = _TESTS[op]
    return lambda c: test(left(c), right(c))


def _call(node: Call) -> Fn:
    if node.name == "exists":
        get = compile_node(node.args[0])
        return lambda c: get(c) is not None
    if node.name == "in_cidr":
        arg = compile_node(node.args[0])
        _, k = constant(node.args[1])
        in_nets = fn.network_test(fn.parse_networks([k] if isinstance(k, str) else k))
        return lambda c: in_nets(arg(c))
    impl = fn.FUNCTIONS[node.name]
    args = [compile_node(a) for a in node.args]
    key = _data_key(node.args[0])  # the usual first argument: read inline, one call less
    if len(args) == 1:
        (a0,) = args
        if key is not None:
            return lambda c: impl(c.data.get(key))
        return lambda c: impl(a0(c))
    a0, a1 = args
    second = node.args[1]
    if isinstance(second, ListLit) and all(_hashable(x) for x in second.items):
        members = frozenset(second.items)  # membership tests against a constant list
        if key is not None and impl is fn.f_any_in:
            return _any_in_data(key, members)
        if key is not None:
            return lambda c: impl(c.data.get(key), members)
        return lambda c: impl(a0(c), members)
    akey = _asset_key(second)
    if key is not None and akey is not None:  # diff(data.open_ports, asset.expected_ports)

        def data_asset_call(c: Ctx) -> Any:
            a = c.asset
            return impl(c.data.get(key), None if a is None else getattr(a, akey))

        return data_asset_call
    return lambda c: impl(a0(c), a1(c))


def _any_in_data(key: str, members: frozenset[Any]) -> Fn:
    """``any_in(data.<key>, <constant list>)`` in one closure (``f_any_in`` inlined)."""
    seq = (list, tuple)

    def any_in_data(c: Ctx) -> bool:
        a = c.data.get(key)
        if not isinstance(a, seq):
            return False
        for x in a:
            try:
                if x in members:
                    return True
            except TypeError:  # an unhashable item is in no set
                continue
        return False

    return any_in_data


def _hashable(x: Any) -> bool:
    return isinstance(x, _SCALAR) or x is None
