"""A synthetic recorded history: the inventory, observations and controls of a few hours.

Used by the replay determinism tests, ``bench/bench_replay.py`` and to try
``ssa replay`` by hand. Seeded, so the same arguments always give the same
bytes. The script makes every rule type of the shipped pack act at least
once: threshold (site down, brute force, host unreachable), anomaly (a
latency spike), change (DNS answers), match (TLS, headers, ports, content),
absence (an http probe goes silent), sequence (per asset and per unit, and
``not_followed_by``), plus inhibition of a website behind an unreachable
host, an acknowledgement, a silence and its early end, and a "fixed" report.
Addresses are from the documentation ranges; names end in ``example.gov``.
Observations are keyed by unit in Kafka, as collectors do
(``Asset.partition_key``), so a website and the host it depends on share a
partition.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.alerting.fingerprint import fingerprint
from engine.events import Control, Observation, format_time

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
MIN = 60.0


@dataclass(frozen=True)
class SampleHistory:
    """The inventory as YAML text, the observations in time order, the controls."""

    inventory_yaml: str
    observations: list[Observation]
    controls: list[Control]


def _inventory(websites: int, ips: int) -> str:
    units = max(1, (websites + ips) // 5)
    lines = ["units:"]
    for u in range(units):
        lines += [
            f"  - id: unit-{u}",
            f"    name: Unit {u}",
            f"    contacts: [{{name: duty, email: duty{u}@example.org}}]",
        ]
    lines.append("assets:")
    for i in range(ips):
        lines += [
            f"  - id: ip-{i:02d}",
            f"    unit: unit-{i % units}",
            "    kind: ip",
            f"    name: Host {i}",
            f"    address: 192.0.2.{10 + i}",
            "    criticality: 4",
            "    probes: [icmp, tcp]",
            "    expected_ports: [80, 443]",
        ]
    for w in range(websites):
        lines += [
            f"  - id: web-{w:02d}",
            f"    unit: unit-{w % units}",
            "    kind: website",
            f"    name: Website {w}",
            f"    url: https://w{w}.example.gov/",
            f"    criticality: {1 + w % 5}",
            "    probes: [http, tls, dns, content, tcp]",
            "    expected_addresses: [198.51.100.10]",
        ]
        if w == 1:
            lines.append("    depends_on: [ip-01]")
    lines += [
        "  - id: sys-00",
        "    unit: unit-0",
        "    kind: system",
        "    name: Login gateway",
        '    address: "192.0.2.200:22"',
        "    probes: [ingest]",
    ]
    return "\n".join(lines) + "\n"


class _Script:
    """Scripted incidents: what each probe of each asset reports at minute ``m``."""

    def __init__(self, rnd: random.Random, minutes: int) -> None:
        self.rnd = rnd
        self.minutes = minutes

    def http(self, asset: str, m: float) -> tuple[bool, dict[str, Any], str | None]:
        lat = self.rnd.gauss(200, 20)
        if asset == "web-03" and 30 <= m < 45:
            return False, {"status": 503, "latency_ms": round(lat, 1)}, "status 503"
        if asset == "web-01" and 80 <= m < 90:  # behind ip-01, which is unreachable then
            return False, {"latency_ms": 0.0}, "timeout"
        if asset == "web-05" and m in (60, 61):
            lat = 3000.0
        if self.rnd.random() < 0.005:
            return False, {"status": 502, "latency_ms": round(lat, 1)}, "status 502"
        missing = ["strict-transport-security"] if asset == "web-07" and m < 120 else []
        return True, {"status": 200, "latency_ms": round(lat, 1), "headers_missing": missing}, None

    def tls(self, asset: str, m: float) -> dict[str, Any]:
        days = 80
        if asset == "web-11":
            days = 10 if m < 180 else 90
        if asset == "web-12" and m >= 150:
            days = -1
        legacy = ["TLSv1"] if asset == "web-14" else []
        host_ok = not (asset == "web-13" and 20 <= m < 40)
        return {
            "cert_days_left": days,
            "hostname_match": host_ok,
            "chain_valid": True,
            "protocol": "TLSv1.3",
            "cipher": "TLS_AES_128_GCM_SHA256",
            "legacy_protocols": legacy,
        }

    def dns(self, asset: str, m: float) -> dict[str, Any]:
        if asset == "web-09" and 90 <= m < 100:
            return {"addresses": ["203.0.113.66"], "matches_expected": False}
        return {"addresses": ["198.51.100.10"], "matches_expected": True}

    def content(self, asset: str, m: float) -> dict[str, Any]:
        defaced = (asset == "web-15" and 130 <= m < 200) or (asset == "web-17" and 60 <= m < 75)
        dark = ["casino.example.net"] if asset == "web-16" and 50 <= m < 70 else []
        return {
            "defaced": defaced,
            "defacement_keywords": ["hacked by"] if defaced else [],
            "dark_links": dark,
        }

    def tcp(self, asset: str, m: float) -> dict[str, Any]:
        ports = [80, 443]
        if asset == "web-15" and m >= 100:
            ports = [80, 443, 3389]
        if asset == "ip-02" and m >= 60:
            ports = [80, 443, 8080]
        if asset == "ip-03" and 40 <= m < 120:
            ports = [80, 443, 445]
        return {"open_ports": ports}

    def icmp(self, asset: str, m: float) -> tuple[bool, dict[str, Any]]:
        if asset == "ip-01" and 80 <= m < 90:
            return False, {"reachable": False, "loss": 1.0}
        return True, {"reachable": True, "rtt_ms": round(self.rnd.uniform(1, 5), 2), "loss": 0.0}


def sample_history(
    websites: int = 20, ips: int = 10, hours: float = 4.0, seed: int = 7, start: datetime = T0
) -> SampleHistory:
    """The history; about ``(websites * 1.8 + ips * 2.2) * 60 * hours`` observations."""
    rnd = random.Random(seed)
    minutes = int(hours * 60)
    script = _Script(rnd, minutes)
    units = max(1, (websites + ips) // 5)
    obs: list[Observation] = []
    n = 0

    def add(
        asset: str,
        unit: str,
        probe: str,
        t: float,
        ok: bool,
        data: dict[str, Any],
        error: str | None = None,
    ) -> None:
        nonlocal n
        n += 1
        obs.append(
            Observation(
                id=f"o{n:08d}",
                asset=asset,
                unit=unit,
                probe=probe,
                observed_at=start + timedelta(seconds=t),
                collector="c1",
                vantage="local",
                ok=ok,
                duration_s=0.05,
                error=error,
                data=data,
            )
        )

    for w in range(websites):
        a, u = f"web-{w:02d}", f"unit-{w % units}"
        off = w * 1.7  # spread the probes of different assets in time
        for m in range(minutes):
            if not (a == "web-18" and 150 <= m < 170):  # the http probe goes silent
                ok, data, err = script.http(a, m)
                add(a, u, "http", m * MIN + off, ok, data, err)
            if m % 5 == 0:
                add(a, u, "tls", m * MIN + off + 10, True, script.tls(a, m))
                add(a, u, "dns", m * MIN + off + 20, True, script.dns(a, m))
                add(a, u, "content", m * MIN + off + 30, True, script.content(a, m))
                add(a, u, "tcp", m * MIN + off + 40, True, script.tcp(a, m))
    for i in range(ips):
        a, u = f"ip-{i:02d}", f"unit-{i % units}"
        off = i * 2.3
        for half in range(minutes * 2):
            reachable, data = script.icmp(a, half / 2)
            add(a, u, "icmp", half * 30 + off, reachable, data)
            if half % 10 == 0:
                add(a, u, "tcp", half * 30 + off + 15, True, script.tcp(a, half / 2))
    for k in range(6):  # a brute-force burst from one address, and some stray failures
        add(
            "sys-00",
            "unit-0",
            "ingest",
            45 * MIN + k * 8,
            True,
            {
                "event_type": "login_failure",
                "source_ip": "203.0.113.7",
                "user": "admin",
                "outcome": "failure",
            },
        )
    for k in range(20):
        add(
            "sys-00",
            "unit-0",
            "ingest",
            k * 11 * MIN + 5,
            True,
            {
                "event_type": "login_failure",
                "source_ip": f"198.51.100.{20 + k}",
                "user": "ops",
                "outcome": "failure",
            },
        )
    obs.sort(key=lambda o: (o.observed_at, o.id))
    return SampleHistory(_inventory(websites, ips), obs, list(_controls(start, units)))


def _controls(start: datetime, units: int) -> Iterator[Control]:
    def at(minutes: float) -> datetime:
        return start + timedelta(minutes=minutes)

    yield Control(
        id="c-ack-1",
        kind="ack",
        at=at(36.5),
        actor="duty-a",
        target=fingerprint("site-down", "web-03", {}),
        comment="looking",
    )
    yield Control(
        id="c-sil-1",
        kind="silence",
        at=at(50.5),
        actor="duty-b",
        data={
            "matchers": [f"unit={'unit-1' if units > 1 else 'unit-0'}"],
            "ends_at": format_time(at(110.5)),
        },
        comment="planned work",
    )
    yield Control(
        id="c-fixed-1",
        kind="fixed",
        at=at(31.5),
        actor="unit-3-admin",
        target=fingerprint("cert-mismatch", "web-13", {}),
        comment="replaced cert",
    )
    yield Control(
        id="c-exp-1", kind="expire_silence", at=at(80.5), actor="duty-b", target="c-sil-1"
    )
