"""The records one batch produces, sent together when the batch is done.

The evaluator collects a batch's changelog, finding, alert and dead-letter
records here and hands them to its producer in one go at the end of the
batch: each ``send`` only appends to the producer's accumulator, which packs
them into few produce requests. (Sending each record as it was made, through
Faust's ``send_soon``, cost about half a millisecond of CPU per record here,
more than evaluating the observation: bench/bench_e2e.py.)

Order is kept: records are sent in the order they were added, by one
idempotent producer, so each partition (an alert chain, a changelog
partition) receives them in that order. ``send`` returns the delivery
futures; the evaluator commits the batch's input offsets only once all of
them are acknowledged, so at-least-once holds.
"""

from __future__ import annotations

import asyncio
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

    async def send(self, producer: Any) -> list[asyncio.Future[Any]]:
        """Hand every record to ``producer`` (aiokafka's), in order: their delivery futures."""
        records, self._records = self._records, []
        send = producer.send
        futures = []
        for topic, key, value, partition, timestamp in records:
            ms = None if timestamp is None else int(timestamp * 1000)
            futures.append(await send(topic, value, key, partition, ms))
        return futures
