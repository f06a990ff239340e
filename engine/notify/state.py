"""The notifier's state as the topics say it is, for ``ssa rectify`` and the API.

``current_state`` rebuilds a ``NotifyCore`` the way the notifier does on
start, without sending anything; ``rectify_control`` builds a unit's
``ack``/``fixed`` (the one form both ``ssa rectify ack|fixed`` and the
notifier's HTTP API publish); ``publish_control`` records it on
``ssa.control``, where the notifier (and, for ``fixed``, the collectors'
re-probe) pick it up.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from engine.broker import bootstrap_servers
from engine.errors import NotifyError
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


#: The controls a unit records on a rectification item.
RECTIFY_KINDS = ("ack", "fixed")


def rectify_control(
    core: NotifyCore,
    kind: str,
    fingerprint: str,
    *,
    actor: str,
    comment: str = "",
    at: datetime | None = None,
) -> Control:
    """The ``ack`` or ``fixed`` control for ``fingerprint``, as the topics expect it.

    A ``fixed`` report carries ``{"asset", "fingerprint"}`` so the collectors
    re-probe the asset at once. Raises ``NotifyError`` if ``core`` has not
    seen the alert (nothing to acknowledge or fix).
    """
    if kind not in RECTIFY_KINDS:
        raise NotifyError(f"unknown rectification action {kind!r} (use ack or fixed)")
    alert = core.latest.get(fingerprint)
    if alert is None:
        raise NotifyError(f"no alert with fingerprint {fingerprint} in the replay window")
    data: dict[str, Any] = {}
    if kind == "fixed":
        data = {"asset": alert.asset, "fingerprint": fingerprint}
    return Control(
        id=f"{kind}-{uuid.uuid4().hex[:16]}",
        kind=kind,
        at=at or datetime.now(UTC),
        actor=actor,
        target=fingerprint,
        data=data,
        comment=comment,
    )


async def publish_control(settings: Settings, control: Control) -> None:
    """Append one control event to ``ssa.control``."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(settings), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic("control"), control.to_json())
    finally:
        await producer.stop()
