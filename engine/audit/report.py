"""The situation report of a period: the numbers, computed from recorded events.

``build_report`` is pure: it takes the period, the observations of the
period and every alert record up to its end (in record order), and returns a
``Report``. Definitions, so the numbers can be checked by hand:

- **Availability** of a unit: the share of its ``http`` and ``icmp``
  observations in the period with ``ok`` true.
- **Alerts by severity / rule**: alert *episodes opened* in the period, i.e.
  records with state ``firing`` and ``at == started_at``.
- **Mean time to acknowledge**: over episodes first acknowledged in the
  period, the mean of (first ``acknowledged`` record's ``at`` − ``started_at``).
- **Mean time to resolve**: over episodes resolved in the period, the mean of
  (``resolved`` record's ``at`` − ``started_at``).
- **Overdue rectifications**: at the end of the period, alerts whose latest
  state is ``acknowledged`` and whose episode started longer ago than the
  deadline of their severity (``DEADLINES``).
- **Risk trend**: the period cut into buckets (hours for a day, 6 hours for a
  week); per bucket, the time-weighted mean and the peak of the summed
  ``risk_weight`` of active (firing or acknowledged) alerts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from engine.events import SEVERITIES, Alert, Observation

PERIODS: dict[str, timedelta] = {"day": timedelta(days=1), "week": timedelta(days=7)}
BUCKETS: dict[str, timedelta] = {"day": timedelta(hours=1), "week": timedelta(hours=6)}
#: How long an acknowledged alert may stay unresolved, by severity.
DEADLINES: dict[str, timedelta] = {
    "critical": timedelta(hours=4),
    "high": timedelta(hours=24),
    "medium": timedelta(hours=72),
    "low": timedelta(days=7),
    "info": timedelta(days=30),
}
AVAILABILITY_PROBES: tuple[str, ...] = ("http", "icmp")


@dataclass(frozen=True, slots=True)
class UnitAvailability:
    unit: str
    ok: int
    total: int

    @property
    def ratio(self) -> float:
        return self.ok / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class Overdue:
    """An acknowledged alert past its rectification deadline at the end of the period."""

    fingerprint: str
    unit: str
    asset: str
    rule: str
    severity: str
    title: str
    started_at: datetime
    acknowledged_by: str
    deadline: datetime
    overdue_by: timedelta


@dataclass(frozen=True, slots=True)
class RiskBucket:
    start: datetime
    mean: float
    peak: float


@dataclass
class Report:
    period: str
    start: datetime
    end: datetime
    availability: list[UnitAvailability] = field(default_factory=list)
    by_severity: dict[str, int] = field(default_factory=dict)
    by_rule: list[tuple[str, str, int]] = field(default_factory=list)  # rule, severity, count
    mtta: timedelta | None = None
    mtta_n: int = 0
    mttr: timedelta | None = None
    mttr_n: int = 0
    overdue: list[Overdue] = field(default_factory=list)
    risk: list[RiskBucket] = field(default_factory=list)
    observations: int = 0
    alert_records: int = 0


def period_bounds(period: str, at: datetime) -> tuple[datetime, datetime]:
    """``[at - period, at)``."""
    return at - PERIODS[period], at


def build_report(
    period: str,
    end: datetime,
    observations: Iterable[Observation],
    alerts: Sequence[Alert],
) -> Report:
    """The report of ``[end - period, end)``; ``alerts`` may start before the period."""
    start, end = period_bounds(period, end)
    r = Report(period, start, end)
    _availability(r, observations)
    in_period = [a for a in alerts if start <= a.at < end]
    r.alert_records = len(in_period)
    opened = [a for a in in_period if a.state == "firing" and a.at == a.started_at]
    sev = Counter(a.severity for a in opened)
    r.by_severity = {s: sev.get(s, 0) for s in reversed(SEVERITIES)}
    rules = Counter((a.rule, a.severity) for a in opened)
    order = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    r.by_rule = sorted(
        ((rule, s, n) for (rule, s), n in rules.items()), key=lambda x: (-x[2], order[x[1]], x[0])
    )
    _response_times(r, alerts)
    _overdue(r, alerts)
    _risk(r, alerts, BUCKETS[period])
    return r


def _availability(r: Report, observations: Iterable[Observation]) -> None:
    ok: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for o in observations:
        if o.probe in AVAILABILITY_PROBES and r.start <= o.observed_at < r.end:
            r.observations += 1
            total[o.unit] += 1
            ok[o.unit] += o.ok
    r.availability = sorted(
        (UnitAvailability(u, ok[u], n) for u, n in total.items()), key=lambda a: (a.ratio, a.unit)
    )


def _episode(a: Alert) -> tuple[str, datetime]:
    return a.fingerprint, a.started_at


def _response_times(r: Report, alerts: Sequence[Alert]) -> None:
    acked: dict[tuple[str, datetime], datetime] = {}
    resolved: dict[tuple[str, datetime], datetime] = {}
    for a in alerts:
        if a.at >= r.end:
            continue
        if a.state == "acknowledged":
            acked.setdefault(_episode(a), a.at)
        elif a.state == "resolved":
            resolved.setdefault(_episode(a), a.at)
    ack_times = [t - ep[1] for ep, t in acked.items() if r.start <= t]
    res_times = [t - ep[1] for ep, t in resolved.items() if r.start <= t]
    r.mtta_n, r.mttr_n = len(ack_times), len(res_times)
    r.mtta = sum(ack_times, timedelta()) / len(ack_times) if ack_times else None
    r.mttr = sum(res_times, timedelta()) / len(res_times) if res_times else None


def latest_states(alerts: Iterable[Alert], before: datetime) -> dict[str, Alert]:
    """The latest record of each fingerprint with ``at`` before ``before`` (by seq)."""
    out: dict[str, Alert] = {}
    for a in alerts:
        if a.at < before:
            cur = out.get(a.fingerprint)
            if cur is None or (a.seq, a.at) >= (cur.seq, cur.at):
                out[a.fingerprint] = a
    return out


def _overdue(r: Report, alerts: Sequence[Alert]) -> None:
    for a in latest_states(alerts, r.end).values():
        if a.state != "acknowledged":
            continue
        deadline = a.started_at + DEADLINES[a.severity]
        if deadline < r.end:
            r.overdue.append(
                Overdue(
                    a.fingerprint,
                    a.unit,
                    a.asset,
                    a.rule,
                    a.severity,
                    a.title,
                    a.started_at,
                    a.actor or "",
                    deadline,
                    r.end - deadline,
                )
            )
    r.overdue.sort(key=lambda o: (-o.overdue_by, o.fingerprint))


def _risk(r: Report, alerts: Sequence[Alert], step: timedelta) -> None:
    # the active risk as a step function: (time, fingerprint -> weight) changes
    changes = sorted((a for a in alerts if a.at < r.end), key=lambda a: (a.at, a.seq))
    active: dict[str, float] = {}
    i = 0
    t = r.start
    while t < r.end:
        while i < len(changes) and changes[i].at <= t:  # what holds at the bucket's start
            _apply(active, changes[i])
            i += 1
        stop = min(t + step, r.end)
        level = sum(active.values())
        area, peak, cursor = 0.0, level, t
        while i < len(changes) and changes[i].at < stop:
            c = changes[i]
            area += level * (c.at - cursor).total_seconds()
            cursor = c.at
            _apply(active, c)
            level = sum(active.values())
            peak = max(peak, level)
            i += 1
        area += level * (stop - cursor).total_seconds()
        r.risk.append(RiskBucket(t, area / (stop - t).total_seconds(), peak))
        t = stop


def _apply(active: dict[str, float], a: Alert) -> None:
    if a.state in ("firing", "acknowledged"):
        active[a.fingerprint] = a.risk_weight
    else:
        active.pop(a.fingerprint, None)
