"""The HTTP API against a real aiohttp server on 127.0.0.1, driven with httpx."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from engine.alerting.lifecycle import AlertLifecycle
from engine.alerting.policy import AlertPolicy, Inhibition
from engine.api import InMemoryStateView, bound_port, create_api, serve_api
from engine.events import Control
from engine.metrics import EngineMetrics
from engine.settings import Settings, with_overrides
from tests.engine.alerting.helpers import JsonStore, finding, fp, inventory, t

TOKEN = "s3cret-token-for-tests"
POLICIES = {
    "site-down": AlertPolicy("site-down", "high", 5.0, resolve_after_s=None),
    "host-down": AlertPolicy(
        "host-down", "critical", 8.0, resolve_after_s=None,
        inhibits=(Inhibition("dependents", rules=("site-down",)),),
    ),
    "cert-expiring": AlertPolicy("cert-expiring", "medium", 2.0, resolve_after_s=None),
}  # fmt: skip


@dataclass
class Api:
    client: httpx.AsyncClient
    view: InMemoryStateView
    published: list[Control] = field(default_factory=list)
    now: list[datetime] = field(default_factory=lambda: [t(100)])

    def auth(self, token: str = TOKEN) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


async def start(token: str, *, broken_sink: bool = False) -> tuple[Api, web.AppRunner]:
    inv = inventory()
    view = InMemoryStateView(
        AlertLifecycle(POLICIES, JsonStore()),
        inv,
        metrics=EngineMetrics(registry := CollectorRegistry()),
    )
    view.on_finding(finding(0, "site-down", "portal"))
    view.on_finding(finding(10, "cert-expiring", "www2", unit="other", severity="medium"))
    view.on_finding(finding(20, "site-down", "blog"))
    view.on_finding(finding(30, "site-down", "blog", "resolve"))
    api = Api(httpx.AsyncClient(), view)

    async def sink(c: Control) -> None:
        if broken_sink:
            raise ConnectionError("broker down")
        api.published.append(c)
        view.on_control(c)  # the stream app would publish on ssa.control and apply it

    settings = with_overrides(Settings.load(env={}), api={"token": token, "port": 0})
    app = create_api(view, sink, settings, registry=registry, clock=lambda: api.now[0])
    runner = await serve_api(app, settings.api.host, 0)
    api.client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{bound_port(runner)}", timeout=5)
    return api, runner


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    a, runner = await start(TOKEN)
    yield a
    await a.client.aclose()
    await runner.cleanup()


async def test_binds_loopback_by_default() -> None:
    assert Settings.load(env={}).api.host == "127.0.0.1"
    a, runner = await start(TOKEN)
    try:
        assert runner.addresses[0][0] == "127.0.0.1"
        assert (await a.client.get("/healthz")).json() == {"status": "ok"}
    finally:
        await a.client.aclose()
        await runner.cleanup()


async def test_assets_with_scores_and_explanations(api: Api) -> None:
    r = await api.client.get("/api/v1/assets")
    assert r.status_code == 200
    assets = {a["id"]: a for a in r.json()["assets"]}
    assert r.json()["posture"] == (await api.client.get("/api/v1/posture")).json()["posture"]
    portal = assets["portal"]
    assert portal["unit"] == "gov-office" and portal["criticality"] == 5
    assert portal["active_alerts"] == 1 and portal["raw"] == 25.0
    assert portal["score"] == pytest.approx(63.212056, abs=1e-6)
    [c] = portal["contributions"]
    assert (c["rule"], c["share"], c["criticality"]) == ("site-down", portal["score"], 5)
    assert assets["gw-1"]["score"] == 0 and assets["gw-1"]["contributions"] == []
    one = (await api.client.get("/api/v1/assets/portal")).json()
    assert one == portal
    missing = await api.client.get("/api/v1/assets/nope")
    assert (missing.status_code, missing.json()) == (404, {"error": "no such asset"})


async def test_units_and_posture(api: Api) -> None:
    units = {u["id"]: u for u in (await api.client.get("/api/v1/units")).json()["units"]}
    assert set(units) == {"gov-office", "other"}
    assert units["gov-office"]["name"] == "Office" and units["gov-office"]["assets"] == 3
    assert units["other"]["active_alerts"] == 1
    p = (await api.client.get("/api/v1/posture")).json()
    assert p["posture"] == pytest.approx(100 - p["city"])
    assert sum(c["share"] for c in p["contributions"]) == pytest.approx(p["city"], abs=1e-5)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", {("site-down", "portal"), ("cert-expiring", "www2"), ("site-down", "blog")}),
        ("?state=firing", {("site-down", "portal"), ("cert-expiring", "www2")}),
        ("?state=active", {("site-down", "portal"), ("cert-expiring", "www2")}),
        ("?state=resolved", {("site-down", "blog")}),
        ("?severity=medium", {("cert-expiring", "www2")}),
        ("?unit=gov-office", {("site-down", "portal"), ("site-down", "blog")}),
        ("?unit=gov-office&state=firing", {("site-down", "portal")}),
        ("?unit=nowhere", set()),
    ],
)
async def test_alert_filters(api: Api, query: str, expected: set[tuple[str, str]]) -> None:
    r = await api.client.get(f"/api/v1/alerts{query}")
    assert r.status_code == 200
    assert {(a["rule"], a["asset"]) for a in r.json()["alerts"]} == expected


@pytest.mark.parametrize(
    "query, message",
    [
        ("?state=open", "unknown state 'open' (use one of firing, acknowledged, resolved, active)"),
        (
            "?severity=urgent",
            "unknown severity 'urgent' (use one of info, low, medium, high, critical)",
        ),
        ("?owner=me", "unknown filter 'owner' (use state, severity, unit)"),
    ],
)
async def test_bad_filters(api: Api, query: str, message: str) -> None:
    r = await api.client.get(f"/api/v1/alerts{query}")
    assert (r.status_code, r.json()) == (400, {"error": message})


async def test_one_alert_with_history(api: Api) -> None:
    r = await api.client.get(f"/api/v1/alerts/{fp('site-down', 'blog')}")
    doc = r.json()
    assert doc["state"] == "resolved" and doc["seq"] == 2
    assert [(h["seq"], h["state"]) for h in doc["history"]] == [(1, "firing"), (2, "resolved")]
    assert doc["evidence"] and doc["explanation"] == "data.status (200) == 200"
    assert (await api.client.get("/api/v1/alerts/0000")).status_code == 404


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
     {"Authorization": "Bearer"}],
    ids=["none", "wrong", "basic", "empty"],
)  # fmt: skip
async def test_mutations_refused_without_the_token(api: Api, headers: dict[str, str]) -> None:
    target = fp("site-down", "portal")
    for method, path in (
        ("POST", f"/api/v1/alerts/{target}/ack"),
        ("POST", "/api/v1/silences"),
        ("DELETE", "/api/v1/silences/x"),
    ):
        r = await api.client.request(method, path, headers=headers, json={})
        assert r.status_code == 401, (method, path)
        assert r.json() == {"error": "a valid bearer token is required"}
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="ssa"'
    assert api.published == []


async def test_no_configured_token_means_read_only() -> None:
    a, runner = await start("")
    try:
        r = await a.client.post(
            f"/api/v1/alerts/{fp()}/ack", headers={"Authorization": "Bearer x"}, json={}
        )
        assert r.status_code == 403
        assert r.json() == {
            "error": "mutations are disabled: no API token is configured "
            "(set api.token in the settings or SSA_API_TOKEN)"
        }
        assert (await a.client.get("/api/v1/alerts")).status_code == 200
        assert a.published == []
    finally:
        await a.client.aclose()
        await runner.cleanup()


async def test_ack_publishes_a_control_and_the_state_follows(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    target = fp("site-down", "portal")
    r = await api.client.post(
        f"/api/v1/alerts/{target}/ack",
        headers=api.auth(),
        json={"comment": "on it", "actor": "li.wei"},
    )
    assert r.status_code == 202
    [c] = api.published
    assert (c.kind, c.target, c.actor, c.comment, c.at) == (
        "ack",
        target,
        "li.wei",
        "on it",
        t(100),
    )
    assert r.json()["control"] == c.to_dict()
    doc = (await api.client.get(f"/api/v1/alerts/{target}")).json()
    assert (doc["state"], doc["actor"], doc["seq"]) == ("acknowledged", "li.wei", 2)
    assert [h["state"] for h in doc["history"]] == ["firing", "acknowledged"]
    r = await api.client.post(f"/api/v1/alerts/{target}/unack", headers=api.auth())
    assert r.status_code == 202 and api.published[-1].actor == "api"
    assert (await api.client.get(f"/api/v1/alerts/{target}")).json()["state"] == "firing"
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    "path, status, message",
    [
        ("/api/v1/alerts/ffff/ack", 404, "no such alert"),
        (f"/api/v1/alerts/{fp('site-down', 'blog')}/ack", 409, "the alert is resolved"),
    ],
)
async def test_ack_errors(api: Api, path: str, status: int, message: str) -> None:
    r = await api.client.post(path, headers=api.auth())
    assert (r.status_code, r.json()) == (status, {"error": message})


async def test_silence_add_list_expire(api: Api) -> None:
    r = await api.client.post(
        "/api/v1/silences",
        headers=api.auth(),
        json={"matchers": ["rule=site-down", "unit=gov-office"], "duration": "2h",
              "comment": "migration", "actor": "duty"},
    )  # fmt: skip
    assert r.status_code == 202, r.text
    sid = r.json()["control"]["id"]
    [s] = (await api.client.get("/api/v1/silences")).json()["silences"]
    assert s["id"] == sid and s["status"] == "active" and s["creator"] == "duty"
    assert s["matchers"] == ["rule=site-down", "unit=gov-office"]
    assert s["ends_at"] == "2026-12-01T02:01:40.000000Z"
    portal = (await api.client.get(f"/api/v1/alerts/{fp()}")).json()
    assert portal["suppressed"] and portal["suppressed_by"] == [f"silence:{sid}"]

    api.now[0] = t(200)
    r = await api.client.delete(f"/api/v1/silences/{sid}", headers=api.auth())
    assert r.status_code == 202
    [s] = (await api.client.get("/api/v1/silences")).json()["silences"]
    assert s["status"] == "expired" and s["expired_at"] == "2026-12-01T00:03:20.000000Z"
    assert not (await api.client.get(f"/api/v1/alerts/{fp()}")).json()["suppressed"]
    again = await api.client.delete(f"/api/v1/silences/{sid}", headers=api.auth())
    assert (again.status_code, again.json()) == (409, {"error": "the silence has already ended"})
    gone = await api.client.delete("/api/v1/silences/nope", headers=api.auth())
    assert (gone.status_code, gone.json()) == (404, {"error": "no such silence"})


@pytest.mark.parametrize(
    "body, message",
    [
        ({"matchers": ["rul=x"], "duration": "1h"},
         "control.data.matchers[0]: unknown label 'rul' (use one of rule, asset, unit, severity, "
         "tags)"),
        ({"matchers": ["rule=x"]}, "control.data.ends_at: missing required field"),
        ({"matchers": ["rule=x"], "duration": "soon"},
         "duration: invalid duration 'soon' (use e.g. 30s, 5m, 1h30m, 500ms, 7d)"),
        ({"matchers": ["rule=x"], "duration": "1h", "ends_at": "2026-12-02T00:00:00Z"},
         "give either duration or ends_at, not both"),
        ({"matchers": ["rule=x"], "duration": "1h", "who": "me"}, "unknown field 'who'"),
        ({"matchers": ["rule=x"], "duration": "1h", "actor": 7}, "actor must be a string"),
        ([1, 2], "body must be a JSON object"),
        ("{not json", "body is not valid JSON: unexpected character, expected a string key: "
         "line 1 column 2 (char 1)"),
    ],
)  # fmt: skip
async def test_bad_silences(api: Api, body: object, message: str) -> None:
    if isinstance(body, str):
        r = await api.client.post("/api/v1/silences", headers=api.auth(), content=body)
    else:
        r = await api.client.post("/api/v1/silences", headers=api.auth(), json=body)
    assert (r.status_code, r.json()) == (400, {"error": message})
    assert api.published == []


async def test_metrics_endpoint(api: Api) -> None:
    r = await api.client.get("/metrics")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    text = r.text
    assert 'ssa_asset_risk_score{asset="portal",kind="website",unit="gov-office"} 63.21' in text
    assert 'ssa_alerts_total{rule="site-down",severity="high",state="firing"} 2.0' in text
    assert 'ssa_findings_total{rule="site-down",severity="high"} 3.0' in text
    assert "ssa_posture_score " in text


async def test_a_failing_control_sink_is_reported_not_hidden() -> None:
    a, runner = await start(TOKEN, broken_sink=True)
    try:
        r = await a.client.post(f"/api/v1/alerts/{fp()}/ack", headers=a.auth(), json={})
        assert (r.status_code, r.json()) == (
            503,
            {"error": "could not record the ack (control topic unavailable); retry"},
        )
        assert (await a.client.get(f"/api/v1/alerts/{fp()}")).json()["state"] == "firing"
    finally:
        await a.client.aclose()
        await runner.cleanup()
