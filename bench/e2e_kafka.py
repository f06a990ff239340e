"""The Kafka side of ``bench_e2e.py``: a broker, one run's topics, an ``ssa engine`` process.

Kept apart so the benchmark script reads as the measurement it makes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from common import REPO

from engine.broker.local import LocalBroker, free_port
from engine.broker.topics import create_topics
from engine.inventory.model import Inventory
from engine.processes import terminate
from engine.settings import Settings, with_overrides


@contextmanager
def broker(bootstrap: str | None) -> Iterator[str]:
    """The given cluster, or a broker of our own on free ports for the duration."""
    if bootstrap:
        yield bootstrap
        return
    settings = Settings.load(env={})
    state = Path(tempfile.mkdtemp(prefix="ssa-bench-kafka-"))
    b = LocalBroker.on_free_ports(settings, state, heap="1g")
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
        if self.proc:
            terminate([self.proc])

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


def profiler(worker: Worker, out: str) -> subprocess.Popen[bytes]:
    """py-spy sampling the worker (collapsed stacks in ``out``) until SIGINT."""
    assert worker.proc is not None
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    argv = [spy, "record", "--pid", str(worker.proc.pid), "--rate", "100", "--format", "raw",
            "--output", out, "--nonblocking"]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
