"""Raw TCP listeners on loopback: service banners, silence and resets.

``TcpServer.banner("SSH-2.0-OpenSSH_9.2")`` greets every connection the way
SSH, FTP and SMTP servers do; ``TcpServer.silent()`` accepts and then says
nothing, forever (a hung service, or a TLS handshake that stalls);
``TcpServer.reset()`` resets each connection as soon as it is accepted.
``closed_port()`` gives a loopback port on which nothing listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from types import TracebackType

from tests.servers.loop import BackgroundLoop


class TcpServer:
    """One listener on 127.0.0.1 with one behaviour for every connection."""

    def __init__(self, mode: str, greeting: bytes = b"") -> None:
        if mode not in ("banner", "silent", "reset"):
            raise ValueError(f"unknown mode {mode!r}")
        self.mode = mode
        self.greeting = greeting
        self.port = 0
        self.accepted = 0
        self._bg: BackgroundLoop | None = None
        self._server: asyncio.Server | None = None

    @classmethod
    def banner(cls, text: str) -> TcpServer:
        return cls("banner", text.encode() + b"\r\n")

    @classmethod
    def silent(cls) -> TcpServer:
        return cls("silent")

    @classmethod
    def reset(cls) -> TcpServer:
        return cls("reset")

    def start(self) -> TcpServer:
        self._bg = BackgroundLoop("tcp-test-server")
        self._server = self._bg.run(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._bg is None:
            return
        if self._server is not None:
            self._bg.run(_close(self._server))
        self._bg.close()
        self._bg = None

    def __enter__(self) -> TcpServer:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            if self.mode == "reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            if self.mode == "banner":
                writer.write(self.greeting)
                await writer.drain()
            # Keep the connection open until the client leaves (or forever).
            await reader.read(65536)
            await asyncio.sleep(3600 if self.mode == "silent" else 0)
        except ConnectionError:
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


def closed_port() -> int:
    """A loopback port with no listener (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def _close(server: asyncio.Server) -> None:
    """Stop listening (must run on the server's own loop)."""
    server.close()
