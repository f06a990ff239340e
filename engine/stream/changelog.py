"""The engine's state: plain dicts per partition, backed by compacted changelog topics.

Each engine partition has two stores, ``rule-state`` (windows, baselines,
liveness) and ``alert-state`` (alert records, chain head, processed offsets),
the ``StateStore`` the pure ``Pipeline`` is given. A store is an in-memory
dict; every change is also remembered as *dirty* and, on ``flush()`` (the
evaluator calls it at the end of every batch), written to the store's
changelog topic as one record per changed key, its latest value (a tombstone
for a deleted key). A key changed a thousand times in a batch costs one
record.

The changelog topics are ``<prefix>-<app id>-<store>-changelog``, one
partition per engine partition, compacted: the names, keys
(``"<partition>/<key>"`` as JSON) and values (JSON) Faust tables used, so
state written by earlier versions of the engine is recovered unchanged.
``recover()`` rebuilds a partition's store by reading its changelog
partition from the beginning to the end offset taken when recovery starts.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson

from engine.stream.outbox import Outbox, encode_json

log = logging.getLogger(__name__)

STORES = ("rule-state", "alert-state")

_DELETED = object()


#: Changelog topic configs: compacted, in segments that roll hourly, so
#: compaction (which never touches the active segment) keeps a recovery
#: short; with Kafka's defaults (1 GiB or 7 days) a busy engine's changelog
#: would grow by every write for a week.
CHANGELOG_CONFIGS = {
    "cleanup.policy": "compact",
    "segment.ms": str(3_600_000),
    "segment.bytes": str(64 * 1024 * 1024),
    "min.compaction.lag.ms": "0",
}


def changelog_topic(prefix: str, app_id: str, store: str) -> str:
    """The changelog topic of ``store`` (one of ``STORES``)."""
    return f"{prefix}-{app_id}-{store}-changelog"


class ChangelogStore:
    """``StateStore`` of one partition: a dict whose changes go to a changelog on flush."""

    def __init__(self, topic: str, partition: int, data: dict[str, Any] | None = None) -> None:
        self.topic = topic
        self.partition = partition
        self._prefix = f"{partition}/"
        self._data: dict[str, Any] = data if data is not None else {}
        #: Keys changed since the last flush -> their latest value (or _DELETED).
        self._dirty: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value
        self._dirty[key] = value

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._dirty[key] = _DELETED

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def keys(self) -> list[str]:
        return list(self._data)

    def items(self) -> list[tuple[str, Any]]:
        return list(self._data.items())

    @property
    def dirty(self) -> int:
        """How many keys wait for ``flush``."""
        return len(self._dirty)

    def flush(self, outbox: Outbox) -> int:
        """Put one changelog record per key changed since the last flush in ``outbox``.

        The record holds the value as it is now, encoded now (later in-place
        changes go out with the next flush); a deleted key gets a tombstone.
        """
        if not self._dirty:
            return 0
        dirty, self._dirty = self._dirty, {}
        topic, p, prefix = self.topic, self.partition, self._prefix
        for k, v in dirty.items():
            value = None if v is _DELETED else encode_json(v)
            outbox.add(topic, encode_json(prefix + k), value, p)
        return len(dirty)


def apply_record(
    data: dict[str, Any], partition: int, key: bytes | None, value: bytes | None
) -> None:
    """Apply one changelog record of ``partition`` to ``data`` (latest value wins)."""
    if key is None:
        return
    full = orjson.loads(key)
    prefix = f"{partition}/"
    if not isinstance(full, str) or not full.startswith(prefix):
        log.warning("changelog record of partition %d with foreign key %r ignored", partition, full)
        return
    k = full[len(prefix) :]
    if value is None:
        data.pop(k, None)
    else:
        data[k] = orjson.loads(value)


async def recover(
    bootstrap: str, topics: list[str], partitions: list[int], **consumer_options: Any
) -> dict[tuple[str, int], dict[str, Any]]:
    """Read ``partitions`` of every changelog in ``topics`` to their end: the stores' data.

    Reads with a group-less consumer from the beginning up to the end offset
    taken now; the caller owns the partitions, so nothing else writes them.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    out: dict[tuple[str, int], dict[str, Any]] = {(t, p): {} for t in topics for p in partitions}
    if not partitions:
        return out
    started = time.monotonic()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **consumer_options,
    )
    records = 0
    try:
        await consumer.start()
        tps = [TopicPartition(t, p) for t in topics for p in partitions]
        consumer.assign(tps)
        end = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if end[tp] > 0}
        await consumer.seek_to_beginning(*tps)
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=500, max_records=50_000)
            for tp, recs in batches.items():
                data = out[(tp.topic, tp.partition)]
                for r in recs:
                    if r.offset < end[tp]:
                        apply_record(data, tp.partition, r.key, r.value)
                        records += 1
            for tp in list(pending):
                if await consumer.position(tp) >= end[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    log.info(
        "recovered partitions %s from %d changelog records in %.2fs",
        partitions,
        records,
        time.monotonic() - started,
    )
    return out
