"""Syslog over UDP and TCP, and the HTTP ingest server, on the collector's loop.

UDP: one message per datagram. TCP (RFC 6587): each frame is either
octet-counted (``<length> <message>``) or ends with a newline; the first
character of each frame says which. A frame over ``MAX_MESSAGE_BYTES`` or a
malformed length closes the connection. Servers bind 127.0.0.1 unless
configured otherwise; port 0 picks a free port (tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from aiohttp import web

from collectors.ingest.http import make_app
from collectors.ingest.intake import Intake
from collectors.ingest.syslog import MAX_MESSAGE_BYTES

log = logging.getLogger(__name__)


class _SyslogUdp(asyncio.DatagramProtocol):
    def __init__(self, intake: Intake) -> None:
        self.intake = intake

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if len(data) > MAX_MESSAGE_BYTES:
            self.intake.reject("udp", "too_large")
            return
        self.intake.accept_syslog(data.decode("utf-8", "replace"), str(addr[0]), "udp")


async def read_frames(reader: asyncio.StreamReader) -> list[bytes] | None:
    """One frame (as a one-item list), [] at a clean end, None on a framing error."""
    first = await reader.read(1)
    if not first:
        return []
    if first.isdigit():  # octet counting: "<len> <msg>"
        digits = first
        while (c := await reader.read(1)).isdigit() and len(digits) < 7:
            digits += c
        if c != b" ":
            return None
        n = int(digits)
        if not 0 < n <= MAX_MESSAGE_BYTES:
            return None
        try:
            return [await reader.readexactly(n)]
        except asyncio.IncompleteReadError:
            return []
    try:  # non-transparent framing: up to LF
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as e:
        return [first + e.partial] if e.partial else []
    except asyncio.LimitOverrunError:
        return None
    return [first + line]


async def _tcp_client(
    intake: Intake, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    peer = writer.get_extra_info("peername")
    addr = str(peer[0]) if peer else None
    try:
        while True:
            frames = await read_frames(reader)
            if frames is None:
                intake.reject("tcp", "malformed")
                log.warning("syslog/tcp from %s: bad framing; closing", addr)
                return
            if not frames:
                return
            text = frames[0].decode("utf-8", "replace").strip("\r\n\x00")
            if text:
                intake.accept_syslog(text, addr, "tcp")
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        with contextlib.suppress(Exception):
            writer.close()


@dataclass
class IngestServers:
    """The HTTP, syslog/UDP and syslog/TCP listeners of one collector."""

    intake: Intake
    host: str = "127.0.0.1"
    http_port: int = 8514
    syslog_port: int = 5514
    max_body_bytes: int = 1 << 20
    ports: dict[str, int] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _udp: asyncio.DatagramTransport | None = None
    _tcp: asyncio.Server | None = None

    async def start(self) -> dict[str, int]:
        """Start listening; returns the bound ports {"http", "udp", "tcp"}."""
        loop = asyncio.get_running_loop()
        self._runner = web.AppRunner(make_app(self.intake, self.max_body_bytes), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.http_port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.ports["http"] = server.sockets[0].getsockname()[1]
        self._tcp = await asyncio.start_server(
            lambda r, w: _tcp_client(self.intake, r, w), self.host, self.syslog_port,
            limit=MAX_MESSAGE_BYTES + 2,
        )
        self.ports["tcp"] = self._tcp.sockets[0].getsockname()[1]
        # Same port number for UDP as TCP when a fixed port is configured.
        udp_port = self.syslog_port or self.ports["tcp"]
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _SyslogUdp(self.intake), local_addr=(self.host, udp_port)
        )
        self._udp = transport
        self.ports["udp"] = transport.get_extra_info("sockname")[1]
        log.info("ingest: http %s:%d%s, syslog udp/tcp %s:%d/%d", self.host, self.ports["http"],
                 "/ingest/v1/events", self.host, self.ports["udp"], self.ports["tcp"])
        return self.ports

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(TimeoutError):  # open client connections may linger
                await asyncio.wait_for(self._tcp.wait_closed(), 2)
        if self._runner is not None:
            await self._runner.cleanup()
