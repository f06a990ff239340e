"""Publishing observations to Kafka, surviving a broker outage.

``Publisher.publish(obs)`` never blocks the probes: it appends to a bounded
local buffer (a deque) and returns. A background thread drains the buffer
through a kafka-python ``KafkaProducer`` (key = asset id, ``acks=all``,
idempotent, batched with ``linger_ms``). While Kafka is unreachable the
thread keeps retrying with a capped backoff and the buffer holds the
observations; undelivered ones go back to the front of the buffer. Only when
the buffer is full is the oldest observation dropped — logged at ERROR and
counted in ``ssa_collector_buffer_dropped_total``, never silently.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

from collectors.metrics import CollectorMetrics
from engine.events import Observation

log = logging.getLogger(__name__)

#: Observations sent to the producer per round before waiting for delivery.
BATCH = 1000


class Publisher:
    """A bounded buffer in front of a Kafka producer, drained by one thread."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        *,
        metrics: CollectorMetrics | None = None,
        buffer_size: int = 100_000,
        linger_ms: int = 20,
        delivery_timeout_s: float = 10.0,
        backoff_max_s: float = 5.0,
        client_id: str = "ssa-collector",
    ) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.metrics = metrics or CollectorMetrics()
        self.capacity = buffer_size
        self.linger_ms = linger_ms
        self.delivery_timeout_s = delivery_timeout_s
        self.backoff_max_s = backoff_max_s
        self.client_id = client_id
        self.delivered = 0
        self.dropped = 0
        self._buffer: deque[tuple[str, Observation]] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._producer: Any = None
        self.metrics.track_buffer(self.buffered)

    # -- the probes' side ----------------------------------------------------

    def publish(self, obs: Observation, key: str | None = None) -> None:
        """Queue one observation for Kafka; never blocks, never raises.

        ``key`` is the record key, the asset's ``partition_key`` (default: the asset id).
        """
        with self._cond:
            self._make_room(1)
            self._buffer.append((key or obs.asset, obs))
            self._cond.notify()

    def buffered(self) -> int:
        """Observations waiting in the local buffer."""
        return len(self._buffer)

    def _make_room(self, n: int) -> None:
        """Drop the oldest observations so ``n`` more fit (lock held)."""
        over = len(self._buffer) + n - self.capacity
        for _ in range(max(0, over)):
            _, lost = self._buffer.popleft()
            self.dropped += 1
            self.metrics.buffer_dropped.inc()
            # Loud but bounded: the first drop, then every 1000th.
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error(
                    "observation buffer full (%d): dropped the oldest observation %s of %s; "
                    "%d dropped so far — Kafka has been unreachable for too long",
                    self.capacity, lost.id, lost.asset, self.dropped,
                )

    # -- the thread ------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ssa-publisher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Deliver what is buffered (up to ``timeout``), then stop the thread."""
        deadline = time.monotonic() + timeout
        while self._buffer and self._producer is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(max(0.1, deadline - time.monotonic()) + 5)
        if self._producer is not None:
            self._producer.close(timeout=2)
            self._producer = None
        if self._buffer:
            log.error("publisher stopped with %d observations undelivered", len(self._buffer))

    def _run(self) -> None:
        backoff = 0.2
        while not self._stopping:
            if self._producer is None:
                self._producer = self._connect()
                if self._producer is None:
                    self._sleep(backoff)
                    backoff = min(self.backoff_max_s, backoff * 2)
                    continue
                backoff = 0.2
            with self._cond:
                while not self._buffer and not self._stopping:
                    self._cond.wait(0.5)
                batch = [self._buffer.popleft() for _ in range(min(BATCH, len(self._buffer)))]
            if batch and not self._send(batch):
                self._sleep(backoff)
                backoff = min(self.backoff_max_s, backoff * 2)
            elif batch:
                backoff = 0.2

    def _sleep(self, seconds: float) -> None:
        with self._cond:
            if not self._stopping:
                self._cond.wait(seconds)

    def _connect(self) -> Any:
        from kafka import KafkaProducer
        from kafka.errors import KafkaConfigurationError, KafkaError

        try:
            producer = KafkaProducer(
                bootstrap_servers=self.bootstrap,
                client_id=self.client_id,
                acks="all",
                enable_idempotence=True,
                linger_ms=self.linger_ms,
                compression_type=None,
                max_block_ms=int(self.delivery_timeout_s * 1000),
                # kafka-python requires delivery > linger + request timeouts.
                request_timeout_ms=int(self.delivery_timeout_s * 1000) - self.linger_ms - 1,
                delivery_timeout_ms=int(self.delivery_timeout_s * 1000),
                reconnect_backoff_max_ms=int(self.backoff_max_s * 1000),
                # Give up one connection attempt quickly; this thread retries with backoff.
                bootstrap_timeout_ms=2000,
            )
        except KafkaConfigurationError:
            raise  # a bug in these settings, not an outage
        except KafkaError as e:
            self.metrics.publish_errors.inc()
            log.warning("Kafka unreachable at %s (%s); %d observations buffered",
                        self.bootstrap, type(e).__name__, len(self._buffer))
            return None
        log.info("publishing observations to %s at %s", self.topic, self.bootstrap)
        return producer

    def _send(self, batch: list[tuple[str, Observation]]) -> bool:
        """Send a batch and wait for it; put back what was not delivered."""
        from kafka.errors import KafkaError

        futures: list[tuple[tuple[str, Observation], Any]] = []
        failed: list[tuple[str, Observation]] = []
        for i, item in enumerate(batch):
            key, obs = item
            try:
                f = self._producer.send(self.topic, key=key.encode(), value=obs.to_json())
            except KafkaError as e:
                log.warning("cannot send to %s: %s", self.topic, e)
                failed = batch[i:]
                break
            futures.append((item, f))
        try:
            self._producer.flush(timeout=self.delivery_timeout_s)
        except KafkaError as e:  # not everything left in time; the futures say what
            log.warning("flush to %s incomplete: %s", self.topic, type(e).__name__)
        for item, f in futures:
            try:
                f.get(timeout=0.1)
            except KafkaError:
                failed.append(item)
            else:
                self.delivered += 1
        if failed:
            self.metrics.publish_errors.inc()
            log.warning("%d observations not delivered; kept for retry", len(failed))
            with self._cond:
                room = self.capacity - len(self._buffer)
                keep = failed[-room:] if room > 0 else []
                for _ in range(len(failed) - len(keep)):
                    self.dropped += 1
                    self.metrics.buffer_dropped.inc()
                if len(keep) < len(failed):
                    log.error("observation buffer full: dropped %d undelivered observations",
                              len(failed) - len(keep))
                self._buffer.extendleft(reversed(keep))
            return False
        return True
