"""A loopback webhook receiver that stands in for the on-call staff's phones.

The demo's notifier sends to it with its webhook channel
(``engine.notifiers.webhook``: a JSON message, ``X-SSA-Signature`` HMAC over
``timestamp.body``, an ``Idempotency-Key``). Every POST is recorded — path,
the headers that matter, the JSON body, whether the signature verified (when
the receiver knows the secret) and whether its idempotency key was seen
before — appended as one JSON line to a file if one is given, and summarised
on the console, so whoever runs the demo sees notifications arrive, once.
``GET /received`` lists what arrived, for tests and scripts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from engine.broker.local import free_port

log = logging.getLogger(__name__)

#: Request headers worth keeping (signature, timestamp, idempotency); never Authorization.
KEPT_HEADERS = ("Content-Type", "X-SSA-Timestamp", "X-SSA-Signature", "Idempotency-Key")


@dataclass
class Received:
    """One notification as it arrived."""

    at: str
    path: str
    headers: dict[str, str]
    body: Any
    #: True/False when the receiver has the secret; None when it cannot check.
    verified: bool | None = None
    #: Its idempotency key arrived before (a repeated delivery).
    duplicate: bool = False

    def summary(self) -> str:
        """One console line: the message title and each alert's state, severity, rule, asset."""
        b = self.body if isinstance(self.body, dict) else {}
        listed = b.get("alerts")
        alerts: list[Any] = listed if isinstance(listed, list) else [b.get("alert", b)]
        parts = []
        for a in alerts:
            if isinstance(a, dict):
                keys = ("state", "severity", "rule", "asset")
                parts.append(" ".join(str(a[k]) for k in keys if a.get(k) is not None))
        text = "; ".join(p for p in parts if p) or f"{len(json.dumps(self.body))} bytes"
        title = b.get("title")
        flags = " (repeat)" if self.duplicate else ""
        flags += " (BAD SIGNATURE)" if self.verified is False else ""
        return (f"{title}: {text}" if title else text) + flags


def signature_ok(secret: str, timestamp: str, body: bytes, given: str) -> bool:
    """Whether ``given`` is the webhook channel's HMAC-SHA256 of ``timestamp.body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest("sha256=" + mac.hexdigest(), given)


@dataclass
class WebhookReceiver:
    """Records what is POSTed to it on ``host:port``."""

    host: str = "127.0.0.1"
    port: int = 0
    log_file: Path | None = None
    echo: bool = True
    #: The webhook channel's secret, to verify signatures (empty: not checked).
    secret: str = field(default="", repr=False)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        app = web.Application(client_max_size=1 << 20)
        app.router.add_post("/{tail:.*}", self._post)
        app.router.add_get("/received", self._list)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        self._keys: set[str] = set()

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
        headers = {h: request.headers[h] for h in KEPT_HEADERS if h in request.headers}
        verified = None
        if self.secret:
            verified = signature_ok(
                self.secret,
                headers.get("X-SSA-Timestamp", ""),
                raw,
                headers.get("X-SSA-Signature", ""),
            )
        key = headers.get("Idempotency-Key")
        duplicate = key is not None and key in self._keys
        if key is not None:
            self._keys.add(key)
        item = Received(
            at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            path=request.path,
            headers=headers,
            body=body,
            verified=verified,
            duplicate=duplicate,
        )
        self.received.append(item)
        if self.log_file is not None:
            with self.log_file.open("a", encoding="utf-8") as f:
                f.write(json.dumps(asdict(item), ensure_ascii=False) + "\n")
        if self.echo:
            print(f"[webhook] {item.summary()}", flush=True)
        if verified is False:
            return web.json_response({"error": "bad signature"}, status=401)
        return web.json_response({"ok": True})

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response([asdict(r) for r in self.received], dumps=_dumps)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)
