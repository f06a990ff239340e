"""API and secrets: refused mutations, loopback-only servers, secrets nowhere to be seen.

The engine (API token set), a collector (ingest tokens set, ingest servers on)
and the notifier (a webhook secret and an SMTP password, both from the
environment) run as real processes against the shared broker. An alert is
made to fire so the notifier tries its receivers, which are unreachable on
purpose, so the error paths run too. Then:

- every API mutation without a valid bearer token is refused (401), in every
  way of getting it wrong; reads need no token;
- the ingest endpoint refuses missing and wrong tokens (401) and oversized
  bodies (413, with or without a Content-Length), and takes a valid event;
- every socket the three processes listen on (TCP) or are bound to (UDP) is
  on 127.0.0.1 (read from /proc: the process's own socket inodes);
- no secret appears in any log, /metrics page, HTTP response (status line,
  headers, body) or ``ssa config show``.
An engine configured without a token refuses every mutation (403).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from kafka import KafkaProducer

from engine.broker.local import free_port
from engine.events import Observation
from engine.processes import terminate
from engine.settings import Settings
from tests.conftest import REPO
from tests.reliability.engineproc import EngineProc

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

API_TOKEN = f"api-token-{uuid.uuid4().hex}"
INGEST_TOKEN = f"ingest-token-{uuid.uuid4().hex}"
HOOK_SECRET = f"hook-secret-{uuid.uuid4().hex}"
SMTP_PASSWORD = f"smtp-password-{uuid.uuid4().hex}"
SECRETS = (API_TOKEN, INGEST_TOKEN, HOOK_SECRET, SMTP_PASSWORD)
INGEST_LIMIT = 64 << 10

SYSTEM = """\
  - id: oa
    unit: gov-office
    kind: system
    name: OA
    address: oa.example.gov:8443
    probes: [ingest]
"""


def routes_yaml(closed: int) -> str:
    return (
        "receivers:\n"
        f"  hook: {{webhook: {{url: 'http://127.0.0.1:{closed}/hook', "
        "secret: {env: REL_HOOK_SECRET}}}\n"
        f"  mail: {{email: {{host: 127.0.0.1, port: {closed}, sender: ssa@example.org, "
        "to: [duty@example.org], username: ssa, password: {env: REL_SMTP_PASSWORD}, "
        "starttls: true}}\n"
        "routes:\n"
        "  - {receiver: hook, group_wait: 0s, continue: true}\n"
        "  - {receiver: mail, group_wait: 0s}\n"
    )


class Processes:
    """The engine, a collector and the notifier, with their secrets in the environment."""

    def __init__(self, settings: Settings, tmp: Path) -> None:
        self.engine = EngineProc(settings, tmp, REPO / "rules", n_assets=6)
        self.engine.env["SSA_API_TOKEN"] = API_TOKEN
        inv = tmp / "inventory.yaml"
        inv.write_text(inv.read_text() + SYSTEM, encoding="utf-8")
        closed = free_port()  # nothing listens there: every delivery fails
        routes = tmp / "routes.yaml"
        routes.write_text(routes_yaml(closed), encoding="utf-8")
        self.ports = {
            "collector_metrics": free_port(), "ingest": free_port(), "syslog": free_port(),
            "notifier_metrics": free_port(),
        }  # fmt: skip
        env = dict(self.engine.env)
        env.update(
            SSA_API_TOKEN=API_TOKEN,
            SSA_COLLECTORS_INGEST_TOKENS=f"oa={INGEST_TOKEN}",
            SSA_COLLECTORS_INGEST_MAX_BODY_BYTES=str(INGEST_LIMIT),
            SSA_COLLECTORS_METRICS_PORT=str(self.ports["collector_metrics"]),
            SSA_COLLECTORS_INGEST_PORT=str(self.ports["ingest"]),
            SSA_COLLECTORS_SYSLOG_PORT=str(self.ports["syslog"]),
            SSA_COLLECTORS_BASELINE_DIR=str(tmp / "baselines"),
            SSA_NOTIFY_METRICS_PORT=str(self.ports["notifier_metrics"]),
            SSA_NOTIFY_BACKOFF_BASE_S="0.05",
            REL_HOOK_SECRET=HOOK_SECRET,
            REL_SMTP_PASSWORD=SMTP_PASSWORD,
        )
        self.env = env
        self.logs = {"engine": self.engine.log}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._argv = {
            "collector": ["collect", "--inventory", str(inv), "--id", "secrets-c1"],
            "notifier": ["-v", "notify", "run", "--routes", str(routes), "--inventory", str(inv)],
        }
        self.tmp = tmp

    def start(self) -> None:
        self.engine.start()
        for name, argv in self._argv.items():
            log = self.tmp / f"{name}.log"
            self.logs[name] = log
            with open(log, "ab") as f:
                self.procs[name] = subprocess.Popen(
                    [sys.executable, "-m", "engine.cli", *argv], env=self.env, cwd=REPO,
                    stdout=f, stderr=subprocess.STDOUT,
                )  # fmt: skip
        for port in (self.ports["collector_metrics"], self.ports["notifier_metrics"]):
            _wait_http(f"http://127.0.0.1:{port}/metrics")

    def stop(self) -> None:
        terminate(self.procs.values())
        self.engine.stop()

    def pids(self) -> dict[str, int]:
        assert self.engine.proc is not None
        return {"engine": self.engine.proc.pid, **{n: p.pid for n, p in self.procs.items()}}


def wrong_tokens(token: str, other: str) -> list[dict[str, str]]:
    """Every way of not quite presenting ``token`` (``other`` is another valid secret)."""
    return [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer null"},
        {"Authorization": f"Bearer {token[:-1]}"},
        {"Authorization": f"Bearer {token}x"},
        {"Authorization": f"Bearer {token.upper()}"},
        {"Authorization": f"Basic {token}"},
        {"Authorization": token},
        {"Authorization": f"Bearer {other}"},
        {"X-Api-Token": token},
    ]


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


def listening(pid: int) -> list[tuple[str, str, int]]:
    """(protocol, address, port) of every listening TCP / bound UDP socket of ``pid``."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        with open(f"/proc/net/{proto}") as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                local, state, inode = cols[1], cols[3], cols[9]
                if inode not in inodes or (proto.startswith("tcp") and state != "0A"):
                    continue
                if proto.startswith("udp") and cols[2] != "00000000:0000" and state != "07":
                    continue
                addr_hex, port_hex = local.split(":")
                found.append((proto, _address(addr_hex), int(port_hex, 16)))
    return found


def _address(hex_addr: str) -> str:
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


@pytest.fixture
def procs(kafka_settings: Settings, tmp_path: Path) -> Iterator[Processes]:
    p = Processes(kafka_settings, tmp_path)
    try:
        p.start()
        yield p
    finally:
        p.stop()


def test_mutations_ingest_sockets_and_secrets(procs: Processes, kafka_settings: Settings) -> None:
    seen: list[str] = []  # everything a client got back, to search for secrets

    def record(r: httpx.Response) -> httpx.Response:
        seen.append(f"{r.status_code} {r.reason_phrase}\n{r.headers}\n{r.text}")
        return r

    # An alert fires, so the notifier tries (and fails) to deliver through both receivers.
    producer = KafkaProducer(bootstrap_servers=kafka_settings.kafka.bootstrap, acks="all")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    for i in range(3):
        obs = Observation(
            id=f"sec-{i}", asset="site-000", unit="gov-office", probe="http",
            observed_at=t0 + timedelta(minutes=i), collector="c1", vantage="test", ok=False,
            duration_s=0.2, error="status 503", data={"status": 503, "latency_ms": 90.0},
        )  # fmt: skip
        producer.send(kafka_settings.topic("observations"), key=b"gov-office", value=obs.to_json())
    producer.flush(30)
    producer.close(10)
    api = procs.engine.url
    procs.engine.wait_metric("ssa_alerts_firing", 1, rule="site-down", timeout=60)
    fp = httpx.get(f"{api}/api/v1/alerts", params={"state": "firing"}).json()["alerts"][0][
        "fingerprint"
    ]

    # -- API mutations: refused without the token, whatever is tried ----------------------
    mutations = [
        ("POST", f"/api/v1/alerts/{fp}/ack", {"comment": "x"}),
        ("POST", f"/api/v1/alerts/{fp}/unack", {"comment": "x"}),
        ("POST", "/api/v1/silences", {"matchers": {"asset": "site-000"}, "duration": "1h"}),
        ("DELETE", "/api/v1/silences/some-id", None),
    ]
    wrong = wrong_tokens(API_TOKEN, other=INGEST_TOKEN)
    for method, path, body in mutations:
        for headers in wrong:
            r = record(httpx.request(method, api + path, json=body, headers=headers, timeout=5))
            assert r.status_code == 401, (method, path, headers, r.status_code, r.text)
        r = record(httpx.request(method, f"{api}{path}?token={API_TOKEN}", json=body, timeout=5))
        assert r.status_code == 401
    for path in ("/api/v1/alerts", "/api/v1/assets", "/api/v1/silences", "/metrics", "/healthz"):
        assert record(httpx.get(api + path, timeout=5)).status_code == 200
    ok = record(
        httpx.post(
            f"{api}/api/v1/alerts/{fp}/ack", json={"comment": "on it", "actor": "duty"},
            headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=10,
        )
    )  # fmt: skip
    assert ok.status_code in (200, 202), ok.text
    record(httpx.post(f"{api}/api/v1/silences", json={"bad": 1},
                      headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=5))  # fmt: skip

    # -- ingest: tokens and size ---------------------------------------------------------
    ingest = f"http://127.0.0.1:{procs.ports['ingest']}/ingest/v1/events"
    event = {"event_type": "login", "user": "alice", "outcome": "failure", "source_ip": "192.0.2.7"}
    for headers in wrong_tokens(INGEST_TOKEN, other=API_TOKEN):
        r = record(httpx.post(ingest, json=event, headers=headers, timeout=5))
        assert r.status_code == 401, (headers, r.status_code)
    auth = {"Authorization": f"Bearer {INGEST_TOKEN}"}
    huge = b'{"event_type": "x", "message": "' + b"A" * (INGEST_LIMIT + 10) + b'"}'
    for headers in ({}, auth):
        r = record(httpx.post(ingest, content=huge, headers=headers, timeout=10))
        assert r.status_code in (401, 413), r.status_code
    as_json = {**auth, "Content-Type": "application/json"}
    r = record(httpx.post(ingest, content=huge, headers=as_json, timeout=10))
    assert r.status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(INGEST_LIMIT // 4096 + 4):
            yield b"A" * 4096

    r = record(httpx.post(ingest, content=chunks(), headers=auth, timeout=10))
    assert r.status_code == 413  # no Content-Length: counted while read
    r = record(httpx.post(ingest, content=b"{not json", headers=auth, timeout=5))
    assert r.status_code == 400
    r = record(httpx.post(ingest, json=event, headers=auth, timeout=5))
    assert r.status_code == 202, r.text

    # -- the notifier tried its receivers (and failed, as arranged) ------------------------
    deadline = time.monotonic() + 60
    tried = False
    while not tried and time.monotonic() < deadline:
        logs = procs.logs["notifier"].read_text(errors="replace")
        tried = "via hook attempt 2: error" in logs and "via mail attempt 2: error" in logs
        time.sleep(0.5)
    assert tried, "the notifier never tried (and retried) both receivers"

    # -- every server on loopback ----------------------------------------------------------
    bound = {name: listening(pid) for name, pid in procs.pids().items()}
    for name, socks in bound.items():
        assert socks, f"{name} listens nowhere?"
        for proto, addr, port in socks:
            assert addr in ("127.0.0.1", "::1"), (name, proto, addr, port)
    print(f"listening: {bound}")

    # -- no secret anywhere -----------------------------------------------------------------
    pages = [
        httpx.get(f"{api}/metrics", timeout=5).text,
        httpx.get(f"http://127.0.0.1:{procs.ports['collector_metrics']}/metrics", timeout=5).text,
        httpx.get(f"http://127.0.0.1:{procs.ports['notifier_metrics']}/metrics", timeout=5).text,
    ]
    show = subprocess.run(
        [sys.executable, "-m", "engine.cli", "config", "show"], env=procs.env, cwd=REPO,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert show.returncode == 0, show.stderr
    procs.stop()  # logs complete, shutdown messages included
    texts = {f"{n} log": p.read_text(errors="replace") for n, p in procs.logs.items()}
    texts |= {f"metrics {i}": t for i, t in enumerate(pages)}
    texts |= {f"response {i}": t for i, t in enumerate(seen)}
    texts["config show"] = show.stdout + show.stderr
    for where, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, f"a secret is in the {where}"
            assert secret[-16:] not in text, f"part of a secret is in the {where}"
    notifier_log = texts["notifier log"]
    print(
        f"checked {len(texts)} texts ({sum(map(len, texts.values()))} characters); "
        f"notifier log mentions failures: {notifier_log.lower().count('fail')}"
    )


def test_engine_without_a_token_refuses_every_mutation(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    import asyncio

    from aiohttp import web
    from prometheus_client import CollectorRegistry

    from engine.api import create_api
    from engine.inventory.model import Inventory
    from engine.metrics import EngineMetrics
    from engine.stream.alert_view import TopicStateView

    async def main() -> list[int]:

        registry = CollectorRegistry()
        view = TopicStateView(Inventory(units={}, assets={}), EngineMetrics(registry))
        sent: list[object] = []

        async def send(c: object) -> None:
            sent.append(c)

        app = create_api(view, send, kafka_settings, registry=registry)  # token is ""
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        codes = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            for headers in ({}, {"Authorization": "Bearer null"}, {"Authorization": "Bearer x"}):
                codes.append((await c.post("/api/v1/alerts/fp/ack", headers=headers)).status_code)
                codes.append(
                    (await c.post("/api/v1/silences", json={}, headers=headers)).status_code
                )
                codes.append((await c.delete("/api/v1/silences/s1", headers=headers)).status_code)
        await runner.cleanup()
        assert not sent
        return codes

    assert kafka_settings.api.token == ""
    assert set(asyncio.run(main())) == {403}
