"""match: every observation that meets the condition is a finding."""

from __future__ import annotations

from engine.evaluators.base import Evaluator, State, StepResult
from engine.ruleset.context import Ctx
from engine.ruleset.model import CompiledRule


def step(rule: CompiledRule, state: State, c: Ctx) -> StepResult:
    if rule.test(c):
        key, group = rule.group_of(c)
        f = rule.finding(c, group=group, evidence=(c.obs.id,), explanation=rule.explain(c))
        if rule.resolve is not None:
            state = state if state is not None else {}
            state[key] = {"f": 1, "l": c.ts}
        return state, [f]
    if state and rule.resolve is not None and rule.resolve.fn(c):
        key, group = rule.group_of(c)
        if key in state:
            del state[key]
            r = rule.finding(
                c, kind="resolve", group=group, evidence=(c.obs.id,),
                explanation=rule.resolve.explain(c),
            )
            return state or None, [r]
    return state, ()


EVALUATOR = Evaluator("match", step, "every matching observation is a finding")
