"""The inventory of the simulated city, as the collectors read it.

``inventory_document(plan, layout)`` turns the city plan plus where its parts
were started (``Layout``: ports, the host block, the DNS server, the CA file)
into the ``units:``/``assets:`` document of DESIGN.md; ``write_inventory``
writes it as YAML for ``ssa inventory sync`` and ``ssa collect``. Websites are
reached at their loopback URL and trust the demo CA through the ``ca_file``
option of the http and tls probes; the DNS names of the key sites are assets
of their own (``<site>-domain``) whose dns probe asks the city's DNS server
(the ``nameserver`` and ``port`` options).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.demo.plan import CityPlan, HostSpec, SiteSpec

HEADER = (
    "# The simulated city's inventory, written by `ssa demo-city` when the city started.\n"
    "# Every address is on loopback; ports change from run to run, so do not edit it by hand.\n"
)


@dataclass(frozen=True)
class Layout:
    """Where the running city's parts listen."""

    #: The loopback address the websites listen on.
    site_host: str
    site_ports: dict[str, int]
    #: The first three octets of the hosts' loopback block, e.g. ``"127.77.0"``.
    host_net: str
    dns_address: str
    ca_file: str
    #: Probe interval of key assets and of the others (the demo probes often).
    key_interval: str = "5s"
    interval: str = "10s"
    #: Seconds of silence after which a pushing system's ingest probe fails.
    ingest_max_silence_s: float = 600.0
    extra_tags: tuple[str, ...] = field(default=("demo",))

    def host_address(self, host: HostSpec) -> str:
        return f"{self.host_net}.{host.octet}"

    def site_url(self, site: SiteSpec) -> str:
        scheme = "https" if site.https else "http"
        return f"{scheme}://{self.site_host}:{self.site_ports[site.id]}/"


def inventory_document(plan: CityPlan, layout: Layout) -> dict[str, Any]:
    """The inventory as plain data (YAML-ready)."""
    units = [
        {
            "id": u.id,
            "name": u.name,
            "contacts": [{"name": u.contact, "email": u.email, "phone": "+86-0000-0000"}],
        }
        for u in plan.units
    ]
    assets = [_site(s, layout) for s in plan.sites]
    assets += [_domain(s, layout) for s in plan.sites if s.key]
    assets += [_host(h, layout) for h in plan.hosts]
    return {"units": units, "assets": assets}


def write_inventory(path: Path, plan: CityPlan, layout: Layout) -> Path:
    """Write the city's inventory YAML to ``path`` (its folder is created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(
        inventory_document(plan, layout), allow_unicode=True, sort_keys=False, width=100
    )
    path.write_text(HEADER + text, encoding="utf-8")
    return path


def _common(spec: SiteSpec | HostSpec, layout: Layout) -> dict[str, Any]:
    key = spec.criticality >= 5
    d: dict[str, Any] = {
        "id": spec.id,
        "unit": spec.unit,
        "kind": "website" if isinstance(spec, SiteSpec) else spec.kind,
        "name": spec.name,
        "criticality": spec.criticality,
    }
    if spec.mlps_level is not None:
        d["mlps_level"] = spec.mlps_level
    d["interval"] = layout.key_interval if key else layout.interval
    d["tags"] = [*(["key-site"] if key and isinstance(spec, SiteSpec) else []), *layout.extra_tags]
    return d


def _site(s: SiteSpec, layout: Layout) -> dict[str, Any]:
    d = _common(s, layout)
    d["url"] = layout.site_url(s)
    d["probes"] = ["http", "tls", "content"] if s.https else ["http", "content"]
    if s.depends_on:
        d["depends_on"] = list(s.depends_on)
    if s.https:
        d["options"] = {"http": {"ca_file": layout.ca_file}, "tls": {"ca_file": layout.ca_file}}
    return _ordered(d)


def _domain(s: SiteSpec, layout: Layout) -> dict[str, Any]:
    """The site's DNS name as its own asset, asked of the city's DNS server.

    The site itself is reached by its loopback address (nothing resolves the
    city's names but the city's DNS server), so the name is watched apart.
    """
    d = _common(s, layout)
    d["id"] = f"{s.id}-domain"
    d["name"] = f"{s.name}域名"
    d["url"] = f"{'https' if s.https else 'http'}://{s.hostname}/"
    d["probes"] = ["dns"]
    d["expected_addresses"] = [layout.site_host]
    host, _, port = layout.dns_address.rpartition(":")
    d["options"] = {"dns": {"nameserver": host, "port": int(port)}}
    return _ordered(d)


def _host(h: HostSpec, layout: Layout) -> dict[str, Any]:
    d = _common(h, layout)
    address = layout.host_address(h)
    if h.kind == "system":
        d["address"] = f"{address}:{h.services[0].port}"
    else:
        d["address"] = address
    d["probes"] = list(h.probes)
    d["expected_ports"] = list(h.expected_ports)
    if h.pushes_events:
        d["options"] = {"ingest": {"max_silence_s": layout.ingest_max_silence_s}}
    return _ordered(d)


_ORDER = (
    "id", "unit", "kind", "name", "url", "address", "criticality", "mlps_level", "probes",
    "interval", "tags", "expected_ports", "expected_addresses", "depends_on", "options",
)  # fmt: skip


def _ordered(d: dict[str, Any]) -> dict[str, Any]:
    """Keys in the order the inventory docs use, so the file reads naturally."""
    return {k: d[k] for k in _ORDER if k in d}
