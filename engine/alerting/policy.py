"""How the alerts of one rule behave: the contract between rules and alerting.

The rule loader builds one ``AlertPolicy`` per rule from its YAML
(``severity``, ``risk_weight``, ``resolve_after``, ``flap``, ``inhibits``);
the alert lifecycle reads nothing else about a rule.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Inhibition:
    """While an alert of the declaring rule fires, mute matching alerts.

    ``scope`` says where the muted alerts live: ``"asset"`` (the same asset),
    ``"dependents"`` (assets whose ``depends_on`` names the firing asset, e.g.
    websites behind an unreachable host), or ``"unit"`` (the same unit).
    A muted alert matches if its rule is in ``rules`` or it has any of ``tags``
    (an empty ``rules`` and ``tags`` matches every alert in scope).
    """

    scope: str = "dependents"
    rules: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """The alerting behaviour of one rule."""

    rule: str
    severity: str
    risk_weight: float
    tags: tuple[str, ...] = ()
    title: str = ""
    #: Resolve after this long without a new match; ``None``: only the resolve condition.
    resolve_after_s: float | None = 900.0
    #: Flap damping: more than ``flap_max_changes`` state changes within
    #: ``flap_window_s`` holds the alert firing until it is quiet for the window.
    flap_window_s: float = 900.0
    flap_max_changes: int = 4
    inhibits: tuple[Inhibition, ...] = ()
