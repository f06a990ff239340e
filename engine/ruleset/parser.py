"""Pratt parser for rule expressions (tokens come from ``engine.ruleset.lexer``).

The language is small and closed: literals, field paths of the event
(``probe``, ``data.status``, ``asset.criticality``), named lists and macros,
``and or not``, comparisons, ``in``/``not in``, word tests (``contains``,
``startswith``, ``endswith``, ``matches``, ``in_cidr``), arithmetic and a
fixed set of functions. Anything else (attribute access outside the event,
other calls, dunder names, lambdas, comprehensions, imports, huge exponents,
deep nesting, over-long text) is rejected here with the offset of the
offending token; the caller turns offsets into ``file:line:col``.
User text is never handed to ``eval``, ``exec`` or ``compile``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from engine.errors import Mark, RuleError
from engine.ruleset.lexer import FORBIDDEN, PY_KEYWORDS, Token, reject_keywords, tokenize, unquote
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
    tree_depth,
)
from engine.vocabulary import ASSET_FIELDS, EVENT_FIELDS, is_known, known_paths

MAX_LENGTH = 4096
MAX_DEPTH = 32
#: Depth of the whole tree, operator chains and macros included (keeps recursion bounded).
MAX_TREE_DEPTH = 100
MAX_EXPONENT = 64
MAX_LIST_ITEMS = 10_000

#: The safe functions and how many arguments each takes.
FUNCTION_ARITY: dict[str, int] = {
    "exists": 1,
    "len": 1,
    "lower": 1,
    "upper": 1,
    "abs": 1,
    "in_cidr": 2,
    "diff": 2,
    "any_in": 2,
}

#: Word and symbol operators that compare or test two values.
COMPARE_OPS = frozenset(
    ["==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains", "startswith", "endswith",
     "matches", "in_cidr"]
)
_WORD_TESTS = frozenset(["in", "contains", "startswith", "endswith", "matches", "in_cidr"])


class Env(Protocol):
    """What names mean outside the event: named lists and macros."""

    def list_items(self, name: str) -> tuple[Any, ...] | None: ...

    def macro(self, name: str, pos: int) -> Node | None: ...

    def names(self) -> list[str]: ...


class NoEnv:
    """An environment without lists or macros."""

    def list_items(self, name: str) -> tuple[Any, ...] | None:
        return None

    def macro(self, name: str, pos: int) -> Node | None:
        return None

    def names(self) -> list[str]:
        return []


class Parser:
    """Parses one expression text into a ``Node`` tree (Pratt / precedence climbing)."""

    # left binding powers of infix operators
    _BP: ClassVar[dict[str, int]] = {
        "or": 10, "and": 20, "+": 50, "-": 50, "*": 60, "/": 60, "%": 60, "**": 80,
    }
    _CMP_BP = 40
    _NOT_BP = 30

    def __init__(self, text: str, env: Env, locate: Callable[[int], Mark]) -> None:
        self.text = text
        self.env = env
        self.locate = locate
        self.depth = 0
        if len(text) > MAX_LENGTH:
            raise self.err(
                f"expression is too long ({len(text)} characters, at most {MAX_LENGTH})", 0
            )
        if not text.strip():
            raise self.err("empty expression", 0)
        self.toks = tokenize(text, self.err)
        reject_keywords(self.toks, self.err)
        self.i = 0

    def err(self, message: str, pos: int) -> RuleError:
        return RuleError(message, self.locate(pos))

    # -- token helpers
    def peek(self, k: int = 0) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> Token:
        t = self.toks[self.i]
        self.i = min(self.i + 1, len(self.toks) - 1)
        return t

    def expect(self, text: str) -> Token:
        t = self.peek()
        if t.text != text or t.kind == "str":
            raise self.err(f"expected '{text}', found {self._describe(t)}", t.pos)
        return self.next()

    @staticmethod
    def _describe(t: Token) -> str:
        return "end of expression" if t.kind == "end" else f"'{t.text}'"

    # -- grammar
    def parse(self) -> Node:
        node = self.expr(0)
        t = self.peek()
        if t.kind != "end":
            if t.text == ".":
                raise self.err("attribute access is only allowed on event fields", t.pos)
            raise self.err(f"unexpected {self._describe(t)}", t.pos)
        if tree_depth(node) > MAX_TREE_DEPTH:
            raise self.err(
                f"expression is too complex (more than {MAX_TREE_DEPTH} levels of operators "
                "and macros); split it into macros or rules",
                0,
            )
        return node

    def expr(self, rbp: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.err(f"expression is nested too deeply (more than {MAX_DEPTH} levels)",
                           self.peek().pos)
        left = self.prefix()
        while True:
            op, width = self._infix_op()
            if op is None:
                break
            bp = self._CMP_BP if op in COMPARE_OPS else self._BP[op]
            if bp <= rbp and not (op == "**" and bp == rbp):
                break
            start = self.peek()
            for _ in range(width):
                self.next()
            if op in COMPARE_OPS:
                right = self.expr(self._CMP_BP)
                left = self._compare(op, left, right, start)
                nxt, _ = self._infix_op()
                if nxt in COMPARE_OPS:
                    raise self.err("comparisons cannot be chained; join them with 'and'",
                                   self.peek().pos)
            elif op in ("and", "or"):
                right = self.expr(bp)
                left = Logic(left.pos, right.end, op, left, right)
            elif op == "**":
                right = self.expr(bp - 1)
                if not (isinstance(right, Lit) and type(right.value) in (int, float)):
                    raise self.err("the exponent of '**' must be a number literal", right.pos)
                if abs(right.value) > MAX_EXPONENT:
                    raise self.err(f"exponent {right.src} is too large (at most {MAX_EXPONENT})",
                                   right.pos)
                left = Arith(left.pos, right.end, op, left, right)
            else:
                right = self.expr(bp)
                left = Arith(left.pos, right.end, op, left, right)
        self.depth -= 1
        return left

    def _infix_op(self) -> tuple[str | None, int]:
        t = self.peek()
        if t.kind == "op" and t.text in self._BP:
            return t.text, 1
        if t.kind == "op" and t.text in COMPARE_OPS:
            return t.text, 1
        if t.kind == "name":
            if t.text in ("and", "or") or t.text in _WORD_TESTS:
                return t.text, 1
            if t.text == "not" and self.peek(1).text == "in" and self.peek(1).kind == "name":
                return "not in", 2
            if t.text in FORBIDDEN:
                raise self.err(FORBIDDEN[t.text], t.pos)
        return None, 0

    def prefix(self) -> Node:
        t = self.next()
        if t.kind == "num":
            value: Any = float(t.text) if any(c in t.text for c in ".eE") else int(t.text)
            return Lit(t.pos, t.end, value, t.text)
        if t.kind == "str":
            return Lit(t.pos, t.end, unquote(t.text), t.text)
        if t.kind == "op":
            if t.text == "(":
                return self._paren(t)
            if t.text == "[":
                return self._list(t, "]")
            if t.text == "-":
                operand = self.expr(70)
                if isinstance(operand, Lit) and type(operand.value) in (int, float):
                    return Lit(t.pos, operand.end, -operand.value, "-" + operand.src)
                return Unary(t.pos, operand.end, "-", operand)
            raise self.err(f"unexpected {self._describe(t)}", t.pos)
        if t.kind == "end":
            raise self.err("unexpected end of expression", t.pos)
        return self._name(t)

    def _paren(self, open_: Token) -> Node:
        inner = self.expr(0)
        if self.peek().text == ",":
            return self._list(open_, ")", first=inner)
        self.expect(")")
        if self.peek().text == ".":
            raise self.err("attribute access is only allowed on event fields", self.peek().pos)
        return inner

    def _list(self, open_: Token, close_text: str, first: Node | None = None) -> Node:
        items: list[Node] = [] if first is None else [first]
        if first is not None:
            self.expect(",")
        while self.peek().text != close_text or self.peek().kind != "op":
            if self.peek().kind == "name" and self.peek().text == "for":
                raise self.err(FORBIDDEN["for"], self.peek().pos)
            items.append(self.expr(0))
            if self.peek().text == "," and self.peek().kind == "op":
                self.next()
            elif self.peek().text != close_text:
                t = self.peek()
                if t.kind == "name" and t.text in FORBIDDEN:
                    raise self.err(FORBIDDEN[t.text], t.pos)
                raise self.err(f"expected ',' or '{close_text}', found {self._describe(t)}", t.pos)
            if len(items) > MAX_LIST_ITEMS:
                raise self.err(f"list has more than {MAX_LIST_ITEMS} items", open_.pos)
        close = self.next()
        values = []
        for item in items:
            if not isinstance(item, Lit):
                raise self.err("list items must be literals", item.pos)
            values.append(item.value)
        return ListLit(open_.pos, close.end, tuple(values))

    def _name(self, t: Token) -> Node:
        name = t.text
        for seg in name.split("."):
            if seg.startswith("__"):
                raise self.err(f"dunder names are not allowed: '{seg}'", t.pos)
        if name in FORBIDDEN:
            raise self.err(FORBIDDEN[name], t.pos)
        if name in PY_KEYWORDS:
            raise self.err(f"'{name}' is not allowed in an expression", t.pos)
        if name in ("true", "True"):
            return Lit(t.pos, t.end, True, "true")
        if name in ("false", "False"):
            return Lit(t.pos, t.end, False, "false")
        if name in ("null", "None"):
            return Lit(t.pos, t.end, None, "null")
        if name == "not":
            operand = self.expr(self._NOT_BP)
            return Unary(t.pos, operand.end, "not", operand)
        if self.peek().text == "(" and self.peek().kind == "op":
            return self._call(t)
        if "." not in name:
            items = self.env.list_items(name)
            if items is not None:
                return ListLit(t.pos, t.end, items, name)
            try:
                body = self.env.macro(name, t.pos)
            except ValueError as e:
                raise self.err(str(e), t.pos) from None
            if body is not None:
                return Macro(t.pos, t.end, name, body)
        if not is_known(name):
            raise self.err(self._unknown(name), t.pos)
        if self.peek().text == "." and self.peek().kind == "op":
            raise self.err("attribute access is only allowed on event fields", self.peek().pos)
        return Field(t.pos, t.end, name)

    def _unknown(self, name: str) -> str:
        root = name.split(".", 1)[0]
        if "." in name and root not in ("data", "asset"):
            return (f"attribute access outside the event: '{name}' "
                    "(fields are data.*, asset.* or observation fields)")
        if root in ("data", "asset") or name in EVENT_FIELDS or name in ASSET_FIELDS:
            what = f"unknown field '{name}'"
        else:
            what = f"unknown name '{name}' (not a field, list or macro)"
        close = difflib.get_close_matches(name, known_paths() + self.env.names(), n=1)
        return what + (f" (did you mean '{close[0]}'?)" if close else "")

    def _call(self, t: Token) -> Node:
        name = t.text
        if name not in FUNCTION_ARITY:
            allowed = ", ".join(sorted(FUNCTION_ARITY))
            raise self.err(f"unknown function '{name}' (allowed: {allowed})", t.pos)
        self.next()  # (
        args: list[Node] = []
        while not (self.peek().text == ")" and self.peek().kind == "op"):
            args.append(self.expr(0))
            if self.peek().text == "," and self.peek().kind == "op":
                self.next()
            elif self.peek().text != ")":
                raise self.err(f"expected ',' or ')', found {self._describe(self.peek())}",
                               self.peek().pos)
        close = self.next()
        want = FUNCTION_ARITY[name]
        if len(args) != want:
            s = "" if want == 1 else "s"
            raise self.err(f"{name}() takes {want} argument{s}, got {len(args)}", t.pos)
        if name == "exists" and not isinstance(args[0], Field):
            raise self.err("exists() takes a field name", args[0].pos)
        if name == "in_cidr":
            _check_cidrs(args[1], self.err)
        return Call(t.pos, close.end, name, tuple(args))

    def _compare(self, op: str, left: Node, right: Node, tok: Token) -> Node:
        if op == "matches":
            if not (isinstance(right, Lit) and isinstance(right.value, str)):
                raise self.err("the right side of 'matches' must be a string literal", right.pos)
            from engine.ruleset.functions import compile_regex

            try:
                compile_regex(right.value)
            except ValueError as e:
                raise self.err(str(e), right.pos) from None
        if op == "in_cidr":
            _check_cidrs(right, self.err)
        return Compare(left.pos, right.end, op, left, right)


def _check_cidrs(node: Node, err: Callable[[str, int], RuleError]) -> None:
    from engine.ruleset.functions import parse_networks

    if isinstance(node, Lit) and isinstance(node.value, str):
        values: tuple[Any, ...] = (node.value,)
    elif isinstance(node, ListLit):
        values = node.items
    else:
        raise err("CIDR networks must be a string literal or a list", node.pos)
    try:
        parse_networks(values)
    except ValueError as e:
        raise err(str(e), node.pos) from None


def parse(text: str, env: Env, locate: Callable[[int], Mark]) -> Node:
    """Parse ``text``; ``RuleError`` marked at the offending place otherwise."""
    return Parser(text, env, locate).parse()
