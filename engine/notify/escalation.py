"""Escalation: when nobody acknowledges an alert in time, tell the next level.

An alert is watched from its first delivered notice. Each level of its
route's ``escalation`` list comes due ``after`` seconds past that notice;
an acknowledgement (a Control ``ack`` or the alert turning
``acknowledged``) stops the climb, ``unack`` resumes it, a silence pauses
it while it lasts, and resolving the alert ends the watch. The clock is passed in: ``due(now)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.events import Alert
from engine.notify.routes import Level, Route


@dataclass
class Watch:
    """One notified, unresolved alert on one route."""

    route: str
    fingerprint: str
    #: The alert's sequence number when it was first told; older events are ignored.
    seq: int
    first_at: datetime
    acked: bool = False
    #: The highest level told so far (1 = the first notice).
    level: int = 1


class Escalations:
    """Every watched alert, by fingerprint."""

    def __init__(self) -> None:
        self.watches: dict[str, Watch] = {}
        #: Fingerprints acknowledged before (or without) a watch, e.g. replayed controls.
        self.acked: set[str] = set()
        #: Fingerprints silenced (suppressed) now: their climb pauses.
        self.muted: set[str] = set()

    def notified(self, route: str, fingerprint: str, seq: int, at: datetime) -> None:
        """The first notice of an alert (at ``seq``) on ``route`` was delivered at ``at``."""
        w = self.watches.get(fingerprint)
        if w is None:
            self.watches[fingerprint] = Watch(
                route, fingerprint, seq, at, acked=fingerprint in self.acked
            )
        elif at < w.first_at:
            w.first_at = at

    def reached(self, fingerprint: str, level: int) -> None:
        """Level ``level`` was told (or is being told) about this alert."""
        w = self.watches.get(fingerprint)
        if w is not None and level > w.level:
            w.level = level

    def ack(self, fingerprint: str, acked: bool = True) -> None:
        """Someone acknowledged the alert (or took the acknowledgement back)."""
        if acked:
            self.acked.add(fingerprint)
        else:
            self.acked.discard(fingerprint)
        w = self.watches.get(fingerprint)
        if w is not None:
            w.acked = acked

    def update(self, alert: Alert) -> None:
        """The alert changed state: acknowledged stops the climb, resolved ends the watch."""
        w = self.watches.get(alert.fingerprint)
        if w is not None and alert.seq < w.seq:
            return  # an older episode, replayed after the notice that started the watch
        if alert.suppressed and alert.state != "resolved":
            self.muted.add(alert.fingerprint)
        else:
            self.muted.discard(alert.fingerprint)
        if alert.state == "resolved":
            self.watches.pop(alert.fingerprint, None)
            self.acked.discard(alert.fingerprint)
        elif alert.state == "acknowledged":
            self.ack(alert.fingerprint)

    def level_of(self, fingerprint: str) -> int:
        """The highest level told about this alert (1 if it is not watched)."""
        w = self.watches.get(fingerprint)
        return w.level if w else 1

    def _next(self, w: Watch, routes: Mapping[str, Route]) -> Level | None:
        route = routes.get(w.route)
        if route is None or w.acked or w.fingerprint in self.muted:
            return None
        for lv in route.escalation:
            if lv.level > w.level:
                return lv
        return None

    def next_due(self, routes: Mapping[str, Route]) -> datetime | None:
        """When the next level comes due for any watched alert."""
        times = []
        for w in self.watches.values():
            lv = self._next(w, routes)
            if lv is not None:
                times.append(w.first_at + timedelta(seconds=lv.after))
        return min(times) if times else None

    def due(self, now: datetime, routes: Mapping[str, Route]) -> list[tuple[Watch, Level]]:
        """Every (watch, level) due at ``now``; the caller tells them and calls ``reached``."""
        out = []
        for fp in sorted(self.watches):
            w = self.watches[fp]
            lv = self._next(w, routes)
            if lv is not None and w.first_at + timedelta(seconds=lv.after) <= now:
                out.append((w, lv))
        return out
