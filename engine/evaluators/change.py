"""change: a field's value differs from the last one seen, per group.

The first value seen is the baseline and raises nothing. Lists are compared
as sets (DNS answers in another order are not a change).
"""

from __future__ import annotations

from typing import Any

from engine.evaluators.base import Evaluator, Param, State, StepResult
from engine.ruleset.context import Ctx
from engine.ruleset.explain import show
from engine.ruleset.model import NO_GROUP, CompiledRule

_SEQ = (list, tuple)  # a tuple: an inline ``list | tuple`` is built on every call


def normalise(v: Any) -> Any:
    """The comparable, JSON-able form of a value."""
    if isinstance(v, _SEQ):
        try:
            return sorted(v)
        except TypeError:  # mixed or unorderable items: any stable order will do
            return sorted(v, key=repr)
    return v


def step(rule: CompiledRule, state: State, c: Ctx) -> StepResult:
    if not rule.test(c):
        return state, ()
    path, get = rule.params["field"]
    v = get(c)
    if v is None:
        return state, ()
    v = normalise(v)
    key, group = rule.group_of(c) if rule.group_getters else NO_GROUP
    if state is None:
        state = {}
    prev = state.get(key)
    state[key] = {"v": v, "id": c.obs.id}
    if prev is None or prev["v"] == v:
        return state, ()
    why = f"{path} changed from {show(prev['v'])} to {show(v)}"
    if rule.condition is not None:
        why += f"; {rule.explain(c)}"
    return state, [rule.finding(c, group=group, evidence=(prev["id"], c.obs.id), explanation=why)]


EVALUATOR = Evaluator(
    "change",
    step,
    "the value of `field` differs from the last one seen",
    params={"field": Param("field", required=True, doc="the field to watch")},
    condition_required=False,
    supports_resolve=False,
)
