"""The icmp probe: is the host reachable, how far away, how lossy.

Sends ``count`` ICMP echo requests with scapy and measures each reply's
round trip. Scapy's send/receive blocks, so it runs in a small dedicated
thread pool: the event loop never waits on it. Where raw sockets are not
permitted (not root, no CAP_NET_RAW) the probe falls back to timing TCP
connects to the host (``options.icmp.tcp_ports``, else the asset's
expected ports, else 80 and 443): a connection accepted *or refused* proves
the host is up. The observation says which with ``method``.

Data (docs/observations.md): ``reachable``, ``rtt_ms`` (mean),
``rtt_min_ms``, ``rtt_max_ms``, ``loss`` (0..1), ``sent``, ``received``,
``method`` ("icmp" or "tcp-fallback"), and ``port`` for the fallback.
``ok`` is ``reachable``.

Options (``options.icmp``): ``count`` (3), ``interval`` (s between echoes,
0.2), ``method`` ("icmp", or "tcp" to always use the fallback, e.g. where a
firewall drops ICMP), ``tcp_ports``.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from collectors.probes.base import ProbeConfig
from engine.errors import ProbeError
from engine.events import Observation
from engine.inventory.model import Asset

NAME = "icmp"
_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="icmp")
_raw_denied = threading.Event()


class RawSocketsDenied(Exception):
    """This process may not open raw sockets."""


def _echo(ip: str, count: int, interval: float, wait: float) -> list[float]:
    """Round trips (s) of the echoes answered; runs in a worker thread."""
    # scapy takes a second to import: only when an echo is really sent.
    from scapy.layers.inet import ICMP, IP
    from scapy.sendrecv import sr

    ident = random.randrange(1, 0xFFFF)
    packets = [IP(dst=ip) / ICMP(id=ident, seq=i + 1) for i in range(count)]
    for p in packets:
        # Build now: scapy's first build looks up routes, which would count in the first rtt.
        bytes(p)
    try:
        answered, _ = sr(packets, timeout=wait, inter=interval, verbose=0, threaded=True)
    except PermissionError as e:
        raise RawSocketsDenied(str(e)) from None
    except OSError as e:
        if e.errno in (1, 13):  # EPERM, EACCES
            raise RawSocketsDenied(str(e)) from None
        raise
    return [
        max(0.0, float(r.time) - float(s.sent_time)) for s, r in answered if s.sent_time is not None
    ]


async def probe(asset: Asset, config: ProbeConfig, *, timeout: float) -> Observation:
    """Ping the asset's host; never raises for the target's failure."""
    host = asset.host
    if not host:
        raise ProbeError(f"asset {asset.id} has no host for the icmp probe")
    count = max(1, int(config.option(asset, NAME, "count", 3)))
    interval = float(config.option(asset, NAME, "interval", 0.2))
    method = str(config.option(asset, NAME, "method", "icmp"))
    watch = config.start()
    try:
        async with asyncio.timeout(timeout):
            ip = await _resolve(host)
            if method == "icmp" and not _raw_denied.is_set():
                # Wait for the last echo's reply within what is left of the budget.
                wait = max(0.1, timeout - interval * (count - 1) - 0.2)
                try:
                    rtts = await asyncio.get_running_loop().run_in_executor(
                        _pool, _echo, ip, count, interval, wait
                    )
                    data = _summary(rtts, count, "icmp")
                    return _done(asset, config, watch, data)
                except RawSocketsDenied:
                    _raw_denied.set()
            ports = _fallback_ports(asset, config)
            data = await _tcp_ping(ip, ports, count, interval, timeout)
            return _done(asset, config, watch, data)
    except TimeoutError:
        return config.failure(asset, NAME, watch, f"timeout after {timeout:g}s")
    except OSError as e:
        return config.failure(asset, NAME, watch, f"cannot resolve {host}: {e}")


def _done(asset: Asset, config: ProbeConfig, watch: Any, data: dict[str, Any]) -> Observation:
    ok = bool(data["reachable"])
    error = None if ok else f"no answer to {data['sent']} {data['method']} probes"
    return config.observation(asset, NAME, watch, ok=ok, data=data, error=error)


async def _resolve(host: str) -> str:
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, family=socket.AF_INET)
    return str(infos[0][4][0])


def _fallback_ports(asset: Asset, config: ProbeConfig) -> list[int]:
    given = config.option(asset, NAME, "tcp_ports")
    if given:
        return [int(p) for p in given]
    return list(asset.expected_ports) or [80, 443]


async def _tcp_ping(
    ip: str, ports: list[int], count: int, interval: float, timeout: float
) -> dict[str, Any]:
    """Time TCP connects; accepted or refused both mean the host answered."""
    each = max(0.1, (timeout - interval * (count - 1)) / (count + 1))
    rtts: list[float] = []
    used = ports[0]
    for i in range(count):
        if i:
            await asyncio.sleep(interval)
        for port in ports:
            rtt = await _connect_time(ip, port, each)
            if rtt is not None:
                rtts.append(rtt)
                used = port
                break
    data = _summary(rtts, count, "tcp-fallback")
    data["port"] = used
    return data


async def _connect_time(ip: str, port: int, limit: float) -> float | None:
    start = time.perf_counter()
    try:
        async with asyncio.timeout(limit):
            _, writer = await asyncio.open_connection(ip, port)
        writer.transport.abort()
    except ConnectionRefusedError:
        pass  # the host answered with a reset: it is up
    except (TimeoutError, OSError):
        return None
    return time.perf_counter() - start


def _summary(rtts: list[float], sent: int, method: str) -> dict[str, Any]:
    ms = [r * 1000.0 for r in rtts]
    return {
        "reachable": bool(ms),
        "rtt_ms": round(sum(ms) / len(ms), 3) if ms else None,
        "rtt_min_ms": round(min(ms), 3) if ms else None,
        "rtt_max_ms": round(max(ms), 3) if ms else None,
        "loss": round(1 - len(ms) / sent, 3),
        "sent": sent,
        "received": len(ms),
        "method": method,
    }
