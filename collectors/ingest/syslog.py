"""Parsing syslog messages: RFC 5424, and the older BSD form of RFC 3164.

``parse(line)`` returns a ``SyslogMessage`` or raises ``ValueError`` with the
reason. RFC 5424 structured data (``[id key="value" ...]``) becomes a flat
dict of params (``key`` → value), which is where well-behaved senders put
``event_type``, ``user``, ``src`` and ``outcome``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from engine.events import parse_time

MAX_MESSAGE_BYTES = 64 * 1024

_PRI = re.compile(r"^<(\d{1,3})>")
_5424 = re.compile(
    r"^1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<proc>\S+) (?P<msgid>\S+) (?P<rest>.*)$", re.S
)
_3164 = re.compile(
    r"^(?P<ts>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (?P<host>\S+) (?P<rest>.*)$", re.S
)
_TAG = re.compile(r"^(?P<tag>[A-Za-z0-9_./-]{1,48})(?:\[(?P<pid>\d+)\])?: ?(?P<msg>.*)$", re.S)
_SD_ELEMENT = re.compile(r'\[(?P<id>[^\s\]=]+)(?P<params>(?:\s+[^\s=\]]+="(?:[^"\\\]]|\\.)*")*)\]')
_SD_PARAM = re.compile(r'([^\s=\]]+)="((?:[^"\\\]]|\\.)*)"')
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
)}


@dataclass(frozen=True)
class SyslogMessage:
    """One parsed syslog message."""

    facility: int
    severity: int
    timestamp: datetime | None
    hostname: str | None
    app: str | None
    message: str
    params: dict[str, str] = field(default_factory=dict)
    rfc: str = "5424"


def parse(line: str, *, now: datetime | None = None) -> SyslogMessage:
    """Parse one syslog message (without its transport framing)."""
    line = line.rstrip("\r\n").lstrip("\ufeff")
    m = _PRI.match(line)
    if not m:
        raise ValueError("no <PRI> at the start")
    pri = int(m.group(1))
    if pri > 191:
        raise ValueError(f"PRI {pri} out of range")
    body = line[m.end():]
    if body.startswith("1 "):
        return _parse_5424(pri, body)
    return _parse_3164(pri, body, now or datetime.now(UTC))


def _nil(v: str) -> str | None:
    return None if v == "-" else v


def _parse_5424(pri: int, body: str) -> SyslogMessage:
    m = _5424.match(body)
    if not m:
        raise ValueError("malformed RFC 5424 header")
    ts = None
    if m.group("ts") != "-":
        try:
            ts = parse_time(m.group("ts"))
        except ValueError:
            raise ValueError(f"bad RFC 5424 timestamp {m.group('ts')!r}") from None
    rest = m.group("rest")
    params: dict[str, str] = {}
    if rest.startswith("-"):
        msg = rest[1:]
    else:
        pos = 0
        while rest.startswith("[", pos):
            el = _SD_ELEMENT.match(rest, pos)
            if not el:
                raise ValueError("malformed structured data")
            for k, v in _SD_PARAM.findall(el.group("params")):
                params[k] = re.sub(r"\\(.)", r"\1", v)
            pos = el.end()
        msg = rest[pos:]
    msg = msg[1:] if msg.startswith(" ") else msg
    msg = msg.removeprefix("\ufeff")  # the BOM a UTF-8 MSG may start with
    return SyslogMessage(
        facility=pri // 8, severity=pri % 8, timestamp=ts, hostname=_nil(m.group("host")),
        app=_nil(m.group("app")), message=msg, params=params, rfc="5424",
    )


def _parse_3164(pri: int, body: str, now: datetime) -> SyslogMessage:
    m = _3164.match(body)
    if not m:
        # RFC 3164 4.3.2: without a valid header the whole body is the message.
        return SyslogMessage(pri // 8, pri % 8, None, None, None, body, rfc="3164")
    ts = _bsd_time(m.group("ts"), now)
    rest = m.group("rest")
    tag = _TAG.match(rest)
    app, msg = (tag.group("tag"), tag.group("msg")) if tag else (None, rest)
    return SyslogMessage(pri // 8, pri % 8, ts, m.group("host"), app, msg, rfc="3164")


def _bsd_time(text: str, now: datetime) -> datetime | None:
    """An RFC 3164 time has no year or zone: take the sender's as UTC, this year or last."""
    try:
        mon, day, hms = text.split()
        h, mi, s = (int(x) for x in hms.split(":"))
        t = datetime(now.year, _MONTHS[mon], int(day), h, mi, s, tzinfo=UTC)
    except (KeyError, ValueError):
        return None
    if (t - now).days > 1:  # December's message read in January
        t = t.replace(year=now.year - 1)
    return t
