"""Partial evaluation of a condition for one probe, for the hot path.

The engine routes each observation only to the rules that can match its
probe, so inside a rule for ``probe == "http"`` the test ``probe == "http"``
is always true. ``specialize(node, "http")`` folds such tests (and the
``and``/``or``/``not`` around them) into constants; the engine compiles the
folded tree once per (rule, probe). Explanations still use the original tree.
"""

from __future__ import annotations

from engine.ruleset.nodes import Compare, Field, ListLit, Lit, Logic, Macro, Node, Unary


def _const(node: Node) -> bool | None:
    return bool(node.value) if isinstance(node, Lit) else None


def specialize(node: Node, probe: str, shared: frozenset[str] | None = None) -> Node:
    """``node`` with every test of the ``probe`` field replaced by its value.

    Macros stay wrapped (their value is memoised per observation) only if they
    are in ``shared`` (used more than once for this probe); ``None`` keeps all.
    """
    if isinstance(node, Macro):
        body = specialize(node.body, probe, shared)
        if isinstance(body, Lit) or (shared is not None and node.name not in shared):
            return body
        return Macro(node.pos, node.end, node.name, body)
    if isinstance(node, Compare) and isinstance(node.left, Field) and node.left.path == "probe":
        right = node.right
        if node.op in ("==", "!=") and isinstance(right, Lit):
            value = (right.value == probe) == (node.op == "==")
            return Lit(node.pos, node.end, value, "true" if value else "false")
        if node.op in ("in", "not in") and isinstance(right, ListLit):
            value = (probe in right.items) == (node.op == "in")
            return Lit(node.pos, node.end, value, "true" if value else "false")
        return node
    if isinstance(node, Unary) and node.op == "not":
        inner = specialize(node.operand, probe, shared)
        c = _const(inner)
        if c is not None:
            return Lit(node.pos, node.end, not c, "false" if c else "true")
        return Unary(node.pos, node.end, "not", inner)
    if isinstance(node, Logic):
        left, right = specialize(node.left, probe, shared), specialize(node.right, probe, shared)
        lc, rc = _const(left), _const(right)
        absorbing = node.op == "or"  # True absorbs an or, False absorbs an and
        if lc is not None:
            return left if lc == absorbing else right
        if rc is not None:
            return right if rc == absorbing else left
        return Logic(node.pos, node.end, node.op, left, right)
    return node


def macro_uses(node: Node) -> list[str]:
    """The macro names a (specialised) tree evaluates, once per occurrence."""
    if isinstance(node, Macro):
        return [node.name]  # a memoised macro is evaluated once, whatever it contains
    if isinstance(node, Unary):
        return macro_uses(node.operand)
    if isinstance(node, Logic | Compare):
        return macro_uses(node.left) + macro_uses(node.right)
    return []
