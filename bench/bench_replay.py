"""Benchmark of ``ssa replay``: observations per second read from Kafka and evaluated.

Writes a synthetic history (``engine.audit.sample``, every rule of the
shipped pack acting) of ``--observations`` records to the run's own topics on
a real broker, then times, each as the median of ``--runs`` rounds (the rows
take turns within a round, so old and new paths see the same load):

- ``read``: fetching every record, with the old reader (kafka-python
  ``TopicReader``: open, ranges, read) and with replay's reader (aiokafka
  ``fastread.PeriodReader`` in its own thread: ranges, read);
- ``read + decode``: the same, with each value validated into an ``Observation``;
- ``replay``: the whole ``replay_period`` (controls, per-partition ``Pipeline``,
  sealing) as ``ssa replay`` runs it, next to the same replay on the old
  kafka-python read path (controls by ``read_period``, observations by
  ``TopicReader``: what ``replay_period`` did before ``fastread``); both must
  give the same alerts byte for byte;
- ``replay, N worker processes``: ``replay_period(workers=N)``;
- ``pipeline only``: the same pipelines over records already in memory, no
  Kafka, for reference.

The topics are deleted at the end. ``--write`` records the figures in
BENCHMARKS.md (section ``replay``).

    .venv/bin/python bench/bench_replay.py --bootstrap 127.0.0.1:19092 \
        --observations 100000 --runs 5 --write
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.audit.fastread import PeriodReader, Want  # noqa: E402
from engine.audit.replay import Replay, run  # noqa: E402
from engine.audit.replay_kafka import read_controls, replay_period  # noqa: E402
from engine.audit.sample import sample_history  # noqa: E402
from engine.audit.topicread import TopicReader  # noqa: E402
from engine.broker.topics import create_topics  # noqa: E402
from engine.events import Alert, Observation  # noqa: E402
from engine.inventory.loader import load_inventory  # noqa: E402
from engine.pipeline import Pipeline  # noqa: E402
from engine.ruleset import load_ruleset  # noqa: E402
from engine.settings import Settings, with_overrides  # noqa: E402
from engine.store import DictStore  # noqa: E402


def history_of(n: int) -> tuple[str, list[Observation], list]:  # type: ignore[type-arg]
    """At least ``n`` observations of the sample history (more assets for more)."""
    hours = 4.0
    scale = max(1, -(-n // 13_926))
    h = sample_history(websites=20 * scale, ips=10 * scale, hours=hours)
    return h.inventory_yaml, h.observations[:n], h.controls


def produce(bootstrap: str, settings: Settings, obs: list[Observation], controls: list) -> None:  # type: ignore[type-arg]
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=50, batch_size=1 << 20)
    topic = settings.topic("observations")
    for o in obs:
        p.send(
            topic,
            key=o.unit.encode(),
            value=o.to_json(),
            timestamp_ms=int(o.observed_at.timestamp() * 1000),
        )
    for c in controls:
        p.send(
            settings.topic("control"), value=c.to_json(), timestamp_ms=int(c.at.timestamp() * 1000)
        )
    p.flush()
    p.close()


def rounds(rows: list[tuple[str, Callable[[], int]]], runs: int) -> list[tuple[str, list[float]]]:
    """Each row's rates over ``runs`` rounds; within a round the rows take turns."""
    rates: dict[str, list[float]] = {name: [] for name, _ in rows}
    for _ in range(runs):
        for name, fn in rows:
            t = time.perf_counter()
            n = fn()
            rates[name].append(n / (time.perf_counter() - t))
    return [(name, rates[name]) for name, _ in rows]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap", default=os.environ.get("SSA_KAFKA_BOOTSTRAP", "127.0.0.1:19092"))
    ap.add_argument("--observations", type=int, default=100_000)
    # The topics' default partition count: --workers shares partitions out, so
    # with 3 partitions two workers could never split the work evenly.
    ap.add_argument("--partitions", type=int, default=Settings.load(env={}).topics.partitions)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--write", action="store_true", help="record the figures in BENCHMARKS.md")
    args = ap.parse_args()

    prefix = f"bench-replay-{uuid.uuid4().hex[:8]}"
    s = with_overrides(
        Settings.load(env={}),
        kafka={"bootstrap": args.bootstrap},
        topics={"prefix": prefix, "partitions": args.partitions},
    )
    inventory_yaml, obs, controls = history_of(args.observations)
    n = len(obs)
    with tempfile.TemporaryDirectory() as tmp:
        inv_path = Path(tmp) / "inventory.yaml"
        inv_path.write_text(inventory_yaml, encoding="utf-8")
        inventory = load_inventory(inv_path)
    ruleset = load_ruleset(REPO / "rules")
    create_topics(args.bootstrap, s)
    try:
        t = time.perf_counter()
        produce(args.bootstrap, s, obs, controls)
        print(
            f"wrote {n} observations to {s.topic('observations')} "
            f"({args.partitions} partitions) in {time.perf_counter() - t:.1f}s",
            file=sys.stderr,
        )

        topic = s.topic("observations")

        def count(batches: Iterable[Sequence[Any]], decode: bool) -> int:
            n_read = 0
            for batch in batches:
                if decode:
                    for rec in batch:
                        Observation.from_json(rec.value or b"")
                n_read += len(batch)
            assert n_read == n, n_read
            return n_read

        def read_old(decode: bool) -> Callable[[], int]:
            def go() -> int:
                with TopicReader(args.bootstrap, topic) as r:
                    return count(r.read(r.ranges()), decode)

            return go

        def read_new(decode: bool) -> Callable[[], int]:
            def go() -> int:
                with PeriodReader(args.bootstrap, [Want(topic)]) as r:
                    return count(r.read(topic), decode)

            return go

        def replay_old_path() -> list[Alert]:
            """``replay_period`` as it was before ``fastread``: kafka-python throughout."""
            controls = read_controls(s, args.bootstrap, None, None)
            with TopicReader(args.bootstrap, topic, client_id="ssa-replay") as reader:
                ranges = reader.ranges()
                pipes = {p: Pipeline(ruleset, inventory, DictStore(), DictStore())
                         for p in reader.partitions}  # fmt: skip
                rp = Replay.start(topic, pipes, controls)
                alerts = run(rp, reader.read(ranges))
            assert rp.stats.observations == n, rp.stats
            return alerts

        def replay_new(workers: int = 1) -> list[Alert]:
            alerts, stats = replay_period(s, args.bootstrap, ruleset, inventory, workers=workers)
            assert stats.observations == n, stats
            return alerts

        same = [b"".join(a.to_json() for a in f()) for f in (replay_old_path, replay_new)]
        assert same[0] == same[1], "the two read paths gave different alerts"

        records = []
        with TopicReader(args.bootstrap, topic) as r:
            for batch in r.read(r.ranges()):
                records.extend(batch)

        def in_memory() -> int:
            pipes = {p: Pipeline(ruleset, inventory, DictStore(), DictStore())
                     for p in range(args.partitions)}  # fmt: skip
            rp = Replay.start(topic, pipes, controls)
            run(rp, [records])
            return n

        def counted(f: Callable[[], object]) -> Callable[[], int]:
            return lambda: (f(), n)[1]

        rows = rounds(
            [
                ("read, old: kafka-python", read_old(False)),
                ("read, new: aiokafka (fastread)", read_new(False)),
                ("read + decode, old", read_old(True)),
                ("read + decode, new", read_new(True)),
                ("replay, old read path", counted(replay_old_path)),
                ("replay (ssa replay: read, decode, Pipeline, seal)", counted(replay_new)),
                (f"replay, {args.workers} worker processes",
                 counted(lambda: replay_new(args.workers))),
                ("pipeline only (records in memory)", in_memory),
            ],
            args.runs,
        )  # fmt: skip
    finally:
        from kafka.admin import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=args.bootstrap)
        admin.delete_topics([t for t in admin.list_topics() if t.startswith(prefix + ".")])
        admin.close()

    lines = [f"{n} observations, {args.partitions} partitions, 19 rules, "
             f"median of {args.runs} rounds (rows take turns within a round)"]  # fmt: skip
    med = {name: statistics.median(rates) for name, rates in rows}
    for name, rates in rows:
        each = ", ".join(f"{x:,.0f}" for x in rates)
        lines.append(f"  {name:<50} {med[name]:>10,.0f} obs/s   ({each})")
    for what, old, new in [
        ("read", "read, old: kafka-python", "read, new: aiokafka (fastread)"),
        ("read + decode", "read + decode, old", "read + decode, new"),
        ("replay", "replay, old read path", "replay (ssa replay: read, decode, Pipeline, seal)"),
    ]:
        lines.append(f"  {what}: new / old = {med[new] / med[old]:.2f}")
    lines.append("  old and new read paths: the same alerts, byte for byte")
    body = "\n".join(lines)
    print(body)
    if args.write:
        write_section("replay", " ".join([".venv/bin/python", *sys.argv]), body)
    return 0


def write_section(name: str, command: str, body: str) -> None:
    """Replace (or append) the ``<!-- bench:NAME -->`` section of BENCHMARKS.md."""
    path = REPO / "BENCHMARKS.md"
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = (
        f"{start}\n```\n$ {command}\n# {when}, {os.cpu_count()} CPUs, load average {load}\n"
        f"{body.rstrip()}\n```\n{end}"
    )
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = (
        pattern.sub(lambda _: block, text)
        if pattern.search(text)
        else (text.rstrip() + "\n\n" + block + "\n")
    )
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
