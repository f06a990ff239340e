"""Recorded history of a period, read back from Kafka for exports and reports.

Each topic is read by record timestamp over ``[since, until + slack]`` and
then filtered by the event's own time: a record is written a little after
the event it records, so the end of the range needs that slack while the
start does not (nothing is written before it happens).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import orjson

from engine.audit.fastread import RecordLike
from engine.audit.topicread import PartitionRange, TopicReader
from engine.errors import EventError
from engine.events import Alert, Control, Observation, SourceOffset, parse_time
from engine.settings import Settings

T = TypeVar("T")

DEFAULT_SLACK = timedelta(hours=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Located(Generic[T]):
    """A decoded record and where it was read from."""

    item: T
    source: SourceOffset


@dataclass
class History:
    """Alerts, control actions and notifications of a period; ``skipped`` counts bad records."""

    alerts: list[Located[Alert]] = field(default_factory=list)
    controls: list[Located[Control]] = field(default_factory=list)
    notifications: list[Located[dict[str, Any]]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


def notification_time(n: dict[str, Any]) -> datetime | None:
    """The time of a delivery-log record (``at``, else ``time``), if it has one."""
    for key in ("at", "time"):
        v = n.get(key)
        if isinstance(v, str):
            try:
                return parse_time(v)
            except ValueError:
                return None
    return None


def _decode_json(raw: bytes) -> dict[str, Any]:
    try:
        d = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise EventError("notification", "", f"not valid JSON: {e}") from None
    if not isinstance(d, dict):
        raise EventError("notification", "", "must be a JSON object")
    return d


def read_period(
    bootstrap: str,
    topic: str,
    decode: Callable[[bytes], T],
    time_of: Callable[[T], datetime | None],
    since: datetime | None,
    until: datetime | None,
    slack: timedelta = DEFAULT_SLACK,
) -> tuple[list[Located[T]], int]:
    """Decoded records of ``topic`` whose own time is in ``[since, until]``; and the bad count."""
    with TopicReader(bootstrap, topic) as reader:
        ranges = reader.ranges(since, None if until is None else until + slack)
        return keep_period(reader.read(ranges), topic, decode, time_of, since, until)


def keep_period(
    batches: Iterable[Sequence[RecordLike]],
    topic: str,
    decode: Callable[[bytes], T],
    time_of: Callable[[T], datetime | None],
    since: datetime | None,
    until: datetime | None,
) -> tuple[list[Located[T]], int]:
    """The decoded records whose own time is in ``[since, until]``; and the bad count."""
    out: list[Located[T]] = []
    bad = 0
    for batch in batches:
        for rec in batch:
            item = _try(decode, rec)
            if item is None:
                bad += 1
                continue
            t = time_of(item)
            if t is None or (since is not None and t < since):
                continue
            if until is not None and t > until:
                continue
            out.append(Located(item, SourceOffset(topic, rec.partition, rec.offset)))
    return out, bad


def _try(decode: Callable[[bytes], T], rec: RecordLike) -> T | None:
    if rec.value is None:
        return None
    try:
        return decode(rec.value)
    except EventError:
        return None


def read_history(
    settings: Settings,
    bootstrap: str,
    since: datetime | None,
    until: datetime | None,
    slack: timedelta = DEFAULT_SLACK,
) -> History:
    """Alerts, controls and notifications of ``[since, until]``, each in (time, source) order."""
    h = History()
    h.alerts, h.skipped["alerts"] = read_period(
        bootstrap, settings.topic("alerts"), Alert.from_json, lambda a: a.at, since, until, slack
    )
    h.controls, h.skipped["control"] = read_period(
        bootstrap, settings.topic("control"), Control.from_json, lambda c: c.at, since, until, slack
    )
    h.notifications, h.skipped["notifications"] = read_period(
        bootstrap,
        settings.topic("notifications"),
        _decode_json,
        notification_time,
        since,
        until,
        slack,
    )
    h.alerts.sort(key=lambda x: (x.item.at, x.source.partition, x.source.offset))
    h.controls.sort(key=lambda x: (x.item.at, x.source.partition, x.source.offset))
    h.notifications.sort(
        key=lambda x: (notification_time(x.item) or _EPOCH, x.source.partition, x.source.offset)
    )
    return h


def read_sources(
    bootstrap: str, sources: Iterable[SourceOffset], gap: int = 1000
) -> dict[SourceOffset, dict[str, Any]]:
    """The recorded objects at the given offsets (an alert's evidence), by offset.

    Offsets of a partition closer than ``gap`` are fetched as one range.
    Records that are gone (retention) or not JSON objects are left out.
    """
    wanted: dict[str, dict[int, list[int]]] = {}
    for s in set(sources):
        wanted.setdefault(s.topic, {}).setdefault(s.partition, []).append(s.offset)
    out: dict[SourceOffset, dict[str, Any]] = {}
    for topic, parts in sorted(wanted.items()):
        with TopicReader(bootstrap, topic) as reader:
            bounds = reader.ranges()
            for p, offsets in sorted(parts.items()):
                b = bounds.get(p)
                if b is None:
                    continue
                keep = sorted(o for o in offsets if b.log_start <= o < b.log_end)
                for lo, hi in _spans(keep, gap):
                    rng = PartitionRange(p, lo, hi + 1, b.log_start, b.log_end)
                    for batch in reader.read({p: rng}):
                        for rec in batch:
                            if rec.offset in offsets and rec.value is not None:
                                try:
                                    out[SourceOffset(topic, p, rec.offset)] = _decode_json(
                                        rec.value
                                    )
                                except EventError:
                                    continue
    return out


def _spans(offsets: list[int], gap: int) -> Iterator[tuple[int, int]]:
    """Sorted offsets grouped into [first, last] spans with gaps under ``gap``."""
    if not offsets:
        return
    lo = hi = offsets[0]
    for o in offsets[1:]:
        if o - hi > gap:
            yield lo, hi
            lo = o
        hi = o
    yield lo, hi


def read_observations(
    bootstrap: str,
    topic: str,
    since: datetime | None,
    until: datetime | None,
    slack: timedelta = DEFAULT_SLACK,
) -> Iterator[Observation]:
    """Observations of ``[since, until]`` (by ``observed_at``), partition by partition."""
    with TopicReader(bootstrap, topic) as reader:
        ranges = reader.ranges(since, None if until is None else until + slack)
        for batch in reader.read(ranges):
            for rec in batch:
                obs = _try(Observation.from_json, rec)
                if obs is None:
                    continue
                t = obs.observed_at
                if (since is None or t >= since) and (until is None or t <= until):
                    yield obs
