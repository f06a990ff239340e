"""Title templates: ``"{asset.name} returns HTTP {data.status}"``.

Placeholders name vocabulary fields; they are checked at load and rendered
with the observation's values (an absent field renders as ``?``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from engine.ruleset.compiler import field_getter
from engine.ruleset.context import Ctx
from engine.vocabulary import is_known

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_SEQ = (list, tuple)  # a tuple: an inline ``list | tuple`` is built on every call


class Template:
    """A parsed title template."""

    __slots__ = ("_parts", "text")

    def __init__(self, text: str, getters: list[tuple[str, Callable[[Ctx], object] | None]]):
        self.text = text
        self._parts = getters

    def render(self, ctx: Ctx) -> str:
        out = []
        for literal, get in self._parts:
            out.append(literal)
            if get is not None:
                v = get(ctx)
                if v is None:
                    out.append("?")
                elif isinstance(v, _SEQ):
                    out.append(", ".join(str(x) for x in v))
                elif v is True or v is False:
                    out.append("true" if v else "false")
                else:
                    out.append(str(v))
        return "".join(out)


def parse_template(text: str) -> tuple[Template, list[tuple[str, int]]]:
    """The template and its problems as (message, offset) pairs."""
    parts: list[tuple[str, Callable[[Ctx], object] | None]] = []
    problems: list[tuple[str, int]] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(text):
        path = m.group(1).strip()
        parts.append((text[pos : m.start()], None))
        if not is_known(path):
            problems.append((f"unknown field '{path}' in title", m.start() + 1))
        else:
            parts.append(("", field_getter(path)))
        pos = m.end()
    rest = text[pos:]
    if "{" in rest or "}" in rest:
        at = pos + max(rest.find("{"), rest.find("}"))
        problems.append(("unbalanced '{' or '}' in title", at))
    parts.append((rest, None))
    return Template(text, parts), problems
