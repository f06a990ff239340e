"""Helpers for the audit and replay integration tests: write records, run the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import httpx
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from engine.broker.local import free_port
from engine.settings import Settings
from tests.conftest import REPO


def write_config(tmp_path: Path, settings: Settings, prefix: str | None = None) -> str:
    """A settings file naming the test's broker and topic prefix, for ``ssa --config``."""
    path = tmp_path / f"ssa-{prefix or settings.topics.prefix}.toml"
    path.write_text(
        f'[kafka]\nbootstrap = "{settings.kafka.bootstrap}"\n\n'
        f'[topics]\nprefix = "{prefix or settings.topics.prefix}"\npartitions = 3\n',
        encoding="utf-8",
    )
    return str(path)


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="ssa-test")
    try:
        admin.create_topics([NewTopic(name, partitions, 1)], timeout_ms=30_000)
        admin.wait_for_topics([name], timeout_ms=30_000)
    finally:
        admin.close()


def produce(
    bootstrap: str,
    topic: str,
    values: Sequence[bytes],
    *,
    partition: int | None = 0,
    times: Sequence[datetime] | None = None,
    keys: Sequence[bytes | None] | None = None,
) -> None:
    """Append ``values`` in order (one partition, or by key), stamped with ``times``."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        for i, v in enumerate(values):
            producer.send(
                topic,
                value=v,
                key=keys[i] if keys else None,
                partition=partition,
                timestamp_ms=int(times[i].timestamp() * 1000) if times else None,
            )
        producer.flush(timeout=30)
    finally:
        producer.close()


def wait_consumed(
    bootstrap: str,
    group: str,
    topics: Sequence[str],
    timeout: float = 60,
    at_least: int = 0,
) -> None:
    """Wait until ``group`` has committed the end offset of every partition of ``topics``.

    ``at_least``: also wait until every partition holds at least that many records.
    """
    from kafka import KafkaConsumer, TopicPartition

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="ssa-test")
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        tps = [
            TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t))
        ]
        deadline = time.monotonic() + timeout
        behind: list[TopicPartition] = tps
        while time.monotonic() < deadline:
            end = consumer.end_offsets(tps)
            done = admin.list_group_offsets(group).get(group, {})
            behind = [
                tp
                for tp in tps
                if end[tp] < at_least
                or (end[tp] > 0 and (tp not in done or done[tp].offset < end[tp]))
            ]
            if not behind:
                return
            time.sleep(0.3)
        raise AssertionError(f"{group} did not consume {behind} within {timeout}s")
    finally:
        consumer.close()
        admin.close()


class EngineProcess:
    """One ``ssa engine`` subprocess on the test's topics, with its own API port and data dir."""

    def __init__(self, settings: Settings, tmp: Path, rules: Path, inventory: Path) -> None:
        self.port = free_port()
        self.log = tmp / "engine.log"
        self.group = f"{settings.topics.prefix}-{settings.engine.app_id}"
        self.argv = [
            sys.executable,
            "-m",
            "engine.cli",
            "engine",
            "--rules",
            str(rules),
            "--inventory",
            str(inventory),
        ]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SSA_")}
        self.env.update(
            SSA_KAFKA_BOOTSTRAP=settings.kafka.bootstrap,
            SSA_TOPICS_PREFIX=settings.topics.prefix,
            SSA_TOPICS_PARTITIONS=str(settings.topics.partitions),
            SSA_API_PORT=str(self.port),
            SSA_ENGINE_DATA_DIR=str(tmp / "engine-data"),
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError("engine did not come up:\n" + self.log.read_text())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
