"""Silences: operator-made mutes of the alerts that match a set of matchers.

A silence is created by a ``Control`` of kind ``silence`` (its id is the
control's id) and ended early by ``expire_silence``. Matchers work like
Alertmanager's: ``name=value``, ``name!=value``, ``name=~regex``,
``name!~regex``; a regex must match the whole value. The names are the
labels of an alert: ``rule``, ``asset``, ``unit``, ``severity`` and ``tags``.
``tags`` is a set: ``tags=x`` holds when one of the tags is ``x``,
``tags=~re`` when one matches, ``!=``/``!~`` when none does. A silence
matches an alert when every matcher holds.

A silenced alert is still recorded (its Alert events carry
``suppressed_by=("silence:<id>",)``) so that the record is complete; the
notifier skips it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.errors import EventError
from engine.events import Control, format_time, parse_time

LABELS: tuple[str, ...] = ("rule", "asset", "unit", "severity", "tags")
OPS: tuple[str, ...] = ("=", "!=", "=~", "!~")
MAX_VALUE = 200

_MATCHER = re.compile(r"^\s*([A-Za-z_]+)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


@dataclass(frozen=True, slots=True)
class AlertLabels:
    """What silences and inhibitions can match on an alert."""

    rule: str
    asset: str
    unit: str
    severity: str
    tags: tuple[str, ...] = ()

    def get(self, name: str) -> tuple[str, ...]:
        """The label's values (one for scalar labels, the tag set for ``tags``)."""
        if name == "tags":
            return self.tags
        return (str(getattr(self, name)),)


@dataclass(frozen=True, slots=True)
class Matcher:
    """One condition on one label of an alert."""

    name: str
    op: str
    value: str

    def __post_init__(self) -> None:
        if self.op in ("=~", "!~"):
            _compile(self.value)  # fail at creation, never at match time

    def matches(self, labels: AlertLabels) -> bool:
        values = labels.get(self.name)
        if self.op == "=":
            return self.value in values
        if self.op == "!=":
            return self.value not in values
        rx = _compile(self.value)
        hit = any(rx.fullmatch(v) for v in values)
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """Parse ``name=value`` (or ``!=``, ``=~``, ``!~``); ``ValueError`` with the reason."""
        m = _MATCHER.match(text)
        if not m:
            raise ValueError(f"not a matcher: {text!r} (use e.g. rule=site-down or unit=~city-.*)")
        name, op, value = m.groups()
        if name not in LABELS:
            raise ValueError(f"unknown label {name!r} (use one of {', '.join(LABELS)})")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if not value:
            raise ValueError(f"empty value for {name!r}")
        if len(value) > MAX_VALUE:
            raise ValueError(f"value for {name!r} longer than {MAX_VALUE} characters")
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as e:
                raise ValueError(f"invalid regular expression {value!r}: {e}") from None
        return cls(name, op, value)


_RX_CACHE: dict[str, re.Pattern[str]] = {}


def _compile(pattern: str) -> re.Pattern[str]:
    rx = _RX_CACHE.get(pattern)
    if rx is None:
        if len(_RX_CACHE) > 1024:
            _RX_CACHE.clear()
        rx = _RX_CACHE[pattern] = re.compile(pattern)
    return rx


@dataclass(frozen=True, slots=True)
class Silence:
    """A mute with a start, an end, an author and a reason."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    creator: str
    comment: str = ""
    created_at: datetime | None = None
    #: When an ``expire_silence`` ended it early.
    expired_at: datetime | None = None

    @property
    def end(self) -> datetime:
        """When the silence stops muting: its end, or when it was expired."""
        if self.expired_at is not None and self.expired_at < self.ends_at:
            return self.expired_at
        return self.ends_at

    def active(self, t: datetime) -> bool:
        return self.starts_at <= t < self.end

    def status(self, t: datetime) -> str:
        """``pending``, ``active`` or ``expired`` at time ``t``."""
        if t < self.starts_at and t < self.end:
            return "pending"
        return "active" if self.active(t) else "expired"

    def matches(self, labels: AlertLabels) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def to_dict(self) -> dict[str, Any]:
        """The plain-data form kept in the state store and shown by the API."""
        return {
            "id": self.id,
            "matchers": [str(m) for m in self.matchers],
            "starts_at": format_time(self.starts_at),
            "ends_at": format_time(self.ends_at),
            "creator": self.creator,
            "comment": self.comment,
            "created_at": format_time(self.created_at) if self.created_at else None,
            "expired_at": format_time(self.expired_at) if self.expired_at else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Silence:
        """Rebuild a silence stored by ``to_dict`` (trusted: validated on creation)."""
        return cls(
            id=d["id"],
            matchers=tuple(Matcher.parse(m) for m in d["matchers"]),
            starts_at=parse_time(d["starts_at"]),
            ends_at=parse_time(d["ends_at"]),
            creator=d["creator"],
            comment=d.get("comment", ""),
            created_at=parse_time(d["created_at"]) if d.get("created_at") else None,
            expired_at=parse_time(d["expired_at"]) if d.get("expired_at") else None,
        )


def parse_matchers(raw: Any, where: str = "data.matchers") -> tuple[Matcher, ...]:
    """Matchers from a JSON list of strings; ``EventError`` naming the bad item."""
    if not isinstance(raw, list) or not raw:
        raise EventError("control", where, "must be a non-empty list of matchers like 'rule=x'")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, str):
            raise EventError("control", f"{where}[{i}]", "must be a string like 'rule=site-down'")
        try:
            out.append(Matcher.parse(item))
        except ValueError as e:
            raise EventError("control", f"{where}[{i}]", str(e)) from None
    return tuple(out)


def silence_from_control(c: Control) -> Silence:
    """The silence a ``silence`` control creates; ``EventError`` if its data is invalid.

    ``data`` holds ``matchers`` (list of strings), ``ends_at`` and optionally
    ``starts_at`` (default: the control's time); ``ends_at`` must be later
    than both.
    """
    if c.kind != "silence":
        raise EventError("control", "kind", f"expected silence, got {c.kind}")
    unknown = sorted(set(c.data) - {"matchers", "starts_at", "ends_at"})
    if unknown:
        raise EventError("control", f"data.{unknown[0]}", "unknown field")
    matchers = parse_matchers(c.data.get("matchers"))
    starts_at = _time(c.data, "starts_at") if "starts_at" in c.data else c.at
    if "ends_at" not in c.data:
        raise EventError("control", "data.ends_at", "missing required field")
    ends_at = _time(c.data, "ends_at")
    if ends_at <= starts_at:
        raise EventError("control", "data.ends_at", "must be later than starts_at")
    if ends_at <= c.at:
        raise EventError("control", "data.ends_at", "must be in the future")
    return Silence(
        id=c.id,
        matchers=matchers,
        starts_at=starts_at,
        ends_at=ends_at,
        creator=c.actor,
        comment=c.comment,
        created_at=c.at,
    )


def _time(data: dict[str, Any], key: str) -> datetime:
    v = data[key]
    if not isinstance(v, str):
        raise EventError("control", f"data.{key}", "must be an ISO-8601 time string")
    try:
        return parse_time(v)
    except ValueError:
        raise EventError(
            "control", f"data.{key}", f"not an ISO-8601 time with a timezone: {v[:60]!r}"
        ) from None
