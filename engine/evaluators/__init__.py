"""Rule types: one module per type, registered in ``EVALUATORS``.

The loader takes the allowed ``type`` values and each type's keys from this
dict; the engine calls ``EVALUATORS[rule.type].step`` (via ``rule.evaluator``).
"""

from __future__ import annotations

from engine.evaluators import absence, anomaly, change, match, sequence, threshold
from engine.evaluators.base import Evaluator, Param, TickEnv

EVALUATORS: dict[str, Evaluator] = {
    e.name: e
    for e in (
        match.EVALUATOR,
        threshold.EVALUATOR,
        change.EVALUATOR,
        absence.EVALUATOR,
        anomaly.EVALUATOR,
        sequence.EVALUATOR,
    )
}

__all__ = ["EVALUATORS", "Evaluator", "Param", "TickEnv"]
