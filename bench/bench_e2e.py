"""End to end through Kafka: producer → broker → one ``ssa engine`` worker → alerts (issue 9, 2).

Each run gets its own topics (``bench<random>.*``, deleted afterwards) and a
fresh ``ssa engine`` process with the shipped rule pack and an inventory of
``--assets`` websites:

(a) **throughput** — ``--observations`` realistic observations (the probe mix
    of the shipped rules, 3 % failing, event time 50 µs apart) are loaded
    into the observations topic *before* the worker starts; the worker's
    ``ssa_observations_total`` (its /metrics) is sampled until it reaches the
    total. Sustained rate = observations counted between the first sample
    above zero and the last / the time between. The worker's CPU seconds
    (``/proc/PID/stat``) are reported too: a per-CPU-second rate that a busy
    shared machine skews less.
(b) **latency** — the same worker, now caught up, is fed a paced stream of
    ``--rate`` observations/s for ``--seconds``, ``observed_at`` = the time of
    sending; ``--trigger`` of them open port 3389 on an asset that has no
    alert yet (the ``risky-port-exposed`` and ``new-open-port`` match rules
    fire). Latency = the alert record's broker append time (the bench's alerts
    topic uses ``message.timestamp.type=LogAppendTime``) − the triggering
    observation's ``observed_at``; p50/p99 over every such alert.

Without ``--bootstrap`` (or ``SSA_KAFKA_BOOTSTRAP``) a broker of its own is
started on free loopback ports and stopped at the end.

    .venv/bin/python bench/bench_e2e.py [--bootstrap 127.0.0.1:19092] [--runs 3] [--record]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from common import (
    PROBE_MIX,
    REPO,
    command_line,
    make_inventory,
    median,
    observation,
    percentile,
    write_section,
)

from engine.broker.local import KafkaDist, LocalBroker, free_port
from engine.broker.topics import create_topics
from engine.events import Alert
from engine.inventory.model import Asset, Inventory
from engine.settings import Settings, with_overrides

MATCH_RULES = {"risky-port-exposed", "new-open-port"}
GOAL_RATE = 20_000
GOAL_P99_S = 1.0


@contextmanager
def broker(bootstrap: str | None) -> Iterator[str]:
    """The given cluster, or a broker of our own on free ports for the duration."""
    if bootstrap:
        yield bootstrap
        return
    settings = Settings.load(env={})
    state = Path(tempfile.mkdtemp(prefix="ssa-bench-kafka-"))
    b = LocalBroker(
        dist=KafkaDist(settings.kafka.version, Path(settings.kafka.home)),
        state_dir=state, port=free_port(), controller_port=free_port(), heap="1g",
    )  # fmt: skip
    b.start(timeout=180)
    try:
        yield b.bootstrap
    finally:
        b.stop()
        shutil.rmtree(state, ignore_errors=True)


def inventory_file(inv: Inventory, path: Path) -> None:
    """The inventory as ``ssa engine --inventory`` reads it (JSON is YAML)."""
    doc = {
        "units": [{"id": u.id, "name": u.name} for u in inv.units.values()],
        "assets": [
            {"id": a.id, "unit": a.unit, "kind": a.kind, "name": a.name, "url": a.url,
             "criticality": a.criticality, "expected_ports": list(a.expected_ports)}
            for a in inv.assets.values()
        ],
    }  # fmt: skip
    path.write_text(json.dumps(doc), encoding="utf-8")


class Topics:
    """This run's topics on the broker: created with a fresh prefix, deleted at the end."""

    def __init__(self, bootstrap: str, partitions: int) -> None:
        self.bootstrap = bootstrap
        self.settings = with_overrides(
            Settings.load(env={}),
            kafka={"bootstrap": bootstrap},
            topics={"prefix": f"bench{uuid.uuid4().hex[:8]}", "partitions": partitions},
        )
        create_topics(bootstrap, self.settings)
        self._append_time(self.settings.topic("alerts"))

    def _append_time(self, topic: str) -> None:
        from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="ssa-bench")
        try:
            admin.alter_configs(
                [
                    ConfigResource(
                        ConfigResourceType.TOPIC, topic,
                        configs={"message.timestamp.type": "LogAppendTime"},
                    )
                ]
            )  # fmt: skip
        finally:
            admin.close()

    def drop(self) -> None:
        from kafka.admin import KafkaAdminClient

        prefix = self.settings.topics.prefix
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="ssa-bench")
        try:
            mine = [t for t in admin.list_topics() if t.startswith(prefix)]
            if mine:
                admin.delete_topics(mine)
        finally:
            admin.close()


class Worker:
    """One ``ssa engine`` process on this run's topics."""

    def __init__(self, topics: Topics, inventory: Path, tmp: Path) -> None:
        s = topics.settings
        self.port = free_port()
        self.log = tmp / "engine.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SSA_")}
        self.env.update(
            SSA_KAFKA_BOOTSTRAP=topics.bootstrap,
            SSA_TOPICS_PREFIX=s.topics.prefix,
            SSA_TOPICS_PARTITIONS=str(s.topics.partitions),
            SSA_API_PORT=str(self.port),
            SSA_API_TOKEN=uuid.uuid4().hex,
            SSA_ENGINE_DATA_DIR=str(tmp / "data"),
        )
        self.argv = [sys.executable, "-m", "engine.cli", "engine", "--rules",
                     str(REPO / "rules"), "--inventory", str(inventory)]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None
        #: How often /metrics is read: rendering it costs the worker CPU (per-asset gauges).
        self.poll_s = 1.0

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO
            )

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            raise SystemExit("engine exited:\n" + self.log.read_text()[-3000:])

    def counted(self) -> float | None:
        """Sum of ``ssa_observations_total`` over its labels; None while not serving."""
        try:
            text = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text
        except httpx.HTTPError:
            return None
        total = 0.0
        for line in text.splitlines():
            if line.startswith("ssa_observations_total{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def cpu_seconds(self) -> float:
        """User + system CPU time of the worker process so far."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_count(self, n: float, timeout: float) -> list[tuple[float, float, float]]:
        """Samples (wall time, count, cpu seconds) until the count reaches ``n``."""
        samples: list[tuple[float, float, float]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.alive()
            c = self.counted()
            if c is not None:
                samples.append((time.monotonic(), c, self.cpu_seconds()))
                if c >= n:
                    return samples
            time.sleep(self.poll_s)
        got = samples[-1][1] if samples else 0
        raise SystemExit(f"engine counted {got:.0f} of {n:.0f} in {timeout:.0f}s; {self.log}")


def producer(bootstrap: str) -> Any:
    from kafka import KafkaProducer

    return KafkaProducer(
        bootstrap_servers=bootstrap, acks=1, linger_ms=5, batch_size=256 * 1024,
        max_in_flight_requests_per_connection=5,
    )  # fmt: skip


def preload(bootstrap: str, topic: str, assets: list[Asset], n: int, seed: int) -> None:
    """``n`` observations of ``assets``, event time ending now, 50 µs apart."""
    rnd = random.Random(seed)
    units = {a.id: a.unit.encode() for a in assets}
    step = timedelta(microseconds=50)
    start = datetime.now(UTC) - step * n
    p = producer(bootstrap)
    for i in range(n):
        a = rnd.choice(assets)
        obs = observation(i, a, rnd.choice(PROBE_MIX), start + step * i, rnd.random() < 0.03, rnd)
        p.send(topic, key=units[a.id], value=obs.to_json())
    p.flush()
    p.close()


@dataclass
class Throughput:
    rate: float
    cpu_rate: float
    startup_s: float


def throughput(worker: Worker, n: int, timeout: float, profile: str | None) -> Throughput:
    t0 = time.monotonic()
    worker.start()
    spy = profiler(worker, profile) if profile else None
    try:
        samples = worker.wait_count(n, timeout)
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
    idle = [s for s in samples if s[1] == 0]
    moving = [s for s in samples if s[1] > 0]
    first, last = moving[0], moving[-1]
    if len(moving) == 1 and idle:  # all of it within one sample interval
        first = idle[-1]
    dt = max(1e-9, last[0] - first[0])
    cpu = max(1e-9, last[2] - first[2])
    return Throughput((last[1] - first[1]) / dt, (last[1] - first[1]) / cpu, first[0] - t0)


def profiler(worker: Worker, out: str) -> subprocess.Popen[bytes]:
    """py-spy sampling the worker (collapsed stacks in ``out``) until SIGINT."""
    assert worker.proc is not None
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    argv = [spy, "record", "--pid", str(worker.proc.pid), "--rate", "100", "--format", "raw",
            "--output", out, "--nonblocking"]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@dataclass
class Latency:
    latencies: list[float] = field(default_factory=list)
    triggers: int = 0
    sent: int = 0
    achieved_rate: float = 0.0


def paced(
    bootstrap: str,
    topic: str,
    background: list[Asset],
    fresh: list[Asset],
    rate: float,
    seconds: float,
    trigger: float,
) -> tuple[dict[str, float], int, float]:
    """Send ``rate`` observations/s for ``seconds``; {asset: observed_at} of the triggers."""
    rnd = random.Random(11)
    p = producer(bootstrap)
    triggers: dict[str, float] = {}
    tick = 0.01
    per_tick = rate * tick
    start = time.monotonic()
    sent = 0
    owed = 0.0
    fresh_iter = iter(fresh)
    while (elapsed := time.monotonic() - start) < seconds:
        owed = rate * elapsed - sent
        for _ in range(int(min(owed, per_tick * 5))):
            now = datetime.now(UTC)
            a: Asset | None = None
            if rnd.random() < trigger:
                a = next(fresh_iter, None)
            if a is not None:
                obs = observation(sent, a, "tcp", now, True, rnd)
                triggers[a.id] = now.timestamp()
            else:
                a = rnd.choice(background)
                obs = observation(sent, a, rnd.choice(PROBE_MIX), now, False, rnd)
            p.send(topic, key=a.unit.encode(), value=obs.to_json())
            sent += 1
        time.sleep(tick)
    took = time.monotonic() - start
    p.flush()
    p.close()
    return triggers, sent, sent / took


def alert_latencies(
    bootstrap: str, topic: str, triggers: dict[str, float], timeout: float
) -> list[float]:
    """Append time − observed_at of the first matching alert of each triggered asset."""
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, q) for q in sorted(c.partitions_for_topic(topic) or ())]
        c.assign(parts)
        c.seek_to_beginning(*parts)
        first: dict[str, float] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(first) < len(triggers):
            for records in c.poll(timeout_ms=300).values():
                for r in records:
                    a = Alert.from_json(r.value)
                    if a.rule in MATCH_RULES and a.asset in triggers and a.state == "firing":
                        t = r.timestamp / 1000
                        first[a.asset] = min(t, first.get(a.asset, t))
        return [first[k] - triggers[k] for k in first]
    finally:
        c.close()


def one_run(bootstrap: str, args: argparse.Namespace, run: int) -> tuple[Throughput, Latency]:
    inv = make_inventory(args.assets)
    assets = list(inv.assets.values())
    half = len(assets) // 2
    background, fresh = assets[:half], assets[half:]
    topics = Topics(bootstrap, args.partitions)
    tmp = Path(tempfile.mkdtemp(prefix="ssa-bench-e2e-"))
    worker: Worker | None = None
    try:
        inv_path = tmp / "inventory.yaml"
        inventory_file(inv, inv_path)
        obs_topic = topics.settings.topic("observations")
        preload(bootstrap, obs_topic, background, args.observations, seed=run)
        worker = Worker(topics, inv_path, tmp)
        tp = throughput(worker, args.observations, args.timeout, args.profile)
        lat = Latency()
        if args.seconds > 0:
            triggers, lat.sent, lat.achieved_rate = paced(
                bootstrap, obs_topic, background, fresh, args.rate, args.seconds, args.trigger
            )
            lat.triggers = len(triggers)
            worker.wait_count(args.observations + lat.sent, args.timeout)
            lat.latencies = alert_latencies(
                bootstrap, topics.settings.topic("alerts"), triggers, timeout=30
            )
        return tp, lat
    finally:
        if worker is not None:
            worker.stop()
        topics.drop()
        shutil.rmtree(tmp, ignore_errors=True)


def report(args: argparse.Namespace, runs: list[tuple[Throughput, Latency]]) -> str:
    lines = [
        f"{args.assets} assets ({args.assets // 2} background, {args.assets - args.assets // 2} "
        f"kept fresh for triggers), {args.partitions} partitions, one worker, shipped rule pack"
    ]
    for i, (tp, lat) in enumerate(runs, 1):
        p50 = percentile(lat.latencies, 50) if lat.latencies else float("nan")
        p99 = percentile(lat.latencies, 99) if lat.latencies else float("nan")
        lines.append(
            f"  run {i}: {tp.rate:>9,.0f} obs/s wall, {tp.cpu_rate:>9,.0f} obs/CPU-s "
            f"(worker up after {tp.startup_s:.1f}s); paced {lat.achieved_rate:,.0f} obs/s: "
            f"{len(lat.latencies)}/{lat.triggers} alerts, p50 {p50 * 1e3:.0f} ms, "
            f"p99 {p99 * 1e3:.0f} ms"
        )
    rate = median([tp.rate for tp, _ in runs])
    cpu_rate = median([tp.cpu_rate for tp, _ in runs])
    lines.append(
        f"throughput ({args.observations:,} preloaded): median {rate:,.0f} obs/s per worker "
        f"(goal >= {GOAL_RATE:,}: {'met' if rate >= GOAL_RATE else 'MISSED'}); "
        f"median {cpu_rate:,.0f} obs per worker CPU-second"
    )
    p50s = [percentile(lat.latencies, 50) for _, lat in runs if lat.latencies]
    p99s = [percentile(lat.latencies, 99) for _, lat in runs if lat.latencies]
    if p99s:
        p99 = median(p99s)
        lines.append(
            f"latency at {args.rate:,.0f} obs/s for {args.seconds:g}s, {args.trigger:.1%} "
            f"triggering: median p50 {median(p50s) * 1e3:.0f} ms, median p99 {p99 * 1e3:.0f} ms "
            f"(goal p99 < {GOAL_P99_S:g} s: {'met' if p99 < GOAL_P99_S else 'MISSED'})"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--bootstrap", default=os.environ.get("SSA_KAFKA_BOOTSTRAP"))
    ap.add_argument("--assets", type=int, default=2000)
    ap.add_argument("--observations", type=int, default=200_000)
    ap.add_argument("--rate", type=float, default=5000.0, help="paced observations/s")
    ap.add_argument("--seconds", type=float, default=20.0, help="paced phase length (0: skip)")
    ap.add_argument("--trigger", type=float, default=0.005, help="fraction that fires an alert")
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--record", action="store_true", help="write the figures to BENCHMARKS.md")
    ap.add_argument("--profile", help="py-spy the worker's throughput phase into this file")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    runs = []
    with broker(args.bootstrap) as bootstrap:
        print(f"broker {bootstrap}{'' if args.bootstrap else ' (started by the bench)'}")
        for r in range(args.runs):
            runs.append(one_run(bootstrap, args, r))
            print(report(args, runs).splitlines()[len(runs)], flush=True)
    text = report(args, runs)
    print(text)
    if args.record:
        write_section("e2e", command_line(), text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
