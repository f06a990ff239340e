"""The records one batch produces, sent together when the batch is done.

Faust's ``send_soon`` puts every record through its producer buffer, one
awaited publish at a time, and stalls the stream whenever that buffer holds
more than a hundred records; measured on the engine (bench/bench_e2e.py) that
path cost about half a millisecond of CPU per record, more than evaluating the
observation. The engine's agent instead collects a batch's changelog,
finding and alert records here and hands them to the app's producer in one
go at the end of the batch: each ``send`` only appends to the producer's
accumulator, which batches them into few produce requests.

Order is kept: records are sent in the order they were added, by one
producer, so each partition (an alert chain, a changelog partition) receives
them in that order. Faust flushes the producer before it commits input
offsets, so at-least-once holds as it did with ``send_soon``.
"""

from __future__ import annotations

from typing import Any

import orjson

#: Table keys and values are encoded as Faust's ``json`` codec does (orjson, these options).
JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z


def encode_json(value: Any) -> bytes:
    """A table key or value as its changelog record holds it."""
    return orjson.dumps(value, option=JSON_OPTIONS)


class Outbox:
    """Records waiting for the end of the batch: (topic, key, value, partition, timestamp)."""

    def __init__(self) -> None:
        self._records: list[
            tuple[str, bytes | None, bytes | None, int | None, float | None]
        ] = []

    def add(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        timestamp: float | None = None,
    ) -> None:
        """Queue one record; ``timestamp`` (Unix seconds) defaults to the send time."""
        self._records.append((topic, key, value, partition, timestamp))

    def __len__(self) -> int:
        return len(self._records)

    async def send(self, producer: Any) -> int:
        """Hand every record to ``producer`` (Faust's), in order; how many."""
        records, self._records = self._records, []
        send = producer.send
        for topic, key, value, partition, timestamp in records:
            await send(topic, key, value, partition, timestamp, None)
        return len(records)
