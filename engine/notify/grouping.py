"""Alert groups and their timers, as in Alertmanager, on a clock passed in.

Alerts that a route sends to the same group (route name + group-by values)
are told together. A new group waits ``group_wait`` for more alerts before
its first notice; after that, changes are told at most every
``group_interval``; firing alerts nobody changed are told again every
``repeat_interval``. Resolved alerts leave the group once told.

Nothing here reads the clock: ``add(route, alert, now)`` and ``due(now)``
take the time, so the same inputs always give the same batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from engine.events import Alert
from engine.notify.routes import Route


@dataclass(frozen=True, slots=True)
class Batch:
    """The alerts of one group to tell now; ``repeat`` marks a repeat of unchanged alerts."""

    route: Route
    group_key: str
    alerts: tuple[Alert, ...]
    at: datetime
    repeat: bool = False


@dataclass
class Group:
    """One group's members and timers."""

    route: Route
    key: str
    created_at: datetime
    alerts: dict[str, Alert] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    flushed_at: datetime | None = None
    repeated_at: datetime | None = None

    def due_at(self) -> datetime | None:
        """When this group next has something to tell, or ``None``."""
        t = self.route.timers
        if self.flushed_at is None:
            return self.created_at + timedelta(seconds=t.group_wait) if self.changed else None
        if self.changed:
            return self.flushed_at + timedelta(seconds=t.group_interval)
        if any(a.state == "firing" for a in self.alerts.values()):
            since = max(self.flushed_at, self.repeated_at or self.flushed_at)
            return since + timedelta(seconds=t.repeat_interval)
        return None


class Grouper:
    """Every group of every route."""

    def __init__(self) -> None:
        self.groups: dict[str, Group] = {}

    def add(self, route: Route, alert: Alert, now: datetime) -> None:
        """An alert changed state; it joins (or updates) its group on ``route``."""
        key = route.group_key(alert)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(route, key, now)
        old = group.alerts.get(alert.fingerprint)
        if old is not None and old.seq > alert.seq:
            return  # a late duplicate of an older state
        group.alerts[alert.fingerprint] = alert
        if alert.state != "acknowledged":
            group.changed.add(alert.fingerprint)

    def drop(self, route: Route, alert: Alert) -> None:
        """Forget an alert that must not be told (silenced while firing)."""
        group = self.groups.get(route.group_key(alert))
        if group is not None:
            group.alerts.pop(alert.fingerprint, None)
            group.changed.discard(alert.fingerprint)
            if not group.alerts:
                del self.groups[group.key]

    def next_due(self) -> datetime | None:
        """The earliest time a group has something to tell."""
        times = [t for g in self.groups.values() if (t := g.due_at()) is not None]
        return min(times) if times else None

    def due(self, now: datetime) -> list[Batch]:
        """Every batch due at ``now``, oldest group first; resolved members leave their group."""
        out: list[Batch] = []
        for key in sorted(self.groups, key=lambda k: (self.groups[k].created_at, k)):
            group = self.groups[key]
            at = group.due_at()
            if at is None or at > now:
                continue
            repeat = not group.changed
            if repeat:
                members = [a for a in group.alerts.values() if a.state == "firing"]
                group.repeated_at = now
            else:
                members = [a for a in group.alerts.values() if a.state != "acknowledged"]
                group.flushed_at = now
            group.changed.clear()
            members.sort(key=lambda a: (a.started_at, a.fingerprint))
            if members:
                out.append(Batch(group.route, key, tuple(members), now, repeat))
            for fp in [fp for fp, a in group.alerts.items() if a.state == "resolved"]:
                del group.alerts[fp]
            if not group.alerts:
                del self.groups[key]
        return out
