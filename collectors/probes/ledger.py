"""What registered systems have pushed: counts and last times per asset.

The ingest servers record every accepted event here; the scheduled ``ingest``
probe reads it, so a system that stops sending its logs becomes visible
(``events`` since the last probe, ``silent_s`` since the last event).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class PushRecord:
    """Events pushed by one system."""

    total: int = 0
    since_probe: int = 0
    last_at: datetime | None = None


@dataclass
class PushLedger:
    """Per-asset push counts, shared by the ingest servers and the ingest probe."""

    records: dict[str, PushRecord] = field(default_factory=dict)

    def record(self, asset_id: str, at: datetime) -> None:
        """One event from ``asset_id`` arrived at ``at``."""
        r = self.records.setdefault(asset_id, PushRecord())
        r.total += 1
        r.since_probe += 1
        if r.last_at is None or at > r.last_at:
            r.last_at = at

    def take(self, asset_id: str) -> PushRecord:
        """The record of ``asset_id`` as it is now, resetting its since-probe count."""
        r = self.records.setdefault(asset_id, PushRecord())
        snapshot = PushRecord(r.total, r.since_probe, r.last_at)
        r.since_probe = 0
        return snapshot
