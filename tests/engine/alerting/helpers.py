"""Builders shared by the alerting tests: findings, controls, a JSON round-trip store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from engine.alerting.fingerprint import fingerprint
from engine.events import Alert, Control, Finding, SourceOffset, format_time
from engine.inventory.model import Asset, Inventory, MaintenanceWindow, Unit
from engine.store import DictStore

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def iso(seconds: float) -> str:
    return format_time(t(seconds))


class JsonStore(DictStore):
    """A DictStore that keeps only what survives a JSON round trip (like a changelog)."""

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, orjson.loads(orjson.dumps(value)))


def finding(
    at: float,
    rule: str = "site-down",
    asset: str = "portal",
    kind: str = "match",
    *,
    unit: str = "gov-office",
    severity: str = "high",
    group: dict[str, str] | None = None,
    tags: tuple[str, ...] = (),
    evidence: tuple[str, ...] | None = None,
    risk_weight: float = 5.0,
) -> Finding:
    n = int(at * 1000)
    return Finding(
        id=f"f-{rule}-{asset}-{kind}-{n}",
        rule=rule,
        rule_version="v1",
        asset=asset,
        unit=unit,
        severity=severity,
        at=t(at),
        title=f"{rule} on {asset}",
        kind=kind,
        explanation=f"data.status ({503 if kind == 'match' else 200}) == 200",
        evidence=evidence if evidence is not None else (f"obs-{asset}-{n}",),
        group=group or {},
        risk_weight=risk_weight,
        tags=tags,
        sources=(SourceOffset("ssa.observations", 0, n),),
    )


def control(
    kind: str,
    at: float,
    target: str | None = None,
    data: dict[str, Any] | None = None,
    *,
    cid: str | None = None,
    actor: str = "duty",
) -> Control:
    return Control(
        id=cid or f"c-{kind}-{int(at * 1000)}",
        kind=kind,
        at=t(at),
        actor=actor,
        target=target,
        data=data or {},
        comment="test",
    )


def fp(rule: str = "site-down", asset: str = "portal") -> str:
    return fingerprint(rule, asset, {})


def summary(alerts: list[Alert]) -> list[tuple[str, int, str, float, tuple[str, ...]]]:
    """(rule, seq, state, at in seconds from T0, suppressed_by) for each alert."""
    return [(a.rule, a.seq, a.state, (a.at - T0).total_seconds(), a.suppressed_by) for a in alerts]


def inventory(maintenance: tuple[tuple[float, float], ...] = ()) -> Inventory:
    units = {"gov-office": Unit("gov-office", "Office"), "other": Unit("other", "Other")}
    assets = {
        "gw-1": Asset("gw-1", "gov-office", "ip", address="192.0.2.10", criticality=4),
        "portal": Asset(
            "portal",
            "gov-office",
            "website",
            url="https://www.example.gov/",
            criticality=5,
            tags=("key-site",),
            depends_on=("gw-1",),
            maintenance=tuple(MaintenanceWindow(t(a), t(b), "work") for a, b in maintenance),
        ),
        "blog": Asset("blog", "gov-office", "website", url="https://blog.example.gov/"),
        "www2": Asset("www2", "other", "website", url="https://www2.example.org/", criticality=2),
    }
    return Inventory(units, assets)
