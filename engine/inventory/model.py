"""The register of units and their assets, as typed values.

The inventory is what the centre registers: units (government departments,
with their contacts) and assets (websites, fixed IPs, information systems).
Collectors decide what to probe from it, rules read ``asset.*`` from it,
scoring weighs by ``criticality``, and notifications find recipients in the
unit's contacts. The loader (``engine.inventory.loader``) builds these from
YAML; ``Asset.to_dict``/``Asset.from_dict`` are the form on ``ssa.inventory``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from engine.events import format_time, parse_time

ASSET_KINDS: tuple[str, ...] = ("website", "ip", "system")

#: Probe interval by criticality when an asset does not give one (seconds).
DEFAULT_INTERVAL_S: dict[int, float] = {5: 30.0, 4: 60.0, 3: 120.0, 2: 300.0, 1: 600.0}


@dataclass(frozen=True, slots=True)
class Contact:
    """Someone in a unit who is told about its assets' alerts."""

    name: str
    email: str | None = None
    phone: str | None = None
    #: Free-form channel handles, e.g. {"dingtalk": "...", "wecom": "..."}.
    channels: Mapping[str, str] = field(default_factory=dict)
    #: Escalation level this contact belongs to (1 = first told).
    level: int = 1


@dataclass(frozen=True, slots=True)
class Unit:
    """A government unit that owns assets."""

    id: str
    name: str
    contacts: tuple[Contact, ...] = ()
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """A planned period when an asset's alerts are recorded but not notified."""

    start: datetime
    end: datetime
    reason: str = ""

    def covers(self, t: datetime) -> bool:
        return self.start <= t < self.end


@dataclass(frozen=True, slots=True)
class Asset:
    """One registered asset and how to watch it."""

    id: str
    unit: str
    kind: str
    name: str = ""
    #: Websites: the URL. IPs: an IP address. Systems: host or host:port.
    url: str | None = None
    address: str | None = None
    criticality: int = 3
    mlps_level: int | None = None
    probes: tuple[str, ...] = ()
    interval_s: float | None = None
    tags: tuple[str, ...] = ()
    expected_ports: tuple[int, ...] = ()
    #: DNS answers the dns probe compares with (addresses or CNAME targets).
    expected_addresses: tuple[str, ...] = ()
    maintenance: tuple[MaintenanceWindow, ...] = ()
    #: Assets this one sits behind (a website behind a fixed IP): their outage inhibits ours.
    depends_on: tuple[str, ...] = ()
    #: Probe-specific options, e.g. {"http": {"expect_status": [200]}, "tcp": {"ports": [22]}}.
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def host(self) -> str:
        """The host name or IP the probes connect to."""
        if self.url:
            return urlsplit(self.url).hostname or ""
        addr = self.address or ""
        if addr.startswith("["):  # [v6]:port
            return addr[1 : addr.index("]")]
        if addr.count(":") == 1:
            return addr.split(":", 1)[0]
        return addr

    @property
    def partition_key(self) -> str:
        """The Kafka key of this asset's observations: its unit.

        All assets of a unit land on one partition and so on one engine worker,
        together with their state: unit-wide sequence rules and inhibition ("the
        gateway is down, mute the sites behind it") then need no cross-worker
        state, while hundreds of units still spread evenly over the partitions.
        """
        return self.unit

    @property
    def interval(self) -> float:
        """Seconds between probes: the asset's own, or the default for its criticality."""
        return self.interval_s or DEFAULT_INTERVAL_S.get(self.criticality, 120.0)

    def in_maintenance(self, t: datetime) -> bool:
        return any(w.covers(t) for w in self.maintenance)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form published on ``ssa.inventory``."""
        return {
            "id": self.id,
            "unit": self.unit,
            "kind": self.kind,
            "name": self.name,
            "url": self.url,
            "address": self.address,
            "criticality": self.criticality,
            "mlps_level": self.mlps_level,
            "probes": list(self.probes),
            "interval_s": self.interval_s,
            "tags": list(self.tags),
            "expected_ports": list(self.expected_ports),
            "expected_addresses": list(self.expected_addresses),
            "maintenance": [
                {"start": format_time(w.start), "end": format_time(w.end), "reason": w.reason}
                for w in self.maintenance
            ],
            "depends_on": list(self.depends_on),
            "options": {k: dict(v) for k, v in self.options.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Asset:
        """Rebuild an asset published by ``to_dict`` (trusted: it was validated on load)."""
        return cls(
            id=d["id"],
            unit=d["unit"],
            kind=d["kind"],
            name=d.get("name", ""),
            url=d.get("url"),
            address=d.get("address"),
            criticality=int(d.get("criticality", 3)),
            mlps_level=d.get("mlps_level"),
            probes=tuple(d.get("probes", ())),
            interval_s=d.get("interval_s"),
            tags=tuple(d.get("tags", ())),
            expected_ports=tuple(d.get("expected_ports", ())),
            expected_addresses=tuple(d.get("expected_addresses", ())),
            maintenance=tuple(
                MaintenanceWindow(parse_time(w["start"]), parse_time(w["end"]), w.get("reason", ""))
                for w in d.get("maintenance", ())
            ),
            depends_on=tuple(d.get("depends_on", ())),
            options=d.get("options", {}),
        )


@dataclass(frozen=True)
class Inventory:
    """Every unit and asset, indexed by id."""

    units: Mapping[str, Unit]
    assets: Mapping[str, Asset]

    def unit_of(self, asset_id: str) -> Unit | None:
        a = self.assets.get(asset_id)
        return self.units.get(a.unit) if a else None
