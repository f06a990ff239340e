"""DingTalk (钉钉) custom robot: Markdown message, signed in the query string.

Request: ``POST {url}?access_token=TOKEN&timestamp=MS&sign=SIGN`` where
``SIGN = urlencode(base64(HMAC-SHA256(key=secret, msg=f"{MS}\\n{secret}")))``
and MS is the current time in milliseconds. Body: ``{"msgtype": "markdown",
"markdown": {"title", "text"}, "at": {"atMobiles": [...], "atUserIds": [...]}}``.
The reply ``{"errcode": 0}`` means delivered; 130101 (too fast) is retried.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode

import orjson

from engine.notifiers import http
from engine.notifiers.base import SECRET, ChannelConfigError, Message, Secret
from engine.notifiers.templates import render

API_URL = "https://oapi.dingtalk.com/robot/send"
RETRY_CODES = frozenset({130101, -1})


def sign(secret: str, timestamp_ms: str) -> str:
    """The ``sign`` query parameter (before URL encoding)."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def body(message: Message) -> dict[str, Any]:
    """The robot message: Markdown with the recipients @-mentioned."""
    r = render(message)
    mobiles = [p.phone for p in message.recipients if p.phone]
    users = [p.handles["dingtalk"] for p in message.recipients if "dingtalk" in p.handles]
    text = r.markdown()
    if mobiles:
        text += "\n\n" + " ".join(f"@{m}" for m in mobiles)
    return {
        "msgtype": "markdown",
        "markdown": {"title": r.title, "text": text},
        "at": {"atMobiles": mobiles, "atUserIds": users, "isAtAll": False},
    }


@dataclass(frozen=True)
class DingTalkNotifier:
    """One DingTalk group robot with signing ("加签") enabled."""

    channel: ClassVar[str] = "dingtalk"
    per_recipient: ClassVar[bool] = False
    #: DingTalk allows 20 messages a minute per robot.
    rate: ClassVar[tuple[int, float]] = (20, 60.0)

    access_token: Secret = field(metadata=SECRET)
    secret: Secret = field(metadata=SECRET)
    url: str = API_URL
    timeout: float = http.DEFAULT_TIMEOUT_S
    ca_file: str = ""

    def validate(self) -> None:
        problem = http.check_url(self.url)
        if problem:
            raise ChannelConfigError("url", problem)
        if not self.access_token:
            raise ChannelConfigError("access_token", "must not be empty")
        if not self.secret:
            raise ChannelConfigError("secret", "must not be empty (enable 加签 on the robot)")

    async def send(self, message: Message) -> None:
        ts = str(int(time.time() * 1000))
        query = urlencode(
            {
                "access_token": self.access_token.reveal(),
                "timestamp": ts,
                "sign": sign(self.secret.reveal(), ts),
            }
        )
        resp = await http.post(
            f"{self.url}?{query}",
            orjson.dumps(body(message)),
            timeout=self.timeout,
            verify=self.ca_file or True,
        )
        http.robot_reply(resp, ("errcode",), RETRY_CODES)
