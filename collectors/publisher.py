"""Publishing observations to Kafka, surviving a broker outage.

``Publisher.publish(obs)`` never blocks the probes: it appends to a bounded
local buffer (a deque) and returns. A background thread drains the buffer
through a kafka-python ``KafkaProducer`` (key = asset id, ``acks=all``,
idempotent, batched with ``linger_ms``). While Kafka is unreachable the
thread keeps retrying with a capped backoff and the buffer holds the
observations; ones the producer finally fails to deliver (its delivery
callbacks say so) go back to the front of the buffer. Only when
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

#: Observations handed to the producer per round.
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
        self.inflight = 0
        self.failed_deliveries = 0
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
        while (
            (self._buffer or self.inflight)
            and self._producer is not None
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(max(0.1, deadline - time.monotonic()) + 5)
        if self._producer is not None:
            from kafka.errors import KafkaError

            try:
                self._producer.close(timeout=2)
            except KafkaError as e:  # its final flush timed out: say what is left, below
                log.error("Kafka producer did not close cleanly: %s", e)
            self._producer = None
        if self._buffer or self.inflight:
            log.error("publisher stopped with %d observations undelivered",
                      len(self._buffer) + self.inflight)

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
        """Hand a batch to the producer; delivery is reported by the futures' callbacks.

        The producer batches (``linger_ms``) and retries on its own; an
        observation it finally fails to deliver comes back to the buffer.
        """
        from kafka.errors import KafkaError

        for i, item in enumerate(batch):
            key, obs = item
            try:
                f = self._producer.send(self.topic, key=key.encode(), value=obs.to_json())
            except KafkaError as e:  # no metadata in time, or the producer's memory is full
                log.warning("cannot send to %s (%s); %d observations kept for retry",
                            self.topic, type(e).__name__, len(batch) - i)
                self.metrics.publish_errors.inc()
                self._put_back(batch[i:])
                return False
            with self._cond:
                self.inflight += 1
            f.add_callback(self._on_delivered)
            f.add_errback(self._on_failed, item)
        return True

    def _on_delivered(self, _metadata: Any) -> None:
        with self._cond:
            self.delivered += 1
            self.inflight -= 1

    def _on_failed(self, item: tuple[str, Observation], error: Exception) -> None:
        self.metrics.publish_errors.inc()
        with self._cond:
            self.inflight -= 1
            self.failed_deliveries += 1
            if self.failed_deliveries == 1 or self.failed_deliveries % 1000 == 0:
                log.warning("delivery to %s failed (%s); kept for retry (%d failures so far)",
                            self.topic, type(error).__name__, self.failed_deliveries)
        self._put_back([item])

    def _put_back(self, items: list[tuple[str, Observation]]) -> None:
        """Return undelivered observations to the front of the buffer, if there is room."""
        with self._cond:
            room = self.capacity - len(self._buffer)
            keep = items[-room:] if room > 0 else []
            lost = len(items) - len(keep)
            if lost:
                self.dropped += lost
                self.metrics.buffer_dropped.inc(lost)
                log.error("observation buffer full (%d): dropped %d undelivered observations",
                          self.capacity, lost)
            self._buffer.extendleft(reversed(keep))
            self._cond.notify()
