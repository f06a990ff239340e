"""WeCom (企业微信) group robot: Markdown message addressed by the webhook key.

Request: ``POST {url}?key=KEY`` with ``{"msgtype": "markdown", "markdown":
{"content": ...}}``; recipients with a ``wecom`` user id are mentioned as
``<@userid>``. The reply ``{"errcode": 0}`` means delivered; 45009 (rate
limit) is retried. WeCom robots have no signature: the key is the secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode

import orjson

from engine.notifiers import http
from engine.notifiers.base import SECRET, ChannelConfigError, Message, Secret
from engine.notifiers.templates import render

API_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
RETRY_CODES = frozenset({45009, -1})
#: WeCom rejects Markdown content longer than 4096 bytes.
MAX_CONTENT_BYTES = 4096


def body(message: Message) -> dict[str, Any]:
    """The robot message: Markdown, clipped to WeCom's limit, with mentions."""
    content = render(message).markdown()
    users = [p.handles["wecom"] for p in message.recipients if "wecom" in p.handles]
    if users:
        content += "\n" + " ".join(f"<@{u}>" for u in users)
    raw = content.encode()
    if len(raw) > MAX_CONTENT_BYTES:
        content = raw[: MAX_CONTENT_BYTES - 4].decode(errors="ignore") + "\n…"
    return {"msgtype": "markdown", "markdown": {"content": content}}


@dataclass(frozen=True)
class WeComNotifier:
    """One WeCom group robot."""

    channel: ClassVar[str] = "wecom"
    per_recipient: ClassVar[bool] = False
    #: WeCom allows 20 messages a minute per robot.
    rate: ClassVar[tuple[int, float]] = (20, 60.0)

    key: Secret = field(metadata=SECRET)
    url: str = API_URL
    timeout: float = http.DEFAULT_TIMEOUT_S
    ca_file: str = ""

    def validate(self) -> None:
        problem = http.check_url(self.url)
        if problem:
            raise ChannelConfigError("url", problem)
        if not self.key:
            raise ChannelConfigError("key", "must not be empty")

    async def send(self, message: Message) -> None:
        resp = await http.post(
            f"{self.url}?{urlencode({'key': self.key.reveal()})}",
            orjson.dumps(body(message)),
            timeout=self.timeout,
            verify=self.ca_file or True,
        )
        http.robot_reply(resp, ("errcode",), RETRY_CODES)
