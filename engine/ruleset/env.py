"""Named lists and macros of a rule pack, resolved lazily for the parser.

Macros are parsed the first time a rule (or another macro) uses them, with
cycle detection; a broken macro is reported once, where it is defined. The
environment also records which names each rule uses, for unused-name
warnings and per-rule versions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.errors import Mark, RuleError
from engine.ruleset.nodes import Lit, Node
from engine.ruleset.parser import parse
from engine.yamlsource import Diagnostics

MAX_MACRO_NESTING = 8


@dataclass(frozen=True, slots=True)
class MacroSource:
    """A macro's text and how to locate offsets in it."""

    text: str
    mark: Mark
    locate: Callable[[int], Mark]


class PackEnv:
    """Lists and macros of one pack; implements the parser's ``Env``."""

    def __init__(
        self, lists: dict[str, tuple[Any, ...]], macros: dict[str, MacroSource], diag: Diagnostics
    ) -> None:
        self.lists = lists
        self.macros = macros
        self.diag = diag
        self.used: set[str] = set()
        self._parsed: dict[str, Node] = {}
        self._deps: dict[str, set[str]] = {}
        self._stack: list[str] = []
        self._tracking: list[set[str]] = []

    def names(self) -> list[str]:
        return [*self.lists, *self.macros]

    def list_items(self, name: str) -> tuple[Any, ...] | None:
        items = self.lists.get(name)
        if items is not None:
            self._use({name})
        return items

    def macro(self, name: str, pos: int) -> Node | None:
        src = self.macros.get(name)
        if src is None:
            return None
        if name in self._stack:
            chain = " -> ".join([*self._stack[self._stack.index(name) :], name])
            raise ValueError(f"macro '{name}' refers to itself ({chain})")
        if len(self._stack) >= MAX_MACRO_NESTING:
            raise ValueError(f"macros are nested more than {MAX_MACRO_NESTING} deep")
        if name not in self._parsed:
            self._stack.append(name)
            deps: set[str] = set()
            self._tracking.append(deps)
            try:
                self._parsed[name] = parse(src.text, self, src.locate)
            except RuleError as e:
                self.diag.error(e)
                self._parsed[name] = Lit(0, 0, False, "false")
            finally:
                self._stack.pop()
                self._tracking.pop()
            self._deps[name] = deps
        self._use({name} | self._deps.get(name, set()))
        return self._parsed[name]

    def parse_tracked(self, text: str, locate: Callable[[int], Mark]) -> tuple[Node, set[str]]:
        """Parse a rule's expression; also return the list and macro names it used."""
        names: set[str] = set()
        self._tracking.append(names)
        try:
            return parse(text, self, locate), names
        finally:
            self._tracking.pop()

    def _use(self, names: set[str]) -> None:
        self.used |= names
        for t in self._tracking:
            t |= names
