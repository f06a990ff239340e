"""The Faust app: topics and tables first, then short agents around the core.

``create_app(settings, runtime)`` builds the app; nothing is read from the
environment at import time and there is no global app. Agents only decode,
call the pure ``Pipeline``, send on and keep state in changelog-backed tables:

- ``evaluate`` consumes ``ssa.observations`` together with the internal
  ``ssa.engine-commands`` topic (same partitions), one ``Pipeline`` per
  partition whose state lives in the ``rule-state`` and ``alert-state``
  tables (written to the changelog partition of that partition). Findings go
  to ``ssa.findings``; alerts are sealed into the partition's hash chain and
  appended to the *same partition number* of ``ssa.alerts``, so each chain has
  exactly one writer.
- ``fan_out`` consumes ``ssa.control`` (one partition) and copies every
  control event to every partition of ``ssa.engine-commands``: silences and
  acknowledgements reach every pipeline, in order, and are replayable.

A malformed message is sent to ``ssa.deadletter`` with its reason and counted;
the stream never stops for it.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import faust

from engine.audit.ledger import seal
from engine.deadletter import dead_letter, reason_kind
from engine.errors import EventError
from engine.events import Control, Observation, SourceOffset
from engine.pipeline import Output, Pipeline
from engine.settings import Settings
from engine.stream.outbox import Outbox
from engine.stream.partition_store import PartitionStore
from engine.stream.runtime import Runtime

log = logging.getLogger(__name__)

CHAIN_HEAD_KEY = "~chain-head"
BATCH_MAX = 1000
BATCH_WITHIN_S = 0.05
PRODUCER_LINGER_S = 0.005
PRODUCER_BATCH_BYTES = 256 * 1024


def create_app(settings: Settings, runtime: Runtime) -> faust.App:
    """Build the engine's Faust app; ``runtime`` holds rules, inventory and metrics."""
    n = settings.topics.partitions
    app = faust.App(
        f"{settings.topics.prefix}-{settings.engine.app_id}",
        broker=";".join(f"kafka://{b}" for b in runtime.bootstrap.split(",")),
        store="memory://",
        topic_partitions=n,
        topic_replication_factor=settings.topics.replication,
        table_standby_replicas=0,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # A dead worker's partitions move to the others within seconds, not
        # Kafka's default minute (tests/reliability/test_worker_crash.py).
        broker_session_timeout=settings.engine.session_timeout_s,
        broker_heartbeat_interval=settings.engine.heartbeat_interval_s,
        # Records wait up to 5 ms to share a produce request: without it every
        # changelog, finding and alert record was a request of its own, and the
        # requests, not the rules, bounded the rate (bench/bench_e2e.py).
        producer_linger=PRODUCER_LINGER_S,
        producer_max_batch_size=PRODUCER_BATCH_BYTES,
        web_enabled=False,
        datadir=settings.engine.data_dir,
        key_serializer="raw",
        value_serializer="raw",
    )

    # -- topics ------------------------------------------------------------
    inputs = app.topic(settings.topic("observations"), settings.topic("engine-commands"))
    control = app.topic(settings.topic("control"))
    commands = app.topic(settings.topic("engine-commands"))
    findings_topic = settings.topic("findings")
    alerts_topic = settings.topic("alerts")
    deadletter = app.topic(settings.topic("deadletter"))
    commands_topic = settings.topic("engine-commands")

    # -- tables ------------------------------------------------------------
    json_schema: Any = faust.Schema(key_serializer="json", value_serializer="json")
    rule_state = app.Table("rule-state", partitions=n, schema=json_schema)
    alert_state = app.Table("alert-state", partitions=n, schema=json_schema)

    pipelines: dict[int, Pipeline] = {}
    outbox = Outbox()
    #: Per partition: its (rule-state, alert-state) stores, written back at batch end.
    stores: dict[int, tuple[PartitionStore, PartitionStore]] = {}

    def stores_for(partition: int) -> tuple[PartitionStore, PartitionStore]:
        s = stores.get(partition)
        if s is None:
            s = stores[partition] = (
                PartitionStore(rule_state, partition),
                PartitionStore(alert_state, partition),
            )
        return s

    def pipeline_for(partition: int) -> Pipeline:
        p = pipelines.get(partition)
        if p is None:
            rule_store, alert_store = stores_for(partition)
            p = Pipeline(runtime.rules.current, runtime.inventory, rule_store, alert_store)
            pipelines[partition] = p
        return p

    def on_rules_reloaded() -> None:
        for p in pipelines.values():
            p.reload(runtime.rules.current)

    runtime.pipelines_reload = on_rules_reloaded

    def reject(event: Any, error: Exception) -> None:
        m = event.message
        deadletter.send_soon(
            value=dead_letter(
                m.value,
                error,
                topic=m.topic,
                partition=m.partition,
                offset=m.offset,
                key=m.key,
                at=datetime.now(UTC),
                component="engine",
            )
        )
        runtime.metrics.dead_letter(reason_kind(error))
        log.warning("dead letter %s[%d]@%d: %s", m.topic, m.partition, m.offset, error)

    def publish(partition: int, out: Output, store: PartitionStore) -> None:
        for f in out.findings:
            outbox.add(findings_topic, f.asset.encode(), f.to_json())
        if not out.alerts:
            return
        head = store.get(CHAIN_HEAD_KEY)
        for a in out.alerts:
            sealed = seal(a, head)
            head = sealed.hash
            # The record's timestamp is the alert's own (event) time, so audits and
            # replays find a period's alerts by offsets-for-times, backfill included.
            outbox.add(
                alerts_topic,
                sealed.fingerprint.encode(),
                sealed.to_json(),
                partition,
                sealed.at.timestamp(),
            )
        store[CHAIN_HEAD_KEY] = head

    def handle(event: Any, done: dict[tuple[int, str], int]) -> None:
        m = event.message
        pipe = pipeline_for(m.partition)
        store = stores_for(m.partition)[1]
        # At-least-once delivery redelivers what was processed but not yet
        # committed; the last offset is kept with the state, so it is skipped.
        seen_key = f"~offset/{m.topic}"
        seen = store.get(seen_key)
        if seen is not None and m.offset <= seen:
            return
        if m.topic == commands_topic:
            c = Control.from_json(m.value)
            if c.kind == "reload" and runtime.reload_rules():
                on_rules_reloaded()
            out = pipe.control(c)
        else:
            obs = Observation.from_json(m.value)
            runtime.metrics.observation(obs)
            out = pipe.observe(obs, SourceOffset(m.topic, m.partition, m.offset))
            runtime.metrics.lag(time.time() - obs.observed_at.timestamp())
        for f in out.findings:
            runtime.metrics.finding(f)
        publish(m.partition, out, store)
        done[(m.partition, seen_key)] = m.offset

    @app.agent(inputs)
    async def evaluate(stream: Any) -> Any:
        async for batch in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            started = time.perf_counter()
            done: dict[tuple[int, str], int] = {}
            for event in batch:
                try:
                    handle(event, done)
                except EventError as e:
                    reject(event, e)
                    done[(event.message.partition, f"~offset/{event.message.topic}")] = (
                        event.message.offset
                    )
                except Exception as e:  # a bug must not stop the stream: keep the input
                    log.exception("processing failed; message kept in the dead-letter topic")
                    reject(event, e)
            for (partition, key), offset in done.items():
                stores_for(partition)[1][key] = offset
            # One changelog record per key changed in the batch, after the batch's
            # findings and alerts, all handed to the producer before the next batch.
            for rule_store, alert_store in stores.values():
                rule_store.flush(outbox)
                alert_store.flush(outbox)
            await outbox.send(app.producer)
            if batch:
                runtime.metrics.rule_eval((time.perf_counter() - started) / len(batch))

    @app.agent(control)
    async def fan_out(stream: Any) -> Any:
        async for event in stream.events():
            m = event.message
            try:
                c = Control.from_json(m.value)
            except EventError as e:
                reject(event, e)
                continue
            for p in range(n):
                await commands.send(value=c.to_json(), partition=p)

    async def watch_rules() -> None:
        if runtime.rules.changed_on_disk() and runtime.reload_rules():
            on_rules_reloaded()

    async def follow_alerts() -> None:
        await runtime.follow_alerts()

    async def serve_api() -> None:
        await runtime.start_api()

    app.timer(interval=2.0)(watch_rules)
    app.task(follow_alerts)
    app.task(serve_api)

    app.on_partitions_revoked.connect(_forget(pipelines, stores, outbox))
    return app


def _forget(
    pipelines: dict[int, Pipeline],
    stores: dict[int, tuple[PartitionStore, PartitionStore]],
    outbox: Outbox,
) -> Any:
    """On revoke, drop the partitions' pipelines; their state stays in the tables.

    Stores are flushed at the end of every batch, so nothing is pending here;
    flushing again costs nothing and keeps it true if that ever changes.
    """

    async def on_revoked(app: Any, revoked: set[Any], **kwargs: Any) -> None:
        for tp in revoked:
            pipelines.pop(tp.partition, None)
            for store in stores.pop(tp.partition, ()):
                store.flush(outbox)
        await outbox.send(app.producer)

    return on_revoked
