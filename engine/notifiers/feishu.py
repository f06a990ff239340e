"""Feishu (飞书) custom bot: rich-text ``post`` message, signed in the body.

Request: ``POST {url}/{hook_token}`` with ``{"timestamp": S, "sign": SIGN,
"msg_type": "post", "content": {"post": {"zh_cn": {"title", "content"}}}}``
where ``SIGN = base64(HMAC-SHA256(key=f"{S}\\n{secret}", msg=b""))`` and S is
the current time in seconds. Recipients with a ``feishu`` open id are
mentioned with ``{"tag": "at"}``. The reply ``{"code": 0}`` means delivered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from engine.notifiers import http
from engine.notifiers.base import SECRET, ChannelConfigError, Message, Secret
from engine.notifiers.templates import render

API_URL = "https://open.feishu.cn/open-apis/bot/v2/hook"
RETRY_CODES = frozenset({9499, 11232})


def sign(secret: str, timestamp_s: str) -> str:
    """The ``sign`` field: HMAC-SHA256 keyed by ``timestamp\\nsecret`` over nothing."""
    mac = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def content(message: Message) -> dict[str, Any]:
    """The ``post`` rich text: one paragraph per line, links as ``a`` tags."""
    r = render(message)
    paragraphs: list[list[dict[str, str]]] = []
    if r.note:
        paragraphs.append([{"tag": "text", "text": r.note}])
    for b in r.blocks:
        paragraphs.append([{"tag": "text", "text": f"[{b.severity.upper()}] {b.title}"}])
        paragraphs.append([{"tag": "text", "text": f"资产 asset: {b.asset}"}])
        paragraphs.append([{"tag": "text", "text": f"单位 unit: {b.unit}"}])
        paragraphs.append(
            [{"tag": "text", "text": f"状态 state: {b.state} (since {b.started_at})"}]
        )
        if b.explanation:
            paragraphs.append([{"tag": "text", "text": f"原因 why: {b.explanation}"}])
        paragraphs.append(
            [
                {"tag": "a", "text": "资产视图 asset dashboard", "href": b.asset_link},
                {"tag": "text", "text": " · "},
                {"tag": "a", "text": "单位视图 unit", "href": b.unit_link},
            ]
        )
    mentions = [
        {"tag": "at", "user_id": p.handles["feishu"]}
        for p in message.recipients
        if "feishu" in p.handles
    ]
    if mentions:
        paragraphs.append(mentions)
    return {"post": {"zh_cn": {"title": r.title, "content": paragraphs}}}


@dataclass(frozen=True)
class FeishuNotifier:
    """One Feishu group bot with signature verification ("签名校验") enabled."""

    channel: ClassVar[str] = "feishu"
    per_recipient: ClassVar[bool] = False
    #: Feishu allows 100 messages a minute and 5 a second per bot.
    rate: ClassVar[tuple[int, float]] = (5, 1.0)

    hook_token: Secret = field(metadata=SECRET)
    secret: Secret = field(metadata=SECRET)
    url: str = API_URL
    timeout: float = http.DEFAULT_TIMEOUT_S
    ca_file: str = ""

    def validate(self) -> None:
        problem = http.check_url(self.url)
        if problem:
            raise ChannelConfigError("url", problem)
        if not self.hook_token:
            raise ChannelConfigError("hook_token", "must not be empty")
        if not self.secret:
            raise ChannelConfigError("secret", "must not be empty (enable 签名校验 on the bot)")

    async def send(self, message: Message) -> None:
        ts = str(int(time.time()))
        doc = {
            "timestamp": ts,
            "sign": sign(self.secret.reveal(), ts),
            "msg_type": "post",
            "content": content(message),
        }
        resp = await http.post(
            f"{self.url.rstrip('/')}/{self.hook_token.reveal()}",
            orjson.dumps(doc),
            timeout=self.timeout,
            verify=self.ca_file or True,
        )
        http.robot_reply(resp, ("code", "StatusCode"), RETRY_CODES)
