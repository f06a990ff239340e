"""``POST /ingest/v1/events``: registered systems push JSON security events.

The body is one event object or a list of them (``{"event_type": "login",
"user": "...", "source_ip": "...", "outcome": "failure", "message": "...",
"at": "2026-11-29T08:00:00Z"}``). The sender is the system whose token is
given as ``Authorization: Bearer <token>``: a missing or wrong token is 401,
a body over the size limit 413, a body that is not JSON objects 400. The
answer is ``{"accepted": n, "ids": [...]}``. Tokens are never logged.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web

from collectors.ingest.intake import Intake

log = logging.getLogger(__name__)

PATH = "/ingest/v1/events"
MAX_BODY_BYTES = 1 << 20
MAX_EVENTS = 1000

INTAKE: web.AppKey[Intake] = web.AppKey("intake", Intake)
LIMIT: web.AppKey[int] = web.AppKey("limit", int)


def make_app(intake: Intake, max_body_bytes: int = MAX_BODY_BYTES) -> web.Application:
    """The ingest HTTP application (aiohttp)."""
    app = web.Application(client_max_size=max_body_bytes)
    app[INTAKE] = intake
    app[LIMIT] = max_body_bytes
    app.router.add_post(PATH, _events)
    return app


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _events(request: web.Request) -> web.Response:
    intake = request.app[INTAKE]
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    asset = intake.directory.by_token(token.strip()) if scheme.lower() == "bearer" else None
    if asset is None:
        intake.reject("http", "unauthorized")
        log.warning("ingest from %s refused: missing or unknown token", request.remote)
        return _error(401, "missing or invalid bearer token")
    limit = request.app[LIMIT]
    if request.content_length is not None and request.content_length > limit:
        intake.reject("http", "too_large")
        return _error(413, f"body larger than {limit} bytes")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:  # chunked bodies have no Content-Length
        intake.reject("http", "too_large")
        return _error(413, f"body larger than {limit} bytes")
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        intake.reject("http", "malformed")
        return _error(400, "body is not JSON")
    events = body if isinstance(body, list) else [body]
    if not events or len(events) > MAX_EVENTS or not all(isinstance(e, dict) for e in events):
        intake.reject("http", "malformed")
        return _error(400, f"body must be an event object or a list of 1-{MAX_EVENTS} objects")
    ids = [intake.accept_json(asset, e).id for e in events]
    return web.json_response({"accepted": len(ids), "ids": ids}, status=202)
