"""anomaly: a value far from the learned baseline (EWMA mean and variance, z-score).

Per group, the first ``warmup`` values are kept and turned into the initial
baseline in one vectorised numpy step (exponentially weighted mean and
variance with factor ``alpha``); after that each value is scored and folded
in with the usual incremental EWMA update. A value whose z-score passes
``z`` in the chosen ``direction`` is a finding; when values come back inside
the band (or the ``resolve`` condition holds) a resolve finding follows.
The standard deviation never goes below ``min_std``, so a flat baseline does
not make every tiny wobble an anomaly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.evaluators.base import Evaluator, Param, State, StepFn, StepResult
from engine.ruleset.context import Ctx
from engine.ruleset.model import NO_GROUP, CompiledRule


def ewma_baseline(values: list[float], alpha: float) -> tuple[float, float]:
    """Exponentially weighted mean and variance of ``values`` (oldest first)."""
    x = np.asarray(values, dtype=np.float64)
    w = (1.0 - alpha) ** np.arange(len(x) - 1, -1, -1, dtype=np.float64)
    w /= w.sum()
    mean = float(np.dot(w, x))
    var = float(np.dot(w, (x - mean) ** 2))
    return mean, var


# Group state is a list (cheaper than a dict on the hot path, still plain JSON):
N, MEAN, VAR, FIRING, LAST, WARM = range(6)


def _prepared(rule: CompiledRule) -> tuple[Any, ...]:
    """The parameters as one tuple, computed once per rule copy."""
    p = rule.params
    fast: tuple[Any, ...] | None = p.get("_prepared")
    if fast is None:
        path, get = p["field"]
        # ``data.<name>`` is read inline (``get`` would do the same ``data.get`` in a call)
        data_key = path[5:] if path.startswith("data.") and path.count(".") == 1 else None
        fast = p["_prepared"] = (
            path, get, p["alpha"], p["z"], max(p["min_std"], 1e-9), p["direction"], p["warmup"],
            data_key,
        )
    return fast


def step(rule: CompiledRule, state: State, c: Ctx) -> StepResult:
    if not rule.test(c):
        if state and rule.resolve is not None and rule.resolve.fn(c):
            return _resolve(rule, state, c, rule.resolve.explain(c))
        return state, ()
    path, get, alpha, z_limit, min_std, direction, warmup, data_key = (
        rule.params.get("_prepared") or _prepared(rule)
    )
    x = c.data.get(data_key) if data_key is not None else get(c)
    if type(x) is not float and type(x) is not int:
        return state, ()
    key, group = rule.group_of(c) if rule.group_getters else NO_GROUP
    if state is None:
        state = {}
    g: list[Any] | None = state.get(key)
    if g is None:
        g = state[key] = [0, 0.0, 0.0, 0, c.ts, []]
        if len(state) > 64:
            _prune(state, c.ts - 86400.0)
    g[LAST] = c.ts
    g[N] += 1
    if len(g) > WARM:  # still warming up
        g[WARM].append(x)
        if len(g[WARM]) >= warmup:
            g[MEAN], g[VAR] = ewma_baseline(g.pop(), alpha)
        return state, ()
    mean, var = g[MEAN], g[VAR]
    sd = math.sqrt(var)
    if sd < min_std:
        sd = min_std
    diff = x - mean
    z = diff / sd
    incr = alpha * diff
    g[MEAN] = mean + incr
    g[VAR] = (1.0 - alpha) * (var + diff * incr)
    score = z if direction == "up" else -z if direction == "down" else abs(z)
    if score >= z_limit:
        g[FIRING] = 1
        why = (
            f"{path} ({x:g}) is {z:+.1f} standard deviations from its baseline "
            f"{mean:.1f} ± {sd:.1f} (z threshold {z_limit:g}, {direction})"
        )
        if rule.condition is not None:
            why += f"; {rule.explain(c)}"
        return state, [rule.finding(c, group=group, evidence=(c.obs.id,), explanation=why)]
    if g[FIRING] and rule.resolve is None:
        g[FIRING] = 0
        why = f"{path} ({x:g}) is back within {z_limit:g} standard deviations of {mean:.1f}"
        return state, [
            rule.finding(c, kind="resolve", group=group, evidence=(c.obs.id,), explanation=why)
        ]
    return state, ()


def bind(rule: CompiledRule) -> StepFn:
    """``step`` for this rule, parameters held in the closure: the engine's hot path.

    It does only the common case, a warmed-up ungrouped baseline scoring a
    ``data.<name>`` value that neither fires nor resolves, and hands
    everything else, untouched, to ``step``.
    """
    p = rule.params
    path: str = p["field"][0]
    if rule.group_getters or not path.startswith("data.") or path.count(".") != 1:
        return step
    data_key, test, self_resolving = path[5:], rule.test, rule.resolve is None
    alpha, z_limit, min_std, direction = p["alpha"], p["z"], max(p["min_std"], 1e-9), p["direction"]
    keep, up, down, sqrt = 1.0 - alpha, direction == "up", direction == "down", math.sqrt

    def bound(rule: CompiledRule, state: State, c: Ctx) -> StepResult:
        if state is None or not test(c):
            return step(rule, state, c)
        x = c.data.get(data_key)
        if type(x) is not float and type(x) is not int:
            return state, ()
        g: list[Any] | None = state.get("")
        if g is None or len(g) > WARM:
            return step(rule, state, c)
        mean, var = g[1], g[2]  # [n, mean, var, firing, last]
        sd = sqrt(var)
        if sd < min_std:
            sd = min_std
        diff = x - mean
        z = diff / sd
        score = z if up else -z if down else abs(z)
        if score >= z_limit or (g[3] and self_resolving):
            return step(rule, state, c)  # a finding: the general path, from the same state
        g[0] += 1
        g[4] = c.ts
        incr = alpha * diff
        g[1] = mean + incr
        g[2] = keep * (var + diff * incr)
        return state, ()

    return bound


def _resolve(rule: CompiledRule, state: dict[str, Any], c: Ctx, why: str) -> StepResult:
    key, group = rule.group_of(c)
    g = state.get(key)
    if g is None or not g[FIRING]:
        return state, ()
    g[FIRING] = 0
    return state, [
        rule.finding(c, kind="resolve", group=group, evidence=(c.obs.id,), explanation=why)
    ]


def _prune(groups: dict[str, list[Any]], older_than: float) -> None:
    for k in [k for k, g in groups.items() if not g[FIRING] and g[LAST] < older_than]:
        del groups[k]


EVALUATOR = Evaluator(
    "anomaly",
    step,
    "the value of `field` deviates from its learned EWMA baseline by `z` standard deviations",
    params={
        "field": Param("field", required=True, doc="the numeric field to learn"),
        "alpha": Param("fraction", default=0.1, doc="EWMA factor, 0 < alpha <= 1"),
        "z": Param("number", default=3.0, doc="z-score that counts as an anomaly"),
        "warmup": Param("count", default=20, doc="values learned before scoring"),
        "min_std": Param("number", default=0.0, doc="floor of the standard deviation"),
        "direction": Param("choice", default="both", choices=("up", "down", "both"),
                           doc="which deviations count"),
    },
    condition_required=False,
    bind=bind,
)
