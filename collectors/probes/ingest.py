"""The ``ingest`` probe: how a registered system's own event push is doing.

Systems push security events to the collector (JSON over HTTP, syslog over
UDP/TCP; see ``collectors.ingest``); each pushed event becomes its own
observation. This scheduled probe reports the push channel itself: events
received since the last probe, the time of the last one, and — when the asset
sets ``options.ingest.max_silence_s`` — ``ok=False`` once the system has been
silent for longer, because a system that stops sending logs is a finding too.
"""

from __future__ import annotations

from collectors.probes.base import ProbeConfig
from engine.events import Observation, format_time
from engine.inventory.model import Asset

NAME = "ingest"


async def probe(asset: Asset, config: ProbeConfig, *, timeout: float) -> Observation:
    """Summarise what ``asset`` pushed since the last run (never raises)."""
    watch = config.start()
    record = config.pushes.take(asset.id)
    silent_s = (
        None
        if record.last_at is None
        else round(max(0.0, (watch.observed_at - record.last_at).total_seconds()), 3)
    )
    data = {
        "event_type": "push_status",
        "events": record.since_probe,
        "events_total": record.total,
        "last_event_at": None if record.last_at is None else format_time(record.last_at),
        "silent_s": silent_s,
    }
    limit = config.option(asset, NAME, "max_silence_s")
    if isinstance(limit, int | float) and silent_s is not None and silent_s > limit:
        return config.failure(asset, NAME, watch, f"no events pushed for {silent_s:.0f}s", data)
    return config.observation(asset, NAME, watch, ok=True, data=data)
