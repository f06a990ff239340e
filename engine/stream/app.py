"""The engine worker: a Faust app whose agents and tasks are adapters of a few lines.

``create_app(settings, runtime)`` builds the app; nothing is read from the
environment at import time and there is no global app.

- ``fan_out`` (a Faust agent) consumes ``ssa.control`` (one partition) and
  copies every control event to every partition of ``ssa.engine-commands``:
  silences and acknowledgements reach every pipeline, in order, and are
  replayable.
- ``evaluate`` (a task) runs the ``Evaluator``: observations and engine
  commands in ``getmany`` batches through one pure ``Pipeline`` per
  partition, state in changelog topics, alerts sealed into per-partition
  hash chains. It consumes in the engine's own group rather than as a Faust
  agent because Faust's per-message stream capped a worker near 5,000
  observations/s (see ``evaluator.py`` and BENCHMARKS.md).
- ``follow_alerts`` keeps the read model of every alert and silence (for the
  API and ``/metrics``), ``serve_api`` serves them, ``watch_rules`` reloads
  the rules when their files change.

A malformed message is sent to ``ssa.deadletter`` with its reason and
counted; the stream never stops for it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import faust

from engine.deadletter import dead_letter_of, reason_kind
from engine.errors import EventError
from engine.events import Control
from engine.settings import Settings
from engine.stream.evaluator import Evaluator, engine_group
from engine.stream.runtime import Runtime

log = logging.getLogger(__name__)


def control_group(settings: Settings) -> str:
    """The Faust app's id, which is the consumer group of ``fan_out`` on ``ssa.control``."""
    return f"{engine_group(settings)}-control"


def create_app(settings: Settings, runtime: Runtime) -> faust.App:
    """Build the engine's Faust app; ``runtime`` holds rules, inventory and metrics."""
    n = settings.topics.partitions
    app = faust.App(
        control_group(settings),
        broker=";".join(f"kafka://{b}" for b in runtime.bootstrap.split(",")),
        store="memory://",
        topic_partitions=n,
        topic_replication_factor=settings.topics.replication,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_session_timeout=settings.engine.session_timeout_s,
        broker_heartbeat_interval=settings.engine.heartbeat_interval_s,
        web_enabled=False,
        datadir=settings.engine.data_dir,
        key_serializer="raw",
        value_serializer="raw",
    )
    control = app.topic(settings.topic("control"))
    commands = app.topic(settings.topic("engine-commands"))
    deadletter = app.topic(settings.topic("deadletter"))
    evaluator = Evaluator(settings, runtime)

    @app.agent(control)
    async def fan_out(stream: Any) -> Any:
        async for event in stream.events():
            m = event.message
            try:
                c = Control.from_json(m.value)
            except EventError as e:
                await deadletter.send(
                    value=dead_letter_of(m, e, at=datetime.now(UTC), component="engine")
                )
                runtime.metrics.dead_letter(reason_kind(e))
                log.warning("dead letter %s[%d]@%d: %s", m.topic, m.partition, m.offset, e)
                continue
            for p in range(n):
                await commands.send(value=c.to_json(), partition=p)

    async def evaluate() -> None:
        try:
            await evaluator.run()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            # Records of the failed batch were not all delivered, so its input
            # is not committed; stop, and the next owner of the partitions
            # recovers their state and redoes it.
            log.critical("evaluator stopped: %s", e)
            await app.crash(e)

    async def watch_rules() -> None:
        if runtime.rules.changed_on_disk() and runtime.reload_rules():
            evaluator.reload()

    async def follow_alerts() -> None:
        await runtime.follow_alerts()

    async def serve_api() -> None:
        await runtime.start_api()

    app.timer(interval=2.0)(watch_rules)
    app.task(evaluate)
    app.task(follow_alerts)
    app.task(serve_api)
    return app
