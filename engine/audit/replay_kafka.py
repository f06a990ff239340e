"""Replay from Kafka: read a period of ``ssa.observations`` and ``ssa.control``, run it.

Observations are fetched by record timestamp over ``[since, until + slack]``
in large batches (ranges found with kafka-python, records read with aiokafka
by ``fastread``; no consumer group, nothing committed) and then kept by event
time; controls likewise. One ``Pipeline`` per partition of the observations
topic, each with fresh ``DictStore`` state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from engine.audit.fastread import read_ranges
from engine.audit.history import DEFAULT_SLACK, read_period
from engine.audit.replay import Replay, ReplayStats, run
from engine.audit.replay_parallel import replay_parallel
from engine.audit.topicread import TopicReader
from engine.events import Alert, Control
from engine.inventory.model import Inventory
from engine.pipeline import Pipeline
from engine.ruleset import RuleSet
from engine.settings import Settings
from engine.store import DictStore


def read_controls(
    settings: Settings,
    bootstrap: str,
    since: datetime | None,
    until: datetime | None,
    slack: timedelta = DEFAULT_SLACK,
) -> list[Control]:
    """The control events of the period, in the control topic's order."""
    located, _ = read_period(
        bootstrap, settings.topic("control"), Control.from_json, lambda c: c.at, since, until, slack
    )
    located.sort(key=lambda x: (x.source.partition, x.source.offset))
    return [x.item for x in located]


def replay_period(
    settings: Settings,
    bootstrap: str,
    ruleset: RuleSet,
    inventory: Inventory,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    slack: timedelta = DEFAULT_SLACK,
    progress: Callable[[int], Callable[[int], None]] | None = None,
    workers: int = 1,
) -> tuple[list[Alert], ReplayStats]:
    """Every alert the pipelines produce for the period, partition by partition.

    ``progress(total)`` is called once with the number of records to read and
    returns the callback that is given each batch's size. ``workers > 1``
    runs shares of the partitions in forked processes (same result).
    """
    controls = read_controls(settings, bootstrap, since, until, slack)
    topic = settings.topic("observations")
    if workers > 1:
        started = time.perf_counter()
        with TopicReader(bootstrap, topic, client_id="ssa-replay") as reader:
            ranges = reader.ranges(since, None if until is None else until + slack)
        tick = progress(sum(r.size for r in ranges.values())) if progress else None
        job = {
            "bootstrap": bootstrap, "topic": topic, "ruleset": ruleset, "inventory": inventory,
            "controls": sorted(controls, key=lambda c: c.at), "ranges": ranges,
            "since": since, "until": until,
        }  # fmt: skip
        alerts, stats = replay_parallel(job, workers, tick)
        stats.seconds = time.perf_counter() - started
        return alerts, stats
    with TopicReader(bootstrap, topic, client_id="ssa-replay") as reader:
        ranges = reader.ranges(since, None if until is None else until + slack)
        partitions = reader.partitions
    pipelines = {p: Pipeline(ruleset, inventory, DictStore(), DictStore()) for p in partitions}
    replay = Replay.start(topic, pipelines, controls, since, until)
    tick = progress(sum(r.size for r in ranges.values())) if progress else None
    alerts = run(replay, read_ranges(bootstrap, topic, ranges), tick)
    return alerts, replay.stats
