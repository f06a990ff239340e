"""A loopback webhook receiver that stands in for the on-call staff's phones.

The demo's notifier sends to it. Every POST is recorded (path, headers that
matter, JSON body), appended as one JSON line to a file if one is given, and
summarised on the console, so whoever runs the demo sees notifications
arrive. ``GET /received`` lists what arrived, for tests and scripts.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from engine.broker.local import free_port

log = logging.getLogger(__name__)

#: Request headers worth keeping (signatures, ids); never Authorization.
KEPT_HEADERS = ("Content-Type", "X-Ssa-Signature", "X-Ssa-Idempotency-Key", "User-Agent")


@dataclass
class Received:
    """One notification as it arrived."""

    at: str
    path: str
    headers: dict[str, str]
    body: Any

    def summary(self) -> str:
        b = self.body if isinstance(self.body, dict) else {}
        alert = b.get("alert", b) if isinstance(b.get("alert", b), dict) else b
        parts = [
            str(alert.get(k))
            for k in ("state", "severity", "rule", "asset", "title")
            if alert.get(k) is not None
        ]
        return " ".join(parts) if parts else f"{len(json.dumps(self.body))} bytes"


@dataclass
class WebhookReceiver:
    """Records what is POSTed to it on ``host:port``."""

    host: str = "127.0.0.1"
    port: int = 0
    log_file: Path | None = None
    echo: bool = True
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        app = web.Application(client_max_size=1 << 20)
        app.router.add_post("/{tail:.*}", self._post)
        app.router.add_get("/received", self._list)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def start(self) -> None:
        if self.port == 0:
            self.port = free_port(self.host)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def close(self) -> None:
        await self._runner.cleanup()

    async def _post(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        item = Received(
            at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            path=request.path,
            headers={h: request.headers[h] for h in KEPT_HEADERS if h in request.headers},
            body=body,
        )
        self.received.append(item)
        if self.log_file is not None:
            with self.log_file.open("a", encoding="utf-8") as f:
                f.write(json.dumps(item.__dict__, ensure_ascii=False) + "\n")
        if self.echo:
            print(f"[webhook] {item.path} {item.summary()}", flush=True)
        return web.json_response({"ok": True})

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response([r.__dict__ for r in self.received], dumps=_dumps)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)
