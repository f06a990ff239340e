"""TCP services of the city's fixed IPs and systems, each saying what it is.

A ``Service`` listens on ``host:port`` and greets like the real thing, so the
tcp probe's banner grabbing has something to read: an SSH version line, an
SMTP greeting, an HTTP server header, or a Redis-lookalike that answers
``PING`` with ``+PONG`` (the risky port a scenario opens). ``open`` and
``close`` are what scenario steps call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)

BANNERS: dict[str, bytes] = {
    "ssh": b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n",
    "smtp": b"220 mail.gov.example ESMTP Postfix\r\n",
    "http": b"",
    "redis": b"",
}


class Service:
    """One listening TCP service."""

    def __init__(self, host: str, port: int, kind: str) -> None:
        if kind not in BANNERS:
            raise ValueError(f"unknown service kind {kind!r}; known: {sorted(BANNERS)}")
        self.host = host
        self.port = port
        self.kind = kind
        self._server: asyncio.Server | None = None

    @property
    def is_open(self) -> bool:
        return self._server is not None

    async def open(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._serve, self.host, self.port, reuse_address=True
            )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            banner = BANNERS[self.kind]
            if banner:
                writer.write(banner)
                await writer.drain()
            line = await asyncio.wait_for(reader.readline(), timeout=5.0)
            writer.write(self._answer(line))
            await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _answer(self, line: bytes) -> bytes:
        if self.kind == "redis":
            if b"PING" in line.upper():
                return b"+PONG\r\n"
            return b"-NOAUTH Authentication required.\r\n"
        if self.kind == "http":
            return (
                b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Length: 0\r\n"
                b"Connection: close\r\n\r\n"
            )
        if self.kind == "smtp":
            return b"221 Bye\r\n"
        return b"Protocol mismatch.\r\n"
