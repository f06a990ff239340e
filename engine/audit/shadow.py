"""Shadow mode: a candidate rule set on the live stream, writing to its own topic.

``ShadowRunner`` follows ``ssa.observations`` and ``ssa.control`` with its
own consumer (no consumer group: it never moves the engine's offsets), runs
one ``Pipeline`` per partition with the candidate rules, and appends the
sealed alerts to the same partition of ``ssa.shadow.alerts``. Nothing reads
that topic to notify anyone; ``ssa shadow report`` compares it with
``ssa.alerts`` over a period (``engine.audit.alertdiff``).

Its state is in memory: on start it warms up by reading from ``since``
(default: an hour ago) before following live, so windows and baselines are
filled. Controls are merged into every partition by event time exactly as in
replay (the controls recorded so far are read first); a control that arrives
while the runner is caught up is applied as soon as a poll comes back empty.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from engine.audit.replay import PartitionReplay, ReplayStats
from engine.audit.topicread import TopicReader
from engine.errors import BrokerError, EventError
from engine.events import Control, Observation, SourceOffset
from engine.inventory.model import Inventory
from engine.pipeline import Pipeline
from engine.ruleset import RuleSet
from engine.settings import Settings
from engine.store import DictStore

log = logging.getLogger(__name__)

SHADOW_TOPIC = "shadow.alerts"


def ensure_shadow_topic(settings: Settings, bootstrap: str, partitions: int) -> str:
    """Create ``<prefix>.shadow.alerts`` with the observations' partition count if missing."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    name = settings.topic(SHADOW_TOPIC)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="ssa-shadow")
    try:
        if name not in set(admin.list_topics()):
            try:
                admin.create_topics(
                    [NewTopic(name, partitions, settings.topics.replication)], timeout_ms=30_000
                )
                admin.wait_for_topics([name], timeout_ms=30_000)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()
    return name


class ShadowRunner:
    """Candidate rules over the live observations; alerts to the shadow topic only."""

    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        ruleset: RuleSet,
        inventory: Inventory,
        since: datetime | None,
    ) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.ruleset = ruleset
        self.inventory = inventory
        self.since = since
        self.stats = ReplayStats()
        self.ready = threading.Event()
        self._parts: dict[int, PartitionReplay] = {}
        #: every control seen, in arrival order; each partition keeps its own place in it
        self._pending: list[Control] = []

    def _recorded_controls(self, topic: str) -> int:
        """Read the controls recorded since ``since``; the offset to follow from."""
        with TopicReader(self.bootstrap, topic, client_id="ssa-shadow") as reader:
            ranges = reader.ranges(self.since, None)
            if self.since is None:  # following from now: past controls are not replayed
                return ranges[0].log_end if 0 in ranges else 0
            for batch in reader.read(ranges):
                self._controls(batch)
        self._pending.sort(key=lambda c: c.at)
        return ranges[0].end if 0 in ranges else 0

    def run(self, stop: threading.Event) -> ReplayStats:
        """Follow the stream until ``stop`` is set."""
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition

        obs_topic = self.settings.topic("observations")
        ctl_topic = self.settings.topic("control")
        consumer: Any = KafkaConsumer(
            bootstrap_servers=self.bootstrap, client_id="ssa-shadow", group_id=None,
            enable_auto_commit=False, max_poll_records=50_000, fetch_max_wait_ms=200,
        )  # fmt: skip
        producer: Any = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=20)
        try:
            parts = consumer.partitions_for_topic(obs_topic)
            if not parts:
                raise BrokerError(f"topic {obs_topic} does not exist (ssa topics create)")
            out_topic = ensure_shadow_topic(self.settings, self.bootstrap, len(parts))
            ctl_end = self._recorded_controls(ctl_topic)
            self._parts = {
                p: PartitionReplay(
                    p, Pipeline(self.ruleset, self.inventory, DictStore(), DictStore()),
                    self._pending, self.stats,
                )
                for p in sorted(parts)
            }  # fmt: skip
            tps = [TopicPartition(obs_topic, p) for p in sorted(parts)]
            consumer.assign([*tps, TopicPartition(ctl_topic, 0)])
            self._seek(consumer, tps)
            consumer.seek(TopicPartition(ctl_topic, 0), ctl_end)
            self.ready.set()
            while not stop.is_set():
                polled = consumer.poll(timeout_ms=200)
                for tp, batch in polled.items():
                    if tp.topic == ctl_topic:
                        self._controls(batch)
                for tp, batch in polled.items():
                    if tp.topic != ctl_topic:
                        self._observations(obs_topic, tp.partition, batch)
                if not polled:  # caught up: what is pending happened before anything to come
                    for part in self._parts.values():
                        part.flush_controls()
                self._send(producer, out_topic)
            producer.flush(timeout=30)
        finally:
            producer.close()
            consumer.close()
        return self.stats

    def _seek(self, consumer: Any, tps: list[Any]) -> None:
        if self.since is None:
            consumer.seek_to_end(*tps)
            return
        found = consumer.offsets_for_times({tp: int(self.since.timestamp() * 1000) for tp in tps})
        end = consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, found[tp].offset if found[tp] else end[tp])

    def _observations(self, topic: str, partition: int, batch: list[Any]) -> None:
        part = self._parts[partition]
        for m in batch:
            try:
                obs = Observation.from_json(m.value)
            except EventError:
                self.stats.rejected += 1
                continue
            part.observe(obs, SourceOffset(topic, partition, m.offset))

    def _controls(self, batch: list[Any]) -> None:
        for m in batch:
            try:
                self._pending.append(Control.from_json(m.value))
            except EventError:
                self.stats.rejected += 1

    def _send(self, producer: Any, topic: str) -> None:
        for p, part in self._parts.items():
            for a in part.take_new():
                producer.send(topic, key=a.fingerprint.encode(), value=a.to_json(), partition=p)
