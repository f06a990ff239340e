"""The notifier's pure core: alerts and controls in, messages to deliver out.

``NotifyCore`` ties routing, grouping, escalation and rectification together
on a clock passed in. The service (``engine.notify.service``) feeds it
alerts, controls and delivery records and asks ``tick(now)`` for the
messages due; tests drive it the same way with a virtual clock. The core
never sends twice what the delivery log settled for a destination: every
message lists the alert keys it covers (``fingerprint:state:seq`` plus
``:rN`` for the N-th repeat, ``:L<level>`` for an escalation, ``:overdue``
for an overdue rectification), and keys settled or in flight are skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from engine.durations import format_duration
from engine.events import Alert, Control, format_time
from engine.inventory.model import Inventory
from engine.notifiers import Message, Recipient
from engine.notify.escalation import Escalations
from engine.notify.grouping import Batch, Grouper
from engine.notify.records import AlertRef, DeliveryRecord, Ledger
from engine.notify.rectify import Item, Rectifications, ReprobeRequest
from engine.notify.routes import Route, RouteSet


@dataclass(frozen=True, slots=True)
class Dispatch:
    """One message for one destination, with the alert keys it settles once delivered."""

    message: Message
    route: str
    #: A recipient's address for per-recipient channels, else "*".
    recipient: str
    keys: tuple[str, ...]

    @property
    def dest(self) -> str:
        return f"{self.message.receiver}|{self.recipient}"


def alert_key(alert: Alert, suffix: str = "") -> str:
    """The idempotency key of one alert state: ``fingerprint:state:seq`` (+ suffix)."""
    return f"{alert.fingerprint}:{alert.state}:{alert.seq}{suffix}"


def idempotency_key(receiver: str, recipient: str, keys: Sequence[str]) -> str:
    """The message's key: its one alert key, or a digest of several, per destination."""
    body = (
        keys[0]
        if len(keys) == 1
        else "g" + hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:32]
    )
    return f"{receiver}/{recipient}/{body}"


class NotifyCore:
    """Routing, grouping, escalation and rectification for one notifier process."""

    def __init__(self, routes: RouteSet, inventory: Inventory, grafana_url: str = "") -> None:
        self.routes = routes
        self.by_name = {r.name: r for r in routes.routes}
        self.inventory = inventory
        self.grafana_url = grafana_url
        self.grouper = Grouper()
        self.escalations = Escalations()
        self.rectify = Rectifications(routes.rectification.deadlines, routes.rectification.verify_s)
        self.ledger = Ledger()
        self.inflight: set[tuple[str, str]] = set()
        #: The latest state of every alert seen, by fingerprint.
        self.latest: dict[str, Alert] = {}

    # ------------------------------------------------------------------ input

    def on_alert(self, alert: Alert, now: datetime) -> None:
        """An alert changed state (from ``ssa.alerts``)."""
        prev = self.latest.get(alert.fingerprint)
        if prev is not None and prev.seq >= alert.seq:
            return  # a duplicate or an older state, e.g. redelivered after a rebalance
        self.latest[alert.fingerprint] = alert
        self.escalations.update(alert)
        self.rectify.on_alert(alert)
        for route in self.routes.matching(alert):
            if alert.state == "resolved":
                # Told even when silenced now: whoever heard it fire must hear it end.
                if route.timers.send_resolved:
                    self.grouper.add(route, alert, now)
                else:
                    self.grouper.drop(route, alert)
            elif alert.suppressed:
                self.grouper.drop(route, alert)
            else:
                self.grouper.add(route, alert, now)

    def on_control(self, control: Control) -> list[ReprobeRequest]:
        """An operator's or unit's action (from ``ssa.control``)."""
        if control.kind in ("ack", "unack") and control.target:
            self.escalations.ack(control.target, control.kind == "ack")
        request = self.rectify.on_control(control)
        return [request] if request else []

    def on_record(self, record: DeliveryRecord) -> None:
        """A delivery attempt was recorded (live, or read back from the log on start)."""
        if record.result == "error":
            return
        for key in record.keys:
            self.inflight.discard((record.dest, key))
        self.ledger.add(record)
        if record.result != "ok":
            return
        route = self.by_name.get(record.route)
        if record.kind == "firing" and record.level == 1 and route is not None:
            for a in record.alerts:
                if a.state != "firing":
                    continue
                self.escalations.notified(route.name, a.fingerprint, a.seq, record.at)
                if route.recipients == "contacts":
                    self.rectify.open(route.name, a, record.at)
        elif record.kind == "escalation":
            for a in record.alerts:
                self.escalations.reached(record.route, a.fingerprint, record.level)
        elif record.kind == "overdue":
            for a in record.alerts:
                item = self.rectify.items.get(a.fingerprint)
                if item is not None:
                    item.escalated = True

    # ----------------------------------------------------------------- output

    def next_wakeup(self) -> datetime | None:
        """When ``tick`` next has something to do (``None``: only on new input)."""
        times = [
            self.grouper.next_due(),
            self.escalations.next_due(self.by_name),
            self.rectify.next_deadline(),
        ]
        present = [t for t in times if t is not None]
        return min(present) if present else None

    def tick(self, now: datetime) -> list[Dispatch]:
        """Every message due at ``now``: group notices, escalations, overdue rectifications."""
        out: list[Dispatch] = []
        for batch in self.grouper.due(now):
            out += self._batch(batch, now)
        while due := self.escalations.due(now, self.by_name):
            for watch, level in due:
                self.escalations.reached(watch.route, watch.fingerprint, level.level)
                alert = self.latest.get(watch.fingerprint)
                if alert is None or alert.state == "resolved":
                    continue
                note = (
                    f"Not acknowledged within {format_duration(level.after)}: "
                    f"escalated to level {level.level}"
                )
                out += self._compose(
                    self.by_name[watch.route],
                    level.receiver,
                    "escalation",
                    [alert],
                    level.level,
                    f":L{level.level}",
                    note=note,
                )
        self.rectify.verified(now)
        for item in self.rectify.overdue(now):
            out += self._overdue(item)
        return out

    def _batch(self, batch: Batch, now: datetime) -> list[Dispatch]:
        route = batch.route
        out: list[Dispatch] = []
        firing = [a for a in batch.alerts if a.state == "firing"]
        if batch.repeat:
            rounds = route.timers.repeat_interval
            for a in firing:
                if a.fingerprint in self.escalations.acked:
                    continue  # someone is on it: no reminders
                n = max(1, int((now - a.at).total_seconds() // rounds))
                out += self._compose(route, route.receiver, "firing", [a], 1, f":r{n}")
        else:
            out += self._compose(route, route.receiver, "firing", firing, 1)
        resolved = [a for a in batch.alerts if a.state == "resolved"]
        if resolved:
            top = max(self.escalations.level_of(a.fingerprint) for a in resolved)
            for level in range(1, max(top, 1 + len(route.escalation)) + 1):
                out += self._compose(
                    route, route.receiver_of(level), "resolved", resolved, level, only_told=True
                )
        return out

    def _overdue(self, item: Item) -> list[Dispatch]:
        route = self.by_name.get(item.route)
        alert = self.latest.get(item.fingerprint)
        if route is None or alert is None:
            return []
        item.escalated = True
        level = self.escalations.level_of(item.fingerprint) + 1
        note = (
            f"Rectification overdue: deadline {format_time(item.deadline)} passed, "
            f"state {item.state}"
        )
        out = self._compose(
            route, route.receiver_of(level), "overdue", [alert], level, ":overdue", note=note
        )
        extra = self.routes.rectification.receiver
        if extra and extra != route.receiver_of(level):
            out += self._compose(
                route, extra, "overdue", [alert], level, ":overdue", note=note, with_contacts=False
            )
        return out

    # ---------------------------------------------------------------- helpers

    def recipients(self, unit: str, level: int) -> tuple[Recipient, ...]:
        """The unit's contacts at ``level``; past the last level, the highest there is."""
        u = self.inventory.units.get(unit)
        if u is None or not u.contacts:
            return ()
        at = [c for c in u.contacts if c.level == level]
        if not at:
            below = [c.level for c in u.contacts if c.level <= level]
            at = [c for c in u.contacts if below and c.level == max(below)]
        return tuple(Recipient(c.name, c.email, c.phone, dict(c.channels), c.level) for c in at)

    def _compose(
        self,
        route: Route,
        receiver: str,
        kind: str,
        alerts: Iterable[Alert],
        level: int,
        suffix: str = "",
        *,
        note: str = "",
        only_told: bool = False,
        with_contacts: bool = True,
    ) -> list[Dispatch]:
        rcv = self.routes.receivers.get(receiver)
        if rcv is None:
            return []
        by_unit: dict[str, list[Alert]] = {}
        for a in alerts:
            by_unit.setdefault(a.unit, []).append(a)
        out = []
        for unit, members in sorted(by_unit.items()):
            people: tuple[Recipient, ...] = ()
            if with_contacts and route.recipients == "contacts":
                people = self.recipients(unit, level)
            dests: list[tuple[str, tuple[Recipient, ...]]]
            if rcv.notifier.per_recipient and any(p.email for p in people):
                dests = [(p.address, (p,)) for p in people if p.email]
            else:
                dests = [("*", people)]
            for label, who in dests:
                d = self._dispatch(
                    route, receiver, label, who, kind, members, level, suffix, note, only_told
                )
                if d is not None:
                    out.append(d)
        return out

    def _dispatch(
        self,
        route: Route,
        receiver: str,
        label: str,
        who: tuple[Recipient, ...],
        kind: str,
        alerts: list[Alert],
        level: int,
        suffix: str,
        note: str,
        only_told: bool,
    ) -> Dispatch | None:
        dest = f"{receiver}|{label}"
        todo = []
        for a in alerts:
            key = alert_key(a, suffix)
            if self.ledger.is_settled(dest, key) or (dest, key) in self.inflight:
                continue
            if only_told and not self.ledger.was_told(dest, a.fingerprint):
                continue
            if (
                kind == "firing"
                and not suffix
                and self.ledger.knows_episode(dest, a.fingerprint, format_time(a.started_at))
            ):
                continue  # same episode, e.g. firing again after a silence or an unack
            todo.append((a, key))
        if not todo:
            return None
        keys = tuple(k for _, k in todo)
        self.inflight.update((dest, k) for k in keys)
        members = tuple(a for a, _ in todo)
        message = Message(
            receiver=receiver,
            channel=self.routes.receivers[receiver].channel,
            kind=kind,
            alerts=members,
            idempotency_key=idempotency_key(receiver, label, keys),
            recipients=who,
            level=level,
            group_key=route.group_key(members[0]),
            unit_names={
                u.id: u.name
                for u in self.inventory.units.values()
                if any(a.unit == u.id for a in members)
            },
            asset_names={
                a.asset: self.inventory.assets[a.asset].name
                for a in members
                if a.asset in self.inventory.assets
            },
            grafana_url=self.grafana_url,
            note=note,
        )
        return Dispatch(message, route.name, label, keys)

    def refs(self, dispatch: Dispatch) -> tuple[AlertRef, ...]:
        """The alert references a delivery record of ``dispatch`` keeps."""
        return tuple(AlertRef.of(a) for a in dispatch.message.alerts)
