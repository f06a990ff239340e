"""Load a rule pack (one YAML file or a folder of them) into a ``RuleSet``.

A rule file is a mapping with three optional sections::

    lists:   {risky_ports: [21, 23, 3389]}
    macros:  {http_failed: 'probe == "http" and not ok'}
    rules:   [{id: site-down, type: threshold, ...}]

Lists and macros are shared by every file of the pack. Loading is
all-or-nothing: every problem is collected in a ``Diagnostics`` (lint prints
them all) and, if there is any error, ``load_ruleset`` raises ``RuleError``
so a running engine keeps its last good rule set.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import orjson

from engine.errors import Mark, RuleError
from engine.ruleset.build import RuleBuilder
from engine.ruleset.env import MacroSource, PackEnv
from engine.ruleset.model import CompiledRule, RuleSet
from engine.ruleset.positions import locator
from engine.vocabulary import ASSET_FIELDS, EVENT_FIELDS
from engine.yamlsource import Diagnostics, MarkedList, MarkedMap, check_keys, load_yaml, yaml_files

TOP_KEYS = ("lists", "macros", "rules")
NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
RESERVED = frozenset(
    ["data", "asset", "and", "or", "not", "in", "true", "false", "null", "contains",
     "startswith", "endswith", "matches", "in_cidr", *EVENT_FIELDS, *ASSET_FIELDS]
)


def load_ruleset(path: str | Path, *, diag: Diagnostics | None = None) -> RuleSet:
    """Load, validate and compile every rule under ``path``; ``RuleError`` if any is bad."""
    diag = diag if diag is not None else Diagnostics(fail_fast=False)
    before = len(diag.errors)
    loader = _PackLoader(diag)
    ruleset = loader.load(path)
    new = diag.errors[before:]
    if new or ruleset is None:
        first = new[0] if new else RuleError("rule pack failed to load")
        more = f" (and {len(new) - 1} more problems)" if len(new) > 1 else ""
        raise RuleError(first.message + more, first.mark)
    return ruleset


class _PackLoader:
    def __init__(self, diag: Diagnostics) -> None:
        self.diag = diag
        self.lines: dict[str, list[str]] = {}
        self.lists: dict[str, tuple[Any, ...]] = {}
        self.list_marks: dict[str, Mark] = {}
        self.macros: dict[str, MacroSource] = {}
        self.rule_maps: list[MarkedMap] = []
        self.canonical: dict[str, Any] = {"lists": {}, "macros": {}, "rules": {}}

    def load(self, path: str | Path) -> RuleSet | None:
        files = yaml_files(path)
        if not files:
            self.diag.error(RuleError("no rule files (*.yaml) found", Mark(str(path), 1, 1)))
            return None
        for f in files:
            with self.diag.collecting():
                self._read(f)
        env = PackEnv(self.lists, self.macros, self.diag)
        builder = RuleBuilder(env, self.diag, self.lines)
        builder.known_ids = {m["id"] for m in self.rule_maps if isinstance(m.get("id"), str)}
        rules: list[CompiledRule] = []
        first_at: dict[str, Mark] = {}
        from engine.ruleset.ruletests import parse_tests

        for m in self.rule_maps:
            rid = m.get("id")
            if isinstance(rid, str) and rid in first_at:
                where = first_at[rid]
                self.diag.error(RuleError(
                    f"duplicate rule id '{rid}' (first at {where.file}:{where.line})",
                    m.mark_of("id")))
                continue
            if isinstance(rid, str):
                first_at[rid] = m.mark_of("id")
            with self.diag.collecting():
                rule = builder.build(m)
                tests = parse_tests(m, self.diag, str(rid))
                if rule is not None:
                    rule.tests = tests
                    rules.append(rule)
        for name in sorted(set(self.lists) | set(self.macros)):
            if name not in env.used:
                kind = "list" if name in self.lists else "macro"
                mark = self.list_marks[name] if kind == "list" else self.macros[name].mark
                self.diag.warn(RuleError(f"{kind} '{name}' is never used", mark))
        version = _sha(self.canonical)
        for r in rules:
            own = {
                "rule": self.canonical["rules"].get(r.id),
                "uses": {n: self.canonical["lists"].get(n, self.canonical["macros"].get(n))
                         for n in sorted(builder.uses.get(r.id, ()))},
            }
            r.version = _sha(own)[:16]
        return RuleSet(
            rules=tuple(rules), version=version,
            policies={r.id: r.policy for r in rules if r.policy is not None},
            lists=dict(self.lists), macros={n: s.text for n, s in self.macros.items()},
            files=tuple(str(f) for f in files),
        )

    def _read(self, f: Path) -> None:
        file = str(f)
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise RuleError(f"cannot read rule file: {e}", Mark(file, 1, 1)) from None
        self.lines[file] = text.splitlines()
        doc = load_yaml(f, RuleError, text=text)
        if doc is None:
            return
        if not isinstance(doc, MarkedMap):
            raise RuleError("a rule file must be a mapping with lists, macros and rules",
                            Mark(file, 1, 1))
        check_keys(doc, TOP_KEYS, what="rule file", err=RuleError, diag=self.diag)
        for section in ("lists", "macros"):
            value = doc.get(section)
            if value is None:
                continue
            if not isinstance(value, MarkedMap):
                self.diag.error(RuleError(f"{section} must be a mapping of names",
                                          doc.mark_of(section)))
                continue
            for name in value:
                with self.diag.collecting():
                    self._define(section, name, value, file)
        rules = doc.get("rules")
        if rules is None:
            return
        if not isinstance(rules, MarkedList):
            raise RuleError("rules must be a list of rules", doc.mark_of("rules"))
        for i, r in enumerate(rules):
            if not isinstance(r, MarkedMap):
                self.diag.error(RuleError("a rule must be a mapping", rules.mark_at(i)))
                continue
            self.rule_maps.append(r)
            rid = r.get("id")
            if isinstance(rid, str) and rid not in self.canonical["rules"]:
                self.canonical["rules"][rid] = {k: v for k, v in r.items() if k != "tests"}

    def _define(self, section: str, name: str, m: MarkedMap, file: str) -> None:
        mark = m.key_mark(name)
        if not NAME.match(name) or name in RESERVED:
            raise RuleError(f"'{name}' cannot name a {section[:-1]} (use lowercase letters, "
                            "digits and '_', not a field name or keyword)", mark)
        if name in self.lists or name in self.macros:
            first = self.list_marks.get(name) or self.macros[name].mark
            raise RuleError(f"'{name}' is already defined at {first.file}:{first.line}", mark)
        value = m[name]
        if section == "lists":
            if not isinstance(value, list):
                raise RuleError(f"list '{name}' must be a YAML list", m.mark_of(name))
            for i, item in enumerate(value):
                if isinstance(item, bool) or not isinstance(item, str | int | float):
                    raise RuleError("list items must be strings or numbers",
                                    value.mark_at(i) if isinstance(value, MarkedList) else mark)
            self.lists[name] = tuple(value)
            self.list_marks[name] = mark
            self.canonical["lists"][name] = list(value)
            return
        if not isinstance(value, str):
            raise RuleError(f"macro '{name}' must be an expression string", m.mark_of(name))
        vmark = m.mark_of(name)
        self.macros[name] = MacroSource(value.strip("\n"), mark, locator(self.lines[file], vmark))
        self.canonical["macros"][name] = value.strip()


def _sha(value: Any) -> str:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()
