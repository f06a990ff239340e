"""Inhibition: while one alert fires, alerts it makes redundant are muted.

A rule declares what its alerts inhibit (``AlertPolicy.inhibits``), e.g. an
unreachable host inhibits the website alerts of the assets behind it
(``scope="dependents"``, using ``Asset.depends_on``). An inhibited alert is
still recorded, with ``suppressed_by=("inhibited:<fingerprint>",)`` naming the
alert that mutes it, and is not notified.

Two rules keep this predictable: an alert never inhibits alerts of its own
rule (so ``scope="asset"`` with no filter does not mute itself or its
siblings), and an inhibitor keeps inhibiting while it is itself silenced or
inhibited (as in Alertmanager: muting a notification does not fix the cause).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from engine.alerting.policy import Inhibition
from engine.alerting.silences import AlertLabels

SCOPES: tuple[str, ...] = ("asset", "dependents", "unit")


@dataclass(frozen=True, slots=True)
class InhibitSource:
    """An active alert whose rule inhibits others."""

    fingerprint: str
    labels: AlertLabels
    inhibits: tuple[Inhibition, ...]


def in_scope(
    inh: Inhibition,
    source: AlertLabels,
    target: AlertLabels,
    depends_on: Callable[[str], tuple[str, ...]],
) -> bool:
    """Whether ``inh`` of an alert with ``source`` labels mutes one with ``target`` labels."""
    if source.rule == target.rule:
        return False
    if inh.scope == "asset":
        where = source.asset == target.asset
    elif inh.scope == "dependents":
        where = source.asset in depends_on(target.asset)
    elif inh.scope == "unit":
        where = source.unit == target.unit
    else:
        raise ValueError(f"unknown inhibition scope {inh.scope!r} (use one of {SCOPES})")
    if not where:
        return False
    if not inh.rules and not inh.tags:
        return True
    return target.rule in inh.rules or any(t in target.tags for t in inh.tags)


def inhibited_by(
    target_fp: str,
    target: AlertLabels,
    sources: Iterable[InhibitSource],
    depends_on: Callable[[str], tuple[str, ...]],
) -> tuple[str, ...]:
    """The sorted fingerprints of the active alerts that mute ``target``."""
    hits = {
        s.fingerprint
        for s in sources
        if s.fingerprint != target_fp
        and any(in_scope(i, s.labels, target, depends_on) for i in s.inhibits)
    }
    return tuple(sorted(hits))
