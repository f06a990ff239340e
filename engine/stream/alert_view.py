"""The engine's read model: every alert and silence, mirrored from the topics.

Alert state is written by the partitions' pipelines, each on the worker that
owns the partition; the API and ``/metrics`` of *any* worker must show the
whole city. So the read side follows ``ssa.alerts`` (the latest Alert of each
fingerprint) and ``ssa.control`` (silences), and presents them through the
same ``InMemoryStateView`` that tests use over a live lifecycle:
``AlertMirror`` offers the few read methods that view needs.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from engine.alerting.lifecycle import AlertLifecycle
from engine.alerting.record import AlertRecord
from engine.alerting.silences import Silence, silence_from_control
from engine.api.memory import InMemoryStateView
from engine.errors import EventError
from engine.events import Alert, Control
from engine.inventory.model import Inventory
from engine.metrics import EngineMetrics


class AlertMirror:
    """The latest state of every alert and silence, rebuilt from their events."""

    def __init__(self) -> None:
        self._records: dict[str, AlertRecord] = {}
        self._silences: dict[str, Silence] = {}
        self._clock: datetime | None = None

    def apply_alert(self, a: Alert) -> None:
        old = self._records.get(a.fingerprint)
        if old is not None and old.seq > a.seq:
            return  # an older change read after a newer one: keep the newer
        self._records[a.fingerprint] = AlertRecord(
            fingerprint=a.fingerprint,
            rule=a.rule,
            rule_version=a.rule_version,
            asset=a.asset,
            unit=a.unit,
            severity=a.severity,
            title=a.title,
            state=a.state,
            seq=a.seq,
            started_at=a.started_at,
            at=a.at,
            last_match_at=a.at,
            last_activity_at=a.at,
            resolved_at=a.at if a.state == "resolved" else None,
            group=dict(a.group),
            risk_weight=a.risk_weight,
            tags=a.tags,
            explanation=a.explanation,
            evidence=a.evidence,
            sources=a.sources,
            suppressed_by=a.suppressed_by,
            actor=a.actor,
        )
        self._advance(a.at)

    def apply_control(self, c: Control) -> None:
        if c.kind == "silence":
            try:
                self._silences[c.id] = silence_from_control(c)
            except EventError:
                return  # the engine dead-letters it; the view shows what took effect
        elif c.kind == "expire_silence" and c.target in self._silences:
            s = self._silences[c.target]
            self._silences[c.target] = Silence(
                s.id, s.matchers, s.starts_at, s.ends_at, s.creator, s.comment, s.created_at, c.at
            )
        self._advance(c.at)

    def _advance(self, t: datetime) -> None:
        if self._clock is None or t > self._clock:
            self._clock = t

    # -- the read side of AlertLifecycle that InMemoryStateView uses ---------

    def set_inventory(self, inventory: Inventory | None) -> None:
        """Nothing to do: the mirror only shows what the pipelines decided."""

    def record(self, fp: str) -> AlertRecord | None:
        return self._records.get(fp)

    def records(self) -> list[AlertRecord]:
        return [self._records[k] for k in sorted(self._records)]

    def silences(self) -> list[Silence]:
        return sorted(self._silences.values(), key=lambda s: (s.starts_at, s.id))

    def silence(self, sid: str) -> Silence | None:
        return self._silences.get(sid)

    @property
    def clock(self) -> datetime | None:
        return self._clock


class TopicStateView(InMemoryStateView):
    """``InMemoryStateView`` over an ``AlertMirror`` that follows the topics."""

    def __init__(self, inventory: Inventory, metrics: EngineMetrics | None = None) -> None:
        self.mirror = AlertMirror()
        # The view reads records, silences and the clock; the mirror provides exactly those.
        super().__init__(cast(AlertLifecycle, self.mirror), inventory, metrics=metrics)

    def apply_alert(self, a: Alert) -> None:
        self.mirror.apply_alert(a)
        self.record([a])

    def apply_control(self, c: Control) -> None:
        self.mirror.apply_control(c)
        self._dirty = True
