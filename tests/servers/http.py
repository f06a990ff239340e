"""A small, misbehaving-on-demand HTTP/1.1 server on loopback (plain or TLS).

Routes map a path to a behaviour. Plain ``Page``s and ``Redirect``s answer
normally; the other behaviours are the failures a probe must survive:
``Slow`` (answers late), ``Hang`` (reads the request, never answers),
``Endless`` (a chunked body that never ends), ``GzipBomb`` (a small gzip body
that inflates to a huge one), ``Reset`` (the connection is reset). A route
may also be a function of the ``Request`` returning a behaviour, for pages
that change on every request (counters, dates, CSRF tokens).

    with HttpServer({"/": Page("<title>hi</title>")}) as srv:
        srv.url("/")            # http://127.0.0.1:PORT/
    with HttpServer(routes, ssl_context=pki.valid(), host_name="localhost") as srv:
        srv.url("/")            # https://localhost:PORT/
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import ssl
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

from tests.servers.loop import BackgroundLoop


@dataclass(frozen=True)
class Request:
    """What the server read: method, target (path + query) and headers (lower-case names)."""

    method: str
    target: str
    headers: Mapping[str, str]

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


@dataclass(frozen=True)
class Page:
    """A normal answer."""

    body: str | bytes = b""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "text/html; charset=utf-8"
    #: Send the body gzip-compressed (Content-Encoding: gzip).
    gzip: bool = False
    #: Send the body with chunked transfer encoding instead of Content-Length.
    chunked: bool = False


@dataclass(frozen=True)
class Redirect:
    """A redirect to ``location`` (absolute or relative)."""

    location: str
    status: int = 302


@dataclass(frozen=True)
class Slow:
    """Wait ``delay`` seconds before answering with ``then``."""

    delay: float
    then: Page = field(default_factory=lambda: Page("<title>slow</title>"))


@dataclass(frozen=True)
class Hang:
    """Read the request, then never answer (the connection stays open)."""


@dataclass(frozen=True)
class Endless:
    """A 200 whose chunked body never ends."""

    chunk: bytes = b"<p>" + b"x" * 16_000 + b"</p>\n"


@dataclass(frozen=True)
class GzipBomb:
    """A gzip body of a few tens of kB that inflates to ``inflated`` bytes."""

    inflated: int = 64 << 20


@dataclass(frozen=True)
class Reset:
    """Reset the connection (RST) instead of answering."""


Behaviour = Page | Redirect | Slow | Hang | Endless | GzipBomb | Reset
Route = Behaviour | Callable[[Request], Behaviour]

REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 404: "Not Found", 500: "Error"}

_bombs: dict[int, bytes] = {}


def _bomb(size: int) -> bytes:
    if size not in _bombs:
        _bombs[size] = gzip.compress(b"\0" * size, compresslevel=9)
    return _bombs[size]


class HttpServer:
    """An HTTP (or HTTPS when given an ``ssl_context``) server on 127.0.0.1."""

    def __init__(
        self,
        routes: Mapping[str, Route] | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        host_name: str = "127.0.0.1",
        server_header: str = "ssa-test/1.0",
    ) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.ssl_context = ssl_context
        self.host_name = host_name
        self.server_header = server_header
        self.requests: list[Request] = []
        self.port = 0
        self._bg: BackgroundLoop | None = None
        self._server: asyncio.Server | None = None

    # -- lifecycle

    def start(self) -> HttpServer:
        self._bg = BackgroundLoop("http-test-server")
        self._server = self._bg.run(self._start())
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _start(self) -> asyncio.Server:
        return await asyncio.start_server(
            self._handle, "127.0.0.1", 0, ssl=self.ssl_context, backlog=1024
        )

    def stop(self) -> None:
        if self._bg is None:
            return
        if self._server is not None:
            self._bg.run(_close(self._server))
        self._bg.close()
        self._bg = None

    def __enter__(self) -> HttpServer:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def url(self, path: str = "/") -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{self.host_name}:{self.port}{path}"

    def set(self, path: str, route: Route) -> None:
        """Change what ``path`` answers (e.g. deface a page during a test)."""
        self.routes[path] = route

    # -- serving

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        except ssl.SSLError:
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = [*lines[0].split(" "), "", "", ""][:3]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        req = Request(method, target, headers)
        self.requests.append(req)
        route = self.routes.get(req.path, Page("<title>not found</title>", status=404))
        behaviour = route(req) if callable(route) else route
        try:
            await self._answer(req, behaviour, writer)
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(self, req: Request, b: Behaviour, writer: asyncio.StreamWriter) -> None:
        if isinstance(b, Slow):
            await asyncio.sleep(b.delay)
            b = b.then
        if isinstance(b, Hang):
            await asyncio.sleep(3600)
            return
        if isinstance(b, Reset):
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        if isinstance(b, Redirect):
            self._head(writer, b.status, {"Location": b.location, "Content-Length": "0"})
        elif isinstance(b, Endless):
            self._head(writer, 200, {"Content-Type": "text/html", "Transfer-Encoding": "chunked"})
            while True:
                writer.write(b"%x\r\n%s\r\n" % (len(b.chunk), b.chunk))
                await writer.drain()
        elif isinstance(b, GzipBomb):
            body = _bomb(b.inflated)
            self._head(
                writer,
                200,
                {
                    "Content-Type": "text/html",
                    "Content-Encoding": "gzip",
                    "Content-Length": str(len(body)),
                },
            )
            if req.method != "HEAD":
                writer.write(body)
        else:
            self._page(req, b, writer)
        await writer.drain()

    def _page(self, req: Request, p: Page, writer: asyncio.StreamWriter) -> None:
        body = p.body.encode() if isinstance(p.body, str) else p.body
        headers = {"Content-Type": p.content_type, **p.headers}
        if p.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        if p.chunked:
            headers["Transfer-Encoding"] = "chunked"
            half = len(body) // 2
            parts = [body[:half], body[half:]]
            body = b"".join(b"%x\r\n%s\r\n" % (len(x), x) for x in parts if x) + b"0\r\n\r\n"
        else:
            headers["Content-Length"] = str(len(body))
        self._head(writer, p.status, headers)
        if req.method != "HEAD":
            writer.write(body)

    def _head(self, writer: asyncio.StreamWriter, status: int, headers: Mapping[str, str]) -> None:
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
        lines += [f"Server: {self.server_header}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


async def _close(server: asyncio.Server) -> None:
    """Stop listening (must run on the server's own loop)."""
    server.close()
