"""Maintenance windows from the inventory, as the lifecycle needs them.

During an asset's maintenance window its alerts are recorded with
``suppressed_by=("maintenance",)`` and not notified. The lifecycle asks when
the next window starts or ends so that it can re-mark alerts at exactly that
event time (see ``AlertLifecycle.tick``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from engine.inventory.model import Asset


def in_maintenance(asset: Asset | None, t: datetime) -> bool:
    """Whether a window of ``asset`` covers ``t`` (unknown assets never are)."""
    return asset is not None and asset.in_maintenance(t)


def next_boundary(assets: Iterable[Asset], after: datetime) -> datetime | None:
    """The earliest window start or end strictly after ``after``, if any."""
    best: datetime | None = None
    for a in assets:
        for w in a.maintenance:
            for t in (w.start, w.end):
                if t > after and (best is None or t < best):
                    best = t
    return best


def boundaries(assets: Iterable[Asset], after: datetime | None, until: datetime) -> list[datetime]:
    """Every window start or end in (``after``, ``until``] (no lower bound if ``after`` is None)."""
    out = set()
    for a in assets:
        for w in a.maintenance:
            for t in (w.start, w.end):
                if (after is None or t > after) and t <= until:
                    out.add(t)
    return sorted(out)
