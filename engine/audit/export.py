"""Audit export: alerts with their evidence, notifications and control actions, as rows.

One row per recorded thing, in time order, with the same columns for every
type so a spreadsheet can filter them together:

``type``         ``alert`` | ``notification`` | ``control``
``time``         the event's own time (UTC, ISO-8601)
``unit``         the unit(s) concerned, space-separated
``asset``        the asset (alerts; controls that target one)
``fingerprint``  the alert(s) concerned, space-separated
``rule``, ``severity``, ``state``, ``seq``  of an alert record
``actor``        who acted: the operator of a control, the acknowledger of
                 an alert change, the receiver of a notification
``action``       the alert's state, the control's kind, or
                 ``<channel> <result>`` of a delivery attempt
``summary``      title, comment or recipients and failure reason
``evidence``     observation ids (alerts), space-separated
``explanation``  the rule condition with its resolved values (alerts)
``source``       ``topic[partition]@offset`` the row was read from
``record``       the full recorded JSON object, unchanged
``observations`` with ``--evidence``: the recorded observations the alert
                 cites (its ``sources``), as they are in ``ssa.observations``

``select`` filters by unit: an alert by its unit; a notification if any of
its alerts is of the unit; a control if it targets an alert or asset of the
unit, or is a silence whose matchers name the unit or that muted an alert of
the unit. CSV cells that a spreadsheet would run as a formula (leading
``=``, ``+``, ``-``, ``@``, tab, CR) are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import IO, Any

import orjson

from engine.audit.history import History, Located, notification_time
from engine.events import Alert, Control, SourceOffset, format_time

COLUMNS: tuple[str, ...] = (
    "type",
    "time",
    "unit",
    "asset",
    "fingerprint",
    "rule",
    "severity",
    "state",
    "seq",
    "actor",
    "action",
    "summary",
    "evidence",
    "explanation",
    "source",
    "record",
    "observations",
)
FORMATS: tuple[str, ...] = ("jsonl", "csv")
#: A silence matcher ``unit=VALUE`` (not ``=~``/``!=``): the silence names that unit.
_UNIT_EQ = re.compile(r"^\s*unit\s*=(?![~=])\s*(.*?)\s*$")
_TYPE_ORDER = {"alert": 0, "control": 1, "notification": 2}


@dataclass(frozen=True, slots=True)
class Row:
    """One exported line; ``record`` is the recorded object itself."""

    type: str
    time: datetime
    units: tuple[str, ...]
    fingerprints: tuple[str, ...]
    source: SourceOffset
    record: dict[str, Any]
    asset: str = ""
    rule: str = ""
    severity: str = ""
    state: str = ""
    seq: int | None = None
    actor: str = ""
    action: str = ""
    summary: str = ""
    evidence: tuple[str, ...] = ()
    explanation: str = ""
    observations: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "time": format_time(self.time),
            "unit": " ".join(self.units),
            "asset": self.asset,
            "fingerprint": " ".join(self.fingerprints),
            "rule": self.rule,
            "severity": self.severity,
            "state": self.state,
            "seq": self.seq,
            "actor": self.actor,
            "action": self.action,
            "summary": self.summary,
            "evidence": " ".join(self.evidence),
            "explanation": self.explanation,
            "source": f"{self.source.topic}[{self.source.partition}]@{self.source.offset}",
            "record": self.record,
            "observations": list(self.observations),
        }


def alert_row(x: Located[Alert]) -> Row:
    a = x.item
    return Row(
        type="alert",
        time=a.at,
        units=(a.unit,),
        fingerprints=(a.fingerprint,),
        source=x.source,
        record=a.to_dict(),
        asset=a.asset,
        rule=a.rule,
        severity=a.severity,
        state=a.state,
        seq=a.seq,
        actor=a.actor or "",
        action=a.state,
        summary=a.title,
        evidence=a.evidence,
        explanation=a.explanation,
    )


def control_row(x: Located[Control], alerts: dict[str, Alert], assets: dict[str, str]) -> Row:
    """A control action; its unit comes from the alert or asset it targets, or its matchers."""
    c = x.item
    fps: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    asset = ""
    if c.target and c.target in alerts:
        a = alerts[c.target]
        fps, units, asset = (c.target,), (a.unit,), a.asset
    elif c.target and c.target in assets:
        units, asset = (assets[c.target],), c.target
    matchers = c.data.get("matchers")
    summary = c.comment
    if c.kind == "silence" and isinstance(matchers, list):
        named = {m.group(1) for m in (_UNIT_EQ.match(str(x)) for x in matchers) if m}
        units = tuple(sorted(set(units) | named))
        summary = " ".join(str(m) for m in matchers) + (f" — {c.comment}" if c.comment else "")
    return Row(
        type="control",
        time=c.at,
        units=units,
        fingerprints=fps,
        source=x.source,
        record=c.to_dict(),
        asset=asset,
        actor=c.actor,
        action=c.kind,
        summary=summary,
    )


def notification_row(x: Located[dict[str, Any]]) -> Row:
    n = x.item
    refs = [a for a in n.get("alerts", ()) if isinstance(a, dict)]
    fps = _unique(str(a.get("fingerprint", "")) for a in refs) or _unique(
        [str(n.get("fingerprint", ""))]
    )
    units = _unique(str(a.get("unit", "")) for a in refs) or _unique([str(n.get("unit", ""))])
    recipients = n.get("recipients") or [n.get("recipient", "")]
    reason = str(n.get("reason", "") or "")
    summary = " ".join(str(r) for r in recipients if r) + (f" — {reason}" if reason else "")
    t = notification_time(n)
    assert t is not None  # read_period keeps only timed records
    return Row(
        type="notification",
        time=t,
        units=units,
        fingerprints=fps,
        source=x.source,
        record=n,
        actor=str(n.get("receiver", "")),
        action=" ".join(str(n[k]) for k in ("channel", "result") if n.get(k)),
        summary=summary,
        severity=str(refs[0].get("severity", "")) if len(refs) == 1 else "",
        state=str(refs[0].get("state", "")) if len(refs) == 1 else "",
    )


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


def rows_of(history: History) -> list[Row]:
    """Every row of a period's history, in (time, type, source) order."""
    alerts = {x.item.fingerprint: x.item for x in history.alerts}
    assets = {x.item.asset: x.item.unit for x in history.alerts}
    rows = [alert_row(x) for x in history.alerts]
    rows += [control_row(x, alerts, assets) for x in history.controls]
    rows += [notification_row(x) for x in history.notifications]
    muted: dict[str, set[str]] = {}
    for x in history.alerts:
        for s in x.item.suppressed_by:
            muted.setdefault(s.removeprefix("silence:"), set()).add(x.item.unit)
    rows = [
        _with_units(r, muted.get(str(r.record.get("id")), set()))
        if r.type == "control" and r.action == "silence"
        else r
        for r in rows
    ]
    rows.sort(
        key=lambda r: (
            r.time,
            _TYPE_ORDER[r.type],
            r.source.topic,
            r.source.partition,
            r.source.offset,
        )
    )
    return rows


def _with_units(r: Row, more: set[str]) -> Row:
    return replace(r, units=tuple(sorted(set(r.units) | more))) if more else r


def with_evidence(rows: Sequence[Row], found: Mapping[SourceOffset, dict[str, Any]]) -> list[Row]:
    """Alert rows with the observations their ``sources`` point to (those still recorded)."""
    out = []
    for r in rows:
        if r.type == "alert":
            cited = [
                SourceOffset(s["topic"], s["partition"], s["offset"])
                for s in r.record.get("sources", ())
            ]
            r = replace(r, observations=tuple(found[s] for s in cited if s in found))
        out.append(r)
    return out


def select(rows: Sequence[Row], unit: str | None) -> list[Row]:
    """The rows that concern ``unit`` (all rows if ``None``)."""
    return [r for r in rows if unit is None or unit in r.units]


def write_jsonl(rows: Iterable[Row], out: IO[bytes]) -> int:
    """One canonical JSON object per line; returns the number of rows."""
    n = 0
    for r in rows:
        out.write(orjson.dumps(r.to_dict(), option=orjson.OPT_SORT_KEYS) + b"\n")
        n += 1
    return n


def write_csv(rows: Iterable[Row], out: IO[bytes]) -> int:
    """RFC 4180 CSV in UTF-8 with a header; ``record`` as compact JSON."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    w = csv.writer(text, lineterminator="\r\n")
    w.writerow(COLUMNS)
    n = 0
    for r in rows:
        d = r.to_dict()
        d["record"] = orjson.dumps(d["record"], option=orjson.OPT_SORT_KEYS).decode()
        d["observations"] = (
            orjson.dumps(d["observations"], option=orjson.OPT_SORT_KEYS).decode()
            if d["observations"]
            else ""
        )
        d["seq"] = "" if d["seq"] is None else d["seq"]
        w.writerow([_cell(d[c]) for c in COLUMNS])
        n += 1
    text.flush()
    text.detach()
    return n


def _cell(v: Any) -> str:
    s = str(v)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s
