"""The event contract: round trips and one test per rejection reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from engine.errors import EventError
from engine.events import (
    EVENT_TYPES,
    MAX_EVENT_BYTES,
    Alert,
    Control,
    Finding,
    Observation,
    SourceOffset,
    format_time,
)

T0 = datetime(2026, 11, 29, 8, 0, 0, 123456, tzinfo=UTC)

OBSERVATION = Observation(
    id="obs-1",
    asset="portal",
    unit="city-gov-office",
    probe="http",
    observed_at=T0,
    collector="c1",
    vantage="local",
    ok=False,
    duration_s=0.25,
    error="status 503",
    data={"status": 503, "latency_ms": 250.5, "phases_ms": {"dns": 1.0}, "title": "市政府"},
)
FINDING = Finding(
    id="f-1",
    rule="site-down",
    rule_version="abc",
    asset="portal",
    unit="city-gov-office",
    severity="high",
    at=T0,
    title="portal is down",
    explanation="data.status (503) == 200",
    evidence=("obs-1", "obs-2"),
    group={"probe": "http"},
    risk_weight=8.0,
    tags=("T1498",),
    sources=(SourceOffset("ssa.observations", 2, 41),),
)
ALERT = Alert(
    fingerprint="fp1",
    seq=3,
    state="acknowledged",
    rule="site-down",
    rule_version="abc",
    asset="portal",
    unit="city-gov-office",
    severity="high",
    title="portal is down",
    at=T0 + timedelta(minutes=5),
    started_at=T0,
    evidence=("obs-1",),
    actor="值班员",
    suppressed=True,
    suppressed_by=("silence:s1",),
    prev_hash="0" * 64,
    hash="a" * 64,
)
CONTROL = Control(
    id="c-1",
    kind="silence",
    at=T0,
    actor="duty",
    data={"matchers": [{"name": "unit", "value": "x"}], "ends_at": format_time(T0)},
    comment="机房割接",
)

EVENTS = [OBSERVATION, FINDING, ALERT, CONTROL]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.KIND)
def test_round_trip_through_json(event: Any) -> None:
    raw = event.to_json()
    back = type(event).from_json(raw)
    assert back == event
    assert back.to_json() == raw


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.KIND)
def test_encoding_is_canonical(event: Any) -> None:
    d = orjson.loads(event.to_json())
    assert list(d) == sorted(d)
    assert d["v"] == 1
    # Re-encoding the same content in another key order gives the same event bytes.
    shuffled = dict(reversed(list(d.items())))
    assert type(event).from_dict(shuffled).to_json() == event.to_json()


def test_times_are_normalised_to_utc() -> None:
    d = OBSERVATION.to_dict()
    d["observed_at"] = "2026-11-29T16:00:00.123456+08:00"
    obs = Observation.from_dict(d)
    assert obs.observed_at == T0
    assert obs.observed_at.tzinfo is UTC
    assert obs.to_dict()["observed_at"] == "2026-11-29T08:00:00.123456Z"


def test_format_time_converts_other_zones() -> None:
    t = datetime(2026, 1, 1, 8, tzinfo=timezone(timedelta(hours=8)))
    assert format_time(t) == "2026-01-01T00:00:00.000000Z"


def test_registry_lists_every_kind() -> None:
    assert set(EVENT_TYPES) == {"observation", "finding", "alert", "control"}


def _without(d: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != key}


def _with(d: dict[str, Any], **kv: Any) -> dict[str, Any]:
    return {**d, **kv}


OBS = OBSERVATION.to_dict()
FIN = FINDING.to_dict()
ALR = ALERT.to_dict()
CTL = CONTROL.to_dict()

REJECTIONS: list[tuple[type[Any], Any, str]] = [
    # message-level
    (Observation, [1, 2], "observation: must be a JSON object, got list"),
    (Observation, _without(OBS, "v"), "observation.v: missing schema version"),
    (
        Observation,
        _with(OBS, v=2),
        "observation.v: unsupported schema version 2 (this ssa reads 1)",
    ),
    (Observation, _with(OBS, colour="red"), "observation.colour: unknown field"),
    # required fields
    (Observation, _without(OBS, "asset"), "observation.asset: missing required field"),
    (Finding, _without(FIN, "rule"), "finding.rule: missing required field"),
    (Alert, _without(ALR, "fingerprint"), "alert.fingerprint: missing required field"),
    (Control, _without(CTL, "actor"), "control.actor: missing required field"),
    # types
    (Observation, _with(OBS, asset=7), "observation.asset: must be a string, got integer"),
    (
        Observation,
        _with(OBS, asset="bad name!"),
        "observation.asset: not a valid name: 'bad name!'",
    ),
    (Observation, _with(OBS, ok="yes"), "observation.ok: must be true or false, got string"),
    (
        Observation,
        _with(OBS, duration_s="1"),
        "observation.duration_s: must be a number, got string",
    ),
    (
        Observation,
        _with(OBS, duration_s=True),
        "observation.duration_s: must be a number, got boolean",
    ),
    (
        Observation,
        _with(OBS, duration_s=-1),
        "observation.duration_s: must not be negative, got -1",
    ),
    (Observation, _with(OBS, data=[1]), "observation.data: must be an object, got list"),
    (Observation, _with(OBS, error=5), "observation.error: must be a string, got integer"),
    # times
    (
        Observation,
        _with(OBS, observed_at="yesterday"),
        "observation.observed_at: not an ISO-8601 time with a timezone: 'yesterday'",
    ),
    (
        Observation,
        _with(OBS, observed_at="2026-11-29T08:00:00"),
        "observation.observed_at: not an ISO-8601 time with a timezone: '2026-11-29T08:00:00'",
    ),
    (
        Observation,
        _with(OBS, observed_at=1700000000),
        "observation.observed_at: must be an ISO-8601 string, got integer",
    ),
    # enumerations and structured fields
    (
        Finding,
        _with(FIN, severity="urgent"),
        "finding.severity: must be one of info, low, medium, high, critical, got 'urgent'",
    ),
    (Finding, _with(FIN, kind="maybe"), "finding.kind: must be one of match, resolve, got 'maybe'"),
    (Finding, _with(FIN, evidence="obs-1"), "finding.evidence: must be a list, got string"),
    (Finding, _with(FIN, evidence=["a", 2]), "finding.evidence[1]: must be a string, got integer"),
    (Finding, _with(FIN, group={"probe": 1}), "finding.group.probe: must be a string, got integer"),
    (
        Finding,
        _with(FIN, sources=[{"topic": "t", "partition": 0}]),
        "finding.sources[0]: must be an object with topic, partition, offset",
    ),
    (
        Finding,
        _with(FIN, sources=[{"topic": "t", "partition": -1, "offset": 0}]),
        "finding.sources[0].partition: must not be negative, got -1",
    ),
    (
        Alert,
        _with(ALR, state="open"),
        "alert.state: must be one of firing, acknowledged, resolved, got 'open'",
    ),
    (Alert, _with(ALR, seq=1.5), "alert.seq: must be an integer, got number"),
    (Alert, _with(ALR, hash="xyz"), "alert.hash: must be a 64-digit lowercase hex SHA-256"),
    (
        Control,
        _with(CTL, kind="reboot"),
        "control.kind: must be one of silence, expire_silence, ack, unack, fixed, reload, "
        "approve_baseline, reprobe, got 'reboot'",
    ),
]


@pytest.mark.parametrize(("cls", "payload", "message"), REJECTIONS, ids=lambda x: None)
def test_rejects_with_precise_reason(cls: Any, payload: Any, message: str) -> None:
    with pytest.raises(EventError) as info:
        cls.from_dict(payload)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x00\xff garbage", "observation: not valid JSON"),
        (b"", "observation: not valid JSON"),
        (b'"just a string"', "observation: must be a JSON object, got string"),
        (b"x" * (MAX_EVENT_BYTES + 1), f"exceeds {MAX_EVENT_BYTES}"),
        (None, "observation: message has no value (a tombstone)"),
    ],
)
def test_rejects_undecodable_bytes(raw: bytes | None, message: str) -> None:
    with pytest.raises(EventError) as info:
        Observation.from_json(raw)
    assert message in str(info.value)


def test_error_carries_kind_field_and_reason() -> None:
    with pytest.raises(EventError) as info:
        Observation.from_dict(_with(OBS, ok=1))
    e = info.value
    assert (e.kind, e.field, e.reason) == (
        "observation",
        "ok",
        "must be true or false, got integer",
    )


def test_optional_fields_default_and_are_encoded() -> None:
    d = _without(_without(OBS, "error"), "data")
    obs = Observation.from_dict(d)
    assert obs.error is None
    assert obs.data == {}
    assert orjson.loads(obs.to_json())["data"] == {}


def test_events_are_immutable() -> None:
    with pytest.raises(AttributeError):
        OBSERVATION.ok = True  # type: ignore[misc]
    changed = OBSERVATION.evolve(ok=True)
    assert changed.ok and not OBSERVATION.ok
