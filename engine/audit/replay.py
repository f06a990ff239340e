"""Replay: recorded observations and control events through the engine's own ``Pipeline``.

The Faust engine runs one ``Pipeline`` per partition of ``ssa.observations``
and seals the alerts of partition *p* into the hash chain of partition *p*
of ``ssa.alerts``; control events reach every partition's pipeline. Replay
does the same, in event time, with the state in ``DictStore``s:

- each partition's observations in offset order, as the engine saw them;
- the control events of the period merged into every partition by time: a
  control is applied before the first observation observed *after* it (a
  tie goes to the observation), and the rest at the end of the period;
- the alerts sealed per partition from ``GENESIS``, so a replay of a
  topic's whole history through the same rules reproduces the recorded
  ``ssa.alerts`` byte for byte, hashes included;
- with an end time, every pipeline's event time is finally advanced to it,
  so that quiet-period resolutions due inside the period happen.

Messages the engine would dead-letter (invalid observations or controls) are
skipped and counted, never fatal, exactly as in the engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from engine.audit.fastread import RecordLike
from engine.audit.ledger import seal
from engine.errors import EventError
from engine.events import Alert, Control, Observation, SourceOffset
from engine.pipeline import Output, Pipeline


@dataclass
class ReplayStats:
    """Counts and timing of one replay."""

    observations: int = 0
    controls_applied: int = 0
    rejected: int = 0
    failed: int = 0
    findings: int = 0
    alerts: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.observations / self.seconds if self.seconds > 0 else 0.0


class PartitionReplay:
    """One partition: its pipeline, its chain head, the controls still to apply."""

    def __init__(
        self, partition: int, pipeline: Pipeline, controls: Sequence[Control], stats: ReplayStats
    ) -> None:
        self.partition = partition
        self.pipeline = pipeline
        self._controls = controls
        self._next = 0
        self._stats = stats
        self.head: str | None = None
        self.alerts: list[Alert] = []

    def observe(self, obs: Observation, source: SourceOffset) -> None:
        """Apply the controls that came before ``obs``, then ``obs`` itself."""
        if self._next < len(self._controls):
            self._controls_until(obs.observed_at, inclusive=False)
        try:
            out = self.pipeline.observe(obs, source)
        except Exception:  # the engine dead-letters it and goes on; so does replay
            self._stats.failed += 1
            return
        self._stats.observations += 1
        if out.findings or out.alerts:
            self._take(out)

    def flush_controls(self) -> None:
        """Apply every control not applied yet (a follower that has caught up)."""
        self._controls_until(None, inclusive=True)

    def apply_control(self, c: Control) -> None:
        """Apply one control now."""
        try:
            out = self.pipeline.control(c)
        except EventError:
            self._stats.rejected += 1
            return
        self._stats.controls_applied += 1
        self._take(out)

    def finish(self, until: datetime | None) -> None:
        """Apply the remaining controls (up to ``until``), then advance event time to it."""
        self._controls_until(until, inclusive=True)
        if until is not None:
            self._take(self.pipeline.advance(until))

    def _controls_until(self, t: datetime | None, inclusive: bool) -> None:
        cs = self._controls
        while self._next < len(cs):
            c = cs[self._next]
            if t is not None and (c.at > t or (c.at == t and not inclusive)):
                return
            self._next += 1
            self.apply_control(c)

    def take_new(self) -> list[Alert]:
        """The alerts sealed since the last call (a follower sends them on)."""
        new, self.alerts = self.alerts, []
        return new

    def _take(self, out: Output) -> None:
        self._stats.findings += len(out.findings)
        for a in out.alerts:
            sealed = seal(a, self.head)
            self.head = sealed.hash
            self.alerts.append(sealed)
        self._stats.alerts += len(out.alerts)


@dataclass
class Replay:
    """A replay in progress or done: per-partition drivers and the stats."""

    partitions: dict[int, PartitionReplay]
    topic: str
    since: datetime | None = None
    until: datetime | None = None
    stats: ReplayStats = field(default_factory=ReplayStats)

    @classmethod
    def start(
        cls,
        topic: str,
        pipelines: Mapping[int, Pipeline],
        controls: Sequence[Control],
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Replay:
        ordered = sorted(controls, key=lambda c: c.at)  # stable: same-time controls keep order
        stats = ReplayStats()
        parts = {p: PartitionReplay(p, pipe, ordered, stats) for p, pipe in pipelines.items()}
        return cls(parts, topic, since, until, stats)

    def feed(self, batch: Iterable[RecordLike]) -> int:
        """Decode and evaluate one batch of observation records; returns how many were read."""
        n = 0
        since, until, topic, stats = self.since, self.until, self.topic, self.stats
        bounded = since is not None or until is not None
        decode = Observation.from_json
        partitions = self.partitions
        last, part = -1, None  # a batch is usually one partition's: look it up once
        for rec in batch:
            n += 1
            value = rec.value
            if value is None:
                stats.rejected += 1
                continue
            try:
                obs = decode(value)
            except EventError:
                stats.rejected += 1
                continue
            if bounded:
                t = obs.observed_at
                if (since is not None and t < since) or (until is not None and t > until):
                    continue
            p = rec.partition
            if p != last or part is None:
                part, last = partitions[p], p
            part.observe(obs, SourceOffset(topic, p, rec.offset))
        return n

    def finish(self) -> list[Alert]:
        """End the period; every alert, partition by partition in chain order."""
        for p in sorted(self.partitions):
            self.partitions[p].finish(self.until)
        return [a for p in sorted(self.partitions) for a in self.partitions[p].alerts]


def run(
    replay: Replay,
    batches: Iterable[Sequence[RecordLike]],
    progress: Callable[[int], None] | None = None,
) -> list[Alert]:
    """Feed every batch, finish, and time it."""
    started = time.perf_counter()
    for batch in batches:
        n = replay.feed(batch)
        if progress is not None:
            progress(n)
    alerts = replay.finish()
    replay.stats.seconds = time.perf_counter() - started
    return alerts
