"""Benchmark: ssa's http probe against prometheus-blackbox-exporter, same target, same concurrency.

A fast loopback HTTP target runs in its own process. In the same run, for
each of ``--runs`` rounds (alternating which goes first):

- **ssa**: ``--concurrency`` workers call ``collectors.probes.http.probe``
  in a loop for ``--seconds``; with ``--kafka BOOTSTRAP`` every observation
  is also published through ``collectors.publisher.Publisher`` and the round
  ends only when all of them are delivered (acks=all).
- **blackbox**: the Debian ``prometheus-blackbox-exporter`` runs on a
  loopback port with an ``http_2xx`` module; ``--concurrency`` workers drive
  its ``/probe?target=...&module=http_2xx`` endpoint for ``--seconds``.

It prints each round's probes per second, the medians and the ratio
ssa / blackbox. Only successful probes count (a 2xx from the target;
``probe_success 1`` from blackbox).

    .venv/bin/python bench/bench_http_probe.py [--concurrency 50] [--seconds 5] [--runs 5]
        [--kafka 127.0.0.1:19092]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collectors.probes import http
from collectors.probes.base import ProbeConfig
from engine.inventory.model import Asset

PAGE = (
    b"<!doctype html><html><head><title>bench target</title></head><body>"
    + b"<p>city portal benchmark page</p>" * 20
    + b"</body></html>"
)
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Type: text/html; charset=utf-8\r\n"
    b"X-Frame-Options: DENY\r\nX-Content-Type-Options: nosniff\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(PAGE)
) + PAGE

BLACKBOX_CONFIG = """\
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
"""


# -- the target ------------------------------------------------------------


class _Target(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if b"\r\n\r\n" in self.buf:
            self.transport.write(RESPONSE)  # type: ignore[attr-defined]
            self.transport.close()


def _serve(port: int) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Target, "127.0.0.1", port, backlog=4096)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


# -- the two contenders ------------------------------------------------------


async def _drive(
    concurrency: int, seconds: float, one: Callable[[], Awaitable[bool]]
) -> tuple[int, int, float]:
    """Run ``one`` from ``concurrency`` workers for ``seconds``: (ok, failed, elapsed)."""
    ok = failed = 0
    start = time.perf_counter()
    deadline = start + seconds

    async def worker() -> None:
        nonlocal ok, failed
        while time.perf_counter() < deadline:
            if await one():
                ok += 1
            else:
                failed += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok, failed, time.perf_counter() - start


async def run_ssa(
    url: str, concurrency: int, seconds: float, kafka: str | None, kafka_topic: str = ""
) -> float:
    asset = Asset(id="bench-site", unit="bench", kind="website", url=url)
    config = ProbeConfig(collector="bench", vantage="bench")
    publisher = None
    if kafka:
        from collectors.publisher import Publisher

        publisher = Publisher(kafka, kafka_topic)
        publisher.start()

    async def one() -> bool:
        obs = await http.probe(asset, config, timeout=5)
        if publisher is not None:
            publisher.publish(obs)
        return obs.ok

    start = time.perf_counter()
    ok, failed, elapsed = await _drive(concurrency, seconds, one)
    if publisher is not None:
        publisher.stop(timeout=60)  # the round ends when Kafka has every observation
        elapsed = time.perf_counter() - start
        if publisher.delivered < ok + failed:
            print(f"  warning: {ok + failed - publisher.delivered} observations not delivered")
    return ok / elapsed


async def run_blackbox(bb_port: int, url: str, concurrency: int, seconds: float) -> float:
    probe_url = f"http://127.0.0.1:{bb_port}/probe"
    params = {"target": url, "module": "http_2xx"}
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> bool:
            async with session.get(probe_url, params=params) as resp:
                text = await resp.text()
            return "\nprobe_success 1" in text

        ok, _, elapsed = await _drive(concurrency, seconds, one)
    return ok / elapsed


def start_blackbox(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    exe = shutil.which("prometheus-blackbox-exporter")
    if exe is None:
        raise SystemExit(
            "prometheus-blackbox-exporter is not installed "
            "(apt-get install prometheus-blackbox-exporter; see scripts/apt-packages.txt)"
        )
    config = directory / "blackbox.yml"
    config.write_text(BLACKBOX_CONFIG)
    port = free_port()
    proc = subprocess.Popen(
        [exe, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
         "--log.level=warn"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_port(port)
    return proc, port


def bench_topics(bootstrap: str) -> tuple[list[str], str]:
    """Create this run's own topics (``bench<random>.*``): all of them, and the observations one."""
    from engine.broker.topics import create_topics
    from engine.settings import Settings, with_overrides

    settings = with_overrides(
        Settings.load(env={}), topics={"prefix": f"bench{uuid.uuid4().hex[:8]}", "partitions": 3}
    )
    created = create_topics(bootstrap, settings)
    return list(created), settings.topic("observations")


def drop_topics(bootstrap: str, topics: list[str]) -> None:
    """Delete this run's topics from the (shared) broker."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="ssa-bench")
    try:
        admin.delete_topics(topics)
    finally:
        admin.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--kafka", help="also publish every ssa observation to this Kafka")
    args = ap.parse_args()
    # SIGTERM ends the run through the finally below (children and topics are cleaned up).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    port = free_port()
    target = multiprocessing.get_context("spawn").Process(target=_serve, args=(port,), daemon=True)
    target.start()
    wait_port(port)
    url = f"http://127.0.0.1:{port}/"
    tmp = Path(tempfile.mkdtemp(prefix="ssa-bench-"))
    bb, bb_port = start_blackbox(tmp)
    print(
        f"target {url} (own process); blackbox_exporter on 127.0.0.1:{bb_port}; "
        f"concurrency {args.concurrency}, {args.seconds:g}s per round, {args.runs} rounds, "
        f"kafka {'on ' + args.kafka if args.kafka else 'off'}; {os.cpu_count()} CPUs"
    )
    ssa_rates: list[float] = []
    bb_rates: list[float] = []
    topics: list[str] = []
    topic = ""
    if args.kafka:
        topics, topic = bench_topics(args.kafka)
    try:
        # warm up both (imports, connection pools, the exporter's first probe)
        asyncio.run(run_ssa(url, 4, 0.5, None))
        asyncio.run(run_blackbox(bb_port, url, 4, 0.5))
        for r in range(args.runs):
            order = ["ssa", "blackbox"] if r % 2 == 0 else ["blackbox", "ssa"]
            for who in order:
                if who == "ssa":
                    rate = asyncio.run(
                        run_ssa(url, args.concurrency, args.seconds, args.kafka, topic)
                    )
                    ssa_rates.append(rate)
                else:
                    rate = asyncio.run(run_blackbox(bb_port, url, args.concurrency, args.seconds))
                    bb_rates.append(rate)
                print(f"  round {r + 1} {who:<9} {rate:9.1f} probes/s")
    finally:
        bb.terminate()
        bb.wait(10)
        target.terminate()
        target.join(5)
        shutil.rmtree(tmp, ignore_errors=True)
        if topics:
            drop_topics(args.kafka, topics)
    ssa, box = statistics.median(ssa_rates), statistics.median(bb_rates)
    print(f"ssa http probe      median {ssa:9.1f} probes/s")
    print(f"blackbox_exporter   median {box:9.1f} probes/s")
    print(f"ratio ssa/blackbox  {ssa / box:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
