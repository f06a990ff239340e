"""The inventory on Kafka: the compacted ``<prefix>.inventory`` topic.

Each asset is one record, key = asset id, value = ``Asset.to_dict`` as
canonical JSON; a removed asset is a tombstone (value ``None``). ``sync``
makes the topic match an inventory: it reads the topic to its end, publishes
assets that are new or changed, and tombstones assets that are gone. Running
it twice publishes nothing the second time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from engine.errors import BrokerError
from engine.inventory.model import Asset, Inventory

log = logging.getLogger(__name__)


def encode_asset(asset: Asset) -> bytes:
    """The canonical record value of an asset (sorted keys, compact)."""
    return orjson.dumps(asset.to_dict(), option=orjson.OPT_SORT_KEYS)


def decode_asset(value: bytes) -> Asset:
    """An asset from its record value; ``ValueError`` when it is not one."""
    try:
        d = orjson.loads(value)
        if not isinstance(d, dict):
            raise ValueError("not a JSON object")
        return Asset.from_dict(d)
    except (orjson.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"not an inventory record: {e}") from None


def read_topic(bootstrap: str, topic: str, *, timeout: float = 30.0) -> dict[str, bytes]:
    """The live records of a compacted topic: key -> latest non-tombstone value."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        client_id="ssa-inventory-reader",
        request_timeout_ms=int(timeout * 1000) + 1000,
    )
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            raise BrokerError(f"topic {topic} does not exist (run `ssa topics create`)")
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends: dict[Any, int] = consumer.end_offsets(tps)
        live: dict[str, bytes] = {}
        pending = {tp for tp in tps if ends[tp] > 0}
        deadline = time.monotonic() + timeout
        while pending:
            if time.monotonic() > deadline:
                raise BrokerError(f"timed out reading {topic} to its end")
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    if r.key is None:
                        continue
                    key = r.key.decode()
                    if r.value is None:
                        live.pop(key, None)
                    else:
                        live[key] = r.value
            pending = {tp for tp in pending if consumer.position(tp) < ends[tp]}
        return live
    finally:
        consumer.close()


@dataclass(frozen=True)
class SyncResult:
    """What one sync did."""

    published: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]


def plan_sync(
    assets: Mapping[str, Asset], on_topic: Mapping[str, bytes]
) -> tuple[dict[str, bytes], list[str], list[str]]:
    """What to publish (new or changed), what is unchanged, what to tombstone."""
    publish: dict[str, bytes] = {}
    unchanged: list[str] = []
    for aid in sorted(assets):
        value = encode_asset(assets[aid])
        if on_topic.get(aid) == value:
            unchanged.append(aid)
        else:
            publish[aid] = value
    removed = sorted(set(on_topic) - set(assets))
    return publish, unchanged, removed


def sync(bootstrap: str, topic: str, inventory: Inventory, *, timeout: float = 30.0) -> SyncResult:
    """Make ``topic`` hold exactly the assets of ``inventory`` (idempotent)."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    on_topic = read_topic(bootstrap, topic, timeout=timeout)
    publish, unchanged, removed = plan_sync(inventory.assets, on_topic)
    if publish or removed:
        producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=20,
            client_id="ssa-inventory-sync",
        )
        try:
            futures = [producer.send(topic, key=k.encode(), value=v) for k, v in publish.items()]
            futures += [producer.send(topic, key=k.encode(), value=None) for k in removed]
            producer.flush(timeout=timeout)
            for f in futures:
                f.get(timeout=timeout)
        except KafkaError as e:
            raise BrokerError(f"publishing the inventory to {topic} failed: {e}") from None
        finally:
            producer.close(timeout=5)
    log.info(
        "inventory sync to %s: %d published, %d unchanged, %d removed",
        topic, len(publish), len(unchanged), len(removed),
    )
    return SyncResult(tuple(publish), tuple(unchanged), tuple(removed))
