"""One pushed event → one ``Observation(probe="ingest")`` of the system that sent it.

The observation's ``data`` uses the shared vocabulary: ``event_type``,
``source_ip``, ``user``, ``outcome`` (``success``/``failure``/``unknown``),
``message``, plus ``severity`` and ``app`` for syslog. Senders that name
these fields (JSON keys, RFC 5424 structured-data params, ``key=value`` in the
text) are taken at their word; common sshd and login lines are recognised.
Values are clipped so a sender cannot inflate events. ``ok`` is True: the
push itself worked; what the event says is in ``data`` for the rules.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from collectors.ingest.syslog import SyslogMessage
from collectors.probes.base import ProbeConfig, new_id
from engine.events import Observation, parse_time
from engine.inventory.model import Asset

MAX_FIELD_CHARS = 256
MAX_MESSAGE_CHARS = 2048
#: An event time further than this from now is not trusted; receive time is used.
MAX_CLOCK_SKEW = timedelta(days=1)

OUTCOMES = ("success", "failure", "unknown")
SEVERITY_NAMES = ("emergency", "alert", "critical", "error", "warning", "notice", "info", "debug")

_ALIASES = {
    "event_type": ("event_type", "type", "event", "category"),
    "source_ip": ("source_ip", "src", "src_ip", "srcip", "client_ip", "rhost"),
    "user": ("user", "username", "usr", "account", "suser"),
    "outcome": ("outcome", "result", "status"),
}
_KV = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]{0,31})=(\"[^\"]*\"|\S+)")
_PATTERNS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"Failed (?:password|publickey) for (?:invalid user )?(?P<user>\S+) from "
                r"(?P<ip>[0-9a-fA-F:.]+)"), "auth", "failure"),
    (re.compile(r"Accepted (?:password|publickey) for (?P<user>\S+) from (?P<ip>[0-9a-fA-F:.]+)"),
     "auth", "success"),
    (re.compile(r"Invalid user (?P<user>\S+) from (?P<ip>[0-9a-fA-F:.]+)"), "auth", "failure"),
    # pam_unix: the user and rhost come as key=value pairs; the groups stay empty.
    (re.compile(r"authentication failure;(?P<user>)(?P<ip>)"), "auth", "failure"),
)
_OUTCOME_WORDS = {
    "success": "success", "succeeded": "success", "ok": "success", "accepted": "success",
    "allow": "success", "allowed": "success", "failure": "failure", "failed": "failure",
    "fail": "failure", "denied": "failure", "deny": "failure", "rejected": "failure",
    "blocked": "failure", "error": "failure",
}


def _clip(v: Any, n: int = MAX_FIELD_CHARS) -> str:
    s = str(v)
    return s if len(s) <= n else s[: n - 1] + "…"


def _pick(fields: Mapping[str, Any], name: str) -> str | None:
    for alias in _ALIASES[name]:
        v = fields.get(alias)
        if v is not None and v != "":
            return _clip(v)
    return None


def _outcome(v: str | None) -> str:
    if v is None:
        return "unknown"
    return _OUTCOME_WORDS.get(v.strip().lower(), "unknown")


def _ip(v: str | None) -> str | None:
    if v is None:
        return None
    try:
        return str(ipaddress.ip_address(v.strip("[]")))
    except ValueError:
        return None


def event_data(fields: Mapping[str, Any], message: str) -> dict[str, Any]:
    """The observation data of one event from its named fields and its text."""
    merged: dict[str, Any] = {k: v.strip('"') for k, v in _KV.findall(message)}
    merged.update({k: v for k, v in fields.items() if not isinstance(v, dict | list)})
    data: dict[str, Any] = {
        "event_type": _pick(merged, "event_type"),
        "source_ip": _ip(_pick(merged, "source_ip")),
        "user": _pick(merged, "user"),
        "outcome": _outcome(_pick(merged, "outcome")),
        "message": _clip(message, MAX_MESSAGE_CHARS),
    }
    for pattern, event_type, outcome in _PATTERNS:
        m = pattern.search(message)
        if m:
            data["event_type"] = data["event_type"] or event_type
            if data["outcome"] == "unknown":
                data["outcome"] = outcome
            data["user"] = data["user"] or (m.group("user") and _clip(m.group("user")))
            data["source_ip"] = data["source_ip"] or _ip(m.group("ip"))
            break
    data["event_type"] = data["event_type"] or "log"
    return data


def event_time(text: Any, received: datetime) -> datetime:
    """The event's own time if it is a sane ISO-8601 time with a zone, else the receive time."""
    if isinstance(text, datetime):
        t: datetime | None = text
    elif isinstance(text, str):
        try:
            t = parse_time(text)
        except ValueError:
            t = None
    else:
        t = None
    if t is None or abs(t - received) > MAX_CLOCK_SKEW:
        return received
    return t


def from_json(asset: Asset, config: ProbeConfig, event: Mapping[str, Any]) -> Observation:
    """The observation of one JSON event pushed over HTTP."""
    received = config.now()
    message = event.get("message", "")
    data = event_data(event, message if isinstance(message, str) else str(message))
    data["transport"] = "http"
    return _observation(asset, config, event_time(event.get("at"), received), data)


def from_syslog(
    asset: Asset, config: ProbeConfig, msg: SyslogMessage, transport: str
) -> Observation:
    """The observation of one syslog message."""
    received = config.now()
    data = event_data(msg.params, msg.message)
    data.update(
        transport=transport,
        rfc=msg.rfc,
        severity=SEVERITY_NAMES[msg.severity],
        facility=msg.facility,
        app=None if msg.app is None else _clip(msg.app, 48),
    )
    return _observation(asset, config, event_time(msg.timestamp, received), data)


def _observation(
    asset: Asset, config: ProbeConfig, at: datetime, data: dict[str, Any]
) -> Observation:
    return Observation(
        id=new_id(), asset=asset.id, unit=asset.unit, probe="ingest", observed_at=at,
        collector=config.collector, vantage=config.vantage, ok=True, duration_s=0.0, data=data,
    )
