"""Dead-letter records keep the original bytes and a bounded reason kind."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson
import pytest

from engine.deadletter import REASON_KINDS, dead_letter, reason_kind
from engine.errors import EventError
from engine.events import Observation

T = datetime(2026, 11, 29, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"\xff\xfe", "invalid_json"),
        (b"[1]", "not_an_object"),
        (b'{"v": 9}', "schema_version"),
        (b'{"v": 1}', "missing_field"),
        (b"x" * (2 << 20), "too_large"),
        (None, "no_value"),
    ],
)
def test_reason_kinds(raw: bytes | None, kind: str) -> None:
    with pytest.raises(EventError) as info:
        Observation.from_json(raw)
    assert reason_kind(info.value) == kind
    assert kind in REASON_KINDS


def test_unknown_and_invalid_fields() -> None:
    assert reason_kind(EventError("observation", "x", "unknown field")) == "unknown_field"
    assert reason_kind(EventError("observation", "ok", "must be true or false")) == "invalid_field"
    assert reason_kind(RuntimeError("boom")) == "processing_error"


def test_record_keeps_original_bytes_and_source() -> None:
    raw = b"\x00garbage\xff"
    err = EventError("observation", "", "not valid JSON: unexpected character")
    rec = orjson.loads(
        dead_letter(
            raw,
            err,
            topic="ssa.observations",
            partition=2,
            offset=7,
            key=b"portal",
            at=T,
            component="engine",
        )
    )
    assert base64.b64decode(rec["value_b64"]) == raw
    assert rec["source"] == {"topic": "ssa.observations", "partition": 2, "offset": 7}
    assert rec["reason"] == "observation: not valid JSON: unexpected character"
    assert rec["reason_kind"] == "invalid_json"
    assert rec["key"] == "portal"
    assert rec["at"] == "2026-11-29T00:00:00.000000Z"
