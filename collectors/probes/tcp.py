"""The tcp probe: which ports of a host are open, which should not be, and what answers.

One observation per asset covers every port checked: the asset's
``expected_ports`` (its baseline), ``options.tcp.ports`` and the risky list
(``options.tcp.risky_ports``, default ``RISKY_PORTS``). Ports are connected
to concurrently, each bounded by a connect timeout. On an open port the
probe waits briefly for a greeting (SSH, FTP, SMTP and most databases speak
first); if none comes it sends ``HEAD / HTTP/1.0`` and keeps the ``Server``
header of an HTTP answer, or the first line of whatever else answered.

Data (docs/observations.md): ``open_ports``, ``risky_open`` (open ports on
the risky list), ``unexpected_open`` (open, not in ``expected_ports``; only
when the asset has a baseline), ``expected_closed``, ``banners``
({"22": "SSH-2.0-OpenSSH_9.2"}), ``ports`` (one entry per port: ``port``,
``state`` open/closed/filtered, ``banner``, ``risky``, ``expected``). When
exactly one port is checked, ``port``, ``open`` and ``banner`` are also set
at the top level.

``ok`` is false only when an expected port is not open.

Options (``options.tcp``): ``ports``, ``risky_ports``, ``connect_timeout``
(s, default 2), ``banner_wait`` (s, default 1), ``concurrency`` (default 64).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from collectors.probes.base import ProbeConfig
from engine.errors import ProbeError
from engine.events import Observation
from engine.inventory.model import Asset

NAME = "tcp"

#: Ports that should not be open to the outside on a government host.
RISKY_PORTS: tuple[int, ...] = (
    21,  # ftp
    23,  # telnet
    135,  # msrpc
    139,  # netbios
    445,  # smb
    1433,  # mssql
    1521,  # oracle
    2375,  # docker api
    3306,  # mysql
    3389,  # rdp
    5432,  # postgresql
    5900,  # vnc
    6379,  # redis
    9200,  # elasticsearch
    11211,  # memcached
    27017,  # mongodb
)
MAX_BANNER_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def ports_to_check(asset: Asset, config: ProbeConfig) -> tuple[list[int], set[int]]:
    """Every port to connect to (sorted), and the risky ones among all possible."""
    extra = config.option(asset, NAME, "ports", ()) or ()
    risky = set(config.option(asset, NAME, "risky_ports", RISKY_PORTS))
    ports = set(asset.expected_ports) | {int(p) for p in extra} | risky
    bad = [p for p in ports if not 0 < p < 65536]
    if bad:
        raise ProbeError(f"asset {asset.id}: not a TCP port: {bad[0]}")
    return sorted(ports), risky


async def probe(asset: Asset, config: ProbeConfig, *, timeout: float) -> Observation:
    """Check the asset's ports; never raises for the target's failure."""
    host = asset.host
    if not host:
        raise ProbeError(f"asset {asset.id} has no host for the tcp probe")
    ports, risky = ports_to_check(asset, config)
    connect_timeout = min(float(config.option(asset, NAME, "connect_timeout", 2.0)), timeout / 2)
    banner_wait = min(float(config.option(asset, NAME, "banner_wait", 1.0)), timeout / 4)
    limit = asyncio.Semaphore(int(config.option(asset, NAME, "concurrency", 64)))
    watch = config.start()

    async def check(port: int) -> tuple[str, str]:
        async with limit:
            return await _check(host, port, connect_timeout, banner_wait)

    try:
        async with asyncio.timeout(timeout):
            results = await asyncio.gather(*(check(p) for p in ports))
    except TimeoutError:
        return config.failure(asset, NAME, watch, f"timeout after {timeout:g}s")
    expected = set(asset.expected_ports)
    rows = [
        {
            "port": p,
            "state": state,
            "banner": banner,
            "risky": p in risky,
            "expected": p in expected,
        }
        for p, (state, banner) in zip(ports, results, strict=True)
    ]
    open_ports = [r["port"] for r in rows if r["state"] == "open"]
    data: dict[str, Any] = {
        "open_ports": open_ports,
        "risky_open": [p for p in open_ports if p in risky],
        "unexpected_open": [p for p in open_ports if p not in expected] if expected else [],
        "expected_closed": sorted(expected - set(open_ports)),
        "banners": {str(r["port"]): r["banner"] for r in rows if r["banner"]},
        "ports": rows,
    }
    if len(rows) == 1:
        data.update(port=rows[0]["port"], open=rows[0]["state"] == "open", banner=rows[0]["banner"])
    closed = data["expected_closed"]
    error = f"expected port not open: {', '.join(map(str, closed))}" if closed else None
    return config.observation(asset, NAME, watch, ok=not closed, data=data, error=error)


async def _check(host: str, port: int, connect_timeout: float, wait: float) -> tuple[str, str]:
    """(state, banner) of one port: open/closed/filtered, and what the service said."""
    try:
        async with asyncio.timeout(connect_timeout):
            reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return "filtered", ""
    except ConnectionResetError:
        # Refused is RST to our SYN; a reset after that means a service accepted, then hung up.
        return "open", ""
    except OSError:
        return "closed", ""
    try:
        return "open", await _banner(reader, writer, wait)
    finally:
        writer.transport.abort()


async def _banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wait: float) -> str:
    try:
        async with asyncio.timeout(wait):
            greeting = await reader.read(512)
        if greeting:
            return _clean(greeting)
        return ""  # the service closed without a word
    except TimeoutError:
        pass
    except OSError:
        return ""
    # A silent service: ask it as HTTP would.
    try:
        writer.write(b"HEAD / HTTP/1.0\r\nUser-Agent: ssa-collector\r\n\r\n")
        async with asyncio.timeout(wait):
            await writer.drain()
            answer = await reader.read(2048)
    except (TimeoutError, OSError):
        return ""
    return http_banner(answer)


def http_banner(answer: bytes) -> str:
    """``"HTTP Server: nginx/1.24"`` for an HTTP answer, else its first line."""
    text = answer.decode("latin-1")
    if text.startswith("HTTP/"):
        for line in text.split("\r\n")[1:]:
            if line.lower().startswith("server:"):
                return _clean(b"HTTP Server: " + line[7:].strip().encode("latin-1"))
        return "HTTP"
    return _clean(answer)


def _clean(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace").strip().split("\n", 1)[0].strip()
    return _CONTROL.sub("", text)[:MAX_BANNER_CHARS]
