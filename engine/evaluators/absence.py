"""absence: no observation of ``probe`` for an asset within ``for``.

``step`` records, per asset, when the probe last reported (and from which
collector and vantage); the engine itself knows when each collector and
each asset last reported anything (``TickEnv``). ``tick`` — driven by
event time, the newest ``observed_at`` the engine has seen — raises a
finding once the silence exceeds ``for`` and says which it is:

- dead collector: the collector that used to report it sent nothing at all
  for the whole period;
- silent probe: other probes of the same asset still report;
- dead target: the collector still reports other assets, but not this one.

The finding is dated at the deadline (last seen + ``for``), so it does not
depend on how often the engine ticks; the next observation resolves it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine.durations import format_duration
from engine.evaluators.base import (
    Evaluator,
    Param,
    State,
    StepResult,
    TickEnv,
    synthetic_ctx,
)
from engine.events import format_time
from engine.ruleset.context import Ctx
from engine.ruleset.model import ALWAYS, CompiledRule


def step(rule: CompiledRule, state: State, c: Ctx) -> StepResult:
    obs = c.obs
    test = rule.test  # no condition (the usual case): nothing to call
    if obs.probe != rule.params["probe"] or (test is not ALWAYS and not test(c)):
        return state, ()
    ts = c.ts
    if state is None:
        return {"t": ts, "id": obs.id, "c": obs.collector, "v": obs.vantage, "u": obs.unit,
                "f": 0}, []
    # One store per key (this runs for every observation of the probe): no tuple built.
    fired = state["f"]
    silent_for = ts - state["t"]
    state["t"] = ts
    state["id"] = obs.id
    state["c"] = obs.collector
    state["v"] = obs.vantage
    state["u"] = obs.unit
    state["f"] = 0
    if not fired:
        return state, ()
    why = f"{obs.probe} observations resumed after {format_duration(silent_for)} of silence"
    return state, [rule.finding(c, kind="resolve", evidence=(obs.id,), explanation=why)]


def tick(
    rule: CompiledRule, state: dict[str, Any], now: float, env: TickEnv, key: str
) -> StepResult:
    period: float = rule.params["for"]
    last = state["t"]
    if state.get("f") or now - last <= period:
        return state, ()
    probe = rule.params["probe"]
    collector, vantage = state["c"], state["v"]
    seen = env.collector_seen(collector)
    if seen is None or now - seen > period:
        cause, label = (
            f"dead collector: collector {collector} ({vantage}) has sent nothing at all "
            f"for {format_duration(now - (seen if seen is not None else last))}",
            "dead collector",
        )
    elif (env.asset_seen(key) or 0.0) > last:
        cause, label = (
            f"silent probe: other probes of {key} still report, the {probe} probe does not",
            "silent probe",
        )
    else:
        cause, label = (
            f"dead target: collector {collector} ({vantage}) still reports other assets "
            f"but nothing about {key}",
            "dead target",
        )
    state["f"] = 1
    deadline = last + period
    since = format_time(datetime.fromtimestamp(last, UTC))
    why = f"no {probe} observation for {format_duration(period)} since {since}; {cause}"
    c = synthetic_ctx(state, key, probe, env, deadline)
    f = rule.finding(c, evidence=(state["id"],), explanation=why, at=deadline,
                     title_suffix=f" ({label})")
    return state, [f]


def due(rule: CompiledRule, state: dict[str, Any]) -> float | None:
    """The tick fires once ``now - last > for``; never again until the next step."""
    period: float = rule.params["for"]
    return None if state.get("f") else float(state["t"]) + period


EVALUATOR = Evaluator(
    "absence",
    step,
    "no observation of `probe` for an asset within `for` (dead target vs dead collector)",
    params={
        "probe": Param("probe", required=True, doc="the probe that must keep reporting"),
        "for": Param("duration", required=True, doc="how long a silence is tolerated"),
    },
    tick=tick,
    due=due,
    delay=lambda rule: float(rule.params["for"]),  # a step sets ``t`` to its own time
    condition_required=False,
    supports_resolve=False,
    supports_group_by=False,
)
