"""threshold: at least ``count`` matches within ``window``, per group.

State per group keeps only the last ``count`` matches ([time, observation
id]), so it stays bounded: the oldest of them is inside the window exactly
when the group has ``count`` matches within it. While over the threshold
every further match is a finding (the alert lifecycle deduplicates); the
resolve condition clears the group.
"""

from __future__ import annotations

from engine.durations import format_duration
from engine.evaluators.base import Evaluator, Param, State, StepResult, prune_groups
from engine.ruleset.context import Ctx
from engine.ruleset.model import CompiledRule


def step(rule: CompiledRule, state: State, c: Ctx) -> StepResult:
    count: int = rule.params["count"]
    window: float = rule.params["window"]
    ts = c.ts
    if rule.test(c):
        key, group = rule.group_of(c)
        if state is None:
            state = {}
        g = state.get(key)
        if g is None:
            g = state[key] = {"h": [], "f": 0, "l": ts}
        hist = g["h"]
        hist.append([ts, c.obs.id])
        while hist and ts - hist[0][0] > window:
            del hist[0]
        if len(hist) > count:
            del hist[: len(hist) - count]
        g["l"] = ts
        if len(state) > 64:
            prune_groups(state, ts - window)
        if len(hist) >= count:
            g["f"] = 1
            why = (
                f"{len(hist)} matches within {format_duration(window)} "
                f"(threshold {count}); last: {rule.explain(c)}"
            )
            return state, [
                rule.finding(c, group=group, evidence=[h[1] for h in hist], explanation=why)
            ]
        return state, ()
    if state and rule.resolve is not None and rule.resolve.fn(c):
        key, group = rule.group_of(c)
        g = state.get(key)
        if g is not None:
            del state[key]
            if g.get("f"):
                why = rule.resolve.explain(c)
                return state or None, [
                    rule.finding(c, kind="resolve", group=group, evidence=(c.obs.id,),
                                 explanation=why)
                ]
            return state or None, ()
    return state, ()


EVALUATOR = Evaluator(
    "threshold",
    step,
    "at least `count` matching observations within `window`, per group",
    params={
        "count": Param("count", required=True, doc="matches needed"),
        "window": Param("duration", required=True, doc="how far back they count"),
    },
)
