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
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    PROBE_MIX,
    command_line,
    make_inventory,
    median,
    observation,
    percentile,
    write_section,
)
from e2e_kafka import Topics, Worker, broker, inventory_file, producer, profiler

from engine.events import Alert, format_time
from engine.inventory.model import Asset

MATCH_RULES = {"risky-port-exposed", "new-open-port"}
GOAL_RATE = 20_000
GOAL_P99_S = 1.0


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


@dataclass
class Latency:
    latencies: list[float] = field(default_factory=list)
    triggers: int = 0
    sent: int = 0
    achieved_rate: float = 0.0


SENTINEL = datetime(2000, 1, 1, tzinfo=UTC)


def paced(
    bootstrap: str,
    topic: str,
    background: list[Asset],
    fresh: list[Asset],
    rate: float,
    seconds: float,
    trigger: float,
) -> tuple[dict[str, float], int, float]:
    """Send ``rate`` observations/s for ``seconds``; {asset: observed_at} of the triggers.

    The messages are built beforehand with a placeholder time, which is
    replaced by the time of sending, so the sender keeps up on a slow machine.
    """
    rnd = random.Random(11)
    stamp = format_time(SENTINEL).encode()
    fresh_iter = iter(fresh)
    planned: list[tuple[str | None, bytes, bytes]] = []
    for i in range(int(rate * seconds)):
        a: Asset | None = next(fresh_iter, None) if rnd.random() < trigger else None
        if a is not None:
            obs = observation(i, a, "tcp", SENTINEL, True, rnd)
        else:
            a = rnd.choice(background)
            obs = observation(i, a, rnd.choice(PROBE_MIX), SENTINEL, False, rnd)
        planned.append((a.id if obs.probe == "tcp" and not obs.ok else None,
                        a.unit.encode(), obs.to_json()))  # fmt: skip
    p = producer(bootstrap)
    triggers: dict[str, float] = {}
    start = time.monotonic()
    sent = 0
    while sent < len(planned):
        due = min(len(planned), int(rate * (time.monotonic() - start)) + 1)
        while sent < due:
            trig, key, value = planned[sent]
            now = datetime.now(UTC)
            p.send(topic, key=key, value=value.replace(stamp, format_time(now).encode(), 1))
            if trig is not None:
                triggers[trig] = now.timestamp()
            sent += 1
        time.sleep(0.005)
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
        rates = (
            f"{tp.rate:>9,.0f} obs/s wall, {tp.cpu_rate:>9,.0f} obs/CPU-s"
            if tp.rate > 0
            else "preload too small to time"
        )
        lines.append(
            f"  run {i}: {rates} "
            f"(worker up after {tp.startup_s:.1f}s); paced {lat.achieved_rate:,.0f} obs/s: "
            f"{len(lat.latencies)}/{lat.triggers} alerts, p50 {p50 * 1e3:.0f} ms, "
            f"p99 {p99 * 1e3:.0f} ms"
        )
    rate = median([tp.rate for tp, _ in runs])
    cpu_rate = median([tp.cpu_rate for tp, _ in runs])
    if rate > 0:
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
    ap.add_argument("--section", default="e2e", help="BENCHMARKS.md section to write")
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
        write_section(args.section, command_line(), text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
