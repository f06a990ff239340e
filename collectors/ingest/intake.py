"""Where every pushed event goes: recognise the sender, normalise, emit, count.

``Intake`` is shared by the HTTP and syslog servers. An event from a sender
that is not a registered system is rejected (counted, logged without its
content); an accepted one becomes an observation handed to ``emit`` (the
publisher and metrics) and is recorded in the push ledger that the scheduled
``ingest`` probe reports from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from collectors.ingest import normalise
from collectors.ingest.directory import Directory
from collectors.ingest.syslog import parse
from collectors.metrics import CollectorMetrics
from collectors.probes.base import ProbeConfig
from engine.events import Observation
from engine.inventory.model import Asset

log = logging.getLogger(__name__)


class Intake:
    """Turns pushed events into observations of registered systems."""

    def __init__(
        self,
        directory: Directory,
        config: ProbeConfig,
        emit: Callable[[Observation], None],
        metrics: CollectorMetrics | None = None,
    ) -> None:
        self.directory = directory
        self.config = config
        self.emit = emit
        self.metrics = metrics or CollectorMetrics()
        self._warned: dict[str, int] = {}

    def _should_warn(self, key: str) -> bool:
        """Throttle warnings per sender: the 1st, 10th, 100th… (a flood must not flood the log)."""
        if len(self._warned) > 1024:
            self._warned.clear()
        n = self._warned[key] = self._warned.get(key, 0) + 1
        return n == 1 or (n % 10 == 0 and str(n).rstrip("0") == "1")

    def _count(self, transport: str, result: str) -> None:
        self.metrics.ingest_events.labels(transport, result).inc()

    def accept_json(self, asset: Asset, event: Mapping[str, Any]) -> Observation:
        """One JSON event from an authenticated system."""
        obs = normalise.from_json(asset, self.config, event)
        self._deliver(obs, "http")
        return obs

    def accept_syslog(self, line: str, peer: str | None, transport: str) -> Observation | None:
        """One framed syslog message from ``peer``; None when it is rejected."""
        try:
            msg = parse(line, now=self.config.now())
        except ValueError as e:
            self._count(transport, "malformed")
            if self._should_warn(f"malformed {peer}"):
                log.warning("syslog/%s from %s: malformed message (%s)", transport, peer, e)
            return None
        asset = self.directory.by_sender(peer, msg.hostname)
        if asset is None:
            self._count(transport, "unknown_sender")
            if self._should_warn(f"unknown {peer}"):
                log.warning(
                    "syslog/%s from %s (hostname %r): not a registered system; dropped "
                    "(further warnings for this sender are throttled)",
                    transport, peer, (msg.hostname or "")[:64],
                )
            return None
        obs = normalise.from_syslog(asset, self.config, msg, transport)
        self._deliver(obs, transport)
        return obs

    def reject(self, transport: str, reason: str) -> None:
        self._count(transport, reason)

    def _deliver(self, obs: Observation, transport: str) -> None:
        self._count(transport, "accepted")
        self.config.pushes.record(obs.asset, obs.observed_at)
        self.emit(obs)
