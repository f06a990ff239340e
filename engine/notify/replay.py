"""Rebuilding the notifier's state from the topics, on start and for ``ssa rectify``.

The notifier keeps no state of its own on disk: the delivery log
(``ssa.notifications``, read from the beginning) says what was told to whom,
and the alerts and controls of the last ``replay_window_s`` say what is
going on. ``rebuild`` reads all three up to their current ends and feeds the
core in order: first every delivery record, then alerts and controls by
event time. The consumer is left positioned at those ends, so the service
goes on live from there and misses nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from engine.errors import BrokerError, EventError
from engine.events import Alert, Control
from engine.notify.core import NotifyCore
from engine.notify.records import DeliveryRecord
from engine.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Replayed:
    """What a rebuild read: counts, and the inputs that could not be decoded."""

    records: int = 0
    alerts: int = 0
    controls: int = 0
    rejected: list[tuple[ConsumerRecord[bytes, bytes], EventError]] = field(default_factory=list)


async def partitions(consumer: AIOKafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    """Every partition of ``topics`` (waiting for the metadata)."""
    # ``consumer.topics()`` fetches fresh metadata but returns only the names; the
    # partitions come from the same call on the client (aiokafka has no public form).
    cluster: Any = await consumer._client.fetch_all_metadata()
    out = []
    for t in topics:
        parts = cluster.partitions_for_topic(t)
        if not parts:
            raise BrokerError(f"topic {t} does not exist (run `ssa topics create`)")
        out += [TopicPartition(t, p) for p in sorted(parts)]
    return out


async def read_to_end(
    consumer: AIOKafkaConsumer, since: datetime | None, topics: list[str]
) -> list[ConsumerRecord[bytes, bytes]]:
    """Assign ``topics`` and read them from ``since`` (or the beginning) to their current end."""
    tps = await partitions(consumer, topics)
    consumer.assign(tps)
    if since is None:
        await consumer.seek_to_beginning(*tps)
    else:
        found = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in tps})
        for tp in tps:
            hit = found.get(tp)
            if hit is None:
                await consumer.seek_to_end(tp)
            else:
                consumer.seek(tp, hit.offset)
    end = await consumer.end_offsets(tps)
    out: list[ConsumerRecord[bytes, bytes]] = []
    while True:
        behind = [tp for tp in tps if await consumer.position(tp) < end[tp]]
        if not behind:
            return out
        batch = await consumer.getmany(*behind, timeout_ms=500)
        for tp, msgs in batch.items():
            out += [m for m in msgs if m.offset < end[tp]]


def consumer(settings: Settings, bootstrap: str) -> AIOKafkaConsumer:
    """A group-less consumer: the notifier places itself, it never commits offsets."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id="ssa-notifier",
    )


async def rebuild(
    core: NotifyCore,
    settings: Settings,
    log_consumer: AIOKafkaConsumer,
    live_consumer: AIOKafkaConsumer,
    now: datetime,
) -> Replayed:
    """Feed the core the delivery log, then recent alerts and controls; see the module doc."""
    done = Replayed()
    for m in await read_to_end(log_consumer, None, [settings.topic("notifications")]):
        if m.value is None:
            continue
        try:
            core.on_record(DeliveryRecord.from_json(m.value))
            done.records += 1
        except EventError as e:
            log.warning("skipping an unreadable delivery record at offset %s: %s", m.offset, e)
    since = now - timedelta(seconds=settings.notify.replay_window_s)
    alerts_topic, control_topic = settings.topic("alerts"), settings.topic("control")
    events: list[tuple[datetime, int, Alert | Control]] = []
    for m in await read_to_end(live_consumer, since, [alerts_topic, control_topic]):
        if m.value is None:
            continue
        try:
            ev: Alert | Control = (
                Alert.from_json(m.value) if m.topic == alerts_topic else Control.from_json(m.value)
            )
        except EventError as e:
            done.rejected.append((m, e))
            continue
        events.append((ev.at, len(events), ev))
    for _, _, ev in sorted(events, key=lambda x: (x[0], x[1])):
        if isinstance(ev, Alert):
            # Groups start from the event's time (never later than now), so what
            # waited its group_wait before the restart is due at once.
            core.on_alert(ev, min(ev.at, now))
            done.alerts += 1
        else:
            core.on_control(ev)
            done.controls += 1
    return done
