"""The notifier's HTTP server: ``/metrics`` and the rectification API (通报整改).

It runs inside the notifier process, which holds the live rectification
state, on ``settings.notify.metrics_host:metrics_port`` (127.0.0.1:9109
unless configured). Reads come from the ``NotifyCore``; an ``ack`` or
``fixed`` becomes the same ``Control`` that ``ssa rectify ack|fixed``
publishes (``engine.notify.state.rectify_control``), handed to ``sink``
(the notifier's producer on ``ssa.control``). It is accepted (202) once
published; the item changes state when the notifier reads it back.

Mutations need ``Authorization: Bearer <settings.api.token>``
(``engine.api.auth.check_bearer``); with no token configured they are
refused (403). The token is never logged or echoed.

Routes::

    GET  /healthz                          GET /metrics
    GET  /api/v1/rectifications?state=open|acknowledged|fixed|closed&unit=U&overdue=true|false
    GET  /api/v1/rectifications/{fingerprint}
    POST /api/v1/rectifications/{fingerprint}/ack     {"actor": "...", "comment": "..."}
    POST /api/v1/rectifications/{fingerprint}/fixed   {"actor": "...", "comment": "..."}
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from engine.api.app import serve_api
from engine.api.auth import check_bearer
from engine.errors import NotifyError
from engine.events import Control
from engine.notify.core import NotifyCore
from engine.notify.rectify import STATES
from engine.notify.state import rectify_control
from engine.settings import Settings

if TYPE_CHECKING:
    from engine.notify.service import NotifierService

log = logging.getLogger(__name__)

ControlSink = Callable[[Control], Awaitable[None]]
Clock = Callable[[], datetime]

MAX_BODY = 64 * 1024
MAX_ACTOR = 100
MAX_COMMENT = 2000
FILTERS = ("state", "unit", "overdue")


class _Api:
    """What the handlers share: the live core, the sink, the token, the registry."""

    def __init__(
        self,
        core: NotifyCore,
        sink: ControlSink,
        token: str,
        registry: CollectorRegistry,
        clock: Clock,
        ready: Callable[[], bool],
    ) -> None:
        self.core, self.sink, self.token = core, sink, token
        self.registry, self.clock, self.ready = registry, clock, ready


API: web.AppKey[_Api] = web.AppKey("notify_api", _Api)


def create_notify_api(
    core: NotifyCore,
    sink: ControlSink,
    settings: Settings,
    *,
    registry: CollectorRegistry | None = None,
    clock: Clock | None = None,
    ready: Callable[[], bool] = lambda: True,
) -> web.Application:
    """The application; reads answer 503 until ``ready()`` (the state is rebuilt)."""
    app = web.Application(client_max_size=MAX_BODY)
    app[API] = _Api(
        core,
        sink,
        settings.api.token,
        registry or CollectorRegistry(),
        clock or (lambda: datetime.now(UTC)),
        ready,
    )
    app.add_routes(
        [
            web.get("/healthz", healthz),
            web.get("/metrics", metrics),
            web.get("/api/v1/rectifications", list_items),
            web.get("/api/v1/rectifications/{fp}", get_item),
            web.post("/api/v1/rectifications/{fp}/ack", ack),
            web.post("/api/v1/rectifications/{fp}/fixed", fixed),
        ]
    )
    return app


async def serve_notify_api(
    service: NotifierService, host: str | None = None, port: int | None = None
) -> web.AppRunner:
    """Serve ``service``'s metrics and rectification API (default: the notify settings).

    Runs like the engine API (``engine.api.serve_api``: no access log, port 0
    picks a free port, see ``bound_port``); the caller awaits ``cleanup()``
    on the runner to stop.
    """
    n = service.settings.notify
    host = n.metrics_host if host is None else host
    port = n.metrics_port if port is None else port
    app = create_notify_api(
        service.core,
        service.publish_control,
        service.settings,
        registry=service.registry,
        clock=service.wall,
        ready=service.ready.is_set,
    )
    return await serve_api(app, host, port)


# ------------------------------------------------------------------- helpers


def _json(data: Any, status: int = 200, **headers: str) -> web.Response:
    resp = web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", charset="utf-8"
    )
    resp.headers.update(headers)
    return resp


def _error(status: int, message: str, **headers: str) -> web.Response:
    return _json({"error": message}, status, **headers)


def _not_ready(api: _Api) -> web.Response | None:
    if api.ready():
        return None
    return _error(503, "the notifier is still rebuilding its state from the topics; retry")


def _flag(value: str) -> bool | None:
    return {"true": True, "false": False}.get(value.lower())


# ------------------------------------------------------------------- reads


async def healthz(request: web.Request) -> web.Response:
    ready = request.app[API].ready()
    return _json({"status": "ok" if ready else "starting"}, 200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[API].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def list_items(request: web.Request) -> web.Response:
    api = request.app[API]
    if (refused := _not_ready(api)) is not None:
        return refused
    q = request.query
    unknown = sorted(set(q) - set(FILTERS))
    if unknown:
        return _error(400, f"unknown filter {unknown[0]!r} (use {', '.join(FILTERS)})")
    state = q.get("state") or None
    if state is not None and state not in STATES:
        return _error(400, f"unknown state {state!r} (use one of {', '.join(STATES)})")
    overdue = _flag(q["overdue"]) if q.get("overdue") else None
    if q.get("overdue") and overdue is None:
        return _error(400, "overdue must be true or false")
    unit = q.get("unit") or None
    items = [
        i.to_dict()
        for i in api.core.rectify.listing(include_closed=True)
        if (state is None or i.state == state)
        and (unit is None or i.unit == unit)
        and (overdue is None or i.overdue == overdue)
    ]
    return _json(items)


async def get_item(request: web.Request) -> web.Response:
    api = request.app[API]
    if (refused := _not_ready(api)) is not None:
        return refused
    item = api.core.rectify.items.get(request.match_info["fp"])
    return _json(item.to_dict()) if item is not None else _error(404, "no such rectification item")


# ----------------------------------------------------------------- mutations


async def ack(request: web.Request) -> web.Response:
    return await _record(request, "ack")


async def fixed(request: web.Request) -> web.Response:
    return await _record(request, "fixed")


async def _record(request: web.Request, kind: str) -> web.Response:
    api = request.app[API]
    refused = check_bearer(api.token, request.headers.get("Authorization", ""))
    if refused is not None:
        return _error(refused.status, refused.message, **refused.headers)
    if (not_ready := _not_ready(api)) is not None:
        return not_ready
    fp = request.match_info["fp"]
    item = api.core.rectify.items.get(fp)
    if item is None:
        return _error(404, "no such rectification item")
    if item.state == "closed":
        return _error(409, f"the rectification item is closed ({item.resolution})")
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    try:
        c = rectify_control(
            api.core, kind, fp, actor=body["actor"], comment=body["comment"], at=api.clock()
        )
    except NotifyError as e:  # an item whose alert left the replay window
        return _error(409, str(e))
    try:
        await api.sink(c)
    except Exception as e:  # the sink is Kafka: any failure means "not recorded", say so
        log.warning("could not publish control %s (%s): %s", c.id, c.kind, type(e).__name__)
        return _error(503, f"could not record the {kind} (control topic unavailable); retry")
    return _json({"accepted": True, "control": c.to_dict()}, 202)


async def _body(request: web.Request) -> dict[str, str] | web.Response:
    """``actor`` (default "api") and ``comment`` from the JSON body, or the 400 answer."""
    data: Any = {}
    if request.can_read_body:
        try:
            data = orjson.loads(await request.read())
        except orjson.JSONDecodeError as e:
            return _error(400, f"body is not valid JSON: {e}")
    if not isinstance(data, dict):
        return _error(400, "body must be a JSON object")
    unknown = sorted(set(data) - {"actor", "comment"})
    if unknown:
        return _error(400, f"unknown field {unknown[0]!r} (use actor, comment)")
    out = {}
    for key, default, limit in (("actor", "api", MAX_ACTOR), ("comment", "", MAX_COMMENT)):
        v = data.get(key, default)
        if not isinstance(v, str):
            return _error(400, f"{key} must be a string")
        if len(v) > limit:
            return _error(400, f"{key} longer than {limit} characters")
        out[key] = v
    out["actor"] = out["actor"] or "api"
    return out
