"""Hostile targets: every probe ends within its timeout and size cap, and nobody else slips.

The real ``Scheduler`` runs the real probes against loopback servers that
misbehave (``tests/servers`` plus a slowloris drip below) together with
healthy websites probed every two seconds:

- slowloris: the response headers arrive one byte every 0.2 s, forever;
- an endless chunked body; a gzip bomb (a few tens of kB inflating to 64 MiB);
- a TLS handshake that stalls (the server accepts and never speaks), for
  both the http and the tls probe;
- a redirect loop; a connection reset (http and tcp);
- DNS that never answers.

Each hostile observation must fail (or be truncated) within the timeout plus
the scheduler's grace, having read at most ``max_body_bytes``; the healthy
assets must be probed on their interval the whole time (no gap longer than
the interval plus jitter and a little slack).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from itertools import pairwise

import pytest

from collectors.plan import Plan
from collectors.probes import PROBES
from collectors.probes.base import ProbeConfig
from collectors.scheduler import GRACE_S, Scheduler
from engine.events import Observation
from engine.inventory.model import Asset
from tests.servers import (
    DnsServer,
    Endless,
    GzipBomb,
    HttpServer,
    Page,
    Redirect,
    Reset,
    TcpServer,
)
from tests.servers.loop import BackgroundLoop

TIMEOUT = 2.0
MAX_BODY = 256 << 10
HEALTHY_EVERY = 2.0
RUN_S = 12.0


class Drip:
    """Slowloris in reverse: a status line, then one header byte every ``every`` seconds."""

    def __init__(self, every: float = 0.2) -> None:
        self.every = every
        self.port = 0
        self._bg = BackgroundLoop("drip-server")

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(4096)
        writer.write(b"HTTP/1.1 200 OK\r\n")
        try:
            while True:
                writer.write(b"X")
                await writer.drain()
                await asyncio.sleep(self.every)
        except (ConnectionError, asyncio.CancelledError):
            writer.close()

    def __enter__(self) -> Drip:
        server = self._bg.run(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self._bg.close()


def site(aid: str, url: str, probes: tuple[str, ...], every: float) -> Asset:
    return Asset(id=aid, unit="u", kind="website", url=url, probes=probes, interval_s=every)


@pytest.fixture
def world() -> Iterator[tuple[list[Asset], list[Asset], ProbeConfig]]:
    with (
        HttpServer(
            {
                "/endless": Endless(),
                "/bomb": GzipBomb(),
                "/loop": Redirect("/loop"),
                "/reset": Reset(),
            }
        ) as bad,
        HttpServer({"/": Page("<title>ok</title>")}) as good,
        TcpServer.silent() as stall,
        TcpServer.reset() as rst,
        DnsServer(silent=True) as dns,
        Drip() as drip,
    ):
        hostile = [
            site("slowloris", f"http://127.0.0.1:{drip.port}/", ("http",), 5),
            site("endless", bad.url("/endless"), ("http", "content"), 5),
            site("bomb", bad.url("/bomb"), ("http", "content"), 5),
            site("tls-stall", f"https://127.0.0.1:{stall.port}/", ("http", "tls"), 5),
            site("redirect-loop", bad.url("/loop"), ("http",), 5),
            site("reset", bad.url("/reset"), ("http",), 5),
            Asset(id="tcp-reset", unit="u", kind="system", address=f"127.0.0.1:{rst.port}",
                  probes=("tcp",), interval_s=5, expected_ports=(rst.port,)),
            site("dns-silent", "https://www.example.gov/", ("dns",), 5),
        ]  # fmt: skip
        healthy = [site(f"ok-{i}", good.url("/"), ("http",), HEALTHY_EVERY) for i in range(5)]
        config = replace(
            ProbeConfig(collector="reliability", vantage="test"),
            max_body_bytes=MAX_BODY,
            nameservers=(f"127.0.0.1:{dns.port}",),
        )
        yield hostile, healthy, config


async def test_hostile_targets_end_in_time_and_nobody_slips(
    world: tuple[list[Asset], list[Asset], ProbeConfig],
) -> None:
    hostile, healthy, config = world
    seen: dict[tuple[str, str], list[tuple[float, Observation]]] = defaultdict(list)

    def emit(obs: Observation) -> None:
        seen[(obs.asset, obs.probe)].append((time.monotonic(), obs))

    sched = Scheduler(
        PROBES, config, emit, concurrency=50, timeout=TIMEOUT, plan=Plan(spread_s=0.5)
    )
    for a in hostile + healthy:
        sched.put(a)
    started = time.monotonic()
    task = asyncio.create_task(sched.run())
    await asyncio.sleep(RUN_S)
    sched.stop()
    await task

    report = []
    for a in hostile:
        for p in a.probes:
            runs = seen[(a.id, p)]
            assert runs, f"{a.id}/{p} never finished"
            for _, o in runs:
                assert o.duration_s <= TIMEOUT + GRACE_S + 0.5, (a.id, p, o.duration_s, o.error)
                body = o.data.get("body_bytes")
                assert body is None or body <= MAX_BODY, (a.id, p, body)
                # A reset after the TCP handshake still means the port is open.
                if a.id != "tcp-reset":
                    assert not o.ok or o.data.get("truncated"), (a.id, p, o.data)
            o = runs[0][1]
            size = f" body_bytes={o.data['body_bytes']}" if "body_bytes" in o.data else ""
            report.append(f"{a.id}/{p}: {o.duration_s:.2f}s ok={o.ok}{size} {o.error or ''}")
    print("\n" + "\n".join(report))

    worst = 0.0
    for a in healthy:
        times = [started] + [t for t, _ in seen[(a.id, "http")]]
        assert all(o.ok for _, o in seen[(a.id, "http")])
        gaps = [b - t for t, b in pairwise(times)]
        worst = max(worst, *gaps)
        # interval ±10 % jitter, plus the first run's spread and a loaded machine's slack
        assert max(gaps) <= HEALTHY_EVERY * 1.1 + 0.75, (a.id, gaps)
        assert len(gaps) >= int(RUN_S / (HEALTHY_EVERY * 1.1)) - 1, (a.id, gaps)
    print(f"healthy assets: worst gap {worst:.2f}s for a {HEALTHY_EVERY:g}s interval")
