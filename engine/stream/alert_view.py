"""The engine's read model: every alert and silence, mirrored from the topics.

Alert state is written by the partitions' pipelines, each on the worker that
owns the partition; the API and ``/metrics`` of *any* worker must show the
whole city. So the read side follows ``ssa.alerts`` (the latest Alert of each
fingerprint) and ``ssa.control`` (silences), and presents them through the
same ``InMemoryStateView`` that tests use over a live lifecycle:
``AlertMirror`` offers the few read methods that view needs.

The view refreshes its scores after every batch read from the topics, so the
mirror keeps what a refresh needs ready: each alert's ``AlertSnapshot`` is
built once, when its record changes, and the fingerprint order is sorted
again only when a new fingerprint arrives. A refresh is then the scoring
itself (``compute_scores``), not a rebuild of every record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from engine.alerting.lifecycle import AlertLifecycle
from engine.alerting.record import AlertRecord
from engine.alerting.silences import Silence, silence_from_control
from engine.api.memory import InMemoryStateView
from engine.errors import EventError
from engine.events import Alert, Control
from engine.inventory.model import Inventory
from engine.metrics import EngineMetrics
from engine.scoring import AlertSnapshot, Scores, compute_scores

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class AlertMirror:
    """The latest state of every alert and silence, rebuilt from their events."""

    def __init__(self) -> None:
        self._records: dict[str, AlertRecord] = {}
        #: Each record's snapshot for scoring, built when the record changes.
        self._snapshots: dict[str, AlertSnapshot] = {}
        #: The fingerprints in order; ``None`` when a new one arrived since.
        self._order: list[str] | None = []
        self._silences: dict[str, Silence] = {}
        self._clock: datetime | None = None

    def apply_alert(self, a: Alert) -> None:
        old = self._records.get(a.fingerprint)
        if old is not None and old.seq > a.seq:
            return  # an older change read after a newer one: keep the newer
        if old is None:
            self._order = None
        rec = self._records[a.fingerprint] = AlertRecord(
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
        self._snapshots[a.fingerprint] = rec.snapshot()
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
        return [self._records[k] for k in self._fingerprints()]

    def snapshots(self) -> list[AlertSnapshot]:
        """Every record's ``snapshot()``, in the order of ``records()``."""
        return [self._snapshots[k] for k in self._fingerprints()]

    def _fingerprints(self) -> list[str]:
        if self._order is None:
            self._order = sorted(self._records)
        return self._order

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

    def _compute(self) -> Scores:
        """``InMemoryStateView._compute`` with the snapshots the mirror keeps ready."""
        self._records = self.mirror.records()
        snaps = self.mirror.snapshots()
        now = self.mirror.clock or _EPOCH
        inventory = self._inventory
        scores = compute_scores(snaps, inventory.assets, now, self._model, inventory.units)
        if self._metrics is not None:
            self._metrics.update_state(scores, inventory.assets, snaps, inventory.units)
        return scores
