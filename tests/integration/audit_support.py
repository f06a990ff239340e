"""Helpers for the audit and replay integration tests: write records, run the CLI."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from engine.settings import Settings


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


