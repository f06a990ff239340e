"""The notifier on a real Kafka broker: killed mid-stream and restarted, and the rectification loop.

The notifier runs as ``ssa notify run`` in a subprocess (so SIGKILL is a
real crash) or in-process; the receiver is the loopback webhook receiver
that verifies signatures. Nothing here mocks Kafka.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiokafka import AIOKafkaProducer

from engine.api import bound_port
from engine.broker.local import free_port
from engine.events import Alert, Control
from engine.inventory.loader import load_inventory
from engine.notify import replay
from engine.notify.api import serve_notify_api
from engine.notify.records import DeliveryRecord
from engine.notify.routes import load_routes
from engine.notify.service import NotifierService
from engine.settings import Settings, with_overrides
from tests.engine.notifiers import receiver as rcv
from tests.engine.notify.builders import alert

pytestmark = pytest.mark.kafka

API_TOKEN = "notifier-api-token-for-tests"

INVENTORY = """\
units:
  - id: gov-office
    name: 市人民政府办公室
    contacts:
      - {name: 值班室, email: duty@example.org, level: 1}
      - {name: 科长, email: chief@example.org, level: 2}
assets:
  - id: portal
    unit: gov-office
    kind: website
    name: 市政府门户网站
    url: https://www.example.gov/
"""


def routes_file(tmp: Path, url: str) -> Path:
    p = tmp / "routes.yaml"
    p.write_text(
        "receivers:\n"
        f"  hook: {{webhook: {{url: '{url}/webhook', secret: {{env: TEST_HOOK_SECRET}}}}}}\n"
        "routes:\n"
        "  - receiver: hook\n"
        "    group_by: [asset]\n"
        "    group_wait: 0s\n"
        "    group_interval: 1s\n"
        "    repeat_interval: 1h\n"
        "rectification:\n"
        "  verify_after: 1s\n"
    )
    return p


async def produce(settings: Settings, topic: str, values: list[bytes], keys: list[str]) -> None:
    p = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap, acks="all")
    await p.start()
    try:
        for v, k in zip(values, keys, strict=True):
            await p.send(settings.topic(topic), v, key=k.encode())
        await p.flush()
    finally:
        await p.stop()


async def read_all(settings: Settings, topic: str) -> list[Any]:
    c = replay.consumer(settings, settings.kafka.bootstrap)
    await c.start()
    try:
        return await replay.read_to_end(c, None, [settings.topic(topic)])
    finally:
        await c.stop()


async def wait_for(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def start_receiver(
    state: rcv.Receiver, delay: float, before_answer: Any = None
) -> web.AppRunner:
    """The checking receiver, ``delay`` slower; ``before_answer()`` runs after it accepted
    a request and before it answers (a crash there is the at-least-once window)."""
    app = rcv.app(state)

    @web.middleware
    async def slow(request: web.Request, handler: Any) -> web.StreamResponse:
        await asyncio.sleep(delay)
        resp: web.StreamResponse = await handler(request)
        if before_answer is not None:
            before_answer()
        return resp

    app.middlewares.append(slow)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    state.url = f"http://{host}:{port}"
    return runner


def notifier_proc(
    settings: Settings, routes: Path, inventory: Path, log: Path, metrics_port: int = 0
) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        SSA_KAFKA_BOOTSTRAP=settings.kafka.bootstrap,
        SSA_TOPICS_PREFIX=settings.topics.prefix,
        SSA_NOTIFY_METRICS_PORT=str(metrics_port or free_port()),
        SSA_NOTIFY_BACKOFF_BASE_S="0.05",
        TEST_HOOK_SECRET=rcv.WEBHOOK_SECRET,
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "notify",
            "run",
            "--routes",
            str(routes),
            "--inventory",
            str(inventory),
        ],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def live(fp: str, seq: int = 1, state: str = "firing") -> Alert:
    """An alert happening now (the wall clock drives the service)."""
    now = datetime.now(UTC)
    return alert(fp, seq=seq, state=state).evolve(at=now, started_at=now)


def keys_received(state: rcv.Receiver) -> list[str]:
    return [r.body["idempotency_key"] for r in state.of("webhook")]


async def test_killed_mid_stream_then_restarted_no_duplicates_nothing_missed(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    state = rcv.Receiver()
    procs: list[subprocess.Popen[bytes]] = []

    def crash_on_the_twelfth() -> None:
        # The notifier dies after the receiver accepted message 12, before it hears back.
        if len(state.of("webhook")) == 12 and procs[0].poll() is None:
            procs[0].send_signal(signal.SIGKILL)
            procs[0].wait(10)

    runner = await start_receiver(state, delay=0.02, before_answer=crash_on_the_twelfth)
    routes = routes_file(tmp_path, state.url)
    inv = tmp_path / "inventory.yaml"
    inv.write_text(INVENTORY)
    log = tmp_path / "notifier.log"
    n = 40
    first = [alert(f"fp-{i:02d}", asset=f"asset-{i:02d}", at=i) for i in range(n)]
    await produce(
        kafka_settings, "alerts", [a.to_json() for a in first], [a.fingerprint for a in first]
    )
    proc = notifier_proc(kafka_settings, routes, inv, log)
    procs.append(proc)
    try:
        await wait_for(lambda: proc.poll() is not None, 60, "the crash after 12 deliveries")
        before_kill = {
            r.idempotency_key
            for m in await read_all(kafka_settings, "notifications")
            if (r := DeliveryRecord.from_json(m.value)).result == "ok"
        }
        assert len(before_kill) == 11  # the twelfth was accepted but never confirmed
        # While it is down: the first ten resolve, and ten new alerts fire.
        later = [
            alert(f"fp-{i:02d}", seq=2, state="resolved", asset=f"asset-{i:02d}", at=100 + i)
            for i in range(10)
        ]
        later += [
            alert(f"fp-{i:02d}", asset=f"asset-{i:02d}", at=100 + i) for i in range(n, n + 10)
        ]
        await produce(
            kafka_settings, "alerts", [a.to_json() for a in later], [a.fingerprint for a in later]
        )

        metrics_port = free_port()
        proc = notifier_proc(kafka_settings, routes, inv, log, metrics_port)
        expected = {f"hook/*/fp-{i:02d}:firing:1" for i in range(n + 10)}
        expected |= {f"hook/*/fp-{i:02d}:resolved:2" for i in range(10)}
        await wait_for(lambda: set(keys_received(state)) >= expected, 90, "every delivery")
        await asyncio.sleep(1.5)  # time for any duplicate to show up
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        # this run delivered what the first had not confirmed: 60 - 11
        assert 'ssa_notifications_total{channel="webhook",result="ok"} 49.0' in metrics
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        await runner.cleanup()

    got = Counter(keys_received(state))
    assert set(got) == expected, log.read_text()[-3000:]  # nothing missed, nothing extra
    assert sum(got.values()) == len(expected) + 1
    assert state.rejected == []  # every request was correctly signed
    records = [
        DeliveryRecord.from_json(m.value) for m in await read_all(kafka_settings, "notifications")
    ]
    confirmed = Counter(r.idempotency_key for r in records if r.result == "ok")
    assert set(confirmed) == expected
    assert max(confirmed.values()) == 1  # no delivery confirmed twice
    # At-least-once: the message in flight at the crash reached the receiver twice, with
    # the same idempotency key (so the receiver can drop it); nothing confirmed was repeated.
    twelfth = keys_received(state)[11]
    assert {k for k, c in got.items() if c > 1} == {twelfth}
    assert got[twelfth] == 2 and twelfth not in before_kill
    for r in records:
        assert r.channel == "webhook" and r.receiver == "hook" and r.recipient == "*"
        assert rcv.WEBHOOK_SECRET not in r.to_json().decode()


async def test_rectification_loop_through_kafka(
    kafka_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = rcv.Receiver()
    runner = await start_receiver(state, delay=0.0)
    routes_path = routes_file(tmp_path, state.url)
    inv_path = tmp_path / "inventory.yaml"
    inv_path.write_text(INVENTORY)
    monkeypatch.setenv("TEST_HOOK_SECRET", rcv.WEBHOOK_SECRET)
    monkeypatch.setenv("SSA_KAFKA_BOOTSTRAP", kafka_settings.kafka.bootstrap)
    monkeypatch.setenv("SSA_TOPICS_PREFIX", kafka_settings.topics.prefix)
    routes = load_routes(routes_path)
    settings = with_overrides(kafka_settings, api={"token": API_TOKEN})
    service = NotifierService(settings, routes, load_inventory(inv_path, probes=("http",)))
    http = await serve_notify_api(service, "127.0.0.1", 0)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        await asyncio.wait_for(service.ready.wait(), 30)
        a, gw = live("fp-portal"), live("fp-gw").evolve(asset="gw-1")
        web_ = live("fp-web").evolve(asset="web-1")
        await produce(
            kafka_settings,
            "alerts",
            [a.to_json(), gw.to_json(), web_.to_json(), b"{not json"],
            [a.fingerprint, gw.fingerprint, web_.fingerprint, "x"],
        )
        await wait_for(
            lambda: {"fp-portal", "fp-gw", "fp-web"} <= set(service.core.rectify.items),
            30,
            "the items to open",
        )
        # An ack through the notifier's HTTP API goes over ssa.control like the CLI's.
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{bound_port(http)}/api/v1/rectifications", timeout=10
        ) as client:
            r = await client.post(
                "/fp-web/ack",
                json={"actor": "gov-office/网络科"},
                headers={"Authorization": f"Bearer {API_TOKEN}"},
            )
            assert r.status_code == 202, r.text
            await wait_for(
                lambda: service.core.rectify.items["fp-web"].state == "acknowledged",
                30,
                "the ack through the API",
            )
            doc = (await client.get("/fp-web")).json()
            assert (doc["state"], doc["acked_by"]) == ("acknowledged", "gov-office/网络科")

        from engine.cli import main

        argv = [
            "rectify",
            "fixed",
            "fp-portal",
            "--routes",
            str(routes_path),
            "--inventory",
            str(inv_path),
            "--actor",
            "gov-office/值班室",
        ]
        assert await asyncio.to_thread(main, argv) == 0
        await wait_for(
            lambda: service.core.rectify.items["fp-portal"].state == "fixed", 30, "the fix report"
        )
        common = ["--routes", str(routes_path), "--inventory", str(inv_path)]
        assert await asyncio.to_thread(main, ["rectify", "ack", "fp-gw", *common]) == 0
        await wait_for(
            lambda: service.core.rectify.items["fp-gw"].state == "acknowledged", 30, "the ack"
        )
        assert await asyncio.to_thread(main, ["rectify", "fixed", "fp-nope", *common]) == 2
        # A fix reported without the asset (a bare control) gets a re-probe request.
        bare = Control(
            id="fixed-bare", kind="fixed", at=datetime.now(UTC), actor="api", target="fp-gw"
        )
        await produce(kafka_settings, "control", [bare.to_json()], ["fp-gw"])
        # The alert lifecycle resolves the alert on the fix report.
        await produce(
            kafka_settings,
            "alerts",
            [live("fp-portal", seq=2, state="resolved").to_json()],
            ["fp-portal"],
        )
        await wait_for(
            lambda: service.core.rectify.items["fp-portal"].state == "closed",
            30,
            "the item to close",
        )
        await wait_for(
            lambda: any(r.body["kind"] == "resolved" for r in state.of("webhook")),
            30,
            "the resolved notice",
        )
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await http.cleanup()
        await runner.cleanup()

    item = service.core.rectify.items["fp-portal"]
    assert item.resolution == "re-probe passed" and item.fixed_by == "gov-office/值班室"
    controls = [Control.from_json(m.value) for m in await read_all(kafka_settings, "control")]
    [fixed] = [x for x in controls if x.target == "fp-portal"]
    assert fixed.data == {"asset": "portal", "fingerprint": "fp-portal"}  # collectors re-probe it
    assert fixed.actor == "gov-office/值班室"
    gw_controls = [(x.kind, x.actor, x.data) for x in controls if x.target == "fp-gw"]
    assert gw_controls == [
        ("ack", "cli", {}),
        ("fixed", "api", {}),
        ("reprobe", "notifier", {"asset": "gw-1", "fingerprint": "fp-gw"}),
    ]
    assert not [x for x in controls if x.target == "fp-nope"]
    [api_ack] = [x for x in controls if x.target == "fp-web"]
    assert (api_ack.kind, api_ack.actor, api_ack.data) == ("ack", "gov-office/网络科", {})
    dead = await read_all(kafka_settings, "deadletter")
    assert len(dead) == 1 and b'"component":"notifier"' in dead[0].value

    # `ssa rectify list` rebuilds the same picture from the topics.
    import io
    from contextlib import redirect_stdout

    from engine.cli import main as cli

    out = io.StringIO()
    with redirect_stdout(out):
        rc = await asyncio.to_thread(
            cli,
            [
                "rectify",
                "list",
                "--all",
                "--json",
                "--routes",
                str(routes_path),
                "--inventory",
                str(inv_path),
            ],
        )
    assert rc == 0
    import orjson

    listing = {d["fingerprint"]: d for d in map(orjson.loads, out.getvalue().splitlines())}
    assert listing["fp-gw"]["state"] == "fixed"
    listed = listing["fp-portal"]
    assert listed["fingerprint"] == "fp-portal" and listed["state"] == "closed"
    assert listed["resolution"] == "re-probe passed"
