"""Builders shared by the notification tests: alerts, controls, an inventory, routes, records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from engine.events import Alert, Control
from engine.inventory.model import Asset, Contact, Inventory, Unit
from engine.notify.core import Dispatch, NotifyCore
from engine.notify.records import AlertRef, DeliveryRecord
from engine.notify.routes import RouteSet, load_routes

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def t(seconds: float) -> datetime:
    """A time on the virtual clock, ``seconds`` after T0."""
    return T0 + timedelta(seconds=seconds)


def alert(
    fp: str = "fp-portal-down",
    seq: int = 1,
    state: str = "firing",
    at: float = 0.0,
    *,
    rule: str = "site-down",
    asset: str = "portal",
    unit: str = "gov-office",
    severity: str = "high",
    tags: tuple[str, ...] = ("key-site",),
    started: float | None = None,
    suppressed: bool = False,
    **extra: Any,
) -> Alert:
    return Alert(
        fingerprint=fp,
        seq=seq,
        state=state,
        rule=rule,
        rule_version="1",
        asset=asset,
        unit=unit,
        severity=severity,
        title=f"{asset} is down",
        at=t(at),
        started_at=t(at if started is None else started),
        explanation="data.status (503) == 200",
        tags=tags,
        suppressed=suppressed,
        **extra,
    )


def control(kind: str, target: str, at: float, actor: str = "unit-duty", **data: Any) -> Control:
    return Control(
        id=f"{kind}-{target}-{int(at)}", kind=kind, at=t(at), actor=actor, target=target, data=data
    )


def inventory() -> Inventory:
    """Two units; gov-office has contacts at levels 1, 2 and 3."""
    units = {
        "gov-office": Unit(
            "gov-office",
            "市人民政府办公室",
            (
                Contact(
                    "值班室",
                    email="duty@example.org",
                    phone="+86-0000-0001",
                    level=1,
                    channels={"wecom": "duty", "feishu": "ou_duty", "dingtalk": "duty"},
                ),
                Contact("网络科", email="net@example.org", level=1),
                Contact("科长", email="chief@example.org", phone="+86-0000-0002", level=2),
                Contact("主任", email="director@example.org", level=3),
            ),
        ),
        "edu-bureau": Unit("edu-bureau", "市教育局", (Contact("值班", email="edu@example.org"),)),
    }
    assets = {
        "portal": Asset(
            "portal", "gov-office", "website", name="市政府门户网站", url="https://www.example.gov/"
        ),
        "gw-1": Asset("gw-1", "gov-office", "ip", address="192.0.2.10"),
        "edu-site": Asset("edu-site", "edu-bureau", "website", url="https://edu.example.gov/"),
    }
    return Inventory(units, assets)


ROUTES = """
defaults: {group_by: [unit, rule], group_wait: 30s, group_interval: 5m, repeat_interval: 4h}
receivers:
  hook: {webhook: {url: "http://127.0.0.1:9/hook", secret: s}}
  mail: {email: {host: 127.0.0.1, sender: ssa@example.org, to: [soc@example.org]}}
  quiet: {webhook: {url: "http://127.0.0.1:9/quiet", secret: s}}
routes:
  - name: key
    match: {tags: [key-site]}
    receiver: hook
    escalation:
      - {after: 15m, receiver: mail}
      - {after: 45m}
  - name: low
    match: {severity: [low]}
    receiver: quiet
    recipients: none
    send_resolved: false
  - name: mail-all
    receiver: mail
rectification:
  receiver: quiet
  deadlines: {high: 2h}
"""


def routes() -> RouteSet:
    return load_routes("routes.yaml", text=ROUTES, env={})


def core() -> NotifyCore:
    return NotifyCore(routes(), inventory(), "http://127.0.0.1:3000")


def confirm(c: NotifyCore, ds: list[Dispatch], at: datetime, result: str = "ok") -> None:
    """What the delivery layer would record for each dispatch."""
    for d in ds:
        c.on_record(record(d, at, result))


def record(d: Dispatch, at: datetime, result: str = "ok") -> DeliveryRecord:
    m = d.message
    return DeliveryRecord(
        at=at,
        channel=m.channel,
        receiver=m.receiver,
        recipient=d.recipient,
        result=result,
        attempt=1,
        idempotency_key=m.idempotency_key,
        keys=d.keys,
        kind=m.kind,
        level=m.level,
        route=d.route,
        group_key=m.group_key,
        recipients=tuple(p.address for p in m.recipients),
        alerts=tuple(AlertRef.of(a) for a in m.alerts),
    )


def summary(ds: list[Dispatch]) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return [(d.message.receiver, d.recipient, d.message.kind, d.keys) for d in ds]
