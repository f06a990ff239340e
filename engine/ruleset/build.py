"""Build one ``CompiledRule`` from its YAML mapping, reporting every problem.

Called by the loader for each item of ``rules:``. Keys common to every rule
are checked here; type-specific keys come from the evaluator's ``params``
(``engine.evaluators.EVALUATORS``), so adding a rule type needs no change here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from engine.alerting.policy import AlertPolicy, Inhibition
from engine.durations import parse_duration
from engine.errors import Mark, RuleError
from engine.events import SEVERITIES
from engine.ruleset.compiler import compile_node, field_getter
from engine.ruleset.env import PackEnv
from engine.ruleset.model import CompiledRule, Condition
from engine.ruleset.nodes import Compare, Field, ListLit, Lit, Logic, Macro, Node
from engine.ruleset.positions import locator
from engine.ruleset.template import parse_template
from engine.vocabulary import is_known
from engine.yamlsource import Diagnostics, MarkedList, MarkedMap, check_keys

COMMON_KEYS = (
    "id", "title", "description", "type", "condition", "severity", "risk_weight", "tags",
    "enabled", "exceptions", "group_by", "resolve", "resolve_after", "flap", "inhibits", "tests",
)
RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
DEFAULT_RISK = {"info": 0.0, "low": 1.0, "medium": 3.0, "high": 6.0, "critical": 10.0}
INHIBIT_SCOPES = ("asset", "dependents", "unit")


if TYPE_CHECKING:
    from engine.evaluators.base import Param

_EMPTY = MarkedList()
_EMPTY.item_marks = []


class _Reported(Exception):
    """A problem already reported to the diagnostics."""


class RuleBuilder:
    """Turns rule mappings into compiled rules, collecting problems in ``diag``."""

    def __init__(self, env: PackEnv, diag: Diagnostics, lines: dict[str, list[str]]) -> None:
        self.env = env
        self.diag = diag
        self.lines = lines
        #: list and macro names each rule uses (for its version)
        self.uses: dict[str, set[str]] = {}
        #: every rule id of the pack (inhibitions must name one)
        self.known_ids: set[str] = set()

    def err(self, message: str, mark: Mark) -> None:
        self.diag.error(RuleError(message, mark))

    def locate(self, m: MarkedMap, key: str) -> Callable[[int], Mark]:
        mark = m.mark_of(key)
        return locator(self.lines.get(mark.file), mark)

    def build(self, m: MarkedMap) -> CompiledRule | None:
        """The compiled rule, or ``None`` if it has errors (all reported)."""
        from engine.evaluators import EVALUATORS  # here: evaluators import the rule model

        n_errors = len(self.diag.errors)
        rtype = m.get("type")
        ev = EVALUATORS.get(rtype) if isinstance(rtype, str) else None
        allowed = list(COMMON_KEYS) + (list(ev.params) if ev else [])
        check_keys(m, allowed, ("id", "title", "type", "severity"), what="rule",
                   err=RuleError, diag=self.diag)
        rid = m.get("id")
        if "id" in m and not (isinstance(rid, str) and RULE_ID.match(rid)):
            self.err("rule id must be lowercase letters, digits, '-', '_' or '.'", m.mark_of("id"))
        if "type" in m and ev is None:
            self.err(f"unknown rule type {rtype!r} (one of: {', '.join(EVALUATORS)})",
                     m.mark_of("type"))
        severity = m.get("severity")
        if "severity" in m and severity not in SEVERITIES:
            self.err(f"unknown severity {severity!r} (one of: {', '.join(SEVERITIES)})",
                     m.mark_of("severity"))
        self.uses[str(rid)] = set()
        title = self._title(m)
        cond = self.condition(m, "condition", str(rid))
        if ev is not None and ev.condition_required and "condition" not in m:
            self.err(f"a {ev.name} rule needs a 'condition'", m.mark)
        resolve = self.condition(m, "resolve", str(rid))
        exceptions = self._exceptions(m, str(rid))
        group_by = self._group_by(m)
        if ev is not None:
            for key in ("resolve", "group_by"):
                ok = ev.supports_resolve if key == "resolve" else ev.supports_group_by
                if key in m and not ok:
                    self.err(f"'{key}' has no meaning for {ev.name} rules", m.key_mark(key))
        params = self._params(m, ev.params, str(rid)) if ev else {}
        risk = m.get("risk_weight", DEFAULT_RISK.get(str(severity), 0.0))
        if isinstance(risk, bool) or not isinstance(risk, int | float) or not 0 <= risk <= 100:
            self.err("risk_weight must be a number from 0 to 100", m.mark_of("risk_weight"))
        tags = self._str_list(m, "tags")
        enabled = m.get("enabled", True)
        if not isinstance(enabled, bool):
            self.err("enabled must be true or false", m.mark_of("enabled"))
        policy = self._policy(m, str(rid), str(severity), risk, tags, title)
        if len(self.diag.errors) > n_errors or ev is None or title is None or policy is None:
            return None
        rule = CompiledRule(
            id=str(rid), type=ev.name, title=title, severity=str(severity),
            risk_weight=float(risk), mark=m.mark, evaluator=ev,
            description=str(m.get("description", "")), tags=tags, enabled=enabled,
            condition=cond, exceptions=exceptions, group_by=tuple(p for p, _ in group_by),
            group_getters=tuple(g for _, g in group_by), resolve=resolve, params=params,
            policy=policy,
        )
        rule.probes = self._probes(rule)
        rule.scope = "unit" if params.get("by") == "unit" else "asset"
        return rule

    # -- pieces
    def _title(self, m: MarkedMap) -> Any:
        text = m.get("title")
        if not isinstance(text, str):
            if "title" in m:
                self.err("title must be a string", m.mark_of("title"))
            return None
        template, problems = parse_template(text)
        locate = self.locate(m, "title")
        for message, off in problems:
            self.err(message, locate(off))
        return template

    def condition(self, m: MarkedMap, key: str, rid: str) -> Condition | None:
        if key not in m:
            return None
        return self.expression(m[key], key, self.locate(m, key), m.mark_of(key), rid)

    def expression(
        self, text: Any, what: str, locate: Callable[[int], Mark], mark: Mark, rid: str
    ) -> Condition | None:
        if isinstance(text, bool):
            text = "true" if text else "false"
        if not isinstance(text, str):
            self.err(f"{what} must be an expression string", mark)
            return None
        try:
            node, used = self.env.parse_tracked(text.strip("\n"), locate)
        except RuleError as e:
            self.diag.error(e)
            return None
        self.uses.setdefault(rid, set()).update(used)
        return Condition(text.strip(), node, compile_node(node), probe_constraint(node))

    def _exceptions(self, m: MarkedMap, rid: str) -> tuple[Condition, ...]:
        items = m.get("exceptions", _EMPTY)
        if not isinstance(items, MarkedList):
            self.err("exceptions must be a list of conditions", m.mark_of("exceptions"))
            return ()
        out = []
        for i, item in enumerate(items):
            loc, text = locator(self.lines.get(items.mark_at(i).file), items.mark_at(i)), item
            if isinstance(item, MarkedMap):
                check_keys(item, ("name", "condition"), ("condition",), what="exception",
                           err=RuleError, diag=self.diag)
                text, loc = item.get("condition"), self.locate(item, "condition")
            c = self.expression(text, "an exception", loc, items.mark_at(i), rid)
            if c is not None:
                out.append(c)
        return tuple(out)

    def _group_by(self, m: MarkedMap) -> list[tuple[str, Callable[[Any], Any]]]:
        paths = self._str_list(m, "group_by")
        out = []
        for i, p in enumerate(paths):
            if not is_known(p):
                lst = m["group_by"]
                self.err(f"unknown field '{p}' in group_by", lst.mark_at(i))
            else:
                out.append((p, field_getter(p)))
        return out

    def _str_list(self, m: MarkedMap, key: str) -> tuple[str, ...]:
        v = m.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            self.err(f"{key} must be a list of strings", m.mark_of(key))
            return ()
        return tuple(v)

    def _params(self, m: MarkedMap, spec: dict[str, Param], rid: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, p in spec.items():
            if key not in m:
                if p.required:
                    self.err(f"rule is missing required key '{key}'", m.mark)
                out[key] = p.default
                continue
            try:
                out[key] = self._param(m, key, p, rid)
            except ValueError as e:
                self.err(str(e), m.mark_of(key))
            except _Reported:
                pass
        return out

    def _param(self, m: MarkedMap, key: str, p: Param, rid: str) -> Any:
        v = m[key]
        if p.kind == "duration":
            return parse_duration(v)
        if p.kind == "count":
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{key} must be a whole number of at least 1")
            return v
        if p.kind in ("number", "fraction"):
            if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
                raise ValueError(f"{key} must be a number greater than 0")
            if p.kind == "fraction" and v > 1:
                raise ValueError(f"{key} must be greater than 0 and at most 1")
            return float(v)
        if p.kind == "choice":
            if v not in p.choices:
                raise ValueError(f"{key} must be one of: {', '.join(p.choices)}")
            return v
        if p.kind == "field":
            if not isinstance(v, str) or not is_known(v):
                raise ValueError(f"unknown field {v!r} in {key}")
            return (v, field_getter(v))
        if p.kind == "probe":
            if not isinstance(v, str) or not re.fullmatch(r"[a-z][a-z0-9_-]*", v):
                raise ValueError(f"{key} must be a probe name such as http")
            return v
        assert p.kind == "steps"
        if not isinstance(v, MarkedList) or len(v) < 2:
            raise ValueError(f"{key} must be a list of at least two conditions")
        if m.get("mode") == "not_followed_by" and len(v) != 2:
            raise ValueError("a not_followed_by sequence takes exactly two steps")
        steps = []
        for i, text in enumerate(v):
            loc = locator(self.lines.get(v.mark_at(i).file), v.mark_at(i))
            c = self.expression(text, "a step", loc, v.mark_at(i), rid)
            if c is None:
                raise _Reported
            steps.append(c)
        return tuple(steps)

    def _policy(self, m: MarkedMap, rid: str, severity: str, risk: Any, tags: tuple[str, ...],
                title: Any) -> AlertPolicy | None:
        resolve_after: float | None = 900.0
        flap_window, flap_max = 900.0, 4
        ok = True
        if "resolve_after" in m:
            v = m["resolve_after"]
            if v is None or v == "never":
                resolve_after = None
            else:
                try:
                    resolve_after = parse_duration(v)
                except ValueError as e:
                    self.err(str(e), m.mark_of("resolve_after"))
                    ok = False
        flap = m.get("flap")
        if flap is not None:
            if not isinstance(flap, MarkedMap):
                self.err("flap must be a mapping with window and max_changes", m.mark_of("flap"))
                return None
            check_keys(flap, ("window", "max_changes"), what="flap", err=RuleError, diag=self.diag)
            try:
                flap_window = parse_duration(flap.get("window", "15m"))
            except ValueError as e:
                self.err(str(e), flap.mark_of("window"))
                ok = False
            mc = flap.get("max_changes", 4)
            if isinstance(mc, bool) or not isinstance(mc, int) or mc < 1:
                self.err("max_changes must be a whole number of at least 1",
                         flap.mark_of("max_changes"))
                ok = False
            else:
                flap_max = mc
        inhibits = self._inhibits(m)
        if not ok or inhibits is None:
            return None
        return AlertPolicy(
            rule=rid, severity=severity, risk_weight=float(risk) if isinstance(risk, int | float)
            else 0.0, tags=tags, title=title.text if title is not None else "",
            resolve_after_s=resolve_after, flap_window_s=flap_window, flap_max_changes=flap_max,
            inhibits=inhibits,
        )

    def _inhibits(self, m: MarkedMap) -> tuple[Inhibition, ...] | None:
        items = m.get("inhibits", _EMPTY)
        if not isinstance(items, MarkedList):
            self.err("inhibits must be a list", m.mark_of("inhibits"))
            return None
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, MarkedMap):
                self.err("an inhibits item must be a mapping with scope, rules, tags",
                         items.mark_at(i))
                return None
            check_keys(item, ("scope", "rules", "tags"), what="inhibits item", err=RuleError,
                       diag=self.diag)
            scope = item.get("scope", "dependents")
            if scope not in INHIBIT_SCOPES:
                self.err(f"scope must be one of: {', '.join(INHIBIT_SCOPES)}",
                         item.mark_of("scope"))
                return None
            targets = self._str_list(item, "rules")
            for j, target in enumerate(targets):
                if target not in self.known_ids:
                    self.err(f"unknown rule '{target}' in inhibits", item["rules"].mark_at(j))
            out.append(Inhibition(scope, targets, self._str_list(item, "tags")))
        return tuple(out)

    def _probes(self, rule: CompiledRule) -> frozenset[str] | None:
        if rule.type == "absence":
            return frozenset([rule.params["probe"]])
        conds: Sequence[Condition | None]
        if rule.type == "sequence":
            conds = list(rule.params["steps"])
        else:
            conds = [rule.condition, rule.resolve] if rule.resolve else [rule.condition]
        if rule.condition is not None and rule.type == "sequence":
            return rule.condition.probes
        out: set[str] = set()
        for c in conds:
            if c is None or c.probes is None:
                return None
            out |= c.probes
        return frozenset(out)


def probe_constraint(node: Node) -> frozenset[str] | None:
    """The probes an expression can possibly match (``None``: any probe)."""
    if isinstance(node, Macro):
        return probe_constraint(node.body)
    if isinstance(node, Compare) and isinstance(node.left, Field) and node.left.path == "probe":
        if node.op == "==" and isinstance(node.right, Lit) and isinstance(node.right.value, str):
            return frozenset([node.right.value])
        if node.op == "in" and isinstance(node.right, ListLit):
            return frozenset(str(x) for x in node.right.items)
        return None
    if isinstance(node, Logic):
        left, right = probe_constraint(node.left), probe_constraint(node.right)
        if node.op == "and":
            if left is None:
                return right
            return left if right is None else left & right
        return None if left is None or right is None else left | right
    return None
