"""Render an expression with the values it resolved to, for a finding.

``explain(node, ctx)`` gives text such as
``data.status (503) == 200 and asset.criticality (5) >= 4``: every field is
followed by its value, macros are expanded in parentheses. It runs only when
a rule fires; each tree's explainer is built once (``explainer``) and reused.
"""

from __future__ import annotations

from collections.abc import Callable
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
    return explainer(node)(ctx)


_EXPLAINERS: dict[int, tuple[Node, Callable[[Ctx], str]]] = {}


def explainer(node: Node) -> Callable[[Ctx], str]:
    """``explain`` for ``node`` as one closure, built once per tree (keyed by identity).

    The walk over the tree, its type tests and the text that does not depend on
    the observation are done here, once, instead of on every finding.
    """
    hit = _EXPLAINERS.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    if len(_EXPLAINERS) > 20_000:
        _EXPLAINERS.clear()
    fn = _build(node)
    _EXPLAINERS[id(node)] = (node, fn)
    return fn


def _build(node: Node) -> Callable[[Ctx], str]:
    if isinstance(node, Field):
        head, get = f"{node.path} (", _compiled(node)
        return lambda c: f"{head}{show(get(c))})"
    if isinstance(node, Macro):
        body = explainer(node.body)
        return lambda c: f"({body(c)})"
    if isinstance(node, Unary):
        head = f"{node.op}{' ' if node.op == 'not' else ''}"
        operand = _child(node.operand, node)
        return lambda c: f"{head}{operand(c)}"
    if isinstance(node, _BINARY):
        left, right, mid = _child(node.left, node), _child(node.right, node), f" {node.op} "
        lit = node.right
        if (isinstance(node, Compare) and node.op == "==" and isinstance(node.left, Field)
                and isinstance(lit, Lit) and isinstance(lit.value, str)):
            get, value = _compiled(node.left), lit.value
            obvious = f"{node.left.path} == {lit.src}"  # true and obvious: no value needed
            return lambda c: obvious if get(c) == value else f"{left(c)}{mid}{right(c)}"
        return lambda c: f"{left(c)}{mid}{right(c)}"
    if isinstance(node, Call):
        head = f"{node.name}({', '.join(plain(a) for a in node.args)}) ("
        get = _compiled(node)
        return lambda c: f"{head}{show(get(c))})"
    text = plain(node)
    return lambda c: text


_PRECEDENCE = {"or": 1, "and": 2, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6, "**": 7}


def _prec(node: Node) -> int:
    if isinstance(node, Compare):
        return 4
    if isinstance(node, Unary):
        return 3 if node.op == "not" else 8
    if isinstance(node, _LOGIC_ARITH):
        return _PRECEDENCE[node.op]
    return 9


def _child(child: Node, parent: Node) -> Callable[[Ctx], str]:
    """The child's explainer, in parentheses where it binds less tightly than its parent."""
    inner = explainer(child)
    if _prec(child) < _prec(parent):
        return lambda c: f"({inner(c)})"
    return inner


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
