"""Generic webhook: the message as JSON, signed with HMAC-SHA256.

Headers: ``X-SSA-Timestamp`` (Unix seconds), ``X-SSA-Signature:
sha256=<hex of HMAC-SHA256(secret, timestamp + "." + body)>`` and
``Idempotency-Key``. A receiver verifies the signature, rejects stale
timestamps and drops a repeated idempotency key.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from engine.events import format_time
from engine.notifiers import http
from engine.notifiers.base import SECRET, ChannelConfigError, Message, Secret
from engine.notifiers.templates import render

PAYLOAD_VERSION = 1


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The value of ``X-SSA-Signature`` for a body sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def payload(message: Message) -> dict[str, Any]:
    """The JSON document a webhook receives."""
    r = render(message)
    return {
        "version": PAYLOAD_VERSION,
        "kind": message.kind,
        "receiver": message.receiver,
        "group_key": message.group_key,
        "idempotency_key": message.idempotency_key,
        "level": message.level,
        "title": r.title,
        "note": message.note,
        "recipients": [
            {"name": p.name, "email": p.email, "level": p.level} for p in message.recipients
        ],
        "alerts": [
            {
                "fingerprint": a.fingerprint,
                "seq": a.seq,
                "state": a.state,
                "rule": a.rule,
                "severity": a.severity,
                "title": a.title,
                "asset": a.asset,
                "unit": a.unit,
                "explanation": a.explanation,
                "tags": list(a.tags),
                "group": dict(a.group),
                "started_at": format_time(a.started_at),
                "at": format_time(a.at),
                "links": {"asset": b.asset_link, "unit": b.unit_link},
            }
            for a, b in zip(message.alerts, r.blocks, strict=True)
        ],
    }


@dataclass(frozen=True)
class WebhookNotifier:
    """POST a signed JSON document to one URL."""

    channel: ClassVar[str] = "webhook"
    per_recipient: ClassVar[bool] = False
    rate: ClassVar[tuple[int, float]] = (60, 60.0)

    url: str
    secret: Secret = field(default_factory=lambda: Secret(""), metadata=SECRET)
    timeout: float = http.DEFAULT_TIMEOUT_S
    #: A CA bundle to verify the receiver with (private CAs); default: the system's.
    ca_file: str = ""

    def validate(self) -> None:
        problem = http.check_url(self.url)
        if problem:
            raise ChannelConfigError("url", problem)
        if not self.secret:
            raise ChannelConfigError("secret", "must not be empty (it signs every message)")

    async def send(self, message: Message) -> None:
        body = orjson.dumps(payload(message), option=orjson.OPT_SORT_KEYS)
        ts = str(int(time.time()))
        headers = {
            "X-SSA-Timestamp": ts,
            "X-SSA-Signature": signature(self.secret.reveal(), ts, body),
            "Idempotency-Key": message.idempotency_key,
        }
        await http.post(self.url, body, headers, timeout=self.timeout, verify=self.ca_file or True)
