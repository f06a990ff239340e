"""The notifier's state as the topics say it is, for ``ssa rectify`` and the API.

``current_state`` rebuilds a ``NotifyCore`` the way the notifier does on
start, without sending anything; ``publish_control`` records a unit's
``ack``/``fixed`` on ``ssa.control``, where the notifier (and, for
``fixed``, the collectors' re-probe) pick it up.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from engine.broker import bootstrap_servers
from engine.events import Control
from engine.inventory.model import Inventory
from engine.notify import replay
from engine.notify.core import NotifyCore
from engine.notify.routes import RouteSet
from engine.settings import Settings


async def current_state(
    settings: Settings, routes: RouteSet, inventory: Inventory, now: datetime | None = None
) -> NotifyCore:
    """A core fed with the delivery log and the recent alerts and controls."""
    now = now or datetime.now(UTC)
    core = NotifyCore(routes, inventory, settings.notify.grafana_url)
    bootstrap = bootstrap_servers(settings)
    log_reader = replay.consumer(settings, bootstrap)
    events = replay.consumer(settings, bootstrap)
    await log_reader.start()
    await events.start()
    try:
        await replay.rebuild(core, settings, log_reader, events, now)
    finally:
        await log_reader.stop()
        await events.stop()
    core.tick(now)  # close what verified and mark what is overdue, as the notifier would
    return core


async def publish_control(settings: Settings, control: Control) -> None:
    """Append one control event to ``ssa.control``."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(settings), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic("control"), control.to_json())
    finally:
        await producer.stop()
