"""The one HTTP POST the HTTP channels share, with failures turned into safe reasons.

A failure reason names the status or the error class and the host, never
the full URL: robot URLs carry access tokens in their query strings.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from engine.notifiers.base import DeliveryError

DEFAULT_TIMEOUT_S = 10.0
#: Statuses worth retrying: the receiver is busy or broken, not the request.
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be posted to, or ``None`` if it is a usable http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "has no host"
    return None


async def post(
    url: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    verify: bool | str = True,
) -> httpx.Response:
    """POST ``body`` as JSON; a 2xx response or ``DeliveryError`` with a safe reason."""
    host = urlsplit(url).hostname or "?"
    hdrs = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "ssa-notifier"}
    hdrs.update(headers or {})
    try:
        async with httpx.AsyncClient(timeout=timeout, verify=verify) as client:
            resp = await client.post(url, content=body, headers=hdrs)
    except httpx.TimeoutException as e:
        raise DeliveryError(f"timeout ({type(e).__name__}) posting to {host}") from None
    except httpx.HTTPError as e:
        raise DeliveryError(f"{type(e).__name__} posting to {host}") from None
    if resp.status_code // 100 != 2:
        raise DeliveryError(
            f"HTTP {resp.status_code} from {host}", retryable=resp.status_code in RETRYABLE
        )
    return resp


def robot_reply(
    resp: httpx.Response, code_keys: tuple[str, ...], retry_codes: frozenset[int]
) -> None:
    """Check a chat robot's JSON reply: a non-zero error code in 200 OK is a failure."""
    host = resp.url.host
    try:
        data: Any = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        raise DeliveryError(f"reply from {host} is not JSON") from None
    if not isinstance(data, dict):
        raise DeliveryError(f"reply from {host} is not a JSON object")
    for key in code_keys:
        if key in data:
            code = data[key]
            if code != 0:
                msg = str(data.get("errmsg") or data.get("msg") or "")[:120]
                raise DeliveryError(
                    f"{host} refused the message: code {code} {msg}".rstrip(),
                    retryable=code in retry_codes,
                )
            return
    raise DeliveryError(f"reply from {host} has no result code")
