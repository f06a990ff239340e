"""The delivery log: one JSON record per attempt on ``ssa.notifications``.

Auditors read it to see who was told what and when; the notifier reads it
back on start so that what was confirmed is never sent again. A record names
the channel, receiver and recipients (names and email addresses, never
credentials), the result of the attempt, its number, the time, the
idempotency key, the alert keys (``fingerprint:state:seq[:suffix]``) the
message covered, and for failures the reason.

``Ledger`` is the reduced form: which alert keys are settled (delivered, or
given up on) for which destination, and who was told about which alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from engine.errors import EventError
from engine.events import SCHEMA_VERSION, Alert, format_time, parse_time

#: Results of an attempt. ``ok`` and ``dead`` settle the delivery; ``error`` will be retried.
RESULTS = ("ok", "error", "dead")


@dataclass(frozen=True, slots=True)
class AlertRef:
    """The part of an alert a record keeps, enough to rebuild rectification items."""

    fingerprint: str
    seq: int
    state: str
    asset: str
    unit: str
    severity: str
    rule: str
    title: str
    #: When the alert's episode started (wire form): a new episode is news again.
    started_at: str = ""

    @classmethod
    def of(cls, a: Alert) -> AlertRef:
        return cls(
            a.fingerprint,
            a.seq,
            a.state,
            a.asset,
            a.unit,
            a.severity,
            a.rule,
            a.title,
            format_time(a.started_at),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "seq": self.seq,
            "state": self.state,
            "asset": self.asset,
            "unit": self.unit,
            "severity": self.severity,
            "rule": self.rule,
            "title": self.title,
            "started_at": self.started_at,
        }


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One attempt to deliver one message."""

    at: datetime
    channel: str
    receiver: str
    #: The destination: a recipient's address for per-recipient channels, else "*".
    recipient: str
    result: str
    attempt: int
    idempotency_key: str
    keys: tuple[str, ...]
    kind: str
    level: int = 1
    route: str = ""
    group_key: str = ""
    recipients: tuple[str, ...] = ()
    alerts: tuple[AlertRef, ...] = ()
    reason: str = ""
    v: int = SCHEMA_VERSION

    @property
    def dest(self) -> str:
        """The destination this record settles keys for."""
        return f"{self.receiver}|{self.recipient}"

    @property
    def fingerprint(self) -> str:
        """The Kafka key of the record: the first alert's fingerprint."""
        return self.alerts[0].fingerprint if self.alerts else self.idempotency_key

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "at": format_time(self.at),
            "channel": self.channel,
            "receiver": self.receiver,
            "recipient": self.recipient,
            "result": self.result,
            "attempt": self.attempt,
            "idempotency_key": self.idempotency_key,
            "keys": list(self.keys),
            "kind": self.kind,
            "level": self.level,
            "route": self.route,
            "group_key": self.group_key,
            "recipients": list(self.recipients),
            "alerts": [a.to_dict() for a in self.alerts],
            "reason": self.reason,
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_json(cls, raw: bytes) -> DeliveryRecord:
        """Decode a record from the log; ``EventError`` if it is not one."""
        try:
            d = orjson.loads(raw)
            return cls.from_dict(d)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise EventError("notification", "", f"not a delivery record: {e}") from None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DeliveryRecord:
        if d.get("v") != SCHEMA_VERSION:
            raise ValueError(f"unsupported schema version {d.get('v')!r}")
        if d["result"] not in RESULTS:
            raise ValueError(f"unknown result {d['result']!r}")
        return cls(
            at=parse_time(d["at"]),
            channel=str(d["channel"]),
            receiver=str(d["receiver"]),
            recipient=str(d["recipient"]),
            result=d["result"],
            attempt=int(d["attempt"]),
            idempotency_key=str(d["idempotency_key"]),
            keys=tuple(str(k) for k in d["keys"]),
            kind=str(d["kind"]),
            level=int(d.get("level", 1)),
            route=str(d.get("route", "")),
            group_key=str(d.get("group_key", "")),
            recipients=tuple(str(r) for r in d.get("recipients", ())),
            alerts=tuple(AlertRef(**a) for a in d.get("alerts", ())),
            reason=str(d.get("reason", "")),
        )


@dataclass
class Ledger:
    """What the delivery log says is done, reduced for quick questions."""

    #: (destination, alert key) pairs that are delivered or dead-lettered.
    settled: set[tuple[str, str]] = field(default_factory=set)
    #: (destination, fingerprint) pairs that were told the alert fired.
    told: set[tuple[str, str]] = field(default_factory=set)
    #: (destination, fingerprint, episode start) triples told as firing.
    episodes: set[tuple[str, str, str]] = field(default_factory=set)
    #: idempotency keys confirmed delivered (``ok``), for the exactly-once checks.
    confirmed: set[str] = field(default_factory=set)

    def add(self, record: DeliveryRecord) -> None:
        """Take one record into account (``error`` attempts change nothing)."""
        if record.result not in ("ok", "dead"):
            return
        for key in record.keys:
            self.settled.add((record.dest, key))
        if record.result == "ok":
            self.confirmed.add(record.idempotency_key)
            if record.kind in ("firing", "escalation", "overdue"):
                for a in record.alerts:
                    self.told.add((record.dest, a.fingerprint))
                    self.episodes.add((record.dest, a.fingerprint, a.started_at))

    def is_settled(self, dest: str, key: str) -> bool:
        return (dest, key) in self.settled

    def was_told(self, dest: str, fingerprint: str) -> bool:
        return (dest, fingerprint) in self.told

    def knows_episode(self, dest: str, fingerprint: str, started_at: str) -> bool:
        """True if ``dest`` was told this episode of the alert fired (any seq)."""
        return (dest, fingerprint, started_at) in self.episodes
