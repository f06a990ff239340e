"""Approve the simulated city's pages as their content baselines before the trouble starts.

A centre approves each website's page once (``ssa baseline approve``); the
content probe then compares every fetch with it, so a defacement is a change
against the approved page and new external domains stand out. The demo city
does the same for all its websites as soon as it is up, with the collectors'
own review code, into the baseline folder the demo's collectors read.
"""

from __future__ import annotations

from pathlib import Path

from collectors.content import baseline as baselines
from collectors.content.approve import review
from collectors.probes.base import ProbeConfig
from engine.inventory.loader import load_inventory

APPROVER = "ssa-demo-city"


async def approve_all(inventory: Path, baseline_dir: Path, timeout: float = 10.0) -> list[str]:
    """Approve the current page of every asset with a ``content`` probe; return their ids."""
    inv = load_inventory(inventory)
    config = ProbeConfig(collector=APPROVER, baseline_dir=baseline_dir)
    approved = []
    for asset in sorted(inv.assets.values(), key=lambda a: a.id):
        if "content" not in asset.probes:
            continue
        r = await review(asset, config, timeout=timeout, approved_by=APPROVER)
        baselines.save(baseline_dir, r.proposed)
        approved.append(asset.id)
    return approved
