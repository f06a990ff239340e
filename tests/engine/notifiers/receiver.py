"""A loopback HTTP receiver that checks what the channels send, as the real services would.

It verifies, independently of ssa's code, the generic webhook's HMAC
signature, the DingTalk robot's query-string signature, the WeCom robot's
key and the Feishu bot's body signature, and the message formats each
service accepts. It answers the way those services answer (``errcode``,
``code``), and ``fail_next`` makes it fail a number of requests first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

WEBHOOK_SECRET = "wh-secret-0123456789"
DT_TOKEN, DT_SECRET = "dt-token-abc", "SECdt-secret-xyz"
WECOM_KEY = "wecom-key-123"
FS_TOKEN, FS_SECRET = "fs-hook-token", "fs-secret-456"


@dataclass
class Received:
    """One accepted request: which service, its JSON body, headers and query."""

    service: str
    body: Any
    headers: dict[str, str]
    query: dict[str, str]


@dataclass
class Receiver:
    """The state of the receiver: what it accepted and rejected."""

    accepted: list[Received] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    requests: int = 0
    fail_next: int = 0
    fail_status: int = 500
    url: str = ""

    def of(self, service: str) -> list[Received]:
        return [r for r in self.accepted if r.service == service]


def _b64_hmac(key: bytes, msg: bytes) -> str:
    return base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


def app(state: Receiver) -> web.Application:
    def reject(service: str, why: str, reply: web.Response) -> web.Response:
        state.rejected.append((service, why))
        return reply

    async def maybe_fail() -> web.Response | None:
        state.requests += 1
        if state.fail_next > 0:
            state.fail_next -= 1
            return web.Response(status=state.fail_status, text="try again later")
        return None

    async def webhook(req: web.Request) -> web.Response:
        if (failed := await maybe_fail()) is not None:
            return failed
        raw = await req.read()
        ts = req.headers.get("X-SSA-Timestamp", "")
        expect = (
            "sha256="
            + hmac.new(
                WEBHOOK_SECRET.encode(), ts.encode() + b"." + raw, hashlib.sha256
            ).hexdigest()
        )
        if not hmac.compare_digest(expect, req.headers.get("X-SSA-Signature", "")):
            return reject("webhook", "bad signature", web.Response(status=401))
        if abs(time.time() - int(ts)) > 300:
            return reject("webhook", "stale timestamp", web.Response(status=401))
        body = orjson.loads(raw)
        if body.get("idempotency_key") != req.headers.get("Idempotency-Key"):
            return reject("webhook", "idempotency key mismatch", web.Response(status=400))
        state.accepted.append(Received("webhook", body, dict(req.headers), dict(req.query)))
        return web.json_response({"ok": True})

    async def dingtalk(req: web.Request) -> web.Response:
        if (failed := await maybe_fail()) is not None:
            return failed
        q = req.query
        if q.get("access_token") != DT_TOKEN:
            return reject(
                "dingtalk",
                "token",
                web.json_response({"errcode": 300001, "errmsg": "token is not exist"}),
            )
        ts = q.get("timestamp", "0")
        # aiohttp already URL-decoded the query value.
        if q.get("sign") != _b64_hmac(DT_SECRET.encode(), f"{ts}\n{DT_SECRET}".encode()):
            return reject(
                "dingtalk",
                "sign",
                web.json_response({"errcode": 310000, "errmsg": "sign not match"}),
            )
        if abs(time.time() * 1000 - int(ts)) > 3600_000:
            return reject(
                "dingtalk",
                "timestamp",
                web.json_response({"errcode": 310000, "errmsg": "timestamp"}),
            )
        body = orjson.loads(await req.read())
        md = body.get("markdown", {})
        if body.get("msgtype") != "markdown" or not md.get("title") or not md.get("text"):
            return reject(
                "dingtalk", "format", web.json_response({"errcode": 40035, "errmsg": "缺少参数"})
            )
        state.accepted.append(Received("dingtalk", body, dict(req.headers), dict(q)))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def wecom(req: web.Request) -> web.Response:
        if (failed := await maybe_fail()) is not None:
            return failed
        if req.query.get("key") != WECOM_KEY:
            return reject(
                "wecom",
                "key",
                web.json_response({"errcode": 93000, "errmsg": "invalid webhook url"}),
            )
        body = orjson.loads(await req.read())
        content = body.get("markdown", {}).get("content")
        if body.get("msgtype") != "markdown" or not isinstance(content, str):
            return reject(
                "wecom",
                "format",
                web.json_response({"errcode": 40008, "errmsg": "invalid message type"}),
            )
        if len(content.encode()) > 4096:
            return reject(
                "wecom", "length", web.json_response({"errcode": 40058, "errmsg": "too long"})
            )
        state.accepted.append(Received("wecom", body, dict(req.headers), dict(req.query)))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def feishu(req: web.Request) -> web.Response:
        if (failed := await maybe_fail()) is not None:
            return failed
        if req.match_info["token"] != FS_TOKEN:
            return reject(
                "feishu",
                "token",
                web.json_response(
                    {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
                ),
            )
        body = orjson.loads(await req.read())
        ts = body.get("timestamp", "0")
        if body.get("sign") != _b64_hmac(f"{ts}\n{FS_SECRET}".encode(), b""):
            return reject(
                "feishu",
                "sign",
                web.json_response(
                    {
                        "code": 19021,
                        "msg": "sign match fail or timestamp is not within one hour",
                    }
                ),
            )
        post = body.get("content", {}).get("post", {}).get("zh_cn", {})
        if body.get("msg_type") != "post" or not post.get("title") or not post.get("content"):
            return reject(
                "feishu", "format", web.json_response({"code": 9499, "msg": "Bad Request"})
            )
        state.accepted.append(Received("feishu", body, dict(req.headers), {}))
        return web.json_response({"code": 0, "msg": "success", "data": {}})

    a = web.Application()
    a.router.add_post("/webhook", webhook)
    a.router.add_post("/robot/send", dingtalk)
    a.router.add_post("/cgi-bin/webhook/send", wecom)
    a.router.add_post("/open-apis/bot/v2/hook/{token}", feishu)
    return a


async def start(state: Receiver) -> web.AppRunner:
    """Serve on a free loopback port; ``state.url`` is its base URL."""
    runner = web.AppRunner(app(state))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    state.url = f"http://{host}:{port}"
    return runner
