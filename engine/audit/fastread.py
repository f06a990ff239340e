"""Bulk reading of recorded periods with aiokafka, for replay.

``TopicReader`` (kafka-python) serves the audits; the bulk of a replay is
reading, which is faster with aiokafka, whose record parser is a C
extension: on the development machine kafka-python read about 42,000
records/s and aiokafka over 300,000 (``bench/bench_replay.py``).

aiokafka is asyncio, replay is synchronous code that may be called from
anywhere (the CLI, a forked worker, a test's event loop), so a
``PeriodReader`` reads in a thread of its own, with its own event loop and
one consumer, from the moment it is made. It finds each wanted topic's
partitions and offset ranges (as ``TopicReader.ranges`` does, by record
timestamp), then reads the topics one after the other, handing batches over
a bounded queue: the controls, then the observations, are on their way while
the caller is still setting up or evaluating the previous batch. The records
are aiokafka's own ``ConsumerRecord`` objects (no copy); callers use only
``partition``, ``offset`` and ``value`` (``RecordLike``), which
``topicread.Record`` has too.

Like ``TopicReader.read``: no consumer group, nothing committed, each
partition in offset order from ``start`` up to (not including) ``end``, and
a ``BrokerError`` when the broker cannot be reached, a topic does not exist,
or records stop arriving while offsets remain (the log shrank).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from engine.audit.topicread import PartitionRange
from engine.errors import BrokerError

#: Fetch sizes: replay reads are bulk reads of small records.
_FETCH = {
    "fetch_max_bytes": 64 << 20,
    "max_partition_fetch_bytes": 16 << 20,
    "fetch_min_bytes": 1,
    "fetch_max_wait_ms": 100,
    "check_crcs": False,
}

#: Records per batch handed over, and batches read ahead of the caller.
MAX_RECORDS = 10_000
PREFETCH = 4


class RecordLike(Protocol):
    """What replay needs of a record: where it is and its value."""

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...

    @property
    def value(self) -> bytes | None: ...


@dataclass(frozen=True)
class Want:
    """One topic to read: records stamped in ``[since, until]``, or the given ``ranges``.

    ``read=False`` only finds the ranges (a caller that reads them elsewhere).
    """

    topic: str
    since: datetime | None = None
    until: datetime | None = None
    ranges: Mapping[int, PartitionRange] | None = None
    read: bool = True


@dataclass(frozen=True)
class _Found:
    """Every wanted topic's partitions and ranges."""

    partitions: dict[str, list[int]]
    ranges: dict[str, dict[int, PartitionRange]]


@dataclass(frozen=True)
class _End:
    """The end of one topic's records."""

    topic: str


class _Done:
    """The end of the reading, or the error that ended it."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


_Item = Sequence[RecordLike] | _Found | _End | _Done


class PeriodReader:
    """Reads the wanted topics in a thread; ``read`` them in the order they are wanted."""

    def __init__(
        self,
        bootstrap: str,
        wants: Sequence[Want],
        *,
        client_id: str = "ssa-replay",
        max_records: int = MAX_RECORDS,
        prefetch: int = PREFETCH,
        stall_s: float = 30.0,
    ) -> None:
        self._wants = list(wants)
        self._queue: queue.Queue[_Item] = queue.Queue(prefetch)
        self._stop = threading.Event()
        self._found: _Found | None = None
        self._done: _Done | None = None
        reader = _Reader(bootstrap, self._wants, client_id, max_records, stall_s, self._queue,
                         self._stop)  # fmt: skip
        self._thread = threading.Thread(target=reader.run, name="ssa-read", daemon=True)
        self._thread.start()

    def __enter__(self) -> PeriodReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the reader (if still reading) and wait for its thread."""
        self._stop.set()
        self._thread.join()

    def partitions(self, topic: str) -> list[int]:
        """Every partition of ``topic`` (waits until the reader found them)."""
        return self._located().partitions[topic]

    def ranges(self, topic: str) -> dict[int, PartitionRange]:
        """The offsets of ``topic`` to read, by partition (waits until found)."""
        return self._located().ranges[topic]

    def read(self, topic: str) -> Iterator[Sequence[RecordLike]]:
        """Batches of ``topic``'s records; within a partition in offset order."""
        self._located()
        while True:
            item = self._next()
            if isinstance(item, _End):
                if item.topic != topic:
                    raise RuntimeError(f"read {item.topic} before {topic}: in the wanted order")
                return
            if isinstance(item, _Found):
                raise RuntimeError("ranges found twice")
            yield item

    def _located(self) -> _Found:
        if self._found is None:
            item = self._next()
            if not isinstance(item, _Found):
                raise RuntimeError("the reader handed records before ranges")
            self._found = item
        return self._found

    def _next(self) -> Sequence[RecordLike] | _Found | _End:
        if self._done is None:
            item = self._queue.get()
            if not isinstance(item, _Done):
                return item
            self._done = item
        if self._done.error is not None:
            raise self._done.error
        raise RuntimeError("the reader has finished: nothing more to read")


def read_ranges(
    bootstrap: str,
    topic: str,
    ranges: Mapping[int, PartitionRange],
    *,
    client_id: str = "ssa-replay",
    max_records: int = MAX_RECORDS,
    prefetch: int = PREFETCH,
    stall_s: float = 30.0,
) -> Iterator[Sequence[RecordLike]]:
    """Batches of records of the given ranges of ``topic`` (found elsewhere)."""
    if not any(r.size > 0 for r in ranges.values()):
        return
    with PeriodReader(
        bootstrap, [Want(topic, ranges=ranges)], client_id=client_id, max_records=max_records,
        prefetch=prefetch, stall_s=stall_s,
    ) as reader:  # fmt: skip
        yield from reader.read(topic)


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


class _Reader:
    """The reading thread: its own event loop, one aiokafka consumer."""

    def __init__(
        self,
        bootstrap: str,
        wants: list[Want],
        client_id: str,
        max_records: int,
        stall_s: float,
        out: queue.Queue[_Item],
        stop: threading.Event,
    ) -> None:
        self.bootstrap, self.wants, self.client_id = bootstrap, wants, client_id
        self.max_records, self.stall_s = max_records, stall_s
        self.out, self.stop = out, stop

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as e:  # handed to the caller's thread, raised there
            self._put(_Done(e))
        else:
            self._put(_Done())

    def _put(self, item: _Item) -> bool:
        """Hand one item over (blocking while the caller is busy); ``False``: stop."""
        while not self.stop.is_set():
            try:
                self.out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    async def _main(self) -> None:
        from aiokafka import AIOKafkaConsumer
        from aiokafka.errors import KafkaError

        consumer: Any = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            client_id=self.client_id,
            group_id=None,
            enable_auto_commit=False,
            **_FETCH,
        )
        try:
            await consumer.start()
        except KafkaError as e:
            await consumer.stop()
            raise BrokerError(f"cannot reach Kafka at {self.bootstrap}: {e}") from None
        try:
            found = await self._find(consumer)
            if not self._put(found):
                return
            for w in self.wants:
                if w.read:
                    if not await self._read(consumer, w.topic, found.ranges[w.topic]):
                        return
                    if not self._put(_End(w.topic)):
                        return
        finally:
            await consumer.stop()

    async def _find(self, consumer: Any) -> _Found:
        """Each wanted topic's partitions and ranges (``TopicReader.ranges``'s rules)."""
        from aiokafka import TopicPartition

        partitions: dict[str, list[int]] = {}
        ranges: dict[str, dict[int, PartitionRange]] = {}
        for w in self.wants:
            if w.ranges is not None:
                partitions[w.topic] = sorted(w.ranges)
                ranges[w.topic] = dict(w.ranges)
                continue
            parts = await _partitions(consumer, w.topic)
            tps = [TopicPartition(w.topic, p) for p in parts]
            begin = await consumer.beginning_offsets(tps)
            end = await consumer.end_offsets(tps)
            starts = {tp: begin[tp] for tp in tps}
            stops = {tp: end[tp] for tp in tps}
            if w.since is not None:
                at = await consumer.offsets_for_times({tp: _ms(w.since) for tp in tps})
                starts = {tp: at[tp].offset if at[tp] else end[tp] for tp in tps}
            if w.until is not None:
                at = await consumer.offsets_for_times({tp: _ms(w.until) + 1 for tp in tps})
                stops = {tp: at[tp].offset if at[tp] else end[tp] for tp in tps}
            partitions[w.topic] = parts
            ranges[w.topic] = {
                tp.partition: PartitionRange(
                    tp.partition, starts[tp], max(starts[tp], stops[tp]), begin[tp], end[tp]
                )
                for tp in tps
            }
        return _Found(partitions, ranges)

    async def _read(self, consumer: Any, topic: str, ranges: dict[int, PartitionRange]) -> bool:
        """Hand over every record of ``ranges``; ``False`` if the caller stopped."""
        from aiokafka import TopicPartition

        todo = {p: r for p, r in ranges.items() if r.size > 0}
        if not todo:
            return True
        tps = {p: TopicPartition(topic, p) for p in sorted(todo)}
        consumer.assign(list(tps.values()))
        for p, r in todo.items():
            consumer.seek(tps[p], r.start)
        idle_ms, poll_ms = 0, 500
        while todo:
            polled = await consumer.getmany(timeout_ms=poll_ms, max_records=self.max_records)
            if self.stop.is_set():
                return False
            if not polled:
                idle_ms += poll_ms
                if idle_ms > self.stall_s * 1000:
                    raise BrokerError(f"{topic}: no records arrive for {sorted(todo)}")
                continue
            idle_ms = 0
            for tp, batch in polled.items():
                want = todo.get(tp.partition)
                if want is None:
                    continue
                if batch and batch[-1].offset >= want.end:
                    batch = [m for m in batch if m.offset < want.end]
                if batch and not self._put(batch):
                    return False
                # position, not the last offset: transaction markers leave gaps
                if await consumer.position(tp) >= want.end:
                    del todo[tp.partition]
                    consumer.pause(tp)
        return True


async def _partitions(consumer: Any, topic: str) -> list[int]:
    """The partitions of ``topic``, from the cluster's metadata."""
    parts = consumer.partitions_for_topic(topic)
    if not parts:
        # Metadata for one topic (asking for all of them is slow on a busy cluster).
        await consumer._client.add_topic(topic)
        parts = consumer.partitions_for_topic(topic)
    if not parts:
        raise BrokerError(f"topic {topic} does not exist (ssa topics create)")
    return sorted(parts)
