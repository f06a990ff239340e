"""sequence: step A then step B (then C…) within ``within``, per asset or unit.

``mode: followed_by`` (the default) raises a finding when the steps match in
order, on distinct observations, within the window of the first one.
``mode: not_followed_by`` takes exactly two steps and raises a finding when
A matched and no B followed within the window; it fires on the first
observation or tick past the deadline, dated at the deadline.
``by: unit`` keeps the state per unit (the engine stores it under
``unit:<id>``), so A on one asset and B on another asset of the same unit
count together.
"""

from __future__ import annotations

from typing import Any

from engine.durations import format_duration
from engine.evaluators.base import Evaluator, Param, State, StepResult, TickEnv, synthetic_ctx
from engine.ruleset.context import Ctx
from engine.ruleset.model import CompiledRule


def step(rule: CompiledRule, state: State, c: Ctx) -> StepResult:
    if not rule.test(c):
        return state, ()
    steps = rule.params["steps"]
    within: float = rule.params["within"]
    key, group = rule.group_of(c)
    ts = c.ts
    g: dict[str, Any] | None = state.get(key) if state else None
    if rule.params["mode"] == "not_followed_by":
        return _not_followed(rule, state, g, key, group, c)
    if g is not None and state is not None and ts - g["t"] > within:
        del state[key]
        g = None
    if g is not None and state is not None:
        i = g["i"]
        if steps[i].fn(c):
            g["e"].append(c.obs.id)
            if i + 1 == len(steps):
                del state[key]
                why = (
                    f"{len(steps)} steps in order within {format_duration(within)} "
                    f"(took {format_duration(max(ts - g['t'], 0.001))}); "
                    f"last step: {steps[i].explain(c)}"
                )
                return state or None, [
                    rule.finding(c, group=group, evidence=g["e"], explanation=why)
                ]
            g["i"] = i + 1
        return state, ()
    if steps[0].fn(c):
        state = state if state is not None else {}
        state[key] = {"i": 1, "t": ts, "e": [c.obs.id], "a": c.obs.asset, "u": c.obs.unit}
    return state, ()


def _not_followed(
    rule: CompiledRule, state: State, g: dict[str, Any] | None, key: str,
    group: dict[str, str], c: Ctx,
) -> StepResult:
    first, then = rule.params["steps"]
    within: float = rule.params["within"]
    findings = []
    if g is not None and state is not None:
        if c.ts - g["t"] > within:
            findings.append(_missed(rule, g, group, c, within))
            del state[key]
            g = None
        elif then.fn(c):
            del state[key]
            return state or None, ()
    if g is None and first.fn(c):
        state = state if state is not None else {}
        state[key] = {"t": c.ts, "e": [c.obs.id], "a": c.obs.asset, "u": c.obs.unit, "gr": group}
    return state or None, findings


def _missed(rule: CompiledRule, g: dict[str, Any], group: dict[str, str], c: Ctx,
            within: float) -> Any:
    why = (
        f"step 1 matched and step 2 did not follow within {format_duration(within)}: "
        f"expected {rule.params['steps'][1].text}"
    )
    return rule.finding(c, group=group, evidence=g["e"], explanation=why, at=g["t"] + within)


def tick(
    rule: CompiledRule, state: dict[str, Any], now: float, env: TickEnv, key: str
) -> StepResult:
    within: float = rule.params["within"]
    expired = sorted(k for k, g in state.items() if now - g["t"] > within)
    if not expired:
        return state, ()  # unchanged: the same object
    findings = []
    if rule.params["mode"] == "not_followed_by":
        for k in expired:
            g = state[k]
            c = synthetic_ctx({"id": g["e"][0], "u": g["u"]}, g["a"], "-", env, g["t"] + within)
            findings.append(_missed(rule, g, g.get("gr", {}), c, within))
    kept = {k: g for k, g in state.items() if k not in expired}
    return kept or None, findings


def due(rule: CompiledRule, state: dict[str, Any]) -> float | None:
    """The tick drops (or reports) a group once ``now - started > within``."""
    if not state:
        return None
    within: float = rule.params["within"]
    return min(float(g["t"]) for g in state.values()) + within


EVALUATOR = Evaluator(
    "sequence",
    step,
    "`steps` match in order within `within` (or the first is not followed by the second)",
    params={
        "steps": Param("steps", required=True, doc="two or more conditions, in order"),
        "within": Param("duration", required=True, doc="window from the first step"),
        "by": Param("choice", default="asset", choices=("asset", "unit"),
                    doc="keep the state per asset or per unit"),
        "mode": Param("choice", default="followed_by", choices=("followed_by", "not_followed_by"),
                      doc="A then B, or A not followed by B"),
    },
    tick=tick,
    due=due,
    delay=lambda rule: float(rule.params["within"]),  # a new group starts at the step's time
    condition_required=False,
    supports_resolve=False,
)
