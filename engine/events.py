"""The event contract between ssa's processes.

Four kinds of event travel over Kafka as JSON objects: an ``Observation``
(one probe result), a ``Finding`` (a rule matched), an ``Alert`` (a state
change of one alert) and a ``Control`` (a silence, acknowledgement, reload…).
This module is the only place their shapes are defined.

Every event carries the schema version ``v``. Decoding validates every field
and raises ``EventError`` naming the field and what was wrong; it never
fills in a silent default for a required field and never lets a malformed
message through. Times are timezone-aware UTC ``datetime`` objects in Python
and ISO-8601 strings ending in ``Z`` on the wire.

Encoding is canonical (sorted keys, compact, fixed time format), so the same
event always encodes to the same bytes: the alert ledger hashes that form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, NamedTuple, TypeVar

import orjson

from engine.errors import EventError

SCHEMA_VERSION = 1
#: The largest encoded event accepted; bigger ones go to the dead-letter topic.
MAX_EVENT_BYTES = 1 << 20

SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
ALERT_STATES: tuple[str, ...] = ("firing", "acknowledged", "resolved")
FINDING_KINDS: tuple[str, ...] = ("match", "resolve")
CONTROL_KINDS: tuple[str, ...] = (
    "silence",  # data: matchers, starts_at, ends_at
    "expire_silence",  # target: silence id
    "ack",  # target: alert fingerprint
    "unack",  # target: alert fingerprint
    "fixed",  # target: alert fingerprint; a unit says it rectified the problem
    "reload",  # data: rule_version
    "approve_baseline",  # target: asset id; data: content baseline
    "reprobe",  # data: asset; collectors probe that asset now
)

Severity = Literal["info", "low", "medium", "high", "critical"]
AlertState = Literal["firing", "acknowledged", "resolved"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,199}$")
_name_match = _NAME.match
_MISSING = object()

E = TypeVar("E", bound="_Event")


# --------------------------------------------------------------------------
# time


#: Recently formatted UTC times: the same few recur (an alert record's times are
#: written on every change, the lifecycle's clock on every call). Bounded.
_FORMATTED: dict[datetime, str] = {}
_FORMATTED_MAX = 4096
#: ``YYYY-MM-DDTHH:MM`` of recent minutes: a new time formats only its seconds.
_MINUTES: dict[tuple[int, int, int, int, int], str] = {}
_TWO_DIGITS = tuple(f"{i:02d}" for i in range(60))


def format_time(t: datetime) -> str:
    """The one wire form of a time: UTC, microseconds, ``Z``."""
    if t.tzinfo is not UTC:
        return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    text = _FORMATTED.get(t)
    if text is None:
        if t.year >= 1000:  # the same text as strftime's, faster
            minute = (t.year, t.month, t.day, t.hour, t.minute)
            head = _MINUTES.get(minute)
            if head is None:
                head = t.isoformat(timespec="minutes")[:-6]  # without "+00:00"
                if len(_MINUTES) >= _FORMATTED_MAX:
                    _MINUTES.clear()
                _MINUTES[minute] = head
            text = f"{head}:{_TWO_DIGITS[t.second]}.{t.microsecond:06d}Z"
        else:  # strftime writes years before 1000 unpadded
            text = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if len(_FORMATTED) >= _FORMATTED_MAX:
            _FORMATTED.clear()
        _FORMATTED[t] = text
    return text


def parse_time(text: str) -> datetime:
    """Parse an ISO-8601 time that names its offset; ``ValueError`` otherwise."""
    t = datetime.fromisoformat(text)
    if t.tzinfo is None:
        raise ValueError("has no timezone")
    return t.astimezone(UTC)


# --------------------------------------------------------------------------
# field checks: each takes (kind, name, value) and returns the typed value


class _Check:
    """Validators for one field; raise ``EventError`` with the field's name."""

    @staticmethod
    def name(kind: str, key: str, v: Any) -> str:
        if v.__class__ is str and _name_match(v):  # the common case, first and fast
            return v
        if not isinstance(v, str):
            raise EventError(kind, key, f"must be a string, got {_typename(v)}")
        if not _NAME.match(v):
            raise EventError(kind, key, f"not a valid name: {_clip(v)!r}")
        return v

    @staticmethod
    def text(kind: str, key: str, v: Any) -> str:
        if not isinstance(v, str):
            raise EventError(kind, key, f"must be a string, got {_typename(v)}")
        return v

    @staticmethod
    def opt_text(kind: str, key: str, v: Any) -> str | None:
        return None if v is None else _Check.text(kind, key, v)

    @staticmethod
    def time(kind: str, key: str, v: Any) -> datetime:
        if not isinstance(v, str):
            raise EventError(kind, key, f"must be an ISO-8601 string, got {_typename(v)}")
        try:
            return parse_time(v)
        except ValueError:
            raise EventError(
                kind, key, f"not an ISO-8601 time with a timezone: {_clip(v)!r}"
            ) from None

    @staticmethod
    def opt_time(kind: str, key: str, v: Any) -> datetime | None:
        return None if v is None else _Check.time(kind, key, v)

    @staticmethod
    def boolean(kind: str, key: str, v: Any) -> bool:
        if not isinstance(v, bool):
            raise EventError(kind, key, f"must be true or false, got {_typename(v)}")
        return v

    @staticmethod
    def number(kind: str, key: str, v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise EventError(kind, key, f"must be a number, got {_typename(v)}")
        if v < 0:
            raise EventError(kind, key, f"must not be negative, got {v}")
        return float(v)

    @staticmethod
    def count(kind: str, key: str, v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise EventError(kind, key, f"must be an integer, got {_typename(v)}")
        if v < 0:
            raise EventError(kind, key, f"must not be negative, got {v}")
        return v

    @staticmethod
    def obj(kind: str, key: str, v: Any) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise EventError(kind, key, f"must be an object, got {_typename(v)}")
        return v

    @staticmethod
    def str_map(kind: str, key: str, v: Any) -> dict[str, str]:
        d = _Check.obj(kind, key, v)
        for k, item in d.items():
            if not isinstance(item, str):
                raise EventError(kind, f"{key}.{k}", f"must be a string, got {_typename(item)}")
        return d

    @staticmethod
    def str_tuple(kind: str, key: str, v: Any) -> tuple[str, ...]:
        if not isinstance(v, list):
            raise EventError(kind, key, f"must be a list, got {_typename(v)}")
        for i, item in enumerate(v):
            if not isinstance(item, str):
                raise EventError(kind, f"{key}[{i}]", f"must be a string, got {_typename(item)}")
        return tuple(v)

    @staticmethod
    def one_of(choices: tuple[str, ...]) -> Callable[[str, str, Any], str]:
        def check(kind: str, key: str, v: Any) -> str:
            if v not in choices:
                raise EventError(
                    kind, key, f"must be one of {', '.join(choices)}, got {_clip(repr(v))}"
                )
            return str(v)

        return check

    @staticmethod
    def sources(kind: str, key: str, v: Any) -> tuple[SourceOffset, ...]:
        if not isinstance(v, list):
            raise EventError(kind, key, f"must be a list, got {_typename(v)}")
        out = []
        for i, item in enumerate(v):
            where = f"{key}[{i}]"
            if not isinstance(item, dict) or set(item) != {"topic", "partition", "offset"}:
                raise EventError(kind, where, "must be an object with topic, partition, offset")
            out.append(
                SourceOffset(
                    _Check.name(kind, f"{where}.topic", item["topic"]),
                    _Check.count(kind, f"{where}.partition", item["partition"]),
                    _Check.count(kind, f"{where}.offset", item["offset"]),
                )
            )
        return tuple(out)

    @staticmethod
    def opt_hash(kind: str, key: str, v: Any) -> str | None:
        if v is None:
            return None
        if not isinstance(v, str) or not re.fullmatch(r"[0-9a-f]{64}", v):
            raise EventError(kind, key, "must be a 64-digit lowercase hex SHA-256")
        return v


def _typename(v: Any) -> str:
    return {
        type(None): "null",
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "object",
    }.get(type(v), type(v).__name__)


def _clip(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[:n] + "…"


def _dump_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return format_time(v)
    if isinstance(v, SourceOffset):  # before ``tuple``: it is one
        return {"topic": v.topic, "partition": v.partition, "offset": v.offset}
    if isinstance(v, tuple):
        return [_dump_value(x) for x in v]
    return v


# --------------------------------------------------------------------------
# the events


_ALLOWED: dict[type, frozenset[str]] = {}


def _allowed_keys(cls: type[_Event]) -> frozenset[str]:
    """The keys an event of ``cls`` may have (its fields and ``v``), computed once."""
    keys = _ALLOWED.get(cls)
    if keys is None:
        keys = _ALLOWED[cls] = frozenset(cls._checks) | {"v"}
    return keys


class SourceOffset(NamedTuple):
    """Where an input record sits in Kafka, so an alert can cite its source.

    A named tuple, not a frozen dataclass: one is made per observation, and a
    frozen dataclass's ``__init__`` (``object.__setattr__`` per field) was 7 %
    of the pure pipeline's time.
    """

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class _Event:
    """Shared encoding and decoding; subclasses declare ``_checks``."""

    KIND: ClassVar[str] = "event"
    # field name -> (validator, required). Optional fields default in the dataclass.
    _checks: ClassVar[dict[str, tuple[Callable[[str, str, Any], Any], bool]]] = {}
    #: A specialised decoder for the common, well-formed message (``None``: there is
    #: none): it returns the event, or ``None`` to let the general checks decide.
    _fast: ClassVar[Callable[[dict[str, Any]], Any] | None] = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form: times as strings, tuples as lists."""
        # fields not given to __init__ are derived (Observation.observed_ts): not sent
        return {f.name: _dump_value(getattr(self, f.name)) for f in fields(self) if f.init}

    def to_json(self) -> bytes:
        """Canonical JSON bytes: sorted keys, no whitespace."""
        return orjson.dumps(self.to_dict(), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_dict(cls: type[E], d: Mapping[str, Any]) -> E:
        """Validate a decoded JSON object and build the event, or raise ``EventError``."""
        fast = cls._fast
        if fast is not None and d.__class__ is dict:
            event = fast(d)
            if event is not None:
                return event  # type: ignore[no-any-return]
        kind = cls.KIND
        if d.__class__ is not dict and not isinstance(d, Mapping):
            raise EventError(kind, "", f"must be a JSON object, got {_typename(d)}")
        version = d.get("v")
        if version != SCHEMA_VERSION:
            if version is None:
                raise EventError(kind, "v", "missing schema version")
            raise EventError(
                kind, "v", f"unsupported schema version {_clip(repr(version))} "
                f"(this ssa reads {SCHEMA_VERSION})"
            )
        checks = cls._checks
        if not d.keys() <= _allowed_keys(cls):
            unknown = [k for k in d if k not in checks and k != "v"]
            raise EventError(kind, str(unknown[0]), "unknown field")
        values: dict[str, Any] = {}
        for key, (check, required) in checks.items():
            v = d.get(key, _MISSING)
            if v is not _MISSING:
                values[key] = check(kind, key, v)
            elif required:
                raise EventError(kind, key, "missing required field")
        return cls(**values)

    @classmethod
    def from_json(cls: type[E], raw: bytes | str | None) -> E:
        """Decode and validate one message; every failure is an ``EventError``."""
        if raw is None:
            raise EventError(cls.KIND, "", "message has no value (a tombstone)")
        if len(raw) > MAX_EVENT_BYTES:
            raise EventError(cls.KIND, "", f"message of {len(raw)} bytes exceeds {MAX_EVENT_BYTES}")
        try:
            d = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise EventError(cls.KIND, "", f"not valid JSON: {e}") from None
        fast = cls._fast
        if fast is not None and d.__class__ is dict:
            event = fast(d)
            if event is not None:
                return event  # type: ignore[no-any-return]
        return cls.from_dict(d)

    def evolve(self: E, **changes: Any) -> E:
        """A copy with some fields changed (events are immutable)."""
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Observation(_Event):
    """One probe result for one asset, as a collector saw it at ``observed_at``."""

    KIND: ClassVar[str] = "observation"

    id: str
    asset: str
    unit: str
    probe: str
    observed_at: datetime
    collector: str
    vantage: str
    ok: bool
    duration_s: float
    error: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    v: int = SCHEMA_VERSION
    #: ``observed_at`` as POSIX seconds (the rule engine's clock), worked out once when
    #: the event is built. Derived, so not part of the message, the repr or equality.
    observed_ts: float = field(default=0.0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _set_observed_ts(self, self.observed_at.timestamp())

    _checks: ClassVar[dict[str, tuple[Callable[[str, str, Any], Any], bool]]] = {
        "id": (_Check.name, True),
        "asset": (_Check.name, True),
        "unit": (_Check.name, True),
        "probe": (_Check.name, True),
        "observed_at": (_Check.time, True),
        "collector": (_Check.name, True),
        "vantage": (_Check.name, True),
        "ok": (_Check.boolean, True),
        "duration_s": (_Check.number, True),
        "error": (_Check.opt_text, False),
        "data": (_Check.obj, False),
    }


#: Names (asset, unit, probe, collector, vantage) already checked against ``_NAME``;
#: a few thousand distinct ones recur in every message. Bounded: cleared when full.
_KNOWN_NAMES: set[str] = set()
_KNOWN_NAMES_MAX = 1 << 16
_fromisoformat = datetime.fromisoformat
_new_object = object.__new__
# The slots' setters: building a frozen event without its generated __init__
# (which goes through object.__setattr__ by name for every field) halves its cost.
(_set_id, _set_asset, _set_unit, _set_probe, _set_observed_at, _set_collector, _set_vantage,
 _set_ok, _set_duration_s, _set_error, _set_data, _set_v, _set_observed_ts) = (
    vars(Observation)[f.name].__set__ for f in fields(Observation)
)


def _known_name(v: str) -> bool:
    """Whether ``v`` is a valid name (remembered when it is)."""
    if v.__class__ is not str or not _name_match(v):
        return False
    if len(_KNOWN_NAMES) >= _KNOWN_NAMES_MAX:
        _KNOWN_NAMES.clear()
    _KNOWN_NAMES.add(v)
    return True


def _fast_observation(d: dict[str, Any]) -> Observation | None:
    """The well-formed observation of ``d`` by direct checks, or ``None``.

    Accepts only what the general checks accept and builds the same event;
    whatever it is not sure of (a missing or bad field, a ``str`` subclass…)
    gets ``None``, and the general checks then give the exact error.
    """
    try:
        if d.get("v") != SCHEMA_VERSION:
            return None
        names = _KNOWN_NAMES
        oid, asset, unit, probe = d["id"], d["asset"], d["unit"], d["probe"]
        collector, vantage = d["collector"], d["vantage"]
        at, ok, dur = d["observed_at"], d["ok"], d["duration_s"]
        error, data = d.get("error", _MISSING), d.get("data", _MISSING)
        # v and the 9 required keys are there: any other key but error and data is unknown
        if len(d) != 10 + (error is not _MISSING) + (data is not _MISSING):
            return None
        if (
            oid.__class__ is not str
            # uuid-like ids need no regex: ASCII letters and digits always match it
            or not ((oid.isascii() and oid.isalnum() and len(oid) <= 200) or _name_match(oid))
            or (asset not in names and not _known_name(asset))
            or (unit not in names and not _known_name(unit))
            or (probe not in names and not _known_name(probe))
            or (collector not in names and not _known_name(collector))
            or (vantage not in names and not _known_name(vantage))
            or (ok is not True and ok is not False)
        ):
            return None
        t = _fromisoformat(at)
        if t.tzinfo is not UTC:  # another offset (or none): the general path converts
            return None
        if dur.__class__ is float:
            if dur < 0:
                return None
        elif dur.__class__ is int and dur >= 0:
            dur = float(dur)
        else:
            return None
        if error is _MISSING:
            error = None
        elif error is not None and error.__class__ is not str:
            return None
        if data is _MISSING:
            data = {}
        elif data.__class__ is not dict:
            return None
    except (KeyError, TypeError, ValueError):  # absent, unhashable, not a time: the general path
        return None
    obs: Observation = _new_object(Observation)
    _set_id(obs, oid)
    _set_asset(obs, asset)
    _set_unit(obs, unit)
    _set_probe(obs, probe)
    _set_observed_at(obs, t)
    _set_collector(obs, collector)
    _set_vantage(obs, vantage)
    _set_ok(obs, ok)
    _set_duration_s(obs, dur)
    _set_error(obs, error)
    _set_data(obs, data)
    _set_v(obs, SCHEMA_VERSION)
    _set_observed_ts(obs, t.timestamp())
    return obs


Observation._fast = _fast_observation


@dataclass(frozen=True, slots=True)
class Finding(_Event):
    """A rule matched (``kind="match"``) or its resolve condition held (``"resolve"``).

    ``explanation`` shows the condition with its resolved values, e.g.
    ``data.status (503) == 200``; ``evidence`` lists the observation ids.
    """

    KIND: ClassVar[str] = "finding"

    id: str
    rule: str
    rule_version: str
    asset: str
    unit: str
    severity: str
    at: datetime
    title: str
    kind: str = "match"
    explanation: str = ""
    evidence: tuple[str, ...] = ()
    group: dict[str, str] = field(default_factory=dict)
    risk_weight: float = 0.0
    tags: tuple[str, ...] = ()
    sources: tuple[SourceOffset, ...] = ()
    v: int = SCHEMA_VERSION

    _checks: ClassVar[dict[str, tuple[Callable[[str, str, Any], Any], bool]]] = {
        "id": (_Check.name, True),
        "rule": (_Check.name, True),
        "rule_version": (_Check.text, True),
        "asset": (_Check.name, True),
        "unit": (_Check.name, True),
        "severity": (_Check.one_of(SEVERITIES), True),
        "at": (_Check.time, True),
        "title": (_Check.text, True),
        "kind": (_Check.one_of(FINDING_KINDS), False),
        "explanation": (_Check.text, False),
        "evidence": (_Check.str_tuple, False),
        "group": (_Check.str_map, False),
        "risk_weight": (_Check.number, False),
        "tags": (_Check.str_tuple, False),
        "sources": (_Check.sources, False),
    }


@dataclass(frozen=True, slots=True)
class Alert(_Event):
    """One state change of one alert, identified by ``fingerprint``.

    ``seq`` counts the changes of that fingerprint from 1. ``prev_hash`` and
    ``hash`` chain the alert records of a partition (see ``engine.audit``);
    ``hash`` covers the canonical encoding of every other field.
    """

    KIND: ClassVar[str] = "alert"

    fingerprint: str
    seq: int
    state: str
    rule: str
    rule_version: str
    asset: str
    unit: str
    severity: str
    title: str
    at: datetime
    started_at: datetime
    explanation: str = ""
    evidence: tuple[str, ...] = ()
    group: dict[str, str] = field(default_factory=dict)
    risk_weight: float = 0.0
    tags: tuple[str, ...] = ()
    suppressed: bool = False
    suppressed_by: tuple[str, ...] = ()
    actor: str | None = None
    sources: tuple[SourceOffset, ...] = ()
    prev_hash: str | None = None
    hash: str | None = None
    v: int = SCHEMA_VERSION

    _checks: ClassVar[dict[str, tuple[Callable[[str, str, Any], Any], bool]]] = {
        "fingerprint": (_Check.name, True),
        "seq": (_Check.count, True),
        "state": (_Check.one_of(ALERT_STATES), True),
        "rule": (_Check.name, True),
        "rule_version": (_Check.text, True),
        "asset": (_Check.name, True),
        "unit": (_Check.name, True),
        "severity": (_Check.one_of(SEVERITIES), True),
        "title": (_Check.text, True),
        "at": (_Check.time, True),
        "started_at": (_Check.time, True),
        "explanation": (_Check.text, False),
        "evidence": (_Check.str_tuple, False),
        "group": (_Check.str_map, False),
        "risk_weight": (_Check.number, False),
        "tags": (_Check.str_tuple, False),
        "suppressed": (_Check.boolean, False),
        "suppressed_by": (_Check.str_tuple, False),
        "actor": (_Check.opt_text, False),
        "sources": (_Check.sources, False),
        "prev_hash": (_Check.opt_hash, False),
        "hash": (_Check.opt_hash, False),
    }


@dataclass(frozen=True, slots=True)
class Control(_Event):
    """An operator's action, recorded so that it is auditable and replayable."""

    KIND: ClassVar[str] = "control"

    id: str
    kind: str
    at: datetime
    actor: str
    target: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    comment: str = ""
    v: int = SCHEMA_VERSION

    _checks: ClassVar[dict[str, tuple[Callable[[str, str, Any], Any], bool]]] = {
        "id": (_Check.name, True),
        "kind": (_Check.one_of(CONTROL_KINDS), True),
        "at": (_Check.time, True),
        "actor": (_Check.text, True),
        "target": (_Check.opt_text, False),
        "data": (_Check.obj, False),
        "comment": (_Check.text, False),
    }


EVENT_TYPES: dict[str, type[_Event]] = {
    cls.KIND: cls for cls in (Observation, Finding, Alert, Control)
}

Event = Observation | Finding | Alert | Control
