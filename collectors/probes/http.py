"""The http probe: is the site up, how fast is each phase, where does it send you.

Fetches ``asset.url`` with the phase-timing client (``collectors.web.fetch``)
and reports, in the shared vocabulary (docs/observations.md):
``status``, ``latency_ms``, ``phases_ms`` {dns, connect, tls, ttfb, transfer}
(summed over redirect hops), ``final_url``, ``redirects``,
``redirect_cross_domain``, ``title``, ``body_bytes``, ``truncated``,
``content_hash`` (of the normalised page), ``headers_present``,
``headers_missing``, ``server``.

``ok`` is true when an answer came and its status is expected (2xx unless
the asset's ``http.expect_status`` lists others). Options (asset
``options.http``, or the collector's): ``ca_file`` (PEM bundle to trust
instead of the system's), ``verify`` (false skips certificate checks),
``max_redirects`` (10), ``expect_status`` (list of codes), ``method``
(GET or HEAD).
"""

from __future__ import annotations

import asyncio
import html
import re
from typing import Any

from collectors.content.domains import host_of, same_site
from collectors.content.normalise import content_hash, decode
from collectors.probes.base import ProbeConfig
from collectors.web.fetch import FetchError, Response, Trace, client_context, fetch
from engine.errors import ProbeError
from engine.events import Observation
from engine.inventory.model import Asset

NAME = "http"

#: Security headers every public site should send (names as reported).
SECURITY_HEADERS: tuple[str, ...] = (
    "Strict-Transport-Security",
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
)

_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
MAX_TITLE_CHARS = 200


def target_url(asset: Asset) -> str:
    """The URL the http and content probes fetch for an asset."""
    if asset.url:
        return asset.url
    if asset.address:
        return f"http://{asset.address}/"
    raise ProbeError(f"asset {asset.id} has neither url nor address")


async def probe(asset: Asset, config: ProbeConfig, *, timeout: float) -> Observation:
    """Fetch the asset's URL once; never raises for the target's failure."""
    url = target_url(asset)
    watch = config.start()
    trace = Trace()
    try:
        async with asyncio.timeout(timeout):
            resp = await fetch_for(asset, config, url, trace)
    except TimeoutError:
        return config.failure(
            asset, NAME, watch, f"timeout after {timeout:g}s in {trace.phase}", _partial(trace)
        )
    except FetchError as e:
        return config.failure(asset, NAME, watch, f"{e.phase}: {e.reason}", _partial(trace))
    data = describe(url, resp, trace)
    expected = config.option(asset, NAME, "expect_status")
    ok = resp.status in expected if expected else 200 <= resp.status < 300
    error = None if ok else f"unexpected status {resp.status}"
    return config.observation(asset, NAME, watch, ok=ok, data=data, error=error)


async def fetch_for(asset: Asset, config: ProbeConfig, url: str, trace: Trace) -> Response:
    """Fetch ``url`` with the asset's http options (shared with the content probe)."""
    ca_file = config.option(asset, NAME, "ca_file", config.ca_file)
    verify = bool(config.option(asset, NAME, "verify", True))
    ctx = client_context(ca_file, verify=verify) if url.startswith("https:") else None
    return await fetch(
        url,
        trace,
        max_body=config.max_body_bytes,
        method=str(config.option(asset, NAME, "method", "GET")).upper(),
        max_redirects=int(config.option(asset, NAME, "max_redirects", 10)),
        ssl_context=ctx,
        user_agent=config.user_agent,
    )


def describe(url: str, resp: Response, trace: Trace) -> dict[str, Any]:
    """The observation data of one answered fetch."""
    text = decode(resp.body, resp.headers.get("content-type", ""))
    start_host = host_of(url)
    present = [h for h in SECURITY_HEADERS if h.lower() in resp.headers]
    return {
        "status": resp.status,
        "latency_ms": _ms(sum(trace.phases_ms.values())),
        "phases_ms": {k: _ms(v) for k, v in trace.phases_ms.items()},
        "final_url": resp.url,
        "redirects": len(resp.redirects),
        "redirect_cross_domain": any(
            not same_site(start_host, host_of(to)) for _, to in resp.redirects
        ),
        "title": title_of(text),
        "body_bytes": len(resp.body),
        "truncated": resp.truncated,
        "content_hash": content_hash(text),
        "headers_present": present,
        "headers_missing": [h for h in SECURITY_HEADERS if h not in present],
        "server": resp.headers.get("server", "")[:100],
    }


def title_of(text: str) -> str:
    """The page's <title>, unescaped, whitespace collapsed, at most 200 characters."""
    m = _TITLE.search(text)
    if not m:
        return ""
    return " ".join(html.unescape(m.group(1)).split())[:MAX_TITLE_CHARS]


def _partial(trace: Trace) -> dict[str, Any]:
    """What a failed fetch still tells: the phases done and the hops tried."""
    return {
        "phases_ms": {k: _ms(v) for k, v in trace.phases_ms.items()},
        "redirects": max(0, len(trace.urls) - 1),
        "final_url": trace.urls[-1] if trace.urls else None,
    }


def _ms(v: float) -> float:
    return round(v, 3)
