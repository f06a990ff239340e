"""Small helpers for integration tests that read topics of the real broker."""

from __future__ import annotations

import time
from typing import Any

from kafka import KafkaConsumer, TopicPartition


def read_topic(bootstrap: str, topic: str, expect: int, timeout: float = 30.0) -> list[Any]:
    """Every record of ``topic`` from the beginning, once at least ``expect`` have arrived.

    Returns as soon as ``expect`` records are there (or after ``timeout`` with what came).
    """
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
            if len(records) >= expect:
                # One more short poll so that extra (unexpected) records are seen too.
                for batch in consumer.poll(timeout_ms=300).values():
                    records.extend(batch)
                break
        return records
    finally:
        consumer.close()
