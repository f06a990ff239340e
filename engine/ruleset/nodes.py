"""The syntax tree of a rule expression.

The parser (``engine.ruleset.parser``) builds these; the compiler turns them
into closures once, at load; ``engine.ruleset.explain`` walks them again to
show the resolved values when a rule fires. ``pos``/``end`` are offsets into
the expression text, for error marks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Node:
    """Any expression node."""

    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class Lit(Node):
    """A literal: string, number, boolean or null; ``src`` is how it was written."""

    value: Any
    src: str


@dataclass(frozen=True, slots=True)
class ListLit(Node):
    """A list of literals, written ``[a, b]`` or ``(a, b)``, or a named list."""

    items: tuple[Any, ...]
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Field(Node):
    """A field of the observation or its asset: ``probe``, ``data.status``, ``asset.tags``."""

    path: str


@dataclass(frozen=True, slots=True)
class Macro(Node):
    """A named condition, expanded where it is used."""

    name: str
    body: Node


@dataclass(frozen=True, slots=True)
class Unary(Node):
    """``not x`` or ``-x``."""

    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Logic(Node):
    """``a and b``, ``a or b`` (short-circuit)."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Arith(Node):
    """``+ - * / % **``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """A comparison or a test such as ``contains``, ``matches``, ``in_cidr``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Call(Node):
    """A call of one of the safe functions."""

    name: str
    args: tuple[Node, ...]


def tree_depth(node: Node) -> int:
    """How deep a tree is, macro bodies included (iterative: trees may be deep)."""
    deepest = 0
    stack: list[tuple[Node, int]] = [(node, 1)]
    while stack:
        n, d = stack.pop()
        deepest = max(deepest, d)
        if isinstance(n, Macro):
            stack.append((n.body, d + 1))
        elif isinstance(n, Unary):
            stack.append((n.operand, d + 1))
        elif isinstance(n, Logic | Arith | Compare):
            stack += [(n.left, d + 1), (n.right, d + 1)]
        elif isinstance(n, Call):
            stack += [(a, d + 1) for a in n.args]
    return deepest
