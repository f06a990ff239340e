"""The dns probe: what a site's name resolves to, how fast, and whether that is expected.

Queries A, AAAA and CNAME for the asset's host, and NS for its zone (the
host, then its parents up to the registrable domain), concurrently, through
dnspython's async resolver. The nameserver is the asset's
``options.dns.nameserver`` (+ ``port``), else the collector's
``ProbeConfig.nameservers``, else the system's.

Data (docs/observations.md): ``addresses`` (A and AAAA, sorted), ``cnames``
(the CNAME chain, in order), ``ns``, ``lookup_ms`` (wall time of the
concurrent lookups), ``rcode``, ``matches_expected`` and
``unexpected_addresses``. ``matches_expected`` is null when the inventory
gives no ``expected_addresses``; otherwise it is true when the chain passes
through an expected CNAME target, or when there are addresses and every one
of them is expected (an extra, unknown address is how a hijack looks).

``ok`` is true when the name resolved to at least one address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.rdatatype
import dns.resolver

from collectors.content.domains import site_of
from collectors.probes.base import ProbeConfig
from engine.errors import ProbeError
from engine.events import Observation
from engine.inventory.model import Asset

NAME = "dns"


def resolver_for(asset: Asset, config: ProbeConfig, timeout: float) -> dns.asyncresolver.Resolver:
    """A resolver aimed at the configured nameserver, bounded by ``timeout``."""
    server = config.option(asset, NAME, "nameserver")
    port = config.option(asset, NAME, "port")
    if server:
        servers = [(str(server), int(port or 53))]
    else:
        servers = [_split(s) for s in config.nameservers]
    if servers:
        r = dns.asyncresolver.Resolver(configure=False)
        r.nameservers = [s for s, _ in servers]
        r.port = servers[0][1]
    else:
        r = dns.asyncresolver.Resolver()
    r.lifetime = timeout
    r.timeout = min(timeout, 2.0)
    r.cache = None
    return r


def _split(server: str) -> tuple[str, int]:
    if server.count(":") == 1:
        host, port = server.split(":")
        return host, int(port)
    return server, 53


async def probe(asset: Asset, config: ProbeConfig, *, timeout: float) -> Observation:
    """Resolve the asset's host; never raises for the target's failure."""
    host = asset.host
    if not host:
        raise ProbeError(f"asset {asset.id} has no host name for the dns probe")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise ProbeError(f"asset {asset.id}: the dns probe needs a host name, not {host}")
    watch = config.start()
    resolver = resolver_for(asset, config, timeout)
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            a, aaaa, cname, ns = await asyncio.gather(
                _query(resolver, host, "A"),
                _query(resolver, host, "AAAA"),
                _query(resolver, host, "CNAME"),
                _zone_ns(resolver, host),
            )
    except TimeoutError:
        return config.failure(asset, NAME, watch, f"timeout after {timeout:g}s")
    except dns.resolver.NXDOMAIN:
        return config.failure(
            asset, NAME, watch, f"nxdomain: {host} does not exist", {"rcode": "NXDOMAIN"}
        )
    except dns.resolver.LifetimeTimeout:
        return config.failure(asset, NAME, watch, f"timeout after {timeout:g}s")
    except dns.resolver.NoNameservers as e:
        return config.failure(asset, NAME, watch, f"no nameserver answered: {_short(e)}")
    except dns.exception.DNSException as e:
        return config.failure(asset, NAME, watch, f"dns error: {_short(e)}")
    lookup_ms = round((time.perf_counter() - start) * 1000, 3)
    addresses = sorted(set(a[0] + aaaa[0]))
    cnames = a[1] or aaaa[1] or cname[0]
    data: dict[str, Any] = {
        "addresses": addresses,
        "cnames": cnames,
        "ns": ns,
        "lookup_ms": lookup_ms,
        "rcode": "NOERROR",
        **compare(asset.expected_addresses, addresses, cnames),
    }
    ok = bool(addresses)
    error = None if ok else f"{host} has no A or AAAA record"
    return config.observation(asset, NAME, watch, ok=ok, data=data, error=error)


def compare(expected: tuple[str, ...], addresses: list[str], cnames: list[str]) -> dict[str, Any]:
    """``matches_expected`` and ``unexpected_addresses`` (see the module docstring)."""
    if not expected:
        return {"matches_expected": None, "unexpected_addresses": []}
    want = {e.lower().rstrip(".") for e in expected}
    if want & set(cnames):
        return {"matches_expected": True, "unexpected_addresses": []}
    unexpected = [a for a in addresses if a not in want]
    return {
        "matches_expected": bool(addresses) and not unexpected,
        "unexpected_addresses": unexpected,
    }


async def _query(
    resolver: dns.asyncresolver.Resolver, name: str, rdtype: str
) -> tuple[list[str], list[str]]:
    """(answers, CNAME chain) of one query; NoAnswer is empty, NXDOMAIN raises."""
    try:
        answer = await resolver.resolve(name, rdtype, raise_on_no_answer=False)
    except dns.resolver.NoAnswer:
        return [], []
    values: list[str] = []
    chain: list[str] = []
    if answer.response is not None:
        for rrset in answer.response.answer:
            if rrset.rdtype == dns.rdatatype.CNAME:
                chain += [_name(r.to_text()) for r in rrset]
            elif rrset.rdtype == dns.rdatatype.from_text(rdtype):
                values += [_name(r.to_text()) for r in rrset]
    if rdtype == "CNAME":
        return chain, chain
    return values, chain


async def _zone_ns(resolver: dns.asyncresolver.Resolver, host: str) -> list[str]:
    """NS records of the nearest enclosing zone, up to the registrable domain."""
    labels = host.rstrip(".").split(".")
    stop = len(site_of(host).split("."))
    for i in range(0, max(1, len(labels) - stop + 1)):
        name = ".".join(labels[i:])
        try:
            values, _ = await _query(resolver, name, "NS")
        except dns.resolver.NXDOMAIN:
            continue
        if values:
            return sorted(values)
    return []


def _name(text: str) -> str:
    return text.lower().rstrip(".")


def _short(e: BaseException) -> str:
    return " ".join(str(e).split())[:200]
