"""The alert lifecycle: findings and operator controls in, Alert events out.

``AlertLifecycle`` is pure and runs on event time: no clock, no Kafka. The
stream app, replay and tests drive it with the same three calls:

- ``on_finding(f)``: a match opens an alert (``firing``, new fingerprint or a
  new episode of a resolved one); a resolve finding resolves it.
- ``on_control(c)``: ``ack``/``unack`` (target = fingerprint), ``silence`` /
  ``expire_silence`` (target = silence id). A unit's ``fixed`` report changes
  nothing here: the re-probe it triggers resolves the alert if it passes.
- ``tick(now)``: whatever falls due by event time ``now``: quiet-period
  resolution (``policy.resolve_after_s`` without a match), release of flap
  holds, silences and maintenance windows starting or ending.

Each call first ticks to its own event time, so one ordered stream of
findings and controls gives the same alerts however often the driver ticks in
between. Every due item is handled at its own time (a quiet alert resolves at
``last_match + resolve_after_s``), not at the tick's.

Choices (documented because they shape the record):
- **Every state change is one Alert event** with ``seq`` + 1: fire, ack,
  unack, resolve, and a change of ``suppressed_by`` while active (so the
  notifier learns that a silence ended on a still-firing alert).
- **A re-match of an active alert emits nothing.** It refreshes evidence,
  explanation and sources in the record (the API shows them; the next event
  carries them). One Alert per observation would flood the ledger and the
  notifier with copies of the same fact.
- **Flap damping**: a resolution that would follow ``flap_max_changes`` or
  more changes within ``flap_window_s`` is held: the alert stays firing,
  marked ``flapping``, and resolves only once no finding arrived for the
  window. New matches are never held back.
- **Suppressed alerts are still recorded** with ``suppressed=True`` and
  ``suppressed_by`` (``silence:<id>``, ``maintenance``,
  ``inhibited:<fingerprint>``); the notifier skips them.

State lives in the given ``StateStore`` as JSON-able dicts (layout in
``engine.alerting.state``). Resolved records are kept: the fingerprint's
``seq`` must continue in the next episode.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from engine.alerting.fingerprint import fingerprint
from engine.alerting.inhibition import InhibitSource
from engine.alerting.maintenance import boundaries, next_boundary
from engine.alerting.policy import AlertPolicy
from engine.alerting.record import ACTIVE, AlertRecord, quiet_deadline, raw_deadline
from engine.alerting.silences import Silence, silence_from_control
from engine.alerting.state import AlertState
from engine.alerting.suppression import Suppressor
from engine.errors import EventError
from engine.events import Alert, Control, Finding
from engine.inventory.model import Inventory
from engine.store import StateStore

EVIDENCE_LIMIT = 50
SOURCES_LIMIT = 20
#: Silences that ended longer ago than this are dropped from the store.
SILENCE_RETENTION = timedelta(days=7)


class AlertLifecycle:
    """Turns findings and controls into Alert events; state in a StateStore."""

    def __init__(
        self,
        policies: Mapping[str, AlertPolicy],
        store: StateStore,
        inventory: Inventory | None = None,
        *,
        external_inhibitors: Callable[[], Iterable[Mapping[str, Any]]] | None = None,
    ) -> None:
        """``external_inhibitors``: when the alerts of one city are split over several
        lifecycles (one per partition), returns the latest Alert (as ``to_dict()``) of
        alerts kept elsewhere, so that an unreachable host on one partition still
        inhibits the websites behind it on another. Call ``recheck`` when it changes.
        """
        self._external = external_inhibitors
        self._policies = dict(policies)
        self._state = AlertState(store, self._inhibits)
        self._sup = Suppressor(self._policies, inventory)
        #: Suppression must be re-checked at the next tick (new process or inventory).
        self._stale = True

    # ------------------------------------------------------------------ config

    def set_policies(self, policies: Mapping[str, AlertPolicy]) -> None:
        """Use a reloaded rule set's policies from now on."""
        self._policies = dict(policies)
        self._sup.policies = self._policies
        self._state.forget()
        self._state.reindex_inhibitors()

    def set_inventory(self, inventory: Inventory | None) -> None:
        """Use a new inventory (maintenance windows, tags, dependencies).

        Suppression is re-checked at the next tick, at that tick's time.
        """
        self._sup.inventory = inventory
        self._stale = True

    # ----------------------------------------------------------------- queries

    def record(self, fp: str) -> AlertRecord | None:
        return self._state.record(fp)

    def records(self) -> list[AlertRecord]:
        """Every alert record, in fingerprint order."""
        return self._state.records()

    def silences(self) -> list[Silence]:
        """Every stored silence (pending, active or recently ended), by start."""
        return self._state.silences()

    def silence(self, sid: str) -> Silence | None:
        return self._state.silence(sid)

    @property
    def clock(self) -> datetime | None:
        """The latest event time this lifecycle has processed."""
        return self._state.times()[0]

    # ------------------------------------------------------------------ inputs

    def on_finding(self, f: Finding) -> list[Alert]:
        """Apply one finding; the Alert events it causes, in order."""
        out = self.tick(f.at)
        fp = fingerprint(f.rule, f.asset, f.group)
        rec = self.record(fp)
        if f.kind == "match":
            if rec is not None and rec.active:
                _absorb(rec, f)
                rec.pending_resolve = False
                rec.last_match_at = max(rec.last_match_at, f.at)
                self._save(rec)
                self._advance(f.at, rec=rec)
                return out
            out += self._fire(rec, f)
        elif rec is not None and rec.active:
            _absorb(rec, f)
            out += self._resolve(rec, f.at)
        self._advance(f.at, fp)
        return out

    def on_control(self, c: Control) -> list[Alert]:
        """Apply one operator control; ``EventError`` if its data is invalid."""
        silence = silence_from_control(c) if c.kind == "silence" else None
        if c.kind in ("ack", "unack", "expire_silence") and not c.target:
            raise EventError("control", "target", f"{c.kind} needs a target")
        out = self.tick(c.at)
        rec = self.record(c.target) if c.kind in ("ack", "unack") and c.target else None
        if rec is not None and rec.active:
            if c.kind == "ack" and rec.state == "firing":
                rec.state, rec.actor = "acknowledged", c.actor
                out.append(self._emit(rec, c.at))
            elif c.kind == "unack" and rec.state == "acknowledged":
                rec.state, rec.actor = "firing", c.actor
                out.append(self._emit(rec, c.at))
            # ``fixed`` changes no state: the unit's word is not proof. The
            # collectors re-probe at once, and the alert resolves only when the
            # re-probe passes (resolve condition) or matches stop (quiet period).
        if silence is not None and self.silence(silence.id) is None:
            self._state.put_silence(silence)
            out += self._refresh(c.at)
        if c.kind == "expire_silence" and c.target:
            s = self.silence(c.target)
            if s is not None and s.end > c.at:
                self._state.put_silence(replace(s, expired_at=c.at))
                out += self._refresh(c.at)
        self._advance(c.at, c.target, silence)
        return out

    def recheck(self, t: datetime) -> list[Alert]:
        """Re-mark every active alert's suppression at ``t`` (an external inhibitor changed)."""
        out = self._refresh(t)
        self._advance(t)
        return out

    def tick(self, now: datetime) -> list[Alert]:
        """Handle everything due by event time ``now``, each at its own time."""
        clock, due = self._state.times()
        out: list[Alert] = []
        if self._stale or (due is not None and due <= now):
            out = self._run_due(clock, now)
            if self._stale:
                out += self._refresh(now if clock is None else max(clock, now))
                self._stale = False
            clock = now if clock is None else max(clock, now)
            due = self._next_due(clock)
        else:
            clock = now if clock is None else max(clock, now)
        self._state.set_times(clock, due)
        return out

    def _run_due(self, clock: datetime | None, now: datetime) -> list[Alert]:
        """Everything due by ``now`` in time order: deadlines, then boundaries, per instant."""
        heap: list[tuple[datetime, int, str]] = []
        assets = []
        for d in self._state.active():
            due = raw_deadline(d, self._policy_of(d))
            if due is not None and due <= now:
                heap.append((due, 0, d["fingerprint"]))
            if (a := self._sup.asset(d["asset"])) is not None:
                assets.append(a)
        bounds = set(boundaries(assets, clock, now))
        for s in self.silences():
            for b in (s.starts_at, s.end, s.end + SILENCE_RETENTION):
                if (clock is None or b > clock) and b <= now:
                    bounds.add(b)
        heap += [(b, 1, "") for b in bounds]
        heapq.heapify(heap)
        out: list[Alert] = []
        while heap:
            t, kind, fp = heapq.heappop(heap)
            if kind == 1:
                self._state.drop_silences_ended_before(t - SILENCE_RETENTION)
                out += self._refresh(t)
                continue
            rec = self.record(fp)
            pol = self._policy(rec.rule, rec.severity, rec.risk_weight, rec.tags) if rec else None
            if rec is None or pol is None or rec.deadline(pol) != t:
                continue  # changed since it was queued; its new deadline was queued then
            out += self._due(rec, t, pol)
            after = self.record(fp)
            if after is not None and (nxt := after.deadline(pol)) is not None and nxt <= now:
                heapq.heappush(heap, (nxt, 0, fp))
        return out

    def _due(self, rec: AlertRecord, t: datetime, pol: AlertPolicy) -> list[Alert]:
        """A record's deadline ``t`` has come: release a flap hold or resolve when quiet."""
        if not rec.flapping:
            return self._resolve(rec, t)
        rec.flapping = False
        quiet = quiet_deadline(rec.pending_resolve, rec.last_match_at, pol)
        if rec.pending_resolve or (quiet is not None and quiet <= t):
            return self._resolve(rec, t, force=True)
        self._save(rec)
        return []

    # ------------------------------------------------------------- transitions

    def _fire(self, old: AlertRecord | None, f: Finding) -> list[Alert]:
        pol = self._policy(f.rule, f.severity, f.risk_weight, f.tags)
        rec = AlertRecord(
            fingerprint=fingerprint(f.rule, f.asset, f.group),
            rule=f.rule,
            rule_version=f.rule_version,
            asset=f.asset,
            unit=f.unit,
            severity=f.severity,
            title=f.title,
            state="firing",
            seq=old.seq if old else 0,
            started_at=f.at,
            at=f.at,
            last_match_at=f.at,
            last_activity_at=f.at,
            group=dict(f.group),
            risk_weight=pol.risk_weight if f.rule in self._policies else f.risk_weight,
            tags=tuple(f.tags) or pol.tags,
            explanation=f.explanation,
            evidence=tuple(f.evidence)[-EVIDENCE_LIMIT:],
            sources=tuple(f.sources)[-SOURCES_LIMIT:],
            changes=(*_recent(old.changes if old else (), f.at, pol), f.at),
        )
        rec.suppressed_by = self._suppression_of(rec, f.at)
        out = [self._emit(rec, f.at)]
        if pol.inhibits:
            out += self._refresh(f.at)
        return out

    def _resolve(self, rec: AlertRecord, t: datetime, *, force: bool = False) -> list[Alert]:
        pol = self._policy(rec.rule, rec.severity, rec.risk_weight, rec.tags)
        recent = _recent(rec.changes, t, pol)
        if not force and len(recent) >= pol.flap_max_changes:
            rec.flapping = rec.pending_resolve = True
            self._save(rec)
            return []
        rec.state, rec.resolved_at, rec.actor = "resolved", t, None
        rec.changes = (*recent, t)
        rec.flapping = rec.pending_resolve = False
        rec.suppressed_by = self._suppression_of(rec, t)
        out = [self._emit(rec, t)]
        if pol.inhibits:
            out += self._refresh(t)
        return out

    def _refresh(self, t: datetime) -> list[Alert]:
        """Re-mark every active alert's suppression at ``t``; emit the changes."""
        out = []
        active = self._state.active()
        sources = self._sources()
        silences = [s for s in self.silences() if s.active(t)]
        for d in active:
            labels = self._sup.labels_of(d)
            by = self._sup.suppressed_by(d["fingerprint"], labels, t, sources, silences)
            if list(by) != d["suppressed_by"]:
                rec = AlertRecord.from_dict(d)
                rec.suppressed_by = by
                out.append(self._emit(rec, t))
        return out

    def _emit(self, rec: AlertRecord, t: datetime) -> Alert:
        rec.seq += 1
        rec.at = t
        self._save(rec)
        return rec.to_alert()

    def _suppression_of(self, rec: AlertRecord, t: datetime) -> tuple[str, ...]:
        sup = self._sup
        labels = sup.labels(rec.rule, rec.asset, rec.unit, rec.severity, rec.tags)
        return sup.suppressed_by(rec.fingerprint, labels, t, self._sources(), self.silences())

    def _sources(self) -> list[InhibitSource]:
        """The active inhibiting alerts: this store's, and those the driver says fire elsewhere."""
        own = self._state.inhibitors()
        if self._external is None:
            return self._sup.sources(own)
        mine = {d["fingerprint"] for d in own}
        others = [
            d
            for d in self._external()
            if d["state"] in ACTIVE and d["fingerprint"] not in mine and self._inhibits(d["rule"])
        ]
        return self._sup.sources([*own, *others])

    def _inhibits(self, rule: str) -> bool:
        pol = self._policies.get(rule)
        return pol is not None and bool(pol.inhibits)

    # ---------------------------------------------------------------- schedule

    def _next_due(self, after: datetime | None) -> datetime | None:
        """The earliest time something is due after ``after`` (deadlines may be overdue)."""
        candidates: list[datetime] = []
        assets = []
        for d in self._state.active():
            if (due := raw_deadline(d, self._policy_of(d))) is not None:
                candidates.append(due)
            if (a := self._sup.asset(d["asset"])) is not None:
                assets.append(a)
        for s in self.silences():
            bounds = (s.starts_at, s.end, s.end + SILENCE_RETENTION)
            candidates += [t for t in bounds if after is None or t > after]
        if after is not None and (b := next_boundary(assets, after)) is not None:
            candidates.append(b)
        return min(candidates, default=None)

    def _advance(
        self,
        t: datetime,
        fp: str | None = None,
        silence: Silence | None = None,
        rec: AlertRecord | None = None,
    ) -> None:
        """Move the clock to ``t`` and bring forward ``next_due`` for what just changed."""
        clock, due = self._state.times()
        clock = t if clock is None else max(clock, t)
        candidates = [] if due is None else [due]
        if rec is None and fp:
            rec = self.record(fp)
        if rec is not None and rec.active:
            pol = self._policy(rec.rule, rec.severity, rec.risk_weight, rec.tags)
            if (own := rec.deadline(pol)) is not None:
                candidates.append(own)
            asset = self._sup.asset(rec.asset)
            if asset is not None and (b := next_boundary([asset], clock)) is not None:
                candidates.append(b)
        if silence is not None:
            bounds = (silence.starts_at, silence.end, silence.end + SILENCE_RETENTION)
            candidates += [x for x in bounds if x > clock]
        self._state.set_times(clock, min(candidates, default=None))

    # ------------------------------------------------------------------- store

    def _policy(
        self, rule: str, severity: str, risk_weight: float, tags: tuple[str, ...]
    ) -> AlertPolicy:
        """The rule's policy, or defaults for a rule no longer loaded."""
        pol = self._policies.get(rule)
        return pol or AlertPolicy(rule=rule, severity=severity, risk_weight=risk_weight, tags=tags)

    def _policy_of(self, d: dict[str, Any]) -> AlertPolicy:
        return self._policy(d["rule"], d["severity"], d["risk_weight"], tuple(d["tags"]))

    def _save(self, rec: AlertRecord) -> None:
        self._state.save(rec)


def _absorb(rec: AlertRecord, f: Finding) -> None:
    """Fold a finding's evidence into an active record (no event)."""
    seen = set(rec.evidence)
    rec.evidence = (*rec.evidence, *(e for e in f.evidence if e not in seen))[-EVIDENCE_LIMIT:]
    rec.sources = (*rec.sources, *f.sources)[-SOURCES_LIMIT:]
    if f.explanation:
        rec.explanation = f.explanation
    if f.kind == "match":
        rec.title, rec.severity, rec.rule_version = f.title, f.severity, f.rule_version
    rec.last_activity_at = max(rec.last_activity_at, f.at)


def _recent(changes: tuple[datetime, ...], t: datetime, pol: AlertPolicy) -> tuple[datetime, ...]:
    start = t - timedelta(seconds=pol.flap_window_s)
    return tuple(c for c in changes if c > start)
