"""``InMemoryStateView``: the lifecycle, its alert history and the scores, in one place.

The stream app drives it instead of calling ``AlertLifecycle`` directly:
``on_finding``, ``on_control`` and ``tick`` pass through to the lifecycle,
keep each fingerprint's recent Alert events (the API's ``history``), count
findings and alerts in the metrics, and mark the scores stale. Scores are
recomputed lazily (``refresh``) at the lifecycle's event time, so a burst of
findings costs one recompute, not one per finding.

History is what this process has seen (capped per fingerprint); the complete,
hash-chained record is the ``ssa.alerts`` topic.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from datetime import UTC, datetime

from engine.alerting.lifecycle import AlertLifecycle
from engine.alerting.record import AlertRecord
from engine.api.view import STATE_FILTERS, Doc
from engine.events import Alert, Control, Finding, format_time
from engine.inventory.model import Inventory
from engine.metrics import EngineMetrics
from engine.scoring import (
    RiskModel,
    Scores,
    compute_scores,
    explain_asset,
    explain_city,
    explain_unit,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


class InMemoryStateView:
    """Implements ``StateView`` over an ``AlertLifecycle`` and the risk model."""

    def __init__(
        self,
        lifecycle: AlertLifecycle,
        inventory: Inventory | None = None,
        *,
        model: RiskModel | None = None,
        metrics: EngineMetrics | None = None,
        history_limit: int = 100,
    ) -> None:
        self.lifecycle = lifecycle
        self._inventory = inventory or Inventory({}, {})
        self._model = model or RiskModel()
        self._metrics = metrics
        self._history_limit = history_limit
        self._history: dict[str, deque[Doc]] = {}
        self._scores: Scores | None = None
        #: The records the scores were computed from (re-read on every change or tick).
        self._records: list[AlertRecord] = []
        self._dirty = True
        if inventory is not None:
            lifecycle.set_inventory(inventory)

    # ----------------------------------------------------------------- driving

    def on_finding(self, f: Finding) -> list[Alert]:
        """Apply a finding through the lifecycle; the Alert events to publish."""
        if self._metrics is not None:
            self._metrics.finding(f)
        self._dirty = True  # even a quiet re-match updates the record's evidence
        return self.record(self.lifecycle.on_finding(f))

    def on_control(self, c: Control) -> list[Alert]:
        """Apply a control (``EventError`` if invalid); the Alert events to publish."""
        return self.record(self.lifecycle.on_control(c))

    def tick(self, now: datetime) -> list[Alert]:
        """Advance event time; the Alert events that fell due."""
        out = self.record(self.lifecycle.tick(now))
        self._dirty = True  # decay moves with time even when nothing fires
        return out

    def set_inventory(self, inventory: Inventory) -> None:
        self._inventory = inventory
        self.lifecycle.set_inventory(inventory)
        self._dirty = True

    def record(self, alerts: Iterable[Alert]) -> list[Alert]:
        """Remember emitted alerts in the history and count them; returns them."""
        out = list(alerts)
        for a in out:
            h = self._history.setdefault(a.fingerprint, deque(maxlen=self._history_limit))
            h.append(a.to_dict())
            if self._metrics is not None:
                self._metrics.alert(a)
        if out:
            self._dirty = True
        return out

    # ------------------------------------------------------------------ scores

    def refresh(self) -> None:
        if self._dirty or self._scores is None:
            self._scores = self._compute()
            self._dirty = False

    def _current_records(self) -> list[AlertRecord]:
        self.refresh()
        return self._records

    def scores(self) -> Scores:
        """The current scores (recomputed if anything changed)."""
        self.refresh()
        assert self._scores is not None
        return self._scores

    def _compute(self) -> Scores:
        records = self._records = self.lifecycle.records()
        snaps = [r.snapshot() for r in records]
        now = self.lifecycle.clock or _EPOCH
        scores = compute_scores(
            snaps, self._inventory.assets, now, self._model, self._inventory.units
        )
        if self._metrics is not None:
            self._metrics.update_state(
                scores, self._inventory.assets, snaps, self._inventory.units
            )
        return scores

    # ------------------------------------------------------------------- reads

    def assets(self) -> list[Doc]:
        s = self.scores()
        active = Counter(a.asset for a in s.alerts if _active(a.state))
        return [self._asset_doc(s, a, active[a]) for a in sorted(s.asset)]

    def asset(self, asset_id: str) -> Doc | None:
        s = self.scores()
        if asset_id not in s.asset:
            return None
        active = sum(1 for x in s.alerts if x.asset == asset_id and _active(x.state))
        return self._asset_doc(s, asset_id, active)

    def units(self) -> list[Doc]:
        s = self.scores()
        members = Counter(a.unit for a in self._inventory.assets.values())
        active = Counter(a.unit for a in s.alerts if _active(a.state))
        out = []
        for unit_id in sorted(s.unit):
            unit = self._inventory.units.get(unit_id)
            out.append(
                {
                    "id": unit_id,
                    "name": unit.name if unit else "",
                    "assets": members[unit_id],
                    "active_alerts": active[unit_id],
                    **_scored(explain_unit(s, unit_id).to_dict()),
                }
            )
        return out

    def posture(self) -> Doc:
        s = self.scores()
        e = explain_city(s).to_dict()
        return {
            "at": format_time(s.at),
            "posture": round(s.posture, 6),
            **_scored(e),
            "city": e["score"],
        }

    def alerts(
        self, state: str | None = None, severity: str | None = None, unit: str | None = None
    ) -> list[Doc]:
        if state is not None and state not in STATE_FILTERS:
            raise ValueError(f"unknown state {state!r} (use one of {', '.join(STATE_FILTERS)})")
        picked = [
            r
            for r in self._current_records()
            if (state is None or r.state == state or (state == "active" and r.active))
            and (severity is None or r.severity == severity)
            and (unit is None or r.unit == unit)
        ]
        picked.sort(
            key=lambda r: (_SEVERITY_RANK.get(r.severity, 9), -r.at.timestamp(), r.fingerprint)
        )
        return [_alert_doc(r) for r in picked]

    def alert(self, fingerprint: str) -> Doc | None:
        r = self.lifecycle.record(fingerprint)
        if r is None:
            return None
        return {**_alert_doc(r), "history": list(self._history.get(fingerprint, ()))}

    def silences(self) -> list[Doc]:
        now = self.lifecycle.clock or _EPOCH
        return [{**s.to_dict(), "status": s.status(now)} for s in self.lifecycle.silences()]

    def silence(self, silence_id: str) -> Doc | None:
        s = self.lifecycle.silence(silence_id)
        if s is None:
            return None
        return {**s.to_dict(), "status": s.status(self.lifecycle.clock or _EPOCH)}

    def _asset_doc(self, s: Scores, asset_id: str, active: int) -> Doc:
        a = self._inventory.assets.get(asset_id)
        e = explain_asset(s, asset_id).to_dict()
        return {
            "id": asset_id,
            "unit": a.unit if a else next((x.unit for x in s.alerts if x.asset == asset_id), ""),
            "kind": a.kind if a else "",
            "name": a.name if a else "",
            "criticality": a.criticality if a else s.model.default_criticality,
            "active_alerts": active,
            **_scored(e),
        }


def _scored(e: Doc) -> Doc:
    return {k: e[k] for k in ("score", "raw", "scale", "contributions")}


def _active(state: str) -> bool:
    return state in ("firing", "acknowledged")


def _alert_doc(r: AlertRecord) -> Doc:
    return {
        **r.to_alert().to_dict(),
        "last_match_at": format_time(r.last_match_at),
        "resolved_at": format_time(r.resolved_at) if r.resolved_at else None,
        "flapping": r.flapping,
    }
