"""Fetch one URL over asyncio streams, timing each phase and capping the body.

``fetch(url, trace, ...)`` follows redirects (counting them, refusing loops
and chains longer than ``max_redirects``), decodes chunked transfer and gzip
or deflate content with a cap on the *decompressed* size, and records the
time of each phase in ``trace`` as it goes. The caller bounds the whole fetch
with ``asyncio.timeout``; because ``trace`` is filled in as the request
progresses, a timeout still reports which phase hung and the phases done.

Failures of the target raise ``FetchError(phase, reason)`` with a short
reason (``"connection refused"``, ``"certificate verify failed: certificate
has expired"``, ``"redirect loop"``); nothing else escapes except
cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import time
import zlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PHASES = ("dns", "connect", "tls", "ttfb", "transfer")
_READ = 65536


class FetchError(Exception):
    """The target failed in ``phase`` for ``reason`` (short, safe to publish)."""

    def __init__(self, phase: str, reason: str) -> None:
        self.phase = phase
        self.reason = reason
        super().__init__(f"{phase}: {reason}")


@dataclass
class Trace:
    """What a fetch has done so far: phase times (ms, summed over hops) and hops."""

    phases_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    #: The phase in progress (for a timeout's message).
    phase: str = "dns"
    #: Every URL requested, in order (the first is the one asked for).
    urls: list[str] = field(default_factory=list)

    def add(self, phase: str, since: float) -> float:
        """Add the time since ``since`` to ``phase``; return now."""
        now = time.perf_counter()
        self.phases_ms[phase] += (now - since) * 1000.0
        return now


@dataclass(frozen=True)
class Response:
    """The final answer of a fetch."""

    url: str
    status: int
    #: Header names in lower case; repeated headers joined with ", ".
    headers: dict[str, str]
    #: The decoded body, at most ``max_body`` bytes.
    body: bytes
    #: True when the body was cut at ``max_body`` (or the server never ended it).
    truncated: bool
    #: Bytes read off the wire for this body (before decompression).
    wire_bytes: int
    #: Status codes and locations of the redirects followed before this answer.
    redirects: tuple[tuple[int, str], ...] = ()
    #: TLS version and cipher of the final connection, if it was https.
    tls_version: str | None = None
    tls_cipher: str | None = None


_contexts: dict[tuple[str | None, bool], ssl.SSLContext] = {}


def client_context(ca_file: str | None = None, *, verify: bool = True) -> ssl.SSLContext:
    """A TLS client context (cached): the system's CAs, or ``ca_file``'s; or no checks."""
    key = (ca_file, verify)
    ctx = _contexts.get(key)
    if ctx is None:
        if verify:
            ctx = ssl.create_default_context(cafile=ca_file)
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["http/1.1"])
        _contexts[key] = ctx
    return ctx


async def fetch(
    url: str,
    trace: Trace,
    *,
    max_body: int,
    method: str = "GET",
    max_redirects: int = 10,
    ssl_context: ssl.SSLContext | None = None,
    user_agent: str = "ssa-collector",
) -> Response:
    """GET (or HEAD) ``url`` and follow redirects; see the module docstring."""
    redirects: list[tuple[int, str]] = []
    seen: set[str] = set()
    while True:
        if url in seen:
            raise FetchError("redirect", f"redirect loop at {url}")
        seen.add(url)
        trace.urls.append(url)
        resp = await _request(url, trace, method, max_body, ssl_context, user_agent)
        location = resp.headers.get("location")
        if resp.status not in REDIRECT_STATUSES or not location:
            return Response(
                resp.url,
                resp.status,
                resp.headers,
                resp.body,
                resp.truncated,
                resp.wire_bytes,
                tuple(redirects),
                resp.tls_version,
                resp.tls_cipher,
            )
        if len(redirects) >= max_redirects:
            raise FetchError("redirect", f"more than {max_redirects} redirects")
        url = urljoin(url, location.strip())
        redirects.append((resp.status, url))
        if resp.status == 303:
            method = "GET"


async def _request(
    url: str,
    trace: Trace,
    method: str,
    max_body: int,
    ssl_context: ssl.SSLContext | None,
    user_agent: str,
) -> Response:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError("request", f"unsupported URL {url!r}")
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchError("request", f"bad port in {url!r}") from None

    t = time.perf_counter()
    trace.phase = "dns"
    ip = await _resolve(host, port)
    t = trace.add("dns", t)

    trace.phase = "connect"
    try:
        reader, writer = await asyncio.open_connection(ip, port, limit=_READ)
    except OSError as e:
        raise FetchError("connect", _os_reason(e)) from None
    try:
        t = trace.add("connect", t)
        tls_version = tls_cipher = None
        if parts.scheme == "https":
            trace.phase = "tls"
            ctx = ssl_context or client_context()
            try:
                # An IP literal is matched against IP SANs; Python sends SNI only for names.
                await writer.start_tls(ctx, server_hostname=host)
            except ssl.SSLCertVerificationError as e:
                raise FetchError("tls", f"certificate verify failed: {e.verify_message}") from None
            except (ssl.SSLError, OSError) as e:
                raise FetchError("tls", _ssl_reason(e)) from None
            sslobj = writer.get_extra_info("ssl_object")
            if sslobj is not None:
                tls_version = sslobj.version()
                cipher = sslobj.cipher()
                tls_cipher = cipher[0] if cipher else None
            t = trace.add("tls", t)

        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = host if parts.port is None else f"{host}:{parts.port}"
        if ":" in host and not host.startswith("["):
            host_header = f"[{host}]" + (f":{parts.port}" if parts.port else "")
        writer.write(
            (
                f"{method} {target} HTTP/1.1\r\nHost: {host_header}\r\n"
                f"User-Agent: {user_agent}\r\nAccept: */*\r\n"
                "Accept-Encoding: gzip, deflate\r\nConnection: close\r\n\r\n"
            ).encode("latin-1", "replace")
        )
        trace.phase = "ttfb"
        try:
            await writer.drain()
            first = await reader.read(1)
            if not first:
                raise FetchError("ttfb", "connection closed before a response")
            t = trace.add("ttfb", t)
            trace.phase = "transfer"
            head = first + await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            raise FetchError(trace.phase, "connection closed in the response headers") from None
        except asyncio.LimitOverrunError:
            raise FetchError("transfer", "response headers too large") from None
        except (OSError, ssl.SSLError) as e:
            raise FetchError(trace.phase, _os_reason(e)) from None
        status, headers = _parse_head(head)
        try:
            body, truncated, wire = await _read_body(reader, method, status, headers, max_body)
        except asyncio.IncompleteReadError:
            raise FetchError("transfer", "connection closed in the body") from None
        except (OSError, ssl.SSLError) as e:
            raise FetchError("transfer", _os_reason(e)) from None
        except zlib.error:
            raise FetchError("transfer", "corrupt compressed body") from None
        trace.add("transfer", t)
        return Response(url, status, headers, body, truncated, wire, (), tls_version, tls_cipher)
    finally:
        # A probe never waits for a polite close: a server that stalls must not hold it.
        writer.transport.abort()


async def _resolve(host: str, port: int) -> str:
    if _is_ip(host):
        return host
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise FetchError("dns", f"cannot resolve {host}: {e.strerror}") from None
    if not infos:
        raise FetchError("dns", f"cannot resolve {host}: no address")
    return str(infos[0][4][0])


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/"):
        raise FetchError("transfer", f"not an HTTP response: {lines[0][:60]!r}")
    try:
        status = int(status_line[1])
    except ValueError:
        raise FetchError("transfer", f"bad status line: {lines[0][:60]!r}") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" not in line:
            continue
        k, v = line.split(":", 1)
        k = k.strip().lower()
        headers[k] = f"{headers[k]}, {v.strip()}" if k in headers else v.strip()
    return status, headers


async def _read_body(
    reader: asyncio.StreamReader,
    method: str,
    status: int,
    headers: dict[str, str],
    max_body: int,
) -> tuple[bytes, bool, int]:
    """The decoded body (capped), whether it was cut, and the wire bytes read."""
    if method == "HEAD" or status < 200 or status in (204, 304):
        return b"", False, 0
    encoding = headers.get("content-encoding", "").strip().lower()
    inflate = None
    if encoding in ("gzip", "x-gzip"):
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        inflate = zlib.decompressobj()
    out = bytearray()
    wire = 0
    truncated = False
    async with contextlib.aclosing(_raw_body(reader, headers)) as pieces:
        async for raw in pieces:
            wire += len(raw)
            if inflate is None:
                out += raw
            else:
                # max_length caps what one call may inflate: a gzip bomb stops here.
                out += inflate.decompress(raw, max_body + 1 - len(out))
            if len(out) > max_body or wire > max_body:
                truncated = True
                break
        else:
            if inflate is not None and len(out) <= max_body:
                out += inflate.flush()
                truncated = len(out) > max_body
    return bytes(out[:max_body]), truncated, wire


async def _raw_body(
    reader: asyncio.StreamReader, headers: dict[str, str]
) -> AsyncGenerator[bytes, None]:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            line = await reader.readuntil(b"\r\n")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise FetchError("transfer", "bad chunk size") from None
            if size == 0:
                return
            while size > 0:
                piece = await reader.read(min(size, _READ))
                if not piece:
                    raise asyncio.IncompleteReadError(b"", size)
                size -= len(piece)
                yield piece
            await reader.readexactly(2)
    length = headers.get("content-length")
    if length is not None and length.strip().isdigit():
        left = int(length)
        while left > 0:
            piece = await reader.read(min(left, _READ))
            if not piece:
                raise asyncio.IncompleteReadError(b"", left)
            left -= len(piece)
            yield piece
        return
    while piece := await reader.read(_READ):
        yield piece


def _os_reason(e: BaseException) -> str:
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, ConnectionResetError):
        return "connection reset"
    if isinstance(e, ssl.SSLError):
        return _ssl_reason(e)
    if isinstance(e, OSError) and e.strerror:
        return e.strerror.lower()
    return type(e).__name__


def _ssl_reason(e: BaseException) -> str:
    if isinstance(e, ssl.SSLError):
        return f"tls handshake failed: {e.reason or e.strerror or type(e).__name__}".lower()
    if isinstance(e, ConnectionResetError):
        return "connection reset during tls handshake"
    return _os_reason(e)
