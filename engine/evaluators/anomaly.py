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

from engine.evaluators.base import Evaluator, Param, State, StepResult, prune_groups
from engine.ruleset.context import Ctx
from engine.ruleset.model import CompiledRule


def ewma_baseline(values: list[float], alpha: float) -> tuple[float, float]:
    """Exponentially weighted mean and variance of ``values`` (oldest first)."""
    x = np.asarray(values, dtype=np.float64)
    w = (1.0 - alpha) ** np.arange(len(x) - 1, -1, -1, dtype=np.float64)
    w /= w.sum()
    mean = float(np.dot(w, x))
    var = float(np.dot(w, (x - mean) ** 2))
    return mean, var


def step(rule: CompiledRule, state: State, c: Ctx) -> StepResult:
    if not rule.test(c):
        if state and rule.resolve is not None and rule.resolve.fn(c):
            return _resolve(rule, state, c, rule.resolve.explain(c))
        return state, []
    p = rule.params
    path, get = p["field"]
    x = get(c)
    if type(x) not in (int, float):
        return state, []
    x = float(x)
    key, group = rule.group_of(c)
    if state is None:
        state = {}
    g: dict[str, Any] | None = state.get(key)
    if g is None:
        g = state[key] = {"n": 0, "w": [], "f": 0, "l": c.ts}
        if len(state) > 64:
            prune_groups(state, c.ts - 86400.0)
    g["l"] = c.ts
    g["n"] += 1
    alpha: float = p["alpha"]
    if "w" in g:  # still warming up
        g["w"].append(x)
        if len(g["w"]) >= p["warmup"]:
            g["m"], g["v"] = ewma_baseline(g.pop("w"), alpha)
        return state, []
    mean, var = g["m"], g["v"]
    sd = max(math.sqrt(var), p["min_std"], 1e-9)
    z = (x - mean) / sd
    diff = x - mean
    incr = alpha * diff
    g["m"] = mean + incr
    g["v"] = (1.0 - alpha) * (var + diff * incr)
    direction = p["direction"]
    score = z if direction == "up" else -z if direction == "down" else abs(z)
    if score >= p["z"]:
        g["f"] = 1
        why = (
            f"{path} ({x:g}) is {z:+.1f} standard deviations from its baseline "
            f"{mean:.1f} ± {sd:.1f} (z threshold {p['z']:g}, {direction})"
        )
        if rule.condition is not None:
            why += f"; {rule.explain(c)}"
        return state, [rule.finding(c, group=group, evidence=(c.obs.id,), explanation=why)]
    if g["f"] and rule.resolve is None:
        g["f"] = 0
        why = f"{path} ({x:g}) is back within {p['z']:g} standard deviations of {mean:.1f}"
        return state, [
            rule.finding(c, kind="resolve", group=group, evidence=(c.obs.id,), explanation=why)
        ]
    return state, []


def _resolve(rule: CompiledRule, state: dict[str, Any], c: Ctx, why: str) -> StepResult:
    key, group = rule.group_of(c)
    g = state.get(key)
    if g is None or not g.get("f"):
        return state, []
    g["f"] = 0
    return state, [
        rule.finding(c, kind="resolve", group=group, evidence=(c.obs.id,), explanation=why)
    ]


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
)
