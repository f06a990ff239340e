"""The lifecycle's state of one alert (one fingerprint), as plain data.

An ``AlertRecord`` is what the lifecycle keeps per fingerprint in its
``StateStore`` (``to_dict``/``from_dict`` give the JSON-able form a Faust
table holds). It spans episodes: a resolved alert that matches again opens a
new episode under the same fingerprint and its ``seq`` keeps counting.
``to_alert`` turns the record into the Alert event of its latest change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from engine.alerting.policy import AlertPolicy
from engine.alerting.silences import AlertLabels
from engine.events import Alert, SourceOffset, format_time, parse_time
from engine.scoring import AlertSnapshot

ACTIVE: tuple[str, ...] = ("firing", "acknowledged")

_TIMES = ("started_at", "at", "last_match_at", "last_activity_at", "resolved_at")


@dataclass(slots=True)
class AlertRecord:
    """Everything the lifecycle knows about one fingerprint."""

    fingerprint: str
    rule: str
    rule_version: str
    asset: str
    unit: str
    severity: str
    title: str
    state: str
    seq: int
    #: Start of the current episode.
    started_at: datetime
    #: Event time of the latest emitted change.
    at: datetime
    #: Event time of the latest match (drives quiet-period resolution).
    last_match_at: datetime
    #: Event time of the latest match or resolve finding (drives flap release).
    last_activity_at: datetime
    resolved_at: datetime | None = None
    group: dict[str, str] = field(default_factory=dict)
    risk_weight: float = 0.0
    tags: tuple[str, ...] = ()
    explanation: str = ""
    evidence: tuple[str, ...] = ()
    sources: tuple[SourceOffset, ...] = ()
    suppressed_by: tuple[str, ...] = ()
    actor: str | None = None
    #: Event times of the state changes (fire, resolve) inside the flap window.
    changes: tuple[datetime, ...] = ()
    #: Flap damping holds the alert firing; ``pending_resolve``: a resolution waits for release.
    flapping: bool = False
    pending_resolve: bool = False

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def labels(self) -> AlertLabels:
        return AlertLabels(self.rule, self.asset, self.unit, self.severity, self.tags)

    def to_alert(self) -> Alert:
        """The Alert event for this record's latest change (hashes left to the ledger)."""
        return Alert(
            fingerprint=self.fingerprint,
            seq=self.seq,
            state=self.state,
            rule=self.rule,
            rule_version=self.rule_version,
            asset=self.asset,
            unit=self.unit,
            severity=self.severity,
            title=self.title,
            at=self.at,
            started_at=self.started_at,
            explanation=self.explanation,
            evidence=self.evidence,
            group=dict(self.group),
            risk_weight=self.risk_weight,
            tags=self.tags,
            suppressed=bool(self.suppressed_by),
            suppressed_by=self.suppressed_by,
            actor=self.actor,
            sources=self.sources,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for the state store."""
        d = {k: getattr(self, k) for k in _PLAIN}
        for k in _TIMES:
            v = getattr(self, k)
            d[k] = format_time(v) if v is not None else None
        d["group"] = dict(self.group)
        d["changes"] = [format_time(t) for t in self.changes]
        d["evidence"] = list(self.evidence)
        d["tags"] = list(self.tags)
        d["suppressed_by"] = list(self.suppressed_by)
        d["sources"] = [[s.topic, s.partition, s.offset] for s in self.sources]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AlertRecord:
        """Rebuild a record stored by ``to_dict``."""
        # The dataclass's own name objects as keys: a stored dict that went through JSON has
        # equal but distinct key strings, which make keyword matching several times slower.
        names = _NAMES
        v = {names.get(k, k): x for k, x in d.items()}
        get = v.get
        for k in _TIMES:
            t = get(k)
            v[k] = _stored_time(t) if t is not None else None
        v["changes"] = tuple([_stored_time(t) for t in get("changes", ())])
        v["evidence"] = tuple(get("evidence", ()))
        v["tags"] = tuple(get("tags", ()))
        v["suppressed_by"] = tuple(get("suppressed_by", ()))
        v["sources"] = tuple([SourceOffset(t, p, o) for t, p, o in get("sources", ())])
        v["group"] = dict(get("group", {}))
        return cls(**v)

    def deadline(self, pol: AlertPolicy) -> datetime | None:
        """When something is next due for this record (see ``deadline``)."""
        return deadline(
            self.state, self.flapping, self.pending_resolve, self.last_match_at,
            self.last_activity_at, pol,
        )  # fmt: skip

    def snapshot(self) -> AlertSnapshot:
        """What the risk model needs of this alert."""
        return AlertSnapshot(
            fingerprint=self.fingerprint,
            rule=self.rule,
            asset=self.asset,
            unit=self.unit,
            state=self.state,
            risk_weight=self.risk_weight,
            severity=self.severity,
            title=self.title,
            resolved_at=self.resolved_at,
            suppressed_by=self.suppressed_by,
        )


def _stored_time(text: Any) -> datetime:
    """``parse_time`` of a stored time; ``format_time``'s UTC ``Z`` form needs no conversion."""
    if text.__class__ is str and text[-1:] == "Z":
        return _fromisoformat(text)  # a "Z" time is UTC, the result already in UTC
    return parse_time(text)


_fromisoformat = datetime.fromisoformat
_NAMES = {f.name: f.name for f in fields(AlertRecord)}
_SPECIAL = {*_TIMES, "group", "changes", "evidence", "tags", "suppressed_by", "sources"}
_PLAIN = tuple(f.name for f in fields(AlertRecord) if f.name not in _SPECIAL)


def quiet_deadline(pending: bool, last_match: datetime, pol: AlertPolicy) -> datetime | None:
    """When an alert resolves for lack of matches (``None``: never, or a resolve waits)."""
    if pol.resolve_after_s is None or pending:
        return None
    return last_match + timedelta(seconds=pol.resolve_after_s)


def deadline(
    state: str,
    flapping: bool,
    pending: bool,
    last_match: datetime,
    last_activity: datetime,
    pol: AlertPolicy,
) -> datetime | None:
    """The time an active alert next needs attention: flap release or quiet resolution."""
    if state not in ACTIVE:
        return None
    if flapping:
        return last_activity + timedelta(seconds=pol.flap_window_s)
    return quiet_deadline(pending, last_match, pol)


def raw_deadline(d: dict[str, Any], pol: AlertPolicy) -> datetime | None:
    """``deadline`` read straight from a stored record (no full parse)."""
    if d["state"] not in ACTIVE:
        return None
    return deadline(
        d["state"], d["flapping"], d["pending_resolve"], parse_time(d["last_match_at"]),
        parse_time(d["last_activity_at"]), pol,
    )  # fmt: skip
