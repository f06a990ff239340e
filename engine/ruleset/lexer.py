"""Tokenizer of rule expressions.

Splits an expression into numbers, strings, dotted names and operators, and
rejects at once what the language does not have: characters such as ``=``
alone, ``&&``, ``!``, ``{``, ``;`` and Python keywords (``lambda``, ``for``,
``import``…), each with a message that says what to write instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from engine.errors import RuleError

FORBIDDEN = {
    "lambda": "lambdas are not allowed",
    "import": "imports are not allowed",
    "from": "imports are not allowed",
    "for": "comprehensions are not allowed",
    "async": "async code (functions, comprehensions) is not allowed",
    "if": "conditional expressions are not allowed; use 'and'/'or'",
    "else": "conditional expressions are not allowed; use 'and'/'or'",
    "is": "use '==' or '!=' instead of 'is'",
}
PY_KEYWORDS = frozenset(
    "def class return yield await with global nonlocal del pass raise try except finally "
    "while assert break continue elif".split()
)

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
      | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
      | (?P<op>\*\*|==|!=|<=|>=|[<>()\[\],+\-*/%.])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
_BAD_OPS = {
    "=": "use '==' to compare",
    "&": "use 'and' instead of '&'",
    "|": "use 'or' instead of '|'",
    "!": "use 'not' instead of '!'",
    "{": "dicts and sets are not allowed",
    ":": "':' is not allowed (no slices, dicts or lambdas)",
    ";": "';' is not allowed: an expression is one condition",
    "@": "'@' is not allowed",
    "~": "'~' is not allowed",
    "^": "'^' is not allowed",
}


class Token(NamedTuple):
    """One token and its offsets in the expression."""

    kind: str  # num str name op end
    text: str
    pos: int
    end: int


def tokenize(text: str, err: Callable[[str, int], RuleError]) -> list[Token]:
    """Split an expression into tokens, rejecting characters the language lacks."""
    out: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            reject_keywords(out, err)
            ch = text[pos]
            if text.startswith("&&", pos) or text.startswith("||", pos):
                raise err(f"use '{'and' if ch == '&' else 'or'}' instead of '{ch * 2}'", pos)
            if ch in "\"'":
                raise err("unterminated string", pos)
            reason = _BAD_OPS.get(ch, f"unexpected character {ch!r}")
            raise err(reason, pos)
        kind = m.lastgroup or ""
        if kind != "ws":
            if kind == "num" and len(m.group()) > 30:
                raise err("number literal is too long", pos)
            out.append(Token(kind, m.group(), pos, m.end()))
        pos = m.end()
    out.append(Token("end", "", len(text), len(text)))
    return out


def reject_keywords(toks: list[Token], err: Callable[[str, int], RuleError]) -> None:
    """Python keywords have no place in a condition; name the first one found."""
    for t in toks:
        if t.kind == "name" and t.text in FORBIDDEN:
            raise err(FORBIDDEN[t.text], t.pos)
        if t.kind == "name" and t.text in PY_KEYWORDS:
            raise err(f"'{t.text}' is not allowed in an expression", t.pos)


def unquote(s: str) -> str:
    body, out, i = s[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            out.append(_ESCAPES.get(body[i + 1], "\\" + body[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)
