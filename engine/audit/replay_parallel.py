"""Replay in worker processes: each takes a share of the partitions.

Partitions are independent in the engine (one ``Pipeline`` and one chain per
partition, controls copied to all), so a replay can run them in separate
processes and give the same alerts. Workers are forked after the rules and
inventory are loaded (compiled rules are not picklable, and need not be);
each reads its own partitions from Kafka and sends back its partitions'
sealed alerts as canonical JSON. A shared counter drives the progress bar.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from engine.audit.fastread import read_ranges
from engine.audit.replay import Replay, ReplayStats
from engine.audit.topicread import PartitionRange
from engine.events import Alert, Control
from engine.inventory.model import Inventory
from engine.pipeline import Pipeline
from engine.ruleset import RuleSet
from engine.store import DictStore


@dataclass(frozen=True)
class _Job:
    bootstrap: str
    topic: str
    ruleset: RuleSet
    inventory: Inventory
    controls: Sequence[Control]
    ranges: Mapping[int, PartitionRange]
    since: datetime | None
    until: datetime | None
    counter: Any


#: The job of the current pool, inherited by the forked workers.
_JOB: list[_Job] = []


def _work(partitions: list[int]) -> tuple[dict[int, list[bytes]], dict[str, Any]]:
    job = _JOB[0]
    pipelines = {
        p: Pipeline(job.ruleset, job.inventory, DictStore(), DictStore()) for p in partitions
    }
    replay = Replay.start(job.topic, pipelines, job.controls, job.since, job.until)
    for batch in read_ranges(job.bootstrap, job.topic, {p: job.ranges[p] for p in partitions}):
        n = replay.feed(batch)
        with job.counter.get_lock():
            job.counter.value += n
    replay.finish()
    return (
        {p: [a.to_json() for a in replay.partitions[p].alerts] for p in partitions},
        asdict(replay.stats),
    )


def balanced_shares(sizes: Mapping[int, int], workers: int) -> list[list[int]]:
    """Partitions split over at most ``workers`` shares of about equal record counts.

    Largest first, each to the share with the fewest records so far (ties: the
    lower share). Observations are keyed by unit, so partitions differ in
    size, and a round-robin split left one worker waiting for the other.
    """
    loads = [0] * max(1, min(workers, len(sizes)))
    shares: list[list[int]] = [[] for _ in loads]
    for p in sorted(sizes, key=lambda p: (-sizes[p], p)):
        i = min(range(len(loads)), key=lambda i: (loads[i], i))
        shares[i].append(p)
        loads[i] += sizes[p]
    return [sorted(share) for share in shares if share]


def replay_parallel(
    job_args: dict[str, Any],
    workers: int,
    tick: Callable[[int], None] | None = None,
) -> tuple[list[Alert], ReplayStats]:
    """Run ``_work`` over ``workers`` shares of the partitions; alerts partition by partition."""
    ctx = multiprocessing.get_context("fork")
    counter = ctx.Value("q", 0)
    job = _Job(counter=counter, **job_args)
    shares = balanced_shares({p: r.size for p, r in job.ranges.items()}, workers)
    _JOB[:] = [job]
    # Everything the parent holds now is moved out of the collector's reach
    # before the workers fork: their collections would otherwise walk (and so
    # copy, page by page) every object they inherited (Python's gc.freeze docs).
    gc.freeze()
    try:
        with ProcessPoolExecutor(len(shares), mp_context=ctx) as pool:
            futures = [pool.submit(_work, share) for share in shares]
            seen = 0
            while True:
                done, pending = wait(futures, timeout=0.2, return_when=FIRST_EXCEPTION)
                now = counter.value
                if tick is not None and now > seen:
                    tick(now - seen)
                seen = now
                if not pending or any(f.exception() for f in done):
                    break
            results = [f.result() for f in futures]
    finally:
        gc.unfreeze()
        _JOB.clear()
    by_partition: dict[int, list[bytes]] = {}
    stats = ReplayStats()
    for alerts, st in results:
        by_partition.update(alerts)
        for k, v in st.items():
            if k != "seconds":
                setattr(stats, k, getattr(stats, k) + v)
    return [Alert.from_json(v) for p in sorted(by_partition) for v in by_partition[p]], stats
