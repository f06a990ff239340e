"""The pure rule engine: observations in, findings out, state in a ``StateStore``.

This is what the Faust agents, ``ssa replay``, the rule tests and the
benchmarks call. It holds no clock and does no I/O: time is the
observation's ``observed_at``; ``tick(now)`` is driven by the caller with
event time (the newest ``observed_at`` seen, ``watermark``).

State layout (one Faust table keyed like the observations works):
``store[asset_id]`` is a dict ``{rule_id: rule_state}``; unit-scoped rules
(sequence ``by: unit``) keep theirs under ``store["unit:" + unit_id]``;
``store["_collectors"]`` and ``store["_assets"]`` map each collector and
each asset to when it last reported anything (kept in memory, written on
``tick``, read back on start). Every value is plain JSON-able data.

A ``tick`` visits only the keys whose time-driven rules may act by then:
the engine keeps, in memory, a heap of "not before" times per key (each
evaluator's ``due``), built by one scan of the store when the engine starts.
So the engine must be the only writer of its store while it lives; a driver
whose store changed underneath (a partition handed back) builds a new one.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from engine.events import Finding, Observation, SourceOffset
from engine.inventory.model import Asset
from engine.ruleset.context import Ctx
from engine.ruleset.model import CompiledRule, RuleSet
from engine.ruleset.specialize import macro_uses, specialize
from engine.store import StateStore

COLLECTORS_KEY = "_collectors"
ASSETS_KEY = "_assets"
UNIT_PREFIX = "unit:"
#: A key is ticked this much (event seconds) before its due time, so that no
#: rounding of ``last + period`` against ``now - last`` can make a tick late.
EARLY_S = 1.0
_NEVER = float("inf")
_EARLIEST = float("-inf")


class RuleEngine:
    """Evaluates one rule set over a stream of observations."""

    def __init__(
        self, ruleset: RuleSet, store: StateStore, assets: Mapping[str, Asset] | None = None
    ) -> None:
        self.ruleset = ruleset
        self.store = store
        self.assets: Mapping[str, Asset] = assets if assets is not None else {}
        self.watermark: float = 0.0
        seen = store.get(COLLECTORS_KEY)
        self._collectors: dict[str, float] = dict(seen) if isinstance(seen, dict) else {}
        seen = store.get(ASSETS_KEY)
        self._assets_seen: dict[str, float] = dict(seen) if isinstance(seen, dict) else {}
        #: Whether the two maps above changed since they were last written.
        self._seen_changed = False
        #: The latest time in either map (0.0 when both are empty).
        self._seen_max: float = max(
            [0.0, *(v for m in (self._collectors, self._assets_seen) for v in m.values()
                    if isinstance(v, int | float))]
        )
        self._ctx = Ctx.blank()
        rules = ruleset.enabled
        self._any: tuple[CompiledRule, ...] = tuple(r for r in rules if r.probes is None)
        probes = {p for r in rules if r.probes is not None for p in r.probes}
        # Per probe, the rules that can act on it, with conditions folded for that probe.
        self._by_probe: dict[str, tuple[CompiledRule, ...]] = {
            p: _routed(p, [r for r in rules if r.probes is None or p in r.probes])
            for p in probes
        }
        self._tickers = {r.id: r for r in rules if r.evaluator.tick is not None}
        # What the hot loop unpacks per rule, to spare attribute lookups.
        self._routes = {p: tuple(_route(r) for r in rs) for p, rs in self._by_probe.items()}
        self._any_routes = tuple(_route(r) for r in self._any)
        #: Per key with time-driven state: a time before which no tick acts there
        #: (a lower bound: it is checked against the state when it comes), in a heap.
        self._due: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        for key in store.keys():
            self._schedule(key, self._due_of(key, store.get(key)))

    def process(self, obs: Observation, source: SourceOffset | None = None) -> list[Finding]:
        """Run every rule that can see ``obs``; the findings, in rule order."""
        key = obs.asset
        # One context per engine, refilled for each observation (nothing keeps it
        # past this call): building a new one cost as much as the refill twice over.
        c = self._ctx
        c.obs = obs
        c.data = obs.data
        c.asset = self.assets.get(key)
        c.ts = ts = obs.observed_ts
        c.source = source
        c.memo = None
        if ts > self.watermark:
            self.watermark = ts
        if ts > self._seen_max:
            # later than every time in both maps (the usual case): no need to look
            self._seen_max = ts
            self._collectors[obs.collector] = ts
            self._assets_seen[key] = ts
            self._seen_changed = True
        else:
            if ts > self._collectors.get(obs.collector, 0.0):
                self._collectors[obs.collector] = ts
                self._seen_changed = True
            if ts > self._assets_seen.get(key, 0.0):
                self._assets_seen[key] = ts
                self._seen_changed = True
        findings: list[Finding] = []
        store = self.store
        dirty = False
        routes = self._routes.get(obs.probe)
        if routes is None:
            routes = self._any_routes
        if not routes:
            return findings
        # the key's state, read once (nearly every routed rule reads it)
        state: dict[str, Any] = store.get(key) or {}
        due_at = self._due
        for rule, step, rid, per_unit, gate, delay in routes:
            if per_unit:
                findings += self._unit_step(rule, c, gate)
                continue
            before = state.get(rid)
            if before is None and gate is not None and not gate(c):
                continue  # no state and no match: every evaluator would do nothing
            after, found = step(rule, before, c)
            if after is not None:
                dirty = True
                if after is not before:  # most steps update their state in place
                    state[rid] = after
                if delay is not None and ts + delay < due_at.get(key, _NEVER):
                    self._schedule(key, ts + delay)
            elif before is not None:
                dirty = True
                del state[rid]
            if found:
                findings.extend(found)
        if dirty:
            if state:
                store[key] = state
            elif key in store:
                del store[key]
        return findings

    def _unit_step(self, rule: CompiledRule, c: Ctx, gate: Any) -> list[Finding]:
        key = UNIT_PREFIX + c.obs.unit
        state = self.store.get(key) or {}
        before = state.get(rule.id)
        if before is None and gate is not None and not gate(c):
            return []
        after, found = rule.evaluator.step(rule, before, c)
        if after is None:
            state.pop(rule.id, None)
        else:
            state[rule.id] = after
            delay = _delay(rule)
            if delay is not None:
                self._schedule(key, c.ts + delay)
        if state:
            self.store[key] = state
        elif key in self.store:
            del self.store[key]
        return list(found)

    def tick(self, now: datetime) -> list[Finding]:
        """Let time-driven rules (absence, sequences) act at event time ``now``."""
        t = now.timestamp()
        if t > self.watermark:
            self.watermark = t
        if self._seen_changed or COLLECTORS_KEY not in self.store:
            self.store[COLLECTORS_KEY] = dict(self._collectors)
            self.store[ASSETS_KEY] = dict(self._assets_seen)
            self._seen_changed = False
        findings: list[Finding] = []
        tickers = self._tickers
        # Only keys whose time may have come, in key order as a full scan would visit them.
        for key in self._due_keys(t + EARLY_S):
            state = self.store.get(key)
            if not isinstance(state, dict):
                continue
            per_unit = key.startswith(UNIT_PREFIX)
            changed = False
            for rid in [rid for rid in state if rid in tickers]:
                rule = tickers[rid]
                if (rule.scope == "unit") != per_unit:
                    continue
                assert rule.evaluator.tick is not None
                before = state[rid]
                after, found = rule.evaluator.tick(rule, before, t, self, key)
                # a tick returns the same state object unless it changed it (or found something)
                if after is None:
                    del state[rid]
                    changed = True
                elif after is not before or found:
                    state[rid] = after
                    changed = True
                findings += found
            if changed:
                if state:
                    self.store[key] = state
                else:
                    del self.store[key]
            self._schedule(key, self._due_of(key, state))
        return findings

    # -- when each key is due

    def _schedule(self, key: str, due: float | None) -> None:
        """Bring ``key``'s due time forward to ``due`` (a later one waits for its turn)."""
        if due is not None and due < self._due.get(key, float("inf")):
            self._due[key] = due
            heapq.heappush(self._heap, (due, key))

    def _due_of(self, key: str, state: Any) -> float | None:
        """The earliest due time of ``key``'s time-driven rules; ``None``: none is waiting."""
        if not isinstance(state, dict) or key in (COLLECTORS_KEY, ASSETS_KEY):
            return None
        per_unit = key.startswith(UNIT_PREFIX)
        earliest: float | None = None
        for rid, rule_state in state.items():
            rule = self._tickers.get(rid)
            if rule is None or (rule.scope == "unit") != per_unit:
                continue
            due_fn = rule.evaluator.due
            due = due_fn(rule, rule_state) if due_fn is not None else float("-inf")
            if due is not None and (earliest is None or due < earliest):
                earliest = due
        return earliest

    def _due_keys(self, limit: float) -> list[str]:
        """The keys whose state is due by ``limit`` (taken off the schedule), sorted."""
        store = self.store
        heap, bound, keys = self._heap, self._due, []
        while heap and heap[0][0] <= limit:
            due, key = heapq.heappop(heap)
            if bound.get(key) != due:
                continue  # a stale entry: the key was brought forward since
            del bound[key]
            exact = self._due_of(key, store.get(key))
            if exact is not None and exact > limit:
                self._schedule(key, exact)  # a step moved it later: not yet
            elif exact is not None:
                keys.append(key)
        keys.sort()
        return keys

    # -- TickEnv
    def collector_seen(self, collector: str) -> float | None:
        """When ``collector`` last reported anything (event time), if ever."""
        return self._collectors.get(collector)

    def asset_seen(self, asset_id: str) -> float | None:
        """When any probe of ``asset_id`` last reported (event time), if ever."""
        return self._assets_seen.get(asset_id)

    def asset(self, asset_id: str) -> Asset | None:
        return self.assets.get(asset_id)

    def tick_watermark(self) -> list[Finding]:
        """``tick`` at the newest event time seen so far."""
        return self.tick(datetime.fromtimestamp(self.watermark, UTC))


def _delay(rule: CompiledRule) -> float | None:
    """How soon after a step the rule's state may fall due (``None``: it never ticks).

    The engine brings the key's due time forward to the step's time plus this
    (never later than it was); a rule type that cannot say gets ``-inf``, so the
    key is looked at, and its due time worked out, at the next tick.
    """
    ev = rule.evaluator
    if ev.tick is None:
        return None
    return ev.delay(rule) if ev.delay is not None and ev.due is not None else _EARLIEST


def _route(rule: CompiledRule) -> tuple[CompiledRule, Any, str, bool, Any, float | None]:
    """What the hot loop needs of a rule.

    The gate is the rule's condition-and-exceptions test: every evaluator
    returns ``(None, [])`` for an observation that fails it while the rule
    has no state for the key, so the engine skips the call.
    """
    gate = rule.test if rule.condition is not None or rule.exceptions else None
    if rule.type == "sequence":
        # without state, only the first step can start anything
        first, test = rule.params["steps"][0].fn, rule.test
        gate = first if gate is None else (lambda c: test(c) and first(c))
    ev = rule.evaluator
    step = ev.bind(rule) if ev.bind is not None else ev.step
    return (rule, step, rule.id, rule.scope == "unit", gate, _delay(rule))


def _routed(probe: str, rules: list[CompiledRule]) -> tuple[CompiledRule, ...]:
    """The rules folded for ``probe``; macros used more than once are memoised."""
    uses = Counter(
        name for r in rules for c in r.conditions()
        for name in macro_uses(specialize(c.node, probe))
    )
    shared = frozenset(n for n, k in uses.items() if k > 1)
    return tuple(r.for_probe(probe, shared) for r in rules)
