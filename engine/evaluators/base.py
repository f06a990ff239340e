"""The evaluator contract: one pure ``step`` per rule type, one registry dict.

``step(rule, state, ctx) -> (state, findings)`` is called for every
observation the rule can see, in event time (``ctx.ts`` is
``observed_at``). ``state`` is the rule's plain-data state for one store key
(an asset, or a unit for unit-scoped rules), ``None`` at first; the
evaluator may update it in place and returns it (or ``None`` to drop it).
Every evaluator must return ``(None, ())`` (no findings) when ``state`` is ``None`` and
``rule.test(ctx)`` (condition and exceptions) is false: the engine relies on
it to skip the call.
Rules that wait for something to *not* happen also have
``tick(rule, state, now, env, key) -> (state, findings)``, driven by event
time; a tick returns the very same state object when it changed nothing (so
the engine need not write it back). Their ``due(rule, state)`` says until
when a tick would do nothing, so the engine can skip the keys not yet due.
Nothing here reads a clock, the network or Kafka.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from engine.events import Finding, Observation
from engine.inventory.model import Asset
from engine.ruleset.context import Ctx
from engine.ruleset.model import CompiledRule

State = dict[str, Any] | None
StepResult = tuple[State, Sequence[Finding]]
StepFn = Callable[[CompiledRule, State, Ctx], StepResult]


class TickEnv(Protocol):
    """What a tick may ask the engine: who still reports, and the assets."""

    def collector_seen(self, collector: str) -> float | None: ...

    def asset_seen(self, asset_id: str) -> float | None: ...

    def asset(self, asset_id: str) -> Asset | None: ...


#: tick(rule, state, now, env, key): ``key`` is the store key (asset id or ``unit:<id>``).
TickFn = Callable[[CompiledRule, dict[str, Any], float, TickEnv, str], StepResult]
#: due(rule, state): a time ``t`` such that ``tick`` changes and finds nothing at any
#: ``now <= t`` (``None``: not until a step changes the state). The engine ticks
#: only the keys whose time has come, instead of every key on every tick.
DueFn = Callable[[CompiledRule, dict[str, Any]], float | None]


@dataclass(frozen=True, slots=True)
class Param:
    """A type-specific rule key: its kind (how the loader parses it) and default."""

    kind: str  # duration count number fraction field probe steps choice
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    doc: str = ""


@dataclass(frozen=True, slots=True)
class Evaluator:
    """One rule type: its keys, its step and (optionally) its tick."""

    name: str
    step: StepFn
    doc: str
    params: dict[str, Param] = field(default_factory=dict)
    tick: TickFn | None = None
    #: Until when ``tick`` does nothing (see ``DueFn``); ``None``: tick every key, always.
    due: DueFn | None = None
    #: ``delay(rule)``: a step at event time ``ts`` never makes the state due before
    #: ``ts + delay`` (its due is at least the earlier of the one before and that).
    #: ``None``: unknown, the engine works the due time out again after every step.
    delay: Callable[[CompiledRule], float] | None = None
    #: ``bind(rule)``: a step for that rule alone (its parameters in a closure), which
    #: the engine calls instead of ``step``; the same results. ``None``: ``step``.
    bind: Callable[[CompiledRule], StepFn] | None = None
    condition_required: bool = True
    #: Whether ``resolve``/``group_by`` mean something for this type.
    supports_resolve: bool = True
    supports_group_by: bool = True


def synthetic_ctx(
    rule_state: dict[str, Any], asset_id: str, probe: str, env: TickEnv, ts: float
) -> Ctx:
    """A context for a finding raised by a tick, rebuilt from what the state kept."""
    obs = Observation(
        id=rule_state.get("id", "none"),
        asset=asset_id,
        unit=rule_state.get("u", "unknown"),
        probe=probe,
        observed_at=datetime.fromtimestamp(ts, UTC),
        collector=rule_state.get("c", "unknown"),
        vantage=rule_state.get("v", "unknown"),
        ok=True,
        duration_s=0.0,
    )
    return Ctx(obs, env.asset(asset_id))


def prune_groups(groups: dict[str, Any], older_than: float, limit: int = 64) -> None:
    """Drop idle, non-firing groups once a key holds many (bounded state)."""
    if len(groups) <= limit:
        return
    for k in [k for k, g in groups.items() if not g.get("f") and g.get("l", 0) < older_than]:
        del groups[k]
