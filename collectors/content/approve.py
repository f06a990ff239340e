"""Take a page's snapshot for approval as its new content baseline.

Used by ``ssa baseline approve``: fetch the page exactly as the content
probe does, judge it against the current baseline (so the reviewer sees the
changes, new domains, dark links and keywords before saying yes), and build
the ``Baseline`` that would replace it. Saving and announcing are the
command's job.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from collectors.content.assess import assess
from collectors.content.baseline import Baseline, load
from collectors.content.normalise import content_hash, decode
from collectors.probes.base import ProbeConfig
from collectors.probes.http import fetch_for, target_url
from collectors.web.fetch import FetchError, Trace
from engine.errors import ProbeError
from engine.inventory.model import Asset


@dataclass(frozen=True)
class Review:
    """A page ready for approval: the proposed baseline, the current one, and the judgement."""

    proposed: Baseline
    current: Baseline | None
    #: The content probe's data for this page against the current baseline.
    data: dict[str, Any]


async def review(
    asset: Asset, config: ProbeConfig, *, timeout: float, approved_by: str = ""
) -> Review:
    """Fetch the asset's page and prepare its approval; ``ProbeError`` if it cannot be fetched."""
    url = target_url(asset)
    current = load(config.baseline_dir, asset.id)
    trace = Trace()
    try:
        async with asyncio.timeout(timeout):
            resp = await fetch_for(asset, config, url, trace)
    except TimeoutError:
        raise ProbeError(
            f"cannot fetch {url}: timeout after {timeout:g}s in {trace.phase}"
        ) from None
    except FetchError as e:
        raise ProbeError(f"cannot fetch {url}: {e.phase}: {e.reason}") from None
    if not 200 <= resp.status < 300:
        raise ProbeError(f"{url} answered {resp.status}: only a page that loads can be approved")
    html = decode(resp.body, resp.headers.get("content-type", ""))
    data, facts = assess(resp.url, html, current)
    proposed = Baseline.of(asset.id, resp.url, content_hash(html), facts, config.now(), approved_by)
    return Review(proposed, current, data)
