"""A known day of observations and alerts whose report numbers are worked out by hand.

Period: the day before END. Units ``unit-a`` and ``unit-b``.

- availability: unit-a 5 of 6 http/icmp ok, unit-b 0 of 2 (tls and out-of-period ignored)
- fp1 site-down/high, risk 10, unit-b: fires +1h, acked +1h30m, resolved +3h
- fp2 cert-expiry/medium, risk 4, unit-a: fires +2h, acked +2h10m, still acknowledged
- fp3 port-open/critical, risk 20, unit-a: fired -2h, acked -1h (before the period),
  still acknowledged at the end: 4h deadline passed at +2h, overdue by 22h
- fp4 site-down/high, risk 10, unit-b: fires +20h30m, resolved +21h15m, never acked
- fp5 fires after the period (ignored)

So: opened high 2, medium 1; MTTA (30m + 10m) / 2 = 20m over 2; MTTR (2h + 45m) / 2 =
1h22m30s over 2; risk per hour 20, 30, 34, 24 …, bucket 20: 29 mean / 34 peak,
bucket 21: 26.5 mean / 34 peak.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.events import Alert, Control, Observation, format_time

END = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
START = END - timedelta(days=1)
H = timedelta(hours=1)
M = timedelta(minutes=1)
TITLE3 = "<b>port 23</b> | open"


def obs(i: int, unit: str, probe: str, ok: bool, at: datetime) -> Observation:
    return Observation(
        id=f"o{i}",
        asset=f"{unit}-site",
        unit=unit,
        probe=probe,
        observed_at=at,
        collector="c1",
        vantage="local",
        ok=ok,
        duration_s=0.1,
    )


OBSERVATIONS = [
    obs(1, "unit-a", "http", True, START + H),
    obs(2, "unit-a", "http", True, START + 2 * H),
    obs(3, "unit-a", "http", False, START + 3 * H),
    obs(4, "unit-a", "http", True, START + 4 * H),
    obs(5, "unit-a", "icmp", True, START + 5 * H),
    obs(6, "unit-a", "icmp", True, START + 6 * H),
    obs(7, "unit-b", "http", False, START + 7 * H),
    obs(8, "unit-b", "http", False, START + 8 * H),
    obs(9, "unit-b", "tls", True, START + 9 * H),
    obs(10, "unit-b", "http", True, START - H),
    obs(11, "unit-b", "http", True, END),
]


def change(fp: str, seq: int, state: str, at: datetime, started: datetime, **kw: object) -> Alert:
    base = {
        "fp1": ("site-down", "high", 10.0, "unit-b", "outage"),
        "fp2": ("cert-expiry", "medium", 4.0, "unit-a", "cert expires"),
        "fp3": ("port-open", "critical", 20.0, "unit-a", TITLE3),
        "fp4": ("site-down", "high", 10.0, "unit-b", "outage again"),
        "fp5": ("cert-expiry", "medium", 4.0, "unit-a", "later"),
    }[fp]
    rule, severity, risk, unit, title = base
    return Alert(
        fingerprint=fp,
        seq=seq,
        state=state,
        rule=rule,
        rule_version="v1",
        asset=f"{unit}-site",
        unit=unit,
        severity=severity,
        title=title,
        at=at,
        started_at=started,
        risk_weight=risk,
        evidence=(f"ev-{fp}-{seq}",),
        actor=str(kw.get("actor")) if kw.get("actor") else None,
    )


S1, S2, S3, S4 = START + H, START + 2 * H, START - 2 * H, START + 20 * H + 30 * M
ALERTS = [
    change("fp3", 1, "firing", S3, S3),
    change("fp3", 2, "acknowledged", START - H, S3, actor="duty-3"),
    change("fp1", 1, "firing", S1, S1),
    change("fp1", 2, "acknowledged", S1 + 30 * M, S1, actor="duty-1"),
    change("fp2", 1, "firing", S2, S2),
    change("fp2", 2, "acknowledged", S2 + 10 * M, S2, actor="duty-2"),
    change("fp1", 3, "resolved", START + 3 * H, S1),
    change("fp4", 1, "firing", S4, S4),
    change("fp4", 2, "resolved", START + 21 * H + 15 * M, S4),
    change("fp5", 1, "firing", END + H, END + H),
]


def control(
    cid: str,
    kind: str,
    at: datetime,
    actor: str,
    target: str | None = None,
    matchers: list[str] | None = None,
    comment: str = "",
) -> Control:
    data: dict[str, object] = {}
    if matchers is not None:
        data = {"matchers": matchers, "ends_at": format_time(at + 4 * H)}
    return Control(id=cid, kind=kind, at=at, actor=actor, target=target, data=data, comment=comment)


CONTROLS = [
    control("c4", "ack", START - H, "duty-3", target="fp3"),
    control("c1", "ack", S1 + 30 * M, "duty-1", target="fp1"),
    control(
        "c2", "silence", S2, "duty-2", matchers=["unit=unit-a", "severity=medium"], comment="维护"
    ),
    control(
        "c3",
        "silence",
        START + 5 * H,
        "duty-9",
        matchers=["rule=site-down"],
        comment="=cmd|' /C calc'!A0",
    ),
]


def delivery(
    at: datetime,
    channel: str,
    result: str,
    receiver: str,
    recipients: list[str],
    alert: Alert,
    reason: str = "",
) -> dict[str, object]:
    """A delivery-log record shaped like the notifier's (only fields the export reads matter)."""
    return {
        "v": 1,
        "at": format_time(at),
        "channel": channel,
        "receiver": receiver,
        "recipient": recipients[0],
        "result": result,
        "attempt": 1,
        "idempotency_key": f"k-{alert.fingerprint}-{alert.seq}",
        "keys": [f"{alert.fingerprint}:{alert.state}:{alert.seq}"],
        "kind": "alert",
        "recipients": recipients,
        "reason": reason,
        "alerts": [
            {
                "fingerprint": alert.fingerprint,
                "seq": alert.seq,
                "state": alert.state,
                "asset": alert.asset,
                "unit": alert.unit,
                "severity": alert.severity,
                "rule": alert.rule,
                "title": alert.title,
            }
        ],
    }


NOTIFICATIONS = [
    delivery(S1 + M, "email", "ok", "oncall-b", ["b@example.org"], ALERTS[2]),
    delivery(S2 + M, "webhook", "error", "oncall-a", ["*"], ALERTS[4], reason="HTTP 503"),
]
