"""Reusable loopback servers for tests, benchmarks and demos.

Every server binds 127.0.0.1 on a free port, runs on its own background
event loop (so a hanging server never blocks the code under test) and is a
context manager. Nothing here talks to anything outside 127.0.0.0/8.

- ``HttpServer`` (+ ``Page``, ``Redirect``, ``Slow``, ``Hang``, ``Endless``,
  ``GzipBomb``, ``Reset``): HTTP/HTTPS with routes and misbehaviours.
- ``TestPKI``: a test CA and server contexts (valid, expired, wrong host,
  self-signed, TLS 1.0 only); ``legacy_supported()``.
- ``TcpServer`` (banner / silent / reset) and ``closed_port()``.
- ``DnsServer``: A/AAAA/CNAME/NS from a dict zone, or a silent one.
- ``pages``: sample portal pages (dynamic, defaced, with dark links).
"""

from tests.servers.certs import TestPKI, legacy_supported
from tests.servers.dns import DnsServer
from tests.servers.http import (
    Endless,
    GzipBomb,
    Hang,
    HttpServer,
    Page,
    Redirect,
    Request,
    Reset,
    Slow,
)
from tests.servers.tcp import TcpServer, closed_port

__all__ = [
    "DnsServer",
    "Endless",
    "GzipBomb",
    "Hang",
    "HttpServer",
    "Page",
    "Redirect",
    "Request",
    "Reset",
    "Slow",
    "TcpServer",
    "TestPKI",
    "closed_port",
    "legacy_supported",
]
