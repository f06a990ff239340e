"""Delivering messages at least once: retries with backoff and jitter, rate limits, dead letters.

Every attempt becomes a ``DeliveryRecord`` handed to ``record`` (the service
publishes it on ``ssa.notifications`` and feeds it back to the core). A
message whose idempotency key is already confirmed is not sent again. A
failure is retried after an exponentially growing delay with jitter, up to
the retry budget; a failure that cannot succeed by retrying (a 4xx, a
refused recipient) or the last failed attempt becomes a ``dead`` record,
which is also handed to ``dead_letter`` with its reason. Each receiver has
a token bucket so a robot's rate limit is never exceeded.

Time is injected (``clock``, ``wall``, ``sleep``, ``rng``) so tests run the
same code fast and deterministically.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from engine.notifiers import DeliveryError
from engine.notify.core import Dispatch
from engine.notify.receivers import Receiver
from engine.notify.records import AlertRef, DeliveryRecord

log = logging.getLogger(__name__)

RecordSink = Callable[[DeliveryRecord], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, and how long to wait between them."""

    max_attempts: int = 8
    base_s: float = 1.0
    max_s: float = 300.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt ``attempt`` (from 1): "equal jitter".

        Half of the exponential step is fixed, half random, so retries of many
        messages spread out but never come back at once.
        """
        step = min(self.max_s, self.base_s * 2.0 ** (attempt - 1))
        return step / 2 + rng.uniform(0, step / 2)


class TokenBucket:
    """At most ``count`` sends per ``per_s`` seconds, with bursts up to ``count``."""

    def __init__(self, count: int, per_s: float, now: float) -> None:
        self.capacity = float(count)
        self.rate = count / per_s
        self.tokens = float(count)
        self.updated = now

    def reserve(self, now: float) -> float:
        """Take a token; the seconds to wait before using it (0 if one was there)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class Deliverer:
    """Sends dispatches through their receivers and records every attempt."""

    def __init__(
        self,
        receivers: Mapping[str, Receiver],
        record: RecordSink,
        *,
        policy: RetryPolicy | None = None,
        dead_letter: RecordSink | None = None,
        confirmed: set[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.receivers = receivers
        self.record = record
        self.policy = policy or RetryPolicy()
        self.dead_letter = dead_letter
        self.confirmed = confirmed if confirmed is not None else set()
        self.clock, self.wall, self.sleep = clock, wall, sleep
        self.rng = rng or random.Random()
        self.buckets: dict[str, TokenBucket] = {}

    def _bucket(self, rcv: Receiver) -> TokenBucket:
        b = self.buckets.get(rcv.name)
        if b is None:
            b = self.buckets[rcv.name] = TokenBucket(rcv.rate_count, rcv.rate_per_s, self.clock())
        return b

    async def deliver(self, d: Dispatch) -> DeliveryRecord | None:
        """Deliver one dispatch; its final record (``ok`` or ``dead``), or ``None`` if it was
        already confirmed."""
        msg = d.message
        if msg.idempotency_key in self.confirmed:
            return None
        rcv = self.receivers[msg.receiver]
        refs = tuple(AlertRef.of(a) for a in msg.alerts)
        attempt = 0
        while True:
            attempt += 1
            wait = self._bucket(rcv).reserve(self.clock())
            if wait > 0:
                await self.sleep(wait)
            reason, retryable = "", True
            try:
                await rcv.notifier.send(msg)
            except DeliveryError as e:
                reason, retryable = e.reason, e.retryable
            except Exception as e:  # a channel bug must not stop the notifier
                log.error("receiver %s raised %s", rcv.name, type(e).__name__)
                reason, retryable = f"internal error {type(e).__name__}", False
            last = not retryable or attempt >= self.policy.max_attempts
            result = "ok" if not reason else ("dead" if last else "error")
            rec = DeliveryRecord(
                at=self.wall(),
                channel=rcv.channel,
                receiver=rcv.name,
                recipient=d.recipient,
                result=result,
                attempt=attempt,
                idempotency_key=msg.idempotency_key,
                keys=d.keys,
                kind=msg.kind,
                level=msg.level,
                route=d.route,
                group_key=msg.group_key,
                recipients=tuple(p.address for p in msg.recipients),
                alerts=refs,
                reason=reason,
            )
            await self.record(rec)
            if result == "ok":
                self.confirmed.add(msg.idempotency_key)
                return rec
            if result == "dead":
                if self.dead_letter is not None:
                    await self.dead_letter(rec)
                return rec
            await self.sleep(self.policy.delay(attempt, self.rng))
