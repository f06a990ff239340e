"""Dead letters: rejected input kept with the reason, so nothing is lost.

A message that cannot be decoded or validated never stops a stream: it is
wrapped in a dead-letter record (the original bytes, where they came from,
and why they were refused) and sent to ``ssa.deadletter``. ``reason_kind``
maps an error to one of a few fixed categories, the only thing that may
become a metric label (the reason text is free text and may quote input).
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import orjson

from engine.errors import EventError
from engine.events import format_time

#: The bounded set of reason categories (metric label values).
REASON_KINDS: tuple[str, ...] = (
    "too_large",
    "no_value",
    "invalid_json",
    "not_an_object",
    "schema_version",
    "missing_field",
    "unknown_field",
    "invalid_field",
    "processing_error",
)


def reason_kind(error: Exception) -> str:
    """The category of a rejection, for metrics and quick filtering."""
    if not isinstance(error, EventError):
        return "processing_error"
    r = error.reason
    if "exceeds" in r:
        return "too_large"
    if r.startswith("message has no value"):
        return "no_value"
    if r.startswith("not valid JSON"):
        return "invalid_json"
    if r.startswith("must be a JSON object"):
        return "not_an_object"
    if error.field == "v":
        return "schema_version"
    if r == "missing required field":
        return "missing_field"
    if r == "unknown field":
        return "unknown_field"
    return "invalid_field"


def dead_letter(
    raw: bytes | None,
    error: Exception,
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    at: datetime,
    component: str,
) -> bytes:
    """The JSON record sent to the dead-letter topic for one rejected message."""
    record: dict[str, Any] = {
        "v": 1,
        "reason": str(error),
        "reason_kind": reason_kind(error),
        "field": getattr(error, "field", ""),
        "component": component,
        "source": {"topic": topic, "partition": partition, "offset": offset},
        "key": key.decode("utf-8", "replace") if key is not None else None,
        "at": format_time(at),
        # The original bytes, whatever they are, so the message can be repaired and resent.
        "value_b64": base64.b64encode(raw).decode("ascii") if raw is not None else None,
    }
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


def dead_letter_of(message: Any, error: Exception, *, at: datetime, component: str) -> bytes:
    """``dead_letter`` for a consumed Kafka message: anything with ``topic``,
    ``partition``, ``offset``, ``key`` and ``value`` (aiokafka's and Faust's records)."""
    return dead_letter(
        message.value,
        error,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        at=at,
        component=component,
    )
