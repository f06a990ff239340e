"""Which assets this collector probes: its share of the compacted inventory topic.

Collectors join one consumer group (``<prefix>.collectors``) on
``<prefix>.inventory``. Kafka assigns each member some partitions; the member
reads its partitions from the beginning (the compacted topic *is* the state,
so offsets are never committed) and probes the assets found there. A
tombstone removes an asset. When a member joins or leaves, the rebalance
listener hands over: revoked partitions' assets are removed here and appear
on the member that is assigned them.

``InventoryFollower(group=None)`` reads every partition without joining the
group: the ingest servers use that view to recognise any registered system.

kafka-python's consumer is blocking and not thread-safe, so one thread owns
it; ``on_put``/``on_remove`` are called from that thread (the service hands
them to its event loop).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition

from engine.inventory.model import Asset
from engine.inventory.topic import decode_asset

log = logging.getLogger(__name__)


def connect(stop: threading.Event, what: str, **config: Any) -> Any:
    """A ``KafkaConsumer``, retried with backoff while Kafka is unreachable; None if stopped."""
    from kafka.errors import KafkaConfigurationError, KafkaError

    backoff = 0.5
    while not stop.is_set():
        try:
            return KafkaConsumer(bootstrap_timeout_ms=5000, **config)
        except KafkaConfigurationError:
            raise
        except KafkaError as e:
            log.warning("%s consumer: Kafka unreachable at %s (%s); retrying in %.1fs",
                        what, config.get("bootstrap_servers"), type(e).__name__, backoff)
            stop.wait(backoff)
            backoff = min(10.0, backoff * 2)
    return None


def group_id(prefix: str) -> str:
    """The collectors' consumer group, namespaced by the topic prefix."""
    return f"{prefix}.collectors"


class InventoryFollower:
    """Follows the assets of the inventory partitions this collector owns."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        *,
        group: str | None,
        on_put: Callable[[Asset], None],
        on_remove: Callable[[str], None],
        client_id: str = "ssa-collector",
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 1_000,
    ) -> None:
        self.bootstrap, self.topic, self.group = bootstrap, topic, group
        self.on_put, self.on_remove = on_put, on_remove
        self.client_id = client_id
        self.session_timeout_ms = session_timeout_ms
        self.heartbeat_interval_ms = heartbeat_interval_ms
        #: partition -> {asset id: asset}: what this member currently owns.
        self.owned: dict[int, dict[str, Asset]] = {}
        self.assigned: set[int] = set()
        self.rebalances = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumer: Any = None

    @property
    def assets(self) -> dict[str, Asset]:
        return {aid: a for part in self.owned.values() for aid, a in part.items()}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ssa-inventory", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Leave the group (so the others take over at once) and stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_ready(self, timeout: float) -> bool:
        """True once the consumer is up (and, in a group, first assigned)."""
        return self._ready.wait(timeout)

    # -- the consumer thread ---------------------------------------------------------

    def _run(self) -> None:
        consumer = connect(
            self._stop, "inventory",
            bootstrap_servers=self.bootstrap,
            group_id=self.group,
            client_id=self.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=self.heartbeat_interval_ms,
        )
        if consumer is None:
            return
        self._consumer = consumer
        try:
            if self.group is None:
                parts = consumer.partitions_for_topic(self.topic) or set()
                tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
                consumer.assign(tps)
                consumer.seek_to_beginning(*tps)
                self.assigned = set(parts)
                self._ready.set()
            else:
                consumer.subscribe([self.topic], listener=_Listener(self))
            while not self._stop.is_set():
                for tp, records in consumer.poll(timeout_ms=300).items():
                    for r in records:
                        self._apply(tp.partition, r.key, r.value)
        except Exception:
            log.exception("inventory follower on %s stopped", self.topic)
            raise
        finally:
            consumer.close()
            for aid in list(self.assets):
                self.on_remove(aid)
            self.owned.clear()

    def _apply(self, partition: int, key: bytes | None, value: bytes | None) -> None:
        if key is None or partition not in self.assigned:
            return
        aid = key.decode(errors="replace")
        part = self.owned.setdefault(partition, {})
        if value is None:
            if part.pop(aid, None) is not None:
                self.on_remove(aid)
            return
        try:
            asset = decode_asset(value)
        except ValueError as e:
            log.error("skipping bad inventory record %s on partition %d: %s", aid, partition, e)
            return
        part[aid] = asset
        self.on_put(asset)

    def _assigned(self, tps: list[TopicPartition]) -> None:
        self.rebalances += 1
        mine = [tp for tp in tps if tp.topic == self.topic]
        self.assigned |= {tp.partition for tp in mine}
        if mine:
            self._consumer.seek_to_beginning(*mine)
        log.info("inventory partitions assigned: %s", sorted(self.assigned))
        self._ready.set()

    def _revoked(self, tps: list[TopicPartition]) -> None:
        for tp in tps:
            self.assigned.discard(tp.partition)
            for aid in self.owned.pop(tp.partition, {}):
                self.on_remove(aid)
        log.info("inventory partitions revoked: %s", sorted(tp.partition for tp in tps))


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Hands assets over when the group rebalances."""

    def __init__(self, follower: InventoryFollower) -> None:
        self.follower = follower

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.follower._revoked(list(revoked))

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.follower._assigned(list(assigned))
