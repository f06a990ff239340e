"""The content probe: has the page been defaced, or seeded with dark links?

Fetches the page like the http probe (same client, options and caps), then
judges it against the asset's approved baseline (``collectors.content``:
normalisation, HTML reading, dark links, baselines). Data, in the shared
vocabulary (docs/observations.md): ``defaced``, ``defacement_keywords``,
``dark_links``, ``dark_link_details``, ``new_domains``, ``baseline_diff``,
``baseline`` ("approved" or "missing"), ``changed``, ``content_hash``,
``baseline_hash``, ``diff_added``, ``diff_removed``, ``external_domains``,
``title``, ``status``, ``final_url``, ``truncated``.

``ok`` means the page was fetched and read (2xx); what it shows is for the
rules to judge. Options (``options.content``): ``defacement_threshold``
(0..1, default 0.5); fetching uses ``options.http``.
"""

from __future__ import annotations

import asyncio

from collectors.content.assess import DEFAULT_THRESHOLD, assess
from collectors.content.baseline import load
from collectors.content.normalise import decode
from collectors.probes.base import ProbeConfig
from collectors.probes.http import fetch_for, target_url
from collectors.web.fetch import FetchError, Trace
from engine.errors import ProbeError
from engine.events import Observation
from engine.inventory.model import Asset

NAME = "content"


async def probe(asset: Asset, config: ProbeConfig, *, timeout: float) -> Observation:
    """Fetch and judge the asset's page; never raises for the target's failure."""
    url = target_url(asset)
    threshold = float(config.option(asset, NAME, "defacement_threshold", DEFAULT_THRESHOLD))
    watch = config.start()
    try:
        baseline = load(config.baseline_dir, asset.id)
    except ProbeError as e:
        return config.failure(asset, NAME, watch, f"baseline: {e}")
    trace = Trace()
    try:
        async with asyncio.timeout(timeout):
            resp = await fetch_for(asset, config, url, trace)
            html = decode(resp.body, resp.headers.get("content-type", ""))
            # Parsing a large page is CPU work: keep it off the event loop's thread.
            data, _ = await asyncio.to_thread(assess, resp.url, html, baseline, threshold)
    except TimeoutError:
        return config.failure(asset, NAME, watch, f"timeout after {timeout:g}s in {trace.phase}")
    except FetchError as e:
        return config.failure(asset, NAME, watch, f"{e.phase}: {e.reason}")
    data.update(status=resp.status, final_url=resp.url, truncated=resp.truncated)
    ok = 200 <= resp.status < 300
    error = None if ok else f"unexpected status {resp.status}"
    return config.observation(asset, NAME, watch, ok=ok, data=data, error=error)
