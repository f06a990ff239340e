"""Replay from Kafka: read a period of ``ssa.observations`` and ``ssa.control``, run it.

Controls and observations are fetched by record timestamp over
``[since, until + slack]`` in large batches and then kept by event time. One
``fastread.PeriodReader`` (aiokafka, a thread of its own, no consumer group,
nothing committed) finds both topics' ranges and reads the controls, then the
observations, while the caller sets up and evaluates. One ``Pipeline`` per
partition of the observations topic, each with fresh ``DictStore`` state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from engine.audit.fastread import PeriodReader, Want
from engine.audit.history import DEFAULT_SLACK, keep_period, read_period
from engine.audit.replay import Replay, ReplayStats, run
from engine.audit.replay_parallel import replay_parallel
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
    started = time.perf_counter()
    topic, control = settings.topic("observations"), settings.topic("control")
    stop = None if until is None else until + slack
    wants = [Want(control, since, stop), Want(topic, since, stop, read=workers <= 1)]
    with PeriodReader(bootstrap, wants, client_id="ssa-replay") as reader:
        located, _ = keep_period(
            reader.read(control), control, Control.from_json, lambda c: c.at, since, until
        )
        located.sort(key=lambda x: (x.source.partition, x.source.offset))
        controls = [x.item for x in located]
        ranges = reader.ranges(topic)
        tick = progress(sum(r.size for r in ranges.values())) if progress else None
        if workers <= 1:
            pipelines = {
                p: Pipeline(ruleset, inventory, DictStore(), DictStore())
                for p in reader.partitions(topic)
            }
            replay = Replay.start(topic, pipelines, controls, since, until)
            alerts = run(replay, reader.read(topic), tick)
            return alerts, replay.stats
    # the reader's thread has ended: nothing runs but this thread when the workers fork
    job = {
        "bootstrap": bootstrap, "topic": topic, "ruleset": ruleset, "inventory": inventory,
        "controls": sorted(controls, key=lambda c: c.at), "ranges": ranges,
        "since": since, "until": until,
    }  # fmt: skip
    alerts, stats = replay_parallel(job, workers, tick)
    stats.seconds = time.perf_counter() - started
    return alerts, stats
