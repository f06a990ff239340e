"""The engine's HTTP API (JSON) and ``/metrics``, as an aiohttp application.

``create_api(view, sink, settings, registry=...)`` builds the app; the
caller runs it (``serve_api``) on ``settings.api.host`` (127.0.0.1 unless
configured). Reads come from a ``StateView``; every mutation becomes a
``Control`` event handed to ``sink`` (the stream app publishes it on
``ssa.control``), so acknowledgements and silences are auditable and
replayable. A mutation is accepted (202) once the control is published; the
state changes when the engine applies it.

Mutations need ``Authorization: Bearer <settings.api.token>`` (compared in
constant time). With no token configured every mutation is refused (403):
an engine without a token is read-only, never open. The token is never
logged or echoed.

Routes::

    GET    /healthz                      GET /metrics
    GET    /api/v1/posture               GET /api/v1/assets        GET /api/v1/assets/{id}
    GET    /api/v1/units                 GET /api/v1/alerts?state=&severity=&unit=
    GET    /api/v1/alerts/{fingerprint}  GET /api/v1/silences
    POST   /api/v1/alerts/{fingerprint}/ack     {"comment": "...", "actor": "..."}
    POST   /api/v1/alerts/{fingerprint}/unack   {"comment": "...", "actor": "..."}
    POST   /api/v1/silences   {"matchers": ["rule=site-down"], "duration": "2h" | "ends_at": ...,
                               "starts_at": ..., "comment": "...", "actor": "..."}
    DELETE /api/v1/silences/{id}
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from engine.alerting.silences import silence_from_control
from engine.api.auth import check_bearer
from engine.api.view import Doc, StateView
from engine.durations import parse_duration
from engine.errors import EventError
from engine.events import SEVERITIES, Control, format_time
from engine.settings import Settings

log = logging.getLogger(__name__)

ControlSink = Callable[[Control], Awaitable[None]]
Clock = Callable[[], datetime]

MAX_BODY = 64 * 1024
MAX_ACTOR = 100
MAX_COMMENT = 2000

VIEW: web.AppKey[StateView] = web.AppKey("view", StateView)
SINK: web.AppKey[ControlSink] = web.AppKey("sink", object)  # type: ignore[arg-type]
TOKEN: web.AppKey[str] = web.AppKey("token", str)
REGISTRY: web.AppKey[CollectorRegistry] = web.AppKey("registry", CollectorRegistry)
CLOCK: web.AppKey[Clock] = web.AppKey("clock", object)  # type: ignore[arg-type]


def create_api(
    view: StateView,
    sink: ControlSink,
    settings: Settings,
    *,
    registry: CollectorRegistry | None = None,
    clock: Clock | None = None,
) -> web.Application:
    """The API application; ``clock`` stamps controls (default: the wall clock, UTC)."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_api_errors])
    app[VIEW] = view
    app[SINK] = sink
    app[TOKEN] = settings.api.token
    app[REGISTRY] = registry or CollectorRegistry()
    app[CLOCK] = clock or (lambda: datetime.now(UTC))
    app.add_routes(
        [
            web.get("/healthz", healthz),
            web.get("/metrics", metrics),
            web.get("/api/v1/posture", posture),
            web.get("/api/v1/assets", list_assets),
            web.get("/api/v1/assets/{id}", get_asset),
            web.get("/api/v1/units", list_units),
            web.get("/api/v1/alerts", list_alerts),
            web.get("/api/v1/alerts/{fp}", get_alert),
            web.post("/api/v1/alerts/{fp}/ack", ack),
            web.post("/api/v1/alerts/{fp}/unack", unack),
            web.get("/api/v1/silences", list_silences),
            web.post("/api/v1/silences", add_silence),
            web.delete("/api/v1/silences/{id}", expire_silence),
        ]
    )
    return app


async def serve_api(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving ``app``; the caller keeps the runner and awaits ``cleanup()`` to stop.

    ``port`` 0 picks a free port (see ``bound_port``).
    """
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The TCP port a started runner listens on."""
    addr = runner.addresses[0]
    return int(addr[1])


# ------------------------------------------------------------------- helpers


class ApiError(Exception):
    """A request the API refuses: becomes ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@web.middleware
async def _api_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as e:
        return _error(e.status, e.message)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", charset="utf-8"
    )


def _error(status: int, message: str, **headers: str) -> web.Response:
    resp = _json({"error": message}, status)
    resp.headers.update(headers)
    return resp


def _authorize(request: web.Request) -> web.Response | None:
    """None if the request carries the configured token, else the refusal."""
    refused = check_bearer(request.app[TOKEN], request.headers.get("Authorization", ""))
    if refused is None:
        return None
    return _error(refused.status, refused.message, **refused.headers)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = orjson.loads(await request.read())
    except orjson.JSONDecodeError as e:
        raise ApiError(400, f"body is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise _bad("body must be a JSON object")
    return data


def _bad(message: str) -> ApiError:
    return ApiError(400, message)


def _text(body: dict[str, Any], key: str, default: str, limit: int) -> str:
    v = body.get(key, default)
    if not isinstance(v, str):
        raise _bad(f"{key} must be a string")
    if len(v) > limit:
        raise _bad(f"{key} longer than {limit} characters")
    return v


async def _publish(request: web.Request, c: Control) -> web.Response:
    try:
        await request.app[SINK](c)
    except Exception as e:  # the sink is Kafka: any failure means "not recorded", say so
        log.warning("could not publish control %s (%s): %s", c.id, c.kind, type(e).__name__)
        return _error(503, f"could not record the {c.kind} (control topic unavailable); retry")
    return _json({"accepted": True, "control": c.to_dict()}, 202)


def _control(request: web.Request, kind: str, body: dict[str, Any], **fields: Any) -> Control:
    return Control(
        id=f"api-{uuid.uuid4().hex}",
        kind=kind,
        at=request.app[CLOCK](),
        actor=_text(body, "actor", "api", MAX_ACTOR) or "api",
        comment=_text(body, "comment", "", MAX_COMMENT),
        **fields,
    )


# ------------------------------------------------------------------- reads


async def healthz(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    request.app[VIEW].refresh()
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def posture(request: web.Request) -> web.Response:
    return _json(request.app[VIEW].posture())


async def list_assets(request: web.Request) -> web.Response:
    view = request.app[VIEW]
    return _json({"posture": view.posture()["posture"], "assets": view.assets()})


async def get_asset(request: web.Request) -> web.Response:
    doc = request.app[VIEW].asset(request.match_info["id"])
    return _json(doc) if doc is not None else _error(404, "no such asset")


async def list_units(request: web.Request) -> web.Response:
    return _json({"units": request.app[VIEW].units()})


async def list_alerts(request: web.Request) -> web.Response:
    q = request.query
    unknown = sorted(set(q) - {"state", "severity", "unit"})
    if unknown:
        return _error(400, f"unknown filter {unknown[0]!r} (use state, severity, unit)")
    severity = q.get("severity") or None
    if severity is not None and severity not in SEVERITIES:
        return _error(400, f"unknown severity {severity!r} (use one of {', '.join(SEVERITIES)})")
    try:
        docs = request.app[VIEW].alerts(q.get("state") or None, severity, q.get("unit") or None)
    except ValueError as e:
        return _error(400, str(e))
    return _json({"alerts": docs})


async def get_alert(request: web.Request) -> web.Response:
    doc = request.app[VIEW].alert(request.match_info["fp"])
    return _json(doc) if doc is not None else _error(404, "no such alert")


async def list_silences(request: web.Request) -> web.Response:
    return _json({"silences": request.app[VIEW].silences()})


# ----------------------------------------------------------------- mutations


async def ack(request: web.Request) -> web.Response:
    return await _ack(request, "ack")


async def unack(request: web.Request) -> web.Response:
    return await _ack(request, "unack")


async def _ack(request: web.Request, kind: str) -> web.Response:
    if (refused := _authorize(request)) is not None:
        return refused
    fp = request.match_info["fp"]
    doc: Doc | None = request.app[VIEW].alert(fp)
    if doc is None:
        return _error(404, "no such alert")
    if doc["state"] == "resolved":
        return _error(409, "the alert is resolved")
    body = await _body(request)
    return await _publish(request, _control(request, kind, body, target=fp))


async def add_silence(request: web.Request) -> web.Response:
    if (refused := _authorize(request)) is not None:
        return refused
    body = await _body(request)
    unknown = sorted(
        set(body) - {"matchers", "starts_at", "ends_at", "duration", "comment", "actor"}
    )
    if unknown:
        return _error(400, f"unknown field {unknown[0]!r}")
    if "duration" in body and "ends_at" in body:
        return _error(400, "give either duration or ends_at, not both")
    now = request.app[CLOCK]()
    data = {k: body[k] for k in ("matchers", "starts_at", "ends_at") if k in body}
    if "duration" in body:
        try:
            seconds = parse_duration(body["duration"])
        except ValueError as e:
            return _error(400, f"duration: {e}")
        start = now
        if isinstance(body.get("starts_at"), str):
            try:
                start = datetime.fromisoformat(body["starts_at"]).astimezone(UTC)
            except ValueError:
                pass  # reported below by the control's own validation
        data["ends_at"] = format_time(start + timedelta(seconds=seconds))
    c = _control(request, "silence", body, data=data)
    try:
        silence_from_control(c)
    except EventError as e:
        return _error(400, str(e))
    return await _publish(request, c)


async def expire_silence(request: web.Request) -> web.Response:
    if (refused := _authorize(request)) is not None:
        return refused
    sid = request.match_info["id"]
    doc = request.app[VIEW].silence(sid)
    if doc is None:
        return _error(404, "no such silence")
    if doc["status"] == "expired":
        return _error(409, "the silence has already ended")
    body = await _body(request)
    return await _publish(request, _control(request, "expire_silence", body, target=sid))
