"""The rectification loop (通报整改): a unit told about a problem must fix it.

An item opens when an alert's first notice reaches the unit's contacts. The
unit acknowledges it (Control ``ack``) and reports it fixed (Control
``fixed``). A fix report asks the collectors to re-probe the asset at once
(a Control ``fixed`` carrying ``{"asset", "fingerprint"}``; the notifier
publishes one if the report lacked it). The alert lifecycle resolves the
alert on the report; the re-probe then either matches the rule again (the
alert fires again: the fix failed, the item goes back to ``acknowledged``)
or it does not. So an item closes as ``re-probe passed`` only when its
alert resolved after the report and stayed resolved for ``verify_s``
(routes.yaml ``rectification.verify_after``). An alert that resolves with no
fix report closes its item as ``recovered``. An item still open past its
deadline (by severity) is overdue: it escalates once and counts in
``ssa_rectifications_overdue{unit}``.

The clock is passed in; ``ssa rectify list`` rebuilds the same items from
the topics exactly as the notifier holds them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from engine.events import Alert, Control, format_time
from engine.notify.records import AlertRef

STATES = ("open", "acknowledged", "fixed", "closed")


@dataclass
class Item:
    """One alert a unit was told to rectify."""

    fingerprint: str
    unit: str
    asset: str
    severity: str
    title: str
    route: str
    #: The alert's sequence number when the item opened; older events are ignored.
    seq: int
    opened_at: datetime
    deadline: datetime
    state: str = "open"
    acked_at: datetime | None = None
    acked_by: str | None = None
    fixed_at: datetime | None = None
    fixed_by: str | None = None
    closed_at: datetime | None = None
    #: Set while a fixed item's alert stays resolved: it closes at this time.
    verify_until: datetime | None = None
    resolution: str = ""
    overdue: bool = False
    #: True once the overdue escalation was sent (or is being sent).
    escalated: bool = False
    history: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form shown by ``ssa rectify list --json`` and the API."""

        def t(x: datetime | None) -> str | None:
            return format_time(x) if x else None

        return {
            "fingerprint": self.fingerprint,
            "unit": self.unit,
            "asset": self.asset,
            "severity": self.severity,
            "title": self.title,
            "route": self.route,
            "state": self.state,
            "opened_at": t(self.opened_at),
            "deadline": t(self.deadline),
            "acked_at": t(self.acked_at),
            "acked_by": self.acked_by,
            "fixed_at": t(self.fixed_at),
            "fixed_by": self.fixed_by,
            "closed_at": t(self.closed_at),
            "verify_until": t(self.verify_until),
            "resolution": self.resolution,
            "overdue": self.overdue,
            "history": list(self.history),
        }


@dataclass(frozen=True, slots=True)
class ReprobeRequest:
    """Ask the collectors to re-probe ``asset`` now because ``fingerprint`` was fixed."""

    asset: str
    fingerprint: str
    actor: str


class Rectifications:
    """Every rectification item, by fingerprint (a closed item is replaced if it fires again)."""

    def __init__(self, deadlines: Mapping[str, float], verify_s: float = 600.0) -> None:
        self.deadlines = dict(deadlines)
        self.verify_s = verify_s
        self.items: dict[str, Item] = {}

    def open(self, route: str, alert: AlertRef, at: datetime) -> Item | None:
        """The unit was first told about ``alert`` at ``at``: open an item unless one is open."""
        cur = self.items.get(alert.fingerprint)
        if cur is not None and (cur.state != "closed" or cur.seq >= alert.seq):
            return None
        if alert.state == "resolved":
            return None
        deadline = at + timedelta(seconds=self.deadlines.get(alert.severity, 86400.0))
        item = Item(
            alert.fingerprint,
            alert.unit,
            alert.asset,
            alert.severity,
            alert.title,
            route,
            alert.seq,
            at,
            deadline,
        )
        item.history.append(f"{format_time(at)} opened, deadline {format_time(deadline)}")
        self.items[alert.fingerprint] = item
        return item

    def on_control(self, c: Control) -> ReprobeRequest | None:
        """Apply an ``ack``/``unack``/``fixed`` control; a fixed item asks for a re-probe."""
        item = self.items.get(c.target or "")
        if item is None or item.state == "closed" or c.at < item.opened_at:
            return None
        if c.kind == "ack" and item.state == "open":
            item.state, item.acked_at, item.acked_by = "acknowledged", c.at, c.actor
            item.history.append(f"{format_time(c.at)} acknowledged by {c.actor}")
        elif c.kind == "unack" and item.state == "acknowledged":
            item.state = "open"
            item.history.append(f"{format_time(c.at)} acknowledgement withdrawn by {c.actor}")
        elif c.kind == "fixed" and item.state in ("open", "acknowledged"):
            if item.acked_at is None:
                item.acked_at, item.acked_by = c.at, c.actor
            item.state, item.fixed_at, item.fixed_by = "fixed", c.at, c.actor
            item.history.append(f"{format_time(c.at)} reported fixed by {c.actor}; re-probe")
            if c.data.get("asset") != item.asset:
                # The report did not carry the re-probe request: publish one.
                return ReprobeRequest(item.asset, item.fingerprint, c.actor)
        return None

    def on_alert(self, alert: Alert) -> None:
        """Follow the item's alert: resolving starts verification (or closes the item);
        firing again after a fix report means the fix failed."""
        item = self.items.get(alert.fingerprint)
        if item is None or item.state == "closed" or alert.seq < item.seq:
            return
        if alert.state == "resolved":
            if item.state == "fixed":
                if item.verify_until is None:
                    item.verify_until = alert.at + timedelta(seconds=self.verify_s)
                    item.history.append(
                        f"{format_time(alert.at)} resolved; verifying until "
                        f"{format_time(item.verify_until)}"
                    )
            else:
                item.state, item.closed_at, item.resolution = "closed", alert.at, "recovered"
                item.history.append(f"{format_time(alert.at)} closed: recovered")
        elif item.state == "fixed" and item.fixed_at is not None:
            # A new state change (not the one that opened the item) after the report.
            if alert.seq > item.seq and alert.at >= item.fixed_at:
                item.state, item.verify_until = "acknowledged", None
                item.history.append(f"{format_time(alert.at)} re-probe failed: fired again")

    def verified(self, now: datetime) -> list[Item]:
        """Close fixed items whose alert stayed resolved through verification."""
        out = []
        for fp in sorted(self.items):
            item = self.items[fp]
            if item.state == "fixed" and item.verify_until and item.verify_until <= now:
                item.state, item.closed_at = "closed", item.verify_until
                item.resolution = "re-probe passed"
                item.history.append(f"{format_time(item.verify_until)} closed: re-probe passed")
                out.append(item)
        return out

    def overdue(self, now: datetime) -> list[Item]:
        """Items that just passed their deadline unclosed; each is returned once."""
        out = []
        for fp in sorted(self.items):
            item = self.items[fp]
            if item.state != "closed" and not item.overdue and now >= item.deadline:
                item.overdue = True
                item.history.append(f"{format_time(now)} overdue")
                out.append(item)
        return out

    def next_deadline(self) -> datetime | None:
        """The next deadline or end of verification, for the caller's timer."""
        times = [i.deadline for i in self.items.values() if i.state != "closed" and not i.overdue]
        times += [
            i.verify_until
            for i in self.items.values()
            if i.state == "fixed" and i.verify_until is not None
        ]
        return min(times) if times else None

    def overdue_by_unit(self) -> dict[str, int]:
        """How many unclosed items are overdue, per unit (the metric's values)."""
        return dict(
            Counter(i.unit for i in self.items.values() if i.overdue and i.state != "closed")
        )

    def listing(self, include_closed: bool = False) -> list[Item]:
        """Items for ``ssa rectify list``: overdue first, then by deadline."""
        items = [i for i in self.items.values() if include_closed or i.state != "closed"]
        return sorted(items, key=lambda i: (not i.overdue, i.deadline, i.fingerprint))
