"""The notifier process: Kafka in, deliveries out, every attempt on the log.

It rebuilds its state from the topics (``engine.notify.replay``), then
follows ``ssa.alerts`` and ``ssa.control``, drives the pure core with the
wall clock, and hands due messages to one delivery worker per receiver.
Each attempt's record is published (acks=all, idempotent producer) before
the core counts it, so a message is confirmed only once the log says so; a
restart reads the log back and never repeats a confirmed delivery. If it
dies between a receiver accepting a message and the record being written,
that one message is sent again on restart (at-least-once), with the same
idempotency key so the receiver can drop it.

One notifier runs per deployment (it is the single writer of the log).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from prometheus_client import CollectorRegistry, Counter, Gauge

from engine.broker import bootstrap_servers
from engine.deadletter import dead_letter_of
from engine.errors import EventError, NotifyError
from engine.events import Alert, Control, format_time
from engine.inventory.model import Inventory
from engine.notify import replay
from engine.notify.core import Dispatch, NotifyCore
from engine.notify.delivery import Deliverer, RetryPolicy
from engine.notify.records import DeliveryRecord
from engine.notify.rectify import ReprobeRequest
from engine.notify.routes import RouteSet
from engine.settings import Settings

log = logging.getLogger(__name__)

#: Longest the loop sleeps without looking at the clock (seconds).
MAX_IDLE_S = 1.0
#: How long a stop waits for sends in progress.
STOP_GRACE_S = 10.0


class NotifyMetrics:
    """The notifier's metrics, in a registry passed in."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            "ssa_notifications_total",
            "Delivery attempts by channel and result (ok, error, dead).",
            ["channel", "result"],
            registry=registry,
        )
        self.overdue = Gauge(
            "ssa_rectifications_overdue",
            "Rectification items past their deadline and not closed, per unit.",
            ["unit"],
            registry=registry,
        )
        self.pending = Gauge(
            "ssa_notifications_pending", "Messages waiting for delivery.", registry=registry
        )
        self._units: set[str] = set()

    def set_overdue(self, by_unit: dict[str, int]) -> None:
        for unit in self._units - set(by_unit):
            self.overdue.labels(unit=unit).set(0)
        for unit, n in by_unit.items():
            self.overdue.labels(unit=unit).set(n)
        self._units |= set(by_unit)


class NotifierService:
    """Runs the notifier until ``stop`` is set."""

    def __init__(
        self,
        settings: Settings,
        routes: RouteSet,
        inventory: Inventory,
        *,
        registry: CollectorRegistry | None = None,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.core = NotifyCore(routes, inventory, settings.notify.grafana_url)
        #: The registry ``/metrics`` serves (``engine.notify.api``).
        self.registry = registry or CollectorRegistry()
        self.metrics = NotifyMetrics(self.registry)
        self.wall = wall
        n = settings.notify
        self.deliverer = Deliverer(
            routes.receivers,
            self._record,
            policy=RetryPolicy(n.max_attempts, n.backoff_base_s, n.backoff_max_s),
            dead_letter=self._dead_letter,
            confirmed=self.core.ledger.confirmed,
            wall=wall,
        )
        self.queues: dict[str, asyncio.Queue[Dispatch]] = {}
        self.ready = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._inflight: set[asyncio.Future[DeliveryRecord | None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Rebuild, then follow alerts and controls until ``stop``."""
        bootstrap = bootstrap_servers(self.settings)
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=0
        )
        log_reader = replay.consumer(self.settings, bootstrap)
        live = replay.consumer(self.settings, bootstrap)
        await producer.start()
        self._producer = producer
        workers: list[asyncio.Task[None]] = []
        try:
            await log_reader.start()
            await live.start()
            done = await replay.rebuild(self.core, self.settings, log_reader, live, self.wall())
            await log_reader.stop()
            if done.rejected:
                # Not dead-lettered again: a restart would repeat them every time.
                log.warning("skipped %d undecodable alert/control messages", len(done.rejected))
            log.info(
                "rebuilt from %d delivery records, %d alerts, %d controls",
                done.records,
                done.alerts,
                done.controls,
            )
            for name in self.core.routes.receivers:
                q: asyncio.Queue[Dispatch] = asyncio.Queue()
                self.queues[name] = q
                workers.append(asyncio.create_task(self._worker(q), name=f"deliver-{name}"))
            self.ready.set()
            await self._follow(live, stop)
        finally:
            for w in workers:
                w.cancel()
            for w in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await w
            if self._inflight:
                # Give sends in progress a moment to finish; one in a retry wait is dropped
                # (it is not confirmed, so the next start sends it again).
                _, pending = await asyncio.wait(set(self._inflight), timeout=STOP_GRACE_S)
                for job in pending:
                    job.cancel()
            await live.stop()
            await log_reader.stop()
            await producer.stop()

    async def _follow(self, live: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        alerts_topic = self.settings.topic("alerts")
        self._dispatch(self.core.tick(self.wall()))
        while not stop.is_set():
            now = self.wall()
            wake = self.core.next_wakeup()
            idle = MAX_IDLE_S if wake is None else (wake - now).total_seconds()
            batch = await live.getmany(timeout_ms=int(max(0.0, min(idle, MAX_IDLE_S)) * 1000))
            now = self.wall()
            for msgs in batch.values():
                for m in msgs:
                    if m.value is None:
                        continue
                    try:
                        if m.topic == alerts_topic:
                            self.core.on_alert(Alert.from_json(m.value), now)
                        else:
                            for req in self.core.on_control(Control.from_json(m.value)):
                                await self._reprobe(req, now)
                    except EventError as e:
                        await self._reject(m, e)
            self._dispatch(self.core.tick(now))
            self.metrics.set_overdue(self.core.rectify.overdue_by_unit())
            self.metrics.pending.set(sum(q.qsize() for q in self.queues.values()))

    def _dispatch(self, dispatches: list[Dispatch]) -> None:
        for d in dispatches:
            self.queues[d.message.receiver].put_nowait(d)

    async def _worker(self, q: asyncio.Queue[Dispatch]) -> None:
        while True:
            d = await q.get()
            # Shielded: stopping the worker lets a send in progress finish and be recorded.
            job = asyncio.ensure_future(self.deliverer.deliver(d))
            self._inflight.add(job)
            job.add_done_callback(self._inflight.discard)
            await asyncio.shield(job)
            q.task_done()

    async def _record(self, rec: DeliveryRecord) -> None:
        """Publish one attempt; retried until the log has it, then the core counts it."""
        assert self._producer is not None
        topic = self.settings.topic("notifications")
        delay = 0.5
        while True:
            try:
                await self._producer.send_and_wait(
                    topic, rec.to_json(), key=rec.fingerprint.encode()
                )
                break
            except Exception as e:  # KafkaError and connection errors: keep the record
                log.warning("delivery log unavailable (%s); retrying", type(e).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        self.metrics.attempts.labels(channel=rec.channel, result=rec.result).inc()
        self.core.on_record(rec)
        if rec.result != "ok":
            log.warning(
                "delivery %s via %s attempt %d: %s (%s)",
                rec.idempotency_key,
                rec.receiver,
                rec.attempt,
                rec.result,
                rec.reason,
            )

    async def _dead_letter(self, rec: DeliveryRecord) -> None:
        assert self._producer is not None
        doc = {
            "v": 1,
            "reason": f"notification not delivered after {rec.attempt} attempts: {rec.reason}",
            "reason_kind": "processing_error",
            "component": "notifier",
            "at": format_time(rec.at),
            "record": rec.to_dict(),
        }
        await self._producer.send_and_wait(
            self.settings.topic("deadletter"), orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
        )

    async def _reject(self, m: ConsumerRecord[bytes, bytes], e: EventError) -> None:
        assert self._producer is not None
        raw = dead_letter_of(m, e, at=self.wall(), component="notifier")
        await self._producer.send_and_wait(self.settings.topic("deadletter"), raw)

    async def _reprobe(self, req: ReprobeRequest, now: datetime) -> None:
        """Ask the collectors to re-probe an asset reported fixed."""
        c = Control(
            id=f"reprobe-{req.fingerprint}-{int(now.timestamp() * 1000)}",
            kind="reprobe",
            at=now,
            actor="notifier",
            target=req.fingerprint,
            data={"asset": req.asset, "fingerprint": req.fingerprint},
            comment=f"re-probe requested for a fix reported by {req.actor}",
        )
        await self.publish_control(c)

    async def publish_control(self, c: Control) -> None:
        """Append ``c`` to ``ssa.control`` (the rectification API's sink); the
        notifier applies it when it reads it back, like any other control."""
        if self._producer is None:
            raise NotifyError("the notifier is not running")
        await self._producer.send_and_wait(self.settings.topic("control"), c.to_json())
