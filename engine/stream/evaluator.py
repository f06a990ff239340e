"""The engine's hot path: observations and commands, a batch at a time, through the ``Pipeline``.

One consumer in the engine's group reads ``ssa.observations`` and the
internal ``ssa.engine-commands`` (same partition count; the range assignor
gives a worker the same partition numbers of both) with ``getmany``. Each
batch is evaluated synchronously by the pure ``Pipeline`` of its partition,
its findings, sealed alerts, dead letters and state changes are handed to
one idempotent producer, and the batch's input offsets are committed once
every one of those records is acknowledged (at-least-once).

Why not a Faust agent: Faust hands an agent one event at a time through
several queues and awaits, about 180 µs per message on the reference machine
even with ``take_events``, which capped a worker near 5,000 observations/s
(BENCHMARKS.md). Here the per-message cost is decoding plus the core.

State: one ``ChangelogStore`` pair per partition (``changelog.py``),
recovered from the changelog topics when the partition is assigned (by the
consuming loop, with the partition paused, not inside the rebalance
callback) and written back after every batch. The last processed offset of
each input is kept in the alert state, so input redelivered after a crash
(processed, not yet committed) is skipped. A batch goes out in three steps,
each after the previous one is acknowledged: its findings, alerts and dead
letters; then its state changes with that marker (together with the next
batch's outputs, so they share produce requests); then its input offsets.
A crash between them makes the next owner redo the batch from the previous
state, which writes byte-identical records again (at-least-once), and never
skips a batch whose alerts were not written.

Not covered: the two changelog topics and the outputs are not written
atomically (Kafka transactions would do that, and would fence a worker
that was evicted but still writes; aiokafka's transactional offset commit
cannot carry the group generation that fencing per worker needs). If the
rule-state records of a batch land and its alert-state records fail for
good, the worker stops, and its successor redoes the batch over rule state
that already holds it.
Alerts are sealed into the partition's hash chain and appended to the *same
partition number* of ``ssa.alerts``: each chain has exactly one writer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRebalanceListener

from engine.audit.ledger import seal
from engine.deadletter import dead_letter_of, reason_kind
from engine.errors import BrokerError, EventError
from engine.events import Control, Observation, SourceOffset
from engine.pipeline import Output, Pipeline
from engine.settings import Settings
from engine.stream.changelog import (
    CHANGELOG_CONFIGS,
    STORES,
    ChangelogStore,
    changelog_topic,
    recover,
)
from engine.stream.outbox import Outbox
from engine.stream.runtime import Runtime

log = logging.getLogger(__name__)

CHAIN_HEAD_KEY = "~chain-head"
#: Records per ``getmany``: large enough that per-batch costs (flush, send,
#: commit) vanish, small enough that a batch's output stays a few MiB.
BATCH_MAX = 5000
FETCH_TIMEOUT_MS = 100
PRODUCER_LINGER_MS = 5
PRODUCER_BATCH_BYTES = 512 * 1024


def engine_group(settings: Settings) -> str:
    """The consumer group of the engine's workers (and of their committed offsets)."""
    return f"{settings.topics.prefix}-{settings.engine.app_id}"


class _Partition:
    """One engine partition on this worker: its stores and pipeline."""

    __slots__ = ("alert_store", "pipeline", "rule_store")

    def __init__(self, rule_store: ChangelogStore, alert_store: ChangelogStore, runtime: Runtime):
        self.rule_store = rule_store
        self.alert_store = alert_store
        self.pipeline = Pipeline(runtime.rules.current, runtime.inventory, rule_store, alert_store)


class Evaluator:
    """Consumes the engine's inputs in batches and drives one ``Pipeline`` per partition."""

    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        self.settings = settings
        self.runtime = runtime
        self.group = engine_group(settings)
        self.observations = settings.topic("observations")
        self.commands = settings.topic("engine-commands")
        self.findings = settings.topic("findings")
        self.alerts = settings.topic("alerts")
        self.deadletter = settings.topic("deadletter")
        prefix, app_id = settings.topics.prefix, settings.engine.app_id
        self.changelogs = [changelog_topic(prefix, app_id, s) for s in STORES]
        self.partitions: dict[int, _Partition] = {}
        self._owned: set[Any] = set()
        #: Assigned partitions whose state is not recovered yet (paused meanwhile).
        self._unrecovered: set[Any] = set()
        self._outbox = Outbox()
        self._lock = asyncio.Lock()
        self._committing: asyncio.Future[None] | None = None
        #: The last batch's output futures, encoded state and input offsets, until
        #: the state can follow the outputs (``_release_state``).
        self._held: tuple[list[asyncio.Future[Any]], Outbox, dict[Any, int]] | None = None
        #: A delivery that failed: the worker stops with it (its batch stays uncommitted).
        self._failed: BaseException | None = None
        self._consumer: Any = None
        self._producer: Any = None
        runtime.pipelines_reload = self.reload

    # -- running ------------------------------------------------------------

    async def run(self) -> None:
        """Consume until cancelled; a failed delivery ends it with the error."""
        from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
        from aiokafka.coordinator.assignors.range import RangePartitionAssignor

        bootstrap = self.runtime.bootstrap
        engine = self.settings.engine
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=f"{self.group}-producer",
            acks="all",
            enable_idempotence=True,
            linger_ms=PRODUCER_LINGER_MS,
            max_batch_size=PRODUCER_BATCH_BYTES,
        )
        await self._producer.start()
        try:
            await self._ensure_changelogs()
            self._consumer = AIOKafkaConsumer(
                bootstrap_servers=bootstrap,
                group_id=self.group,
                client_id=f"{self.group}-consumer",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                # Same partition numbers of both inputs to the same worker.
                partition_assignment_strategy=(RangePartitionAssignor,),
                session_timeout_ms=int(engine.session_timeout_s * 1000),
                heartbeat_interval_ms=int(engine.heartbeat_interval_s * 1000),
                max_partition_fetch_bytes=8 * 1024 * 1024,
            )
            self._consumer.subscribe(
                [self.observations, self.commands], listener=_Rebalance(self)
            )
            await self._consumer.start()
            try:
                await self._consume()
            finally:
                async with self._lock:
                    await self._settle()
                await self._consumer.stop()
        finally:
            await self._producer.stop()

    async def _consume(self) -> None:
        consumer = self._consumer
        while True:
            batches = await consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS, max_records=BATCH_MAX)
            if self._failed is None and self._committing is not None and self._committing.done():
                self._failed = self._committing.exception()
            if self._failed is not None:
                raise self._failed
            if self._unrecovered:
                async with self._lock:
                    await self._recover()  # an error here stops the worker
            if not batches:
                if self._held is not None:
                    async with self._lock:
                        await self._release_state()  # idle: nothing to share a request with
                continue
            async with self._lock:
                await self._batch(batches)

    async def _ensure_changelogs(self) -> None:
        """Create the changelog topics (compacted, one partition per input partition).

        The inputs must exist (``ssa topics create``); a worker started
        without them stops with that message instead of waiting on metadata.
        """
        from kafka.admin import KafkaAdminClient, NewTopic
        from kafka.errors import TopicAlreadyExistsError

        def create() -> None:
            admin = KafkaAdminClient(
                bootstrap_servers=self.runtime.bootstrap, client_id=f"{self.group}-admin"
            )
            try:
                present = set(admin.list_topics())
                missing_inputs = [t for t in (self.observations, self.commands) if t not in present]
                if missing_inputs:
                    raise BrokerError(
                        f"topic {', '.join(missing_inputs)} does not exist on "
                        f"{self.runtime.bootstrap}; create the topics first: ssa topics create"
                    )
                existing = [t for t in self.changelogs if t in present]
                counts = {
                    d["name"]: len(d["partitions"])
                    for d in admin.describe_topics([self.observations, self.commands, *existing])
                }
                n = counts[self.observations]
                # Partition p of every one of these is the same engine partition.
                wrong = {t: c for t, c in counts.items() if c != n}
                if wrong:
                    raise BrokerError(
                        f"{self.observations} has {n} partitions but "
                        + ", ".join(f"{t} has {c}" for t, c in sorted(wrong.items()))
                        + "; the engine's topics must have the same partition count"
                    )
                for topic in self.changelogs:
                    if topic in present:
                        continue
                    try:
                        admin.create_topics([
                            NewTopic(
                                name=topic,
                                num_partitions=n,
                                replication_factor=self.settings.topics.replication,
                                topic_configs=CHANGELOG_CONFIGS,
                            )
                        ])
                    except TopicAlreadyExistsError:
                        pass  # another worker was first
            finally:
                admin.close()

        await asyncio.to_thread(create)

    # -- one batch ------------------------------------------------------------

    async def _batch(self, batches: dict[Any, Sequence[Any]]) -> None:
        started = time.perf_counter()
        commit: dict[Any, int] = {}
        touched: list[_Partition] = []
        count = 0
        for tp, records in batches.items():
            part = self.partitions.get(tp.partition)
            if tp not in self._owned or tp in self._unrecovered or not records:
                continue  # fetched before a rebalance took the partition away
            if part is None:
                raise RuntimeError(f"partition {tp.partition} is assigned but has no state")
            touched.append(part)
            if tp.topic == self.commands:
                self._commands(tp, records, part)
            else:
                self._observe(tp, records, part)
            last = records[-1].offset
            part.alert_store[f"~offset/{tp.topic}"] = last
            commit[tp] = last + 1
            count += len(records)
        # One changelog record per key changed in the batch (the processed-offset
        # markers among them), encoded now but held until the batch's findings,
        # alerts and dead letters are on the broker: it goes out with the next
        # batch's outputs (in the same produce requests), or when the loop idles.
        state = Outbox()
        for part in touched:
            part.rule_store.flush(state)
            part.alert_store.flush(state)
        await self._release_state()
        futures = await self._outbox.send(self._producer)
        self._held = (futures, state, commit)
        if count:
            self.runtime.metrics.rule_eval((time.perf_counter() - started) / count)

    def _observe(self, tp: Any, records: Sequence[Any], part: _Partition) -> None:
        pipeline = part.pipeline
        seen = part.alert_store.get(f"~offset/{tp.topic}")
        topic, partition = tp.topic, tp.partition
        tally: Counter[tuple[str, bool]] = Counter()
        obs = None
        for r in records:
            # At-least-once redelivers what was processed but not yet committed;
            # the last processed offset is kept with the state, so it is skipped.
            if seen is not None and r.offset <= seen:
                continue
            try:
                obs = Observation.from_json(r.value)
                tally[obs.probe, obs.ok] += 1
                out = pipeline.observe(obs, SourceOffset(topic, partition, r.offset))
            except EventError as e:
                self._reject(r, e)
                continue
            except Exception as e:  # a bug must not stop the stream: keep the input
                log.exception("processing failed; message kept in the dead-letter topic")
                self._reject(r, e)
                continue
            if out.findings or out.alerts:
                self._publish(partition, out, part)
        metrics = self.runtime.metrics
        metrics.observations(tally)
        if obs is not None:
            metrics.lag(time.time() - obs.observed_ts)

    def _commands(self, tp: Any, records: Sequence[Any], part: _Partition) -> None:
        seen = part.alert_store.get(f"~offset/{tp.topic}")
        for r in records:
            if seen is not None and r.offset <= seen:
                continue
            try:
                c = Control.from_json(r.value)
                if c.kind == "reload" and self.runtime.reload_rules():
                    self.reload()
                out = part.pipeline.control(c)
            except EventError as e:
                self._reject(r, e)
                continue
            except Exception as e:
                log.exception("control failed; message kept in the dead-letter topic")
                self._reject(r, e)
                continue
            self._publish(tp.partition, out, part)

    def _publish(self, partition: int, out: Output, part: _Partition) -> None:
        outbox = self._outbox
        if out.findings:
            metrics = self.runtime.metrics
            for f in out.findings:
                metrics.finding(f)
                outbox.add(self.findings, f.asset.encode(), f.to_json())
        if not out.alerts:
            return
        store = part.alert_store
        head = store.get(CHAIN_HEAD_KEY)
        for a in out.alerts:
            sealed = seal(a, head)
            head = sealed.hash
            # The record's timestamp is the alert's own (event) time, so audits and
            # replays find a period's alerts by offsets-for-times, backfill included.
            outbox.add(
                self.alerts,
                sealed.fingerprint.encode(),
                sealed.to_json(),
                partition,
                sealed.at.timestamp(),
            )
        store[CHAIN_HEAD_KEY] = head

    def _reject(self, r: Any, error: Exception) -> None:
        self._outbox.add(
            self.deadletter,
            None,
            dead_letter_of(r, error, at=datetime.now(UTC), component="engine"),
        )
        self.runtime.metrics.dead_letter(reason_kind(error))
        log.warning("dead letter %s[%d]@%d: %s", r.topic, r.partition, r.offset, error)

    # -- delivery and commits -------------------------------------------------

    async def _release_state(self) -> None:
        """Send the held batch's state once its outputs are acknowledged; commit after it.

        The order is what makes a failure or a crash safe: the state, with
        its processed-offset marker, never reaches the changelog before the
        batch's alerts reach ``ssa.alerts``, and the input offsets are
        committed only after the state. Whatever stops the sequence leaves
        the batch to be done again from the previous state, which writes
        byte-identical records (the audit lists them as redelivered); a
        failed delivery raises and nothing after it is sent or committed.
        The outputs are usually acknowledged long before: the next batch took
        a whole evaluation to build. (Sending the state from the commit task
        instead, as soon as the outputs were acknowledged, put it in produce
        requests of its own: a quarter more CPU per observation.)
        """
        held, self._held = self._held, None
        if held is None:
            return
        outputs, state, offsets = held
        for f in outputs:
            await f
        sent = await state.send(self._producer)
        self._committing = asyncio.ensure_future(
            self._commit_when_sent(self._committing, sent, offsets)
        )

    async def _commit_when_sent(
        self,
        previous: asyncio.Future[None] | None,
        futures: list[asyncio.Future[Any]],
        offsets: dict[Any, int],
    ) -> None:
        """Commit ``offsets`` once ``futures`` (a batch's state) and the batches before are sent."""
        from aiokafka.errors import CommitFailedError, IllegalStateError

        if previous is not None:
            await previous
        for f in futures:
            await f
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as e:
            # The group rebalanced: the next owner starts from the previous
            # commit and skips what the state says was processed.
            log.warning("commit skipped after a rebalance: %s", e)

    async def _settle(self) -> None:
        """Wait for every batch handed to the producer to be delivered and committed."""
        try:
            await self._release_state()
        except Exception as e:
            log.error("delivery failed; the batch stays uncommitted: %s", e)
            self._failed = e
            return
        pending, self._committing = self._committing, None
        if pending is None:
            return
        try:
            await pending
        except Exception as e:  # kept for the consuming loop, which stops with it
            log.error("delivery failed; the batch stays uncommitted: %s", e)
            self._failed = e

    # -- partitions -------------------------------------------------------------

    async def _revoked(self, revoked: set[Any]) -> None:
        async with self._lock:
            await self._settle()
            self._owned.clear()
            self._unrecovered.clear()
            self.partitions.clear()

    async def _assigned(self, assigned: set[Any]) -> None:
        """Pause the new partitions; the consuming loop recovers their state, then resumes.

        Not recovered here: aiokafka sends no heartbeats while this callback
        runs, so a recovery longer than the session timeout would get the
        worker thrown out of the group, and back, without end; and an error
        raised here would only be logged.
        """
        async with self._lock:
            self._owned = set(assigned)
            self._unrecovered = set(assigned)
            if assigned:
                self._consumer.pause(*assigned)

    async def _recover(self) -> None:
        """Rebuild the state of the partitions assigned last, then let them be fetched."""
        tps, self._unrecovered = self._unrecovered, set()
        numbers = sorted({tp.partition for tp in tps})
        started = time.monotonic()
        data = await recover(self.runtime.bootstrap, self.changelogs, numbers)
        rule_topic, alert_topic = self.changelogs
        for p in numbers:
            self.partitions[p] = _Partition(
                ChangelogStore(rule_topic, p, data[(rule_topic, p)]),
                ChangelogStore(alert_topic, p, data[(alert_topic, p)]),
                self.runtime,
            )
        self._consumer.resume(*tps)
        log.info(
            "engine partitions %s assigned and recovered in %.1fs",
            numbers,
            time.monotonic() - started,
        )

    def reload(self) -> None:
        """Give every pipeline the rule set just loaded (state is kept)."""
        for part in self.partitions.values():
            part.pipeline.reload(self.runtime.rules.current)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Settles commits before partitions move; marks new ones for recovery."""

    def __init__(self, evaluator: Evaluator) -> None:
        self._ev = evaluator

    async def on_partitions_revoked(self, revoked: set[Any]) -> None:
        await self._ev._revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[Any]) -> None:
        await self._ev._assigned(assigned)
