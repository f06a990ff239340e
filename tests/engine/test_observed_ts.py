"""Observation.observed_ts: observed_at as POSIX seconds, derived once, never sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.events import Observation

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _obs(at: datetime) -> Observation:
    return Observation(id="o1", asset="a1", unit="u1", probe="http", observed_at=at,
                       collector="c1", vantage="v1", ok=True, duration_s=0.5,
                       data={"status": 200})


@settings(max_examples=200, deadline=None)
@given(us=st.integers(-10**15, 10**15))
def test_every_way_of_building_one_gives_the_timestamp(us: int) -> None:
    at = T0 + timedelta(microseconds=us)
    built = _obs(at)
    assert built.observed_ts == at.timestamp()
    decoded = Observation.from_json(built.to_json())  # the specialised decoder
    assert decoded.observed_ts == at.timestamp()
    d = orjson.loads(built.to_json())
    d["observed_at"] = at.astimezone(timezone(timedelta(hours=8))).isoformat()
    general = Observation.from_dict(d)  # another offset: the general checks
    assert general.observed_ts == at.timestamp() and general == built
    later = built.evolve(observed_at=at + timedelta(seconds=1.5))
    assert later.observed_ts == (at + timedelta(seconds=1.5)).timestamp()


def test_it_is_not_part_of_the_message_repr_or_equality() -> None:
    o = _obs(T0)
    assert "observed_ts" not in o.to_dict() and b"observed_ts" not in o.to_json()
    assert "observed_ts" not in repr(o)
    assert o.to_json() == (
        b'{"asset":"a1","collector":"c1","data":{"status":200},"duration_s":0.5,"error":null,'
        b'"id":"o1","observed_at":"2026-03-01T00:00:00.000000Z","ok":true,"probe":"http",'
        b'"unit":"u1","v":1,"vantage":"v1"}'
    )
    assert o == Observation.from_json(o.to_json()) == _obs(T0)
