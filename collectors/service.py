"""A running collector: inventory in, probes on schedule, observations out.

``Collector`` wires the parts together on one asyncio loop:

- what to probe: a fixed ``Inventory`` (``ssa collect --inventory FILE``), or
  this member's share of the inventory topic through the consumer group
  (``InventoryFollower``), which moves assets on every rebalance;
- the ``Scheduler`` running the ``PROBES``;
- the ``Publisher`` to ``<prefix>.observations`` (key = the asset's
  ``partition_key``) and the ``CollectorMetrics`` on ``/metrics``;
- the ``ControlListener`` turning ``fixed``/``reprobe`` control events into
  immediate re-probes of assets this collector owns;
- the ingest servers (HTTP and syslog) for systems that push their events.

Kafka consumers run in their own threads; their callbacks are handed to the
loop with ``call_soon_threadsafe``, so the scheduler is only touched there.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from collectors.control import ControlListener
from collectors.ingest.directory import Directory, parse_tokens
from collectors.ingest.intake import Intake
from collectors.ingest.servers import IngestServers
from collectors.inventory import InventoryFollower, group_id
from collectors.metrics import CollectorMetrics, MetricsServer
from collectors.plan import Plan
from collectors.probes import PROBES, Probe
from collectors.probes.base import ProbeConfig
from collectors.publisher import Publisher
from collectors.scheduler import Scheduler
from engine.broker import bootstrap_servers
from engine.events import Observation
from engine.inventory.model import Asset, Inventory
from engine.settings import Settings

log = logging.getLogger(__name__)


def default_collector_id() -> str:
    """``host-pid``, reduced to the characters an event name allows."""
    raw = f"{socket.gethostname()}-{os.getpid()}"
    return re.sub(r"[^A-Za-z0-9_.:/@-]", "-", raw).lstrip("-_.:/@") or "collector"


@dataclass
class CollectorOptions:
    """How one collector runs (the ``ssa collect`` flags)."""

    #: Probe exactly these assets; None = follow the inventory topic in the group.
    inventory: Inventory | None = None
    vantage: str | None = None
    collector_id: str | None = None
    ingest: bool = True
    control: bool = True
    metrics: bool = True
    #: Port overrides (0 = any free port); None = from settings.
    http_port: int | None = None
    syslog_port: int | None = None
    metrics_port: int | None = None
    #: New assets' first probes are spread over this many seconds.
    spread_s: float = 10.0
    #: Consumer-group timing; shorter in tests so rebalances are quick.
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 1_000


class Collector:
    """One collector process's parts, started and stopped together."""

    def __init__(
        self,
        settings: Settings,
        options: CollectorOptions | None = None,
        *,
        probes: Mapping[str, Probe] | None = None,
        config: ProbeConfig | None = None,
    ) -> None:
        self.settings = settings
        self.options = opts = options or CollectorOptions()
        c = settings.collectors
        self.id = opts.collector_id or default_collector_id()
        self.bootstrap = bootstrap_servers(settings)
        self.metrics = CollectorMetrics()
        self.config = config or ProbeConfig.from_settings(
            settings, collector=self.id, vantage=opts.vantage
        )
        self.publisher = Publisher(
            self.bootstrap, settings.topic("observations"), metrics=self.metrics,
            buffer_size=c.buffer_size, client_id=f"ssa-collector-{self.id}",
        )
        self.scheduler = Scheduler(
            probes if probes is not None else PROBES, self.config, self.emit,
            concurrency=c.concurrency, timeout=c.timeout_s, plan=Plan(spread_s=opts.spread_s),
        )
        self.metrics.assets.set_function(lambda: len(self.scheduler.assets))
        self.directory = Directory(parse_tokens(c.ingest_tokens))
        self.intake = Intake(self.directory, self.config, self.emit, self.metrics)
        self.servers: IngestServers | None = None
        self.metrics_server: MetricsServer | None = None
        self.followers: list[InventoryFollower] = []
        self.control: ControlListener | None = None
        self._task: asyncio.Task[None] | None = None

    # -- the sink of every observation ---------------------------------------------

    def emit(self, obs: Observation) -> None:
        """Count and publish one observation (scheduled or pushed)."""
        self.metrics.observe(obs)
        asset = self.scheduler.assets.get(obs.asset) or self.directory.assets.get(obs.asset)
        self.publisher.publish(obs, key=asset.partition_key if asset else obs.asset)

    # -- inventory changes (called on the loop) ----------------------------------------

    def _put(self, asset: Asset) -> None:
        self.scheduler.put(asset)

    def _remove(self, asset_id: str) -> None:
        if self.scheduler.remove(asset_id) is not None:
            self.metrics.forget(asset_id)

    @staticmethod
    def _on_loop(loop: asyncio.AbstractEventLoop, fn: Callable[..., Any]) -> Callable[..., None]:
        """``fn`` made safe to call from a consumer thread."""

        def call(*args: Any) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(fn, *args)

        return call

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Start every part; returns once they are listening."""
        loop = asyncio.get_running_loop()
        opts, c, s = self.options, self.settings.collectors, self.settings
        self.publisher.start()
        if opts.metrics:
            port = c.metrics_port if opts.metrics_port is None else opts.metrics_port
            self.metrics_server = MetricsServer(self.metrics.registry, c.metrics_host, port)
            self.metrics_server.start()
        if opts.inventory is not None:
            self.scheduler.replace_all(opts.inventory.assets.values())
            for a in opts.inventory.assets.values():
                self.directory.put(a)
        else:
            self.followers.append(InventoryFollower(
                self.bootstrap, s.topic("inventory"), group=group_id(s.topics.prefix),
                on_put=self._on_loop(loop, self._put), on_remove=self._on_loop(loop, self._remove),
                client_id=f"ssa-collector-{self.id}",
                session_timeout_ms=opts.session_timeout_ms,
                heartbeat_interval_ms=opts.heartbeat_interval_ms,
            ))
            if opts.ingest:  # any registered system may push to any collector
                self.followers.append(InventoryFollower(
                    self.bootstrap, s.topic("inventory"), group=None,
                    on_put=self._on_loop(loop, self.directory.put),
                    on_remove=self._on_loop(loop, self.directory.remove),
                    client_id=f"ssa-collector-{self.id}-directory",
                ))
            for f in self.followers:
                f.start()
        if opts.control:
            self.control = ControlListener(
                self.bootstrap, s.topic("control"), self._on_loop(loop, self.scheduler.reprobe),
                client_id=f"ssa-collector-{self.id}-control", baseline_dir=c.baseline_dir,
            )
            self.control.start()
        if opts.ingest:
            self.servers = IngestServers(
                self.intake, host=c.ingest_host,
                http_port=c.ingest_port if opts.http_port is None else opts.http_port,
                syslog_port=c.syslog_port if opts.syslog_port is None else opts.syslog_port,
                max_body_bytes=c.ingest_max_body_bytes,
            )
            await self.servers.start()
        self._task = asyncio.create_task(self.scheduler.run(), name="scheduler")
        log.info("collector %s (vantage %s) started", self.id, self.config.vantage)

    async def wait_ready(self, timeout: float = 30.0) -> bool:
        """True once the Kafka consumers are up (tests and the demo wait for it)."""
        waits = [f.wait_ready for f in self.followers]
        if self.control is not None:
            waits.append(self.control.wait_ready)
        results = await asyncio.gather(*(asyncio.to_thread(w, timeout) for w in waits))
        return all(results)

    async def stop(self) -> None:
        """Stop probing, leave the group, deliver what is buffered, close listeners."""
        self.scheduler.stop()
        if self._task is not None:
            await self._task
        await asyncio.gather(*(asyncio.to_thread(f.stop) for f in self.followers))
        if self.control is not None:
            await asyncio.to_thread(self.control.stop)
        if self.servers is not None:
            await self.servers.stop()
        await asyncio.to_thread(self.publisher.stop)
        if self.metrics_server is not None:
            self.metrics_server.stop()
        log.info("collector %s stopped", self.id)

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set (a signal), then stop cleanly."""
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
