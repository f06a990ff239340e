"""Builders shared by the notification tests: alerts, controls, an inventory, a routes file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from engine.events import Alert, Control
from engine.inventory.model import Asset, Contact, Inventory, Unit

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
