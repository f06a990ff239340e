"""One website of the simulated city: an aiohttp server on a loopback port.

A ``Site`` serves its pages (``engine.demo.pages``) and changes its behaviour
when a scenario step tells it to: ``go_down`` closes the listener (clients get
"connection refused"), ``fail`` answers every request with an error status,
``slow_down`` delays each answer, ``deface`` and ``plant_dark_links`` change
the content, and ``restore`` undoes everything.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from engine.demo import pages
from engine.demo.plan import SiteSpec

log = logging.getLogger(__name__)


@dataclass
class SiteState:
    """How a site behaves right now."""

    up: bool = True
    #: Non-zero: every request gets this status (a broken backend).
    error_status: int = 0
    delay_s: float = 0.0
    defaced: bool = False
    dark_links: bool = False


class Site:
    """A running website of the city."""

    def __init__(
        self,
        spec: SiteSpec,
        host: str,
        port: int,
        tls: ssl.SSLContext | None,
        now: Callable[[], datetime],
    ) -> None:
        self.spec = spec
        self.host = host
        self.port = port
        self.tls = tls
        self.state = SiteState()
        self._now = now
        self._visits = 1000 + sum(map(ord, spec.id)) * 7
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        self._site: web.TCPSite | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}/"

    async def start(self) -> None:
        await self._runner.setup()
        await self._listen()

    async def close(self) -> None:
        await self._runner.cleanup()
        self._site = None

    async def _listen(self) -> None:
        self._site = web.TCPSite(
            self._runner, self.host, self.port, ssl_context=self.tls, reuse_address=True
        )
        await self._site.start()

    async def go_down(self) -> None:
        """Stop listening: new connections are refused."""
        self.state.up = False
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def fail(self, status: int = 503) -> None:
        self.state.error_status = status

    async def slow_down(self, delay_s: float) -> None:
        self.state.delay_s = delay_s

    async def deface(self) -> None:
        self.state.defaced = True

    async def plant_dark_links(self) -> None:
        self.state.dark_links = True

    async def restore(self) -> None:
        """Back to normal: listening, fast, correct content."""
        self.state = SiteState()
        if self._site is None:
            await self._listen()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        s = self.state
        if s.delay_s:
            await asyncio.sleep(s.delay_s)
        if s.error_status:
            return web.Response(
                status=s.error_status,
                text=pages.error_page(s.error_status),
                content_type="text/html",
            )
        if request.path == "/login" and request.method == "POST":
            return web.Response(status=401, text="登录失败\n")
        self._visits += 1
        if s.defaced:
            body = pages.defaced_page(self.spec.name)
        else:
            body = pages.normal_page(
                self.spec.name, self.spec.hostname, self._now(), self._visits, s.dark_links
            )
        headers = {"Server": "nginx"}
        if self.spec.criticality >= 4:
            # Key sites set the security headers; the others show what is missing.
            headers.update(
                {
                    "X-Frame-Options": "SAMEORIGIN",
                    "X-Content-Type-Options": "nosniff",
                    "Content-Security-Policy": "default-src 'self'",
                }
            )
            if self.tls:
                headers["Strict-Transport-Security"] = "max-age=31536000"
        return web.Response(text=body, content_type="text/html", charset="utf-8", headers=headers)
