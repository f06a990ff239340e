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
    """One notified, unresolved alert on one route (an alert can be on several)."""

    route: str
    fingerprint: str
    #: The alert's sequence number when it was first told; older events are ignored.
    seq: int
    first_at: datetime
    #: The highest level told so far (1 = the first notice).
    level: int = 1


class Escalations:
    """Every watched alert, by (fingerprint, route)."""

    def __init__(self) -> None:
        self.watches: dict[tuple[str, str], Watch] = {}
        #: Fingerprints acknowledged now (also before their watch exists, e.g. on replay).
        self.acked: set[str] = set()
        #: Fingerprints silenced (suppressed) now: their climb pauses.
        self.muted: set[str] = set()

    def _of(self, fingerprint: str) -> list[Watch]:
        return [w for (fp, _), w in self.watches.items() if fp == fingerprint]

    def notified(self, route: str, fingerprint: str, seq: int, at: datetime) -> None:
        """The first notice of an alert (at ``seq``) on ``route`` was delivered at ``at``."""
        w = self.watches.get((fingerprint, route))
        if w is None:
            self.watches[(fingerprint, route)] = Watch(route, fingerprint, seq, at)
        elif at < w.first_at:
            w.first_at = at

    def reached(self, route: str, fingerprint: str, level: int) -> None:
        """Level ``level`` of ``route`` was told (or is being told) about this alert."""
        w = self.watches.get((fingerprint, route))
        if w is not None and level > w.level:
            w.level = level

    def ack(self, fingerprint: str, acked: bool = True) -> None:
        """Someone acknowledged the alert (or took the acknowledgement back)."""
        if acked:
            self.acked.add(fingerprint)
        else:
            self.acked.discard(fingerprint)

    def update(self, alert: Alert) -> None:
        """The alert changed state: acknowledged stops the climb, resolved ends the watch."""
        fp = alert.fingerprint
        if any(alert.seq < w.seq for w in self._of(fp)):
            return  # an older episode, replayed after the notice that started the watch
        if alert.suppressed and alert.state != "resolved":
            self.muted.add(fp)
        else:
            self.muted.discard(fp)
        if alert.state == "resolved":
            for w in self._of(fp):
                del self.watches[(fp, w.route)]
            self.acked.discard(fp)
        elif alert.state == "acknowledged":
            self.ack(fp)

    def level_of(self, fingerprint: str) -> int:
        """The highest level told about this alert on any route (1 if it is not watched)."""
        return max((w.level for w in self._of(fingerprint)), default=1)

    def _next(self, w: Watch, routes: Mapping[str, Route]) -> Level | None:
        route = routes.get(w.route)
        if route is None or w.fingerprint in self.acked or w.fingerprint in self.muted:
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
        for key in sorted(self.watches):
            w = self.watches[key]
            lv = self._next(w, routes)
            if lv is not None and w.first_at + timedelta(seconds=lv.after) <= now:
                out.append((w, lv))
        return out
