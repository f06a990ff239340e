"""Render an expression with the values it resolved to, for a finding.

``explain(node, ctx)`` gives text such as
``data.status (503) == 200 and asset.criticality (5) >= 4``: every field is
followed by its value, macros are expanded in parentheses. It runs only when
a rule fires, so it may recompile sub-expressions instead of caching them.
"""

from __future__ import annotations

from typing import Any

import orjson

from engine.ruleset.compiler import compile_node
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

MAX_VALUE_TEXT = 80
_BINARY = (Logic, Arith, Compare)  # tuples: an inline ``A | B`` is built on every call
_LOGIC_ARITH = (Logic, Arith)


_CACHE: dict[int, tuple[Node, Any]] = {}


def _compiled(node: Node) -> Any:
    """The node's closure, compiled once (keyed by identity: trees live as long as rules)."""
    hit = _CACHE.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    if len(_CACHE) > 20_000:
        _CACHE.clear()
    fn = compile_node(node)
    _CACHE[id(node)] = (node, fn)
    return fn


def show(value: Any) -> str:
    """A short readable form of a resolved value."""
    if value is None:
        return "absent"
    if value is True:
        return "true"
    if value is False:
        return "false"
    try:
        text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= MAX_VALUE_TEXT else text[: MAX_VALUE_TEXT - 1] + "…"


def explain(node: Node, ctx: Ctx) -> str:
    """The expression with each field's resolved value."""
    if isinstance(node, Field):
        return f"{node.path} ({show(_compiled(node)(ctx))})"
    if isinstance(node, Macro):
        return f"({explain(node.body, ctx)})"
    if isinstance(node, Unary):
        sep = " " if node.op == "not" else ""
        return f"{node.op}{sep}{_child(node.operand, ctx, node)}"
    if isinstance(node, Compare) and node.op == "==" and isinstance(node.left, Field):
        lit = node.right
        if isinstance(lit, Lit) and isinstance(lit.value, str):
            if _compiled(node.left)(ctx) == lit.value:
                return f"{node.left.path} == {lit.src}"  # true and obvious: no value needed
    if isinstance(node, _BINARY):
        return f"{_child(node.left, ctx, node)} {node.op} {_child(node.right, ctx, node)}"
    if isinstance(node, Call):
        args = ", ".join(plain(a) for a in node.args)
        return f"{node.name}({args}) ({show(_compiled(node)(ctx))})"
    return plain(node)


_PRECEDENCE = {"or": 1, "and": 2, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6, "**": 7}


def _prec(node: Node) -> int:
    if isinstance(node, Compare):
        return 4
    if isinstance(node, Unary):
        return 3 if node.op == "not" else 8
    if isinstance(node, _LOGIC_ARITH):
        return _PRECEDENCE[node.op]
    return 9


def _child(child: Node, ctx: Ctx, parent: Node) -> str:
    text = explain(child, ctx)
    return f"({text})" if _prec(child) < _prec(parent) else text


def plain(node: Node) -> str:
    """The expression as written (normalised), without values."""
    if isinstance(node, Lit):
        return node.src
    if isinstance(node, ListLit):
        return node.name or show(list(node.items))
    if isinstance(node, Field):
        return node.path
    if isinstance(node, Macro):
        return node.name
    if isinstance(node, Unary):
        return f"{node.op}{' ' if node.op == 'not' else ''}{plain(node.operand)}"
    if isinstance(node, _BINARY):
        return f"({plain(node.left)} {node.op} {plain(node.right)})"
    if isinstance(node, Call):
        return f"{node.name}({', '.join(plain(a) for a in node.args)})"
    return "?"
