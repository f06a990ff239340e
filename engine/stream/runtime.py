"""What the Faust app is given: rules, inventory, metrics, the alert view and the API.

Kept apart from ``app.py`` so the agents stay adapters of a few lines and
everything with state or I/O besides Kafka tables is here, built once by
``ssa engine`` (or a test) and passed in.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry

from engine.errors import EventError
from engine.events import Alert, Control
from engine.inventory.model import Inventory
from engine.metrics import EngineMetrics
from engine.settings import Settings
from engine.stream.alert_view import TopicStateView
from engine.stream.rules_holder import RulesHolder

log = logging.getLogger(__name__)

#: How often, at most, the read model recomputes scores after new alert records.
REFRESH_EVERY_S = 0.5


class Runtime:
    """Everything the engine's agents need besides Kafka."""

    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        rules: RulesHolder,
        inventory: Inventory,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.rules = rules
        self.inventory = inventory
        self.registry = registry or CollectorRegistry()
        self.metrics = EngineMetrics(self.registry)
        self.metrics.rules_reloaded(len(rules.current.rules))
        self.view = TopicStateView(inventory, self.metrics)
        self.pipelines_reload: Callable[[], None] = lambda: None
        self._api_runner: Any = None
        self._producer: Any = None

    # -- rules ---------------------------------------------------------------

    def reload_rules(self) -> bool:
        ok = self.rules.reload()
        if ok:
            self.metrics.rules_reloaded(len(self.rules.current.rules))
        elif self.rules.last_error:
            self.metrics.rule_reload_failed()
        return ok

    # -- alerts ---------------------------------------------------------------

    async def follow_alerts(self) -> None:
        """Keep the view of every alert and silence, from every worker, from the topics."""
        from aiokafka import AIOKafkaConsumer

        alerts, control = self.settings.topic("alerts"), self.settings.topic("control")
        # No group: every worker reads every partition of both topics from the start.
        consumer = AIOKafkaConsumer(
            alerts,
            control,
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        refreshed, pending = 0.0, False
        try:
            while True:
                batches = await consumer.getmany(
                    timeout_ms=int(REFRESH_EVERY_S * 1000), max_records=5000
                )
                pending = pending or bool(batches)
                for tp, records in batches.items():
                    for r in records:
                        try:
                            if tp.topic == alerts:
                                self.view.apply_alert(Alert.from_json(r.value))
                            else:
                                self.view.apply_control(Control.from_json(r.value))
                        except EventError:
                            # The engine dead-letters bad controls; the ledger audit
                            # reports bad alert records. The view shows what is valid.
                            continue
                # Scores are recomputed at most every REFRESH_EVERY_S: the refresh
                # shares the event loop with the evaluator, whose latency it adds to.
                now = time.monotonic()
                if pending and now - refreshed >= REFRESH_EVERY_S:
                    self.view.refresh()
                    refreshed, pending = now, False
        finally:
            await consumer.stop()

    # -- control and API -------------------------------------------------------

    async def send_control(self, c: Control) -> None:
        """Record an operator's action on ``ssa.control`` (the API's mutations)."""
        from aiokafka import AIOKafkaProducer

        if self._producer is None:
            self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
            await self._producer.start()
        await self._producer.send_and_wait(self.settings.topic("control"), c.to_json())

    async def start_api(self) -> None:
        from aiohttp import web

        from engine.api import create_api

        app = create_api(self.view, self.send_control, self.settings, registry=self.registry)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.settings.api.host, self.settings.api.port)
        await site.start()
        self._api_runner = runner
        log.info("API and /metrics on http://%s:%d", self.settings.api.host, self.settings.api.port)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
            if self._producer is not None:
                await self._producer.stop()
