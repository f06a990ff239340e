"""The notifier's rectification API against a real aiohttp server on 127.0.0.1.

The core is built and driven on a virtual clock (no Kafka); the control sink
is a list that also feeds each control back to the core, as the notifier
does when it reads ``ssa.control``.
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from engine.api import bound_port, serve_api
from engine.cli import build_parser
from engine.events import Control
from engine.notify.api import create_notify_api
from engine.notify.core import NotifyCore
from engine.notify.service import NotifyMetrics
from engine.settings import Settings, with_overrides
from tests.engine.notify.builders import alert, confirm, core, t

TOKEN = "s3cret-notify-token-for-tests"
HOUR = 3600.0


def built_core() -> NotifyCore:
    """Four items: fp-a open and overdue (high: 2h), fp-b acknowledged, fp-c closed, and
    fp-e of another unit (medium: the default 24h)."""
    c = core()
    c.on_alert(alert("fp-a", at=0), t(0))
    c.on_alert(alert("fp-b", at=0, asset="gw-1", rule="host-down", severity="medium"), t(0))
    c.on_alert(alert("fp-c", at=0, rule="cert", severity="medium"), t(0))
    c.on_alert(
        alert("fp-e", at=0, asset="edu-site", unit="edu-bureau", tags=(), severity="medium"),
        t(0),
    )
    confirm(c, c.tick(t(30)), t(30))
    c.on_control(Control(id="a1", kind="ack", at=t(60), actor="gov-office/值班室", target="fp-b"))
    c.on_alert(alert("fp-c", seq=2, state="resolved", at=90, rule="cert", severity="medium"), t(90))
    c.tick(t(30 + 2 * HOUR))
    return c


@dataclass
class Api:
    client: httpx.AsyncClient
    core: NotifyCore
    settings: Settings
    published: list[Control] = field(default_factory=list)
    ready: list[bool] = field(default_factory=lambda: [True])

    def auth(self, token: str = TOKEN) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


async def start(token: str, *, broken_sink: bool = False) -> tuple[Api, web.AppRunner]:
    c = built_core()
    registry = CollectorRegistry()
    NotifyMetrics(registry).set_overdue(c.rectify.overdue_by_unit())
    settings = with_overrides(Settings.load(env={}), api={"token": token})
    api = Api(httpx.AsyncClient(), c, settings)

    async def sink(control: Control) -> None:
        if broken_sink:
            raise ConnectionError("broker down")
        api.published.append(control)
        c.on_control(control)  # the notifier reads it back from ssa.control

    app = create_notify_api(
        c, sink, settings, registry=registry, clock=lambda: t(2 * HOUR), ready=lambda: api.ready[0]
    )
    runner = await serve_api(app, settings.notify.metrics_host, 0)
    port = bound_port(runner)
    api.settings = with_overrides(settings, notify={"metrics_port": port})
    api.client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5)
    return api, runner


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    a, runner = await start(TOKEN)
    yield a
    await a.client.aclose()
    await runner.cleanup()


def fps(docs: list[dict[str, Any]]) -> list[str]:
    return [d["fingerprint"] for d in docs]


async def test_binds_loopback_by_default() -> None:
    assert Settings.load(env={}).notify.metrics_host == "127.0.0.1"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["fp-a", "fp-b", "fp-c", "fp-e"]),  # overdue first, then by deadline
        ("?state=open", ["fp-a", "fp-e"]),
        ("?state=acknowledged", ["fp-b"]),
        ("?state=fixed", []),
        ("?state=closed", ["fp-c"]),
        ("?unit=edu-bureau", ["fp-e"]),
        ("?overdue=true", ["fp-a"]),
        ("?overdue=false&unit=gov-office", ["fp-b", "fp-c"]),
        ("?state=open&unit=gov-office&overdue=true", ["fp-a"]),
    ],
)
async def test_list_filters(api: Api, query: str, expected: list[str]) -> None:
    r = await api.client.get(f"/api/v1/rectifications{query}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert fps(r.json()) == expected


async def test_list_items_are_the_items_json_form(api: Api) -> None:
    r = await api.client.get("/api/v1/rectifications?state=acknowledged")
    assert r.json() == [api.core.rectify.items["fp-b"].to_dict()]
    assert r.json()[0]["acked_by"] == "gov-office/值班室"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?state=done", "unknown state 'done' (use one of open, acknowledged, fixed, closed)"),
        ("?overdue=maybe", "overdue must be true or false"),
        ("?severity=high", "unknown filter 'severity' (use state, unit, overdue)"),
    ],
)
async def test_bad_filters_are_refused(api: Api, query: str, message: str) -> None:
    r = await api.client.get(f"/api/v1/rectifications{query}")
    assert (r.status_code, r.json()) == (400, {"error": message})


async def test_get_one_item_and_unknown_is_404(api: Api) -> None:
    r = await api.client.get("/api/v1/rectifications/fp-c")
    assert r.status_code == 200
    assert (r.json()["state"], r.json()["resolution"]) == ("closed", "recovered")
    r = await api.client.get("/api/v1/rectifications/fp-nope")
    assert (r.status_code, r.json()) == (404, {"error": "no such rectification item"})


async def test_ack_publishes_the_control_and_the_item_follows(api: Api) -> None:
    r = await api.client.post(
        "/api/v1/rectifications/fp-a/ack",
        json={"actor": "gov-office/网络科", "comment": "on it"},
        headers=api.auth(),
    )
    assert r.status_code == 202
    [c] = api.published
    assert (c.kind, c.target, c.actor, c.comment, c.data) == (
        "ack",
        "fp-a",
        "gov-office/网络科",
        "on it",
        {},
    )
    assert c.at == t(2 * HOUR) and c.id.startswith("ack-")
    assert r.json() == {"accepted": True, "control": c.to_dict()}
    doc = (await api.client.get("/api/v1/rectifications/fp-a")).json()
    assert (doc["state"], doc["acked_by"]) == ("acknowledged", "gov-office/网络科")


async def test_fixed_carries_the_asset_for_the_reprobe(api: Api) -> None:
    r = await api.client.post("/api/v1/rectifications/fp-b/fixed", headers=api.auth())
    assert r.status_code == 202
    [c] = api.published
    assert (c.kind, c.target, c.actor, c.comment) == ("fixed", "fp-b", "api", "")
    assert c.data == {"asset": "gw-1", "fingerprint": "fp-b"}
    assert api.core.rectify.items["fp-b"].state == "fixed"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["missing", "wrong", "not-bearer"],
)
async def test_mutations_refused_without_the_token(api: Api, headers: dict[str, str]) -> None:
    for path in ("/api/v1/rectifications/fp-a/ack", "/api/v1/rectifications/fp-nope/fixed"):
        r = await api.client.post(path, headers=headers)
        assert r.status_code == 401, path
        assert r.json() == {"error": "a valid bearer token is required"}
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="ssa"'
    assert api.published == []
    assert api.core.rectify.items["fp-a"].state == "open"


async def test_no_configured_token_means_read_only() -> None:
    a, runner = await start("")
    try:
        r = await a.client.post("/api/v1/rectifications/fp-a/ack", headers=a.auth("guess"))
        assert r.status_code == 403
        assert r.json() == {
            "error": "mutations are disabled: no API token is configured "
            "(set api.token in the settings or SSA_API_TOKEN)"
        }
        assert (await a.client.get("/api/v1/rectifications")).status_code == 200
        assert a.published == []
    finally:
        await a.client.aclose()
        await runner.cleanup()


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("fp-nope/ack", {}, 404, "no such rectification item"),
        ("fp-c/fixed", {}, 409, "the rectification item is closed (recovered)"),
        ("fp-a/ack", b"{nope", 400, None),
        ("fp-a/ack", [1], 400, "body must be a JSON object"),
        ("fp-a/ack", {"who": "x"}, 400, "unknown field 'who' (use actor, comment)"),
        ("fp-a/ack", {"actor": 7}, 400, "actor must be a string"),
        ("fp-a/fixed", {"comment": "x" * 2001}, 400, "comment longer than 2000 characters"),
    ],
)
async def test_bad_mutations(api: Api, path: str, body: Any, status: int, message: str) -> None:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    r = await api.client.post(f"/api/v1/rectifications/{path}", content=content, headers=api.auth())
    assert r.status_code == status
    if message is None:
        assert r.json()["error"].startswith("body is not valid JSON: ")
    else:
        assert r.json() == {"error": message}
    assert api.published == []


async def test_unavailable_control_topic_is_503_and_the_token_is_never_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    a, runner = await start(TOKEN, broken_sink=True)
    try:
        r = await a.client.post("/api/v1/rectifications/fp-a/ack", headers=a.auth())
        assert (r.status_code, r.json()) == (
            503,
            {"error": "could not record the ack (control topic unavailable); retry"},
        )
        assert "ConnectionError" in caplog.text
        await a.client.post("/api/v1/rectifications/fp-a/ack", headers=a.auth("wrong-token"))
    finally:
        await a.client.aclose()
        await runner.cleanup()
    assert TOKEN not in caplog.text and "wrong-token" not in caplog.text


async def test_metrics_from_the_registry_and_reads_wait_for_the_rebuild(api: Api) -> None:
    r = await api.client.get("/metrics")
    assert r.status_code == 200
    assert 'ssa_rectifications_overdue{unit="gov-office"} 1.0' in r.text
    api.ready[0] = False
    assert (await api.client.get("/metrics")).status_code == 200
    assert (await api.client.get("/healthz")).json() == {"status": "starting"}
    for path in ("/api/v1/rectifications", "/api/v1/rectifications/fp-a"):
        r = await api.client.get(path)
        assert r.status_code == 503
        assert r.json() == {
            "error": "the notifier is still rebuilding its state from the topics; retry"
        }
    r = await api.client.post("/api/v1/rectifications/fp-a/ack", headers=api.auth())
    assert r.status_code == 503 and api.published == []


async def test_ssa_rectify_list_api_asks_the_running_notifier(api: Api) -> None:
    import asyncio

    def run(*argv: str) -> tuple[int, str]:
        args = build_parser().parse_args(["rectify", "list", "--api", *argv])
        out = io.StringIO()
        with redirect_stdout(out):
            rc: int = args.func(args, api.settings)
        return rc, out.getvalue()

    rc, out = await asyncio.to_thread(run, "--json")
    assert rc == 0
    assert [orjson.loads(line)["fingerprint"] for line in out.splitlines()] == [
        "fp-a",
        "fp-b",
        "fp-e",
    ]
    rc, out = await asyncio.to_thread(run, "--all")
    lines = out.splitlines()
    assert rc == 0 and lines[0].startswith("FINGERPRINT") and len(lines) == 5
    assert lines[1].startswith("fp-a") and lines[1].endswith("OVERDUE")
    assert lines[3].split()[4] == "closed"
