"""Why an alert is muted: matching silences, maintenance, inhibiting alerts.

``Suppressor`` computes an alert's ``suppressed_by`` at an event time from
the active silences, the inventory's maintenance windows and the active
alerts whose rules inhibit others. The lifecycle owns one and keeps its
policies and inventory current; everything here is pure.

``suppressed_by`` lists, in this order: ``silence:<id>`` (sorted),
``maintenance``, ``inhibited:<fingerprint>`` (sorted).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from engine.alerting.inhibition import InhibitSource, inhibited_by
from engine.alerting.maintenance import in_maintenance
from engine.alerting.policy import AlertPolicy
from engine.alerting.silences import AlertLabels, Silence
from engine.inventory.model import Asset, Inventory


class Suppressor:
    """Labels and suppression of alerts, given the rules' policies and the inventory."""

    def __init__(self, policies: Mapping[str, AlertPolicy], inventory: Inventory | None) -> None:
        self.policies = policies
        self.inventory = inventory

    def asset(self, asset_id: str) -> Asset | None:
        return self.inventory.assets.get(asset_id) if self.inventory else None

    def labels(
        self, rule: str, asset_id: str, unit: str, severity: str, tags: Iterable[str]
    ) -> AlertLabels:
        """An alert's labels; its tags are the rule's plus the asset's."""
        asset = self.asset(asset_id)
        all_tags = tuple(sorted(set(tags) | set(asset.tags if asset else ())))
        return AlertLabels(rule, asset_id, unit, severity, all_tags)

    def labels_of(self, d: Mapping[str, Any]) -> AlertLabels:
        """Labels of a stored alert record (its plain-data form)."""
        return self.labels(d["rule"], d["asset"], d["unit"], d["severity"], d["tags"])

    def sources(self, active: Iterable[Mapping[str, Any]]) -> list[InhibitSource]:
        """Those of the active (stored) alerts whose rules inhibit others."""
        out = []
        for d in active:
            pol = self.policies.get(d["rule"])
            if pol is not None and pol.inhibits:
                out.append(InhibitSource(d["fingerprint"], self.labels_of(d), pol.inhibits))
        return out

    def suppressed_by(
        self,
        fp: str,
        labels: AlertLabels,
        t: datetime,
        sources: list[InhibitSource],
        silences: Iterable[Silence],
    ) -> tuple[str, ...]:
        """Why the alert ``fp`` is muted at ``t`` (empty: it is not)."""
        by = sorted(f"silence:{s.id}" for s in silences if s.active(t) and s.matches(labels))
        if in_maintenance(self.asset(labels.asset), t):
            by.append("maintenance")
        by += [f"inhibited:{x}" for x in inhibited_by(fp, labels, sources, self._depends_on)]
        return tuple(by)

    def _depends_on(self, asset_id: str) -> tuple[str, ...]:
        asset = self.asset(asset_id)
        return asset.depends_on if asset else ()
