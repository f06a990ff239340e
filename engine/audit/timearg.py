"""Times on the command line: ISO-8601 with an offset, or a duration ago (``24h``)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from engine.durations import parse_duration
from engine.events import parse_time


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """``2026-11-29T08:00:00Z`` / ``…+08:00`` or ``24h`` (= 24 hours before now), in UTC."""
    try:
        return parse_time(text)
    except ValueError:
        pass
    try:
        ago = parse_duration(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither an ISO-8601 time with an offset "
            "(2026-11-29T08:00:00+08:00) nor a duration ago (24h)"
        ) from None
    return (now or datetime.now(UTC)) - timedelta(seconds=ago)


def parse_slack(text: str) -> timedelta:
    """A duration option such as ``--slack 1h``."""
    try:
        return timedelta(seconds=parse_duration(text))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
