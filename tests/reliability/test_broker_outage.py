"""Kafka stopped for 30 s mid-stream and restarted: collectors buffer, nothing is lost.

A DEDICATED broker (its own free ports, data dir and 512m heap; the shared
or session broker is never touched) carries a real ``ssa collect`` process
probing loopback websites every 5 s and a real ``ssa engine``. Mid-stream
the broker is stopped (SIGTERM, controlled shutdown) for 30 s and started
again on the same ports and data dir. Then:

- the collector kept probing and held what it could not deliver (in its
  buffer or in the producer's retries), dropped nothing, and every observation it made is on
  the topic exactly once: the topic holds one observation per HTTP request
  the sites answered (each probe is one GET), none twice, and every probe
  made during the outage is there;
- the engine resumed by itself: its group committed the end of the
  observations topic, which now includes everything from the outage.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from engine.broker.local import LocalBroker, free_port
from engine.broker.topics import create_topics
from engine.events import Observation
from engine.processes import terminate
from engine.settings import Settings, with_overrides
from tests.conftest import REPO
from tests.kafkautil import read_topic
from tests.reliability.engineproc import EngineProc, wait_committed
from tests.servers import HttpServer, Page

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

N_SITES = 8
OUTAGE_S = 30.0


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    base = Settings.load(env={})
    b = LocalBroker.on_free_ports(base, tmp_path / "kafka")
    b.state_dir.mkdir()
    b.start(timeout=120)
    try:
        yield b
    finally:
        b.stop()


def inventory(port: int) -> str:
    lines = ["units:", "  - id: gov-office", "    name: gov", "assets:"]
    for i in range(N_SITES):
        lines += [
            f"  - id: site-{i:03d}", "    unit: gov-office", "    kind: website",
            f"    name: site {i}", f"    url: http://127.0.0.1:{port}/s{i}",
            "    probes: [http]", "    interval: 5s",
        ]  # fmt: skip
    return "\n".join(lines) + "\n"


class CollectorProc:
    """``ssa collect --inventory FILE`` as a subprocess with its own /metrics port."""

    def __init__(self, settings: Settings, tmp: Path, port: int) -> None:
        inv = tmp / "collect-inventory.yaml"
        inv.write_text(inventory(port), encoding="utf-8")
        self.metrics_port = free_port()
        self.log = tmp / "collector.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SSA_")}
        env.update(
            SSA_KAFKA_BOOTSTRAP=settings.kafka.bootstrap,
            SSA_TOPICS_PREFIX=settings.topics.prefix,
            SSA_COLLECTORS_METRICS_PORT=str(self.metrics_port),
            SSA_COLLECTORS_TIMEOUT_S="3",
            SSA_COLLECTORS_BASELINE_DIR=str(tmp / "baselines"),
        )
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "engine.cli", "collect", "--inventory", str(inv),
                 "--id", "outage-c1", "--no-ingest"],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
            )  # fmt: skip

    def metric(self, name: str) -> float:
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name) and line[len(name)] in "{ "
        )

    def wait_metric(self, name: str, value: float, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        got = 0.0
        while time.monotonic() < deadline:
            try:
                got = self.metric(name)
                if got >= value:
                    return got
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"{name} = {got}, never {value}:\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        terminate([self.proc])


def test_broker_outage(broker: LocalBroker, tmp_path: Path) -> None:
    settings = with_overrides(
        Settings.load(env={}),
        kafka={"bootstrap": broker.bootstrap},
        topics={"prefix": f"t{uuid.uuid4().hex[:10]}", "partitions": 3},
    )
    create_topics(broker.bootstrap, settings)
    routes = {f"/s{i}": Page(f"<title>site {i}</title>") for i in range(N_SITES)}
    with HttpServer(routes) as sites:
        engine = EngineProc(settings, tmp_path, REPO / "rules")
        try:
            run_outage(broker, settings, engine, sites, tmp_path)
        finally:
            engine.stop()


def run_outage(
    broker: LocalBroker, settings: Settings, engine: EngineProc, sites: HttpServer, tmp_path: Path
) -> None:
    if True:
        engine.start()
        collector = CollectorProc(settings, tmp_path, sites.port)
        try:
            # Mid-stream: both sides busy.
            collector.wait_metric("ssa_probes_total", N_SITES, timeout=60)
            engine.wait_metric("ssa_observations_total", N_SITES, probe="http", result="ok")

            down_at = datetime.now().astimezone()
            assert broker.stop()
            t_down = time.monotonic()
            probes_at_stop = collector.metric("ssa_probes_total")
            buffered = 0.0  # held locally (records the producer is retrying are not counted)
            while time.monotonic() - t_down < OUTAGE_S:
                buffered = max(buffered, collector.metric("ssa_collector_buffer_size"))
                time.sleep(1)
            probes_in_outage = collector.metric("ssa_probes_total") - probes_at_stop
            up_at = datetime.now().astimezone()
            broker.start(timeout=120)
            print(
                f"broker down {time.monotonic() - t_down:.0f}s; {probes_in_outage:g} probes "
                f"made meanwhile, up to {buffered:g} buffered"
            )
            assert probes_in_outage >= N_SITES * 4

            # The collector drains its buffer; the engine catches up by itself.
            deadline = time.monotonic() + 60
            while collector.metric("ssa_collector_buffer_size") > 0:
                assert time.monotonic() < deadline, "buffer never drained"
                time.sleep(0.5)
            time.sleep(6)  # one more round of probes after the outage
            assert collector.metric("ssa_collector_buffer_dropped_total") == 0
            probes_total = collector.metric("ssa_probes_total")
        finally:
            collector.stop()
        assert collector.proc.returncode == 0, collector.log.read_text()[-3000:]
        requests = Counter(r.path for r in sites.requests)

        topic = settings.topic("observations")
        records = read_topic(broker.bootstrap, topic, expect=int(probes_total), timeout=30)
        observations = [Observation.from_json(r.value) for r in records]
        ids = Counter(o.id for o in observations)
        assert max(ids.values()) == 1, "an observation was published twice"
        per_asset = Counter(o.asset for o in observations)
        # One GET per probe: what the sites answered is what the topic holds.
        assert {f"site-{i:03d}": requests[f"/s{i}"] for i in range(N_SITES)} == dict(per_asset)
        assert len(observations) >= probes_total
        during = [o for o in observations if down_at <= o.observed_at <= up_at]
        assert len(during) >= probes_in_outage - N_SITES  # all but those still in flight
        print(
            f"{len(observations)} observations on the topic = {sum(requests.values())} "
            f"requests answered; {len(during)} observed while the broker was down"
        )

        committed = wait_committed(broker.bootstrap, engine.group, topic, timeout=90)
        assert sum(committed.values()) == len(observations)
        assert engine.alive(), engine.log_text()[-3000:]
