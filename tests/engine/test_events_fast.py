"""The observation decoder's fast path agrees with the general checks on every input.

``Observation.from_dict``/``from_json`` first try a specialised decoder for
the common, well-formed message; anything it is unsure of goes to the
general checks. These tests compare both on the shipped rejection cases and
on generated messages (valid ones and every kind of damage): the same event,
or the same error message.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import EventError
from engine.events import Observation, _fast_observation, format_time
from tests.engine.test_events import OBS, OBSERVATION, REJECTIONS


def _general(d: Any) -> Observation | str:
    """What the general checks make of ``d``: the event, or the error's message."""
    saved = Observation._fast
    Observation._fast = None
    try:
        return Observation.from_dict(d)
    except EventError as e:
        return str(e)
    finally:
        Observation._fast = saved


def _decoded(d: Any) -> Observation | str:
    try:
        return Observation.from_dict(d)
    except EventError as e:
        return str(e)


def _same(a: Observation | str, b: Observation | str) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return a == b and a.to_json() == b.to_json() and a.observed_at.tzinfo is b.observed_at.tzinfo


def test_the_common_message_takes_the_fast_path() -> None:
    obs = _fast_observation(orjson.loads(OBSERVATION.to_json()))
    assert obs is not None
    assert obs == OBSERVATION
    assert obs.to_json() == OBSERVATION.to_json()
    minimal = {k: v for k, v in OBS.items() if k not in ("error", "data")}
    fast = _fast_observation(minimal)
    assert fast is not None and fast.error is None and fast.data == {}
    assert _same(fast, _general(minimal))


@pytest.mark.parametrize(
    ("cls", "payload", "message"),
    [r for r in REJECTIONS if r[0] is Observation],
    ids=lambda x: None,
)
def test_every_rejection_is_left_to_the_general_checks(
    cls: Any, payload: Any, message: str
) -> None:
    if isinstance(payload, dict):
        assert _fast_observation(payload) is None
    assert _decoded(payload) == message


NAMES = st.sampled_from(["web-01", "unit-1", "http", "c1", "local", "o1", "a.b:c/d@e"])
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(-2.0, 2.0),
    st.just(10**400),
    st.text(max_size=8),
    st.sampled_from(["bad name!", "-x", "x" * 201, "x\n", "", "é"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(
        [
            "2026-11-29T08:00:00.123456Z",
            "2026-11-29T08:00:00Z",
            "2026-11-29T08:00:00+00:00",
            "2026-11-29T16:00:00.5+08:00",
            "2026-11-29T08:00:00",
            "2026-11-29",
            "yesterday",
        ]
    ),
)
KEYS = [*OBS, "colour", 7]


@settings(max_examples=600, deadline=None)
@given(
    base=st.fixed_dictionaries(
        {
            "id": NAMES,
            "asset": NAMES,
            "unit": NAMES,
            "probe": NAMES,
            "collector": NAMES,
            "vantage": NAMES,
            "observed_at": st.just("2026-11-29T08:00:00.123456Z"),
            "ok": st.booleans(),
            "duration_s": st.one_of(st.floats(0, 10), st.integers(0, 10)),
            "v": st.just(1),
        },
        optional={"error": st.one_of(st.none(), st.text(max_size=5)), "data": st.just({"a": 1})},
    ),
    damage=st.lists(st.tuples(st.sampled_from(KEYS), st.one_of(ODD, st.just(None))), max_size=3),
    drop=st.lists(st.sampled_from(KEYS), max_size=2),
)
def test_fast_and_general_paths_agree(
    base: dict[Any, Any], damage: list[tuple[Any, Any]], drop: list[Any]
) -> None:
    d = dict(base)
    for k, v in damage:
        d[k] = v
    for k in drop:
        d.pop(k, None)
    try:
        general = _general(d)
    except OverflowError:  # a huge integer duration: both paths let float() raise it
        with pytest.raises(OverflowError):
            Observation.from_dict(d)
        return
    assert _same(_decoded(d), general)
    try:
        raw: bytes | None = orjson.dumps(d)
    except TypeError:  # non-string keys, integers past 64 bits: not a JSON message
        raw = None
    if raw is not None:
        try:
            from_bytes: Observation | str = Observation.from_json(raw)
        except EventError as e:
            from_bytes = str(e)
        assert _same(from_bytes, general)


@settings(max_examples=400, deadline=None)
@given(
    t=st.datetimes(timezones=st.just(UTC)),
    offset_min=st.one_of(st.none(), st.integers(-14 * 60, 14 * 60)),
)
def test_format_time_fast_path_writes_the_same_text(t: datetime, offset_min: int | None) -> None:
    if offset_min is not None:
        try:
            t = t.astimezone(timezone(timedelta(minutes=offset_min)))
        except OverflowError:  # past year 9999 or before year 1 in that zone
            return
    assert format_time(t) == t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
