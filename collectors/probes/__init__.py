"""Probes: one module per protocol, one signature, one registry.

``PROBES`` maps a probe's name (as written in the inventory's ``probes:``)
to its function ``async def probe(asset, config, *, timeout) -> Observation``
(see ``collectors.probes.base``). The inventory loader takes the allowed
names from this dict, and the scheduler dispatches through it.
"""

from __future__ import annotations

from collectors.probes import content, dns, http, icmp, ingest, tcp, tls
from collectors.probes.base import Probe, ProbeConfig

PROBES: dict[str, Probe] = {
    "http": http.probe,
    "tls": tls.probe,
    "dns": dns.probe,
    "tcp": tcp.probe,
    "icmp": icmp.probe,
    "content": content.probe,
    "ingest": ingest.probe,
}

__all__ = ["PROBES", "Probe", "ProbeConfig"]
