"""Reading a period of one topic, every partition, in offset order (kafka-python).

Audit, export, reports and replay all read recorded history the same way:
find each partition's offsets for a time range by record timestamp
(``offsets_for_times``), then fetch that range in large batches with no
consumer group (nothing is committed; an audit never moves anyone's offsets).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.errors import BrokerError

#: Fetch sizes: audit reads are bulk reads of small records.
_FETCH = {
    "fetch_max_bytes": 64 << 20,
    "max_partition_fetch_bytes": 16 << 20,
    "fetch_min_bytes": 1,
    "fetch_max_wait_ms": 100,
    "receive_buffer_bytes": 4 << 20,
    "check_crcs": False,
}


@dataclass(frozen=True, slots=True)
class PartitionRange:
    """Offsets ``[start, end)`` of one partition to read, and the log's own bounds."""

    partition: int
    start: int
    end: int
    log_start: int
    log_end: int

    @property
    def size(self) -> int:
        return max(0, self.end - self.start)


@dataclass(frozen=True, slots=True)
class Record:
    """One record: where it is, its Kafka timestamp, key and value."""

    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


class TopicReader:
    """Reads ranges of one topic; call ``close()`` (or use as a context manager)."""

    def __init__(self, bootstrap: str, topic: str, *, client_id: str = "ssa-audit") -> None:
        from kafka import KafkaConsumer
        from kafka.errors import KafkaError

        self.topic = topic
        try:
            self._consumer: Any = KafkaConsumer(
                bootstrap_servers=bootstrap,
                client_id=client_id,
                group_id=None,
                enable_auto_commit=False,
                max_poll_records=100_000,
                **_FETCH,
            )
        except KafkaError as e:
            raise BrokerError(f"cannot reach Kafka at {bootstrap}: {e}") from None
        parts = self._consumer.partitions_for_topic(topic)
        if not parts:
            self._consumer.close()
            raise BrokerError(f"topic {topic} does not exist (ssa topics create)")
        self.partitions: list[int] = sorted(parts)

    def __enter__(self) -> TopicReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._consumer.close()

    def _tps(self, partitions: list[int] | None = None) -> list[Any]:
        from kafka import TopicPartition

        return [TopicPartition(self.topic, p) for p in (partitions or self.partitions)]

    def ranges(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> dict[int, PartitionRange]:
        """Each partition's offsets for records stamped in ``[since, until]``."""
        tps = self._tps()
        begin = self._consumer.beginning_offsets(tps)
        end = self._consumer.end_offsets(tps)
        starts = {tp: begin[tp] for tp in tps}
        stops = {tp: end[tp] for tp in tps}
        if since is not None:
            found = self._consumer.offsets_for_times({tp: _ms(since) for tp in tps})
            starts = {tp: found[tp].offset if found[tp] else end[tp] for tp in tps}
        if until is not None:
            found = self._consumer.offsets_for_times({tp: _ms(until) + 1 for tp in tps})
            stops = {tp: found[tp].offset if found[tp] else end[tp] for tp in tps}
        return {
            tp.partition: PartitionRange(
                tp.partition, starts[tp], max(starts[tp], stops[tp]), begin[tp], end[tp]
            )
            for tp in tps
        }

    def read(self, ranges: Mapping[int, PartitionRange]) -> Iterator[list[Record]]:
        """Batches of records of the given ranges; within a partition in offset order."""
        todo = {p: r for p, r in ranges.items() if r.size > 0}
        if not todo:
            return
        tps = {tp.partition: tp for tp in self._tps(sorted(todo))}
        self._consumer.assign(list(tps.values()))
        self._consumer.resume(*tps.values())
        for p, r in todo.items():
            self._consumer.seek(tps[p], r.start)
        idle = 0
        while todo:
            polled = self._consumer.poll(timeout_ms=500)
            if not polled:
                idle += 1
                if idle > 60:  # 30 s without a record while offsets remain: the log shrank
                    raise BrokerError(f"{self.topic}: no records arrive for {sorted(todo)}")
                continue
            idle = 0
            for tp, batch in polled.items():
                want = todo.get(tp.partition)
                if want is None:
                    continue
                out = [
                    Record(tp.partition, m.offset, m.timestamp, m.key, m.value)
                    for m in batch
                    if m.offset < want.end
                ]
                if out:
                    yield out
                # position, not the last offset: transaction markers leave gaps
                if self._consumer.position(tp) >= want.end:
                    del todo[tp.partition]
                    self._consumer.pause(tp)

    def read_at(self, partition: int, offset: int) -> Record | None:
        """The record at one offset, or ``None`` if the log does not hold it."""
        r = PartitionRange(partition, offset, offset + 1, 0, offset + 1)
        for batch in self.read({partition: r}):
            for rec in batch:
                if rec.offset == offset:
                    return rec
        return None
