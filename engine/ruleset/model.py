"""Loaded rules as typed values: ``CompiledRule`` and ``RuleSet``.

The loader builds these from YAML; evaluators and the engine read them. A
``CompiledRule`` holds its conditions already compiled to closures, the
type-specific parameters its evaluator parsed, and the ``AlertPolicy`` the
alert lifecycle uses. It also knows how to turn a hit into a ``Finding``
with a deterministic id (the same input always gives the same finding).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from engine.alerting.policy import AlertPolicy
from engine.errors import Mark
from engine.events import SCHEMA_VERSION, Finding
from engine.ruleset.compiler import compile_node
from engine.ruleset.context import Ctx
from engine.ruleset.explain import explain
from engine.ruleset.nodes import Node
from engine.ruleset.specialize import specialize
from engine.ruleset.template import Template

if TYPE_CHECKING:
    from engine.evaluators.base import Evaluator
    from engine.ruleset.ruletests import RuleTest


@dataclass(frozen=True, slots=True)
class Condition:
    """One compiled expression with its tree (for explanations) and source text."""

    text: str
    node: Node
    #: The compiled test; its result's truthiness is the condition's value.
    fn: Callable[[Ctx], Any]
    probes: frozenset[str] | None  # the probes it can match; None: any

    def explain(self, ctx: Ctx) -> str:
        return explain(self.node, ctx)

    def specialized(self, probe: str, shared: frozenset[str] | None = None) -> Condition:
        """The same condition, compiled for observations of ``probe`` only."""
        return replace(self, fn=compile_node(specialize(self.node, probe, shared)))


#: The group of rules without group_by (shared: ``finding`` copies what it keeps;
#: evaluators on the hot path use it instead of calling ``group_of``).
NO_GROUP: tuple[str, dict[str, str]] = ("", {})


def _always(c: Ctx) -> bool:
    return True


#: The test of a rule without condition or exceptions (an evaluator on the hot
#: path may compare ``rule.test`` with it and skip the call).
ALWAYS = _always


def make_test(
    cond: Condition | None, exceptions: tuple[Condition, ...]
) -> Callable[[Ctx], Any]:
    """One closure for "the condition holds and no exception does"."""
    cf = cond.fn if cond is not None else _always
    if not exceptions:
        return cf
    efs = tuple(e.fn for e in exceptions)
    if len(efs) == 1:
        (e0,) = efs
        return lambda c: cf(c) and not e0(c)
    return lambda c: cf(c) and not any(e(c) for e in efs)


@dataclass(slots=True, eq=False)
class CompiledRule:
    """A validated, compiled rule, ready for its evaluator."""

    id: str
    type: str
    title: Template
    severity: str
    risk_weight: float
    mark: Mark
    evaluator: Evaluator
    description: str = ""
    tags: tuple[str, ...] = ()
    enabled: bool = True
    condition: Condition | None = None
    exceptions: tuple[Condition, ...] = ()
    group_by: tuple[str, ...] = ()
    group_getters: tuple[Callable[[Ctx], Any], ...] = ()
    resolve: Condition | None = None
    params: dict[str, Any] = field(default_factory=dict)
    policy: AlertPolicy | None = None
    tests: tuple[RuleTest, ...] = ()
    version: str = ""
    #: Probes whose observations this rule must see; ``None``: every observation.
    probes: frozenset[str] | None = None
    #: ``"unit"`` for rules whose state is kept per unit (sequence by unit).
    scope: str = "asset"
    #: The condition and exceptions as one closure (set from them; evaluators call it).
    test: Callable[[Ctx], Any] = _always

    def __post_init__(self) -> None:
        self.test = make_test(self.condition, self.exceptions)

    def matches(self, c: Ctx) -> bool:
        """The condition holds and no exception does."""
        return bool(self.test(c))

    def conditions(self) -> list[Condition]:
        """Every condition of the rule: condition, exceptions, resolve, steps."""
        out = [c for c in (self.condition, self.resolve) if c is not None]
        return out + list(self.exceptions) + list(self.params.get("steps", ()))

    def for_probe(self, probe: str, shared: frozenset[str] | None = None) -> CompiledRule:
        """A copy whose conditions are folded for observations of ``probe`` (hot path).

        ``shared``: the macros several conditions use for this probe (memoised).
        """
        params = dict(self.params)
        if "steps" in params:
            params["steps"] = tuple(s.specialized(probe, shared) for s in params["steps"])
        return replace(
            self,
            condition=self.condition.specialized(probe, shared) if self.condition else None,
            exceptions=tuple(e.specialized(probe, shared) for e in self.exceptions),
            resolve=self.resolve.specialized(probe, shared) if self.resolve else None,
            params=params,
        )

    def group_of(self, c: Ctx) -> tuple[str, dict[str, str]]:
        """The group key (for state) and the group values (for the finding)."""
        if not self.group_getters:
            return NO_GROUP
        values = []
        for get in self.group_getters:
            v = get(c)
            values.append("" if v is None else str(v))
        return "\x1f".join(values), dict(zip(self.group_by, values, strict=True))

    def explain(self, c: Ctx) -> str:
        return self.condition.explain(c) if self.condition is not None else "true"

    def finding(
        self,
        c: Ctx,
        *,
        kind: str = "match",
        group: Mapping[str, str] | None = None,
        evidence: Sequence[str] = (),
        explanation: str = "",
        at: float | None = None,
        title_suffix: str = "",
    ) -> Finding:
        """A finding of this rule about ``c``'s asset, with a deterministic id."""
        obs = c.obs
        when = obs.observed_at if at is None else datetime.fromtimestamp(at, UTC)
        group = dict(group) if group else {}
        parts = [self.id, self.version, obs.asset, kind]
        if group:
            parts += sorted(f"{k}={v}" for k, v in group.items())
        parts += evidence
        parts.append(repr(at))
        fid = _sha256("\x1f".join(parts).encode()).hexdigest()[:32]
        # Built through the slots' setters: the frozen dataclass's __init__ goes through
        # object.__setattr__ by name for each of its 16 fields (the same event either way).
        f: Finding = _new(Finding)
        _f_id(f, fid)
        _f_rule(f, self.id)
        _f_rule_version(f, self.version)
        _f_asset(f, obs.asset)
        _f_unit(f, obs.unit)
        _f_severity(f, self.severity)
        _f_at(f, when)
        _f_title(f, self.title.render(c) + title_suffix)
        _f_kind(f, kind)
        _f_explanation(f, explanation)
        _f_evidence(f, tuple(evidence))
        _f_group(f, group)
        _f_risk_weight(f, self.risk_weight)
        _f_tags(f, self.tags)
        _f_sources(f, (c.source,) if c.source is not None else ())
        _f_v(f, SCHEMA_VERSION)
        return f


_sha256 = hashlib.sha256
_new = object.__new__
#: Finding's fields, in order; ``finding`` sets each of them (checked here, at import).
_FINDING_FIELDS = (
    "id", "rule", "rule_version", "asset", "unit", "severity", "at", "title", "kind",
    "explanation", "evidence", "group", "risk_weight", "tags", "sources", "v",
)
if tuple(f.name for f in fields(Finding)) != _FINDING_FIELDS:  # pragma: no cover
    raise ImportError("engine.events.Finding changed its fields: update CompiledRule.finding")
(_f_id, _f_rule, _f_rule_version, _f_asset, _f_unit, _f_severity, _f_at, _f_title, _f_kind,
 _f_explanation, _f_evidence, _f_group, _f_risk_weight, _f_tags, _f_sources, _f_v) = (
    vars(Finding)[name].__set__ for name in _FINDING_FIELDS
)


@dataclass(frozen=True)
class RuleSet:
    """Every rule of a pack, all-or-nothing valid.

    ``version`` is the SHA-256 of the canonical content of the lists, macros
    and rules (test cases excluded): the same pack has the same version on
    every machine and run.
    """

    rules: tuple[CompiledRule, ...]
    version: str
    policies: dict[str, AlertPolicy]
    lists: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    macros: dict[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()

    def rule(self, rule_id: str) -> CompiledRule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    @property
    def enabled(self) -> tuple[CompiledRule, ...]:
        return tuple(r for r in self.rules if r.enabled)
