"""Sample metrics for a real Prometheus to scrape, from ssa's own metric classes.

The engine's, collectors' and notifier's metric classes (``EngineMetrics``,
``CollectorMetrics``, ``NotifyMetrics``) each get their own registry and
/metrics server on loopback, and are fed with observations, scores and
delivery results of a few of the demo city's assets, as the real processes
would feed them. A ticker keeps counters and histograms moving, so ``rate()``
and ``histogram_quantile()`` have something to compute. Because the real
classes export the names, a renamed metric breaks the dashboard test.
"""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server

from collectors.metrics import CollectorMetrics
from engine.demo.plan import city_plan
from engine.events import Observation, format_time
from engine.inventory.model import Asset, Unit
from engine.metrics import EngineMetrics
from engine.notify.service import NotifyMetrics
from engine.scoring import AlertSnapshot, compute_scores

#: (rule, asset, severity, risk weight, state) of the sample alerts.
ALERTS: tuple[tuple[str, str, str, float, str], ...] = (
    ("site-down", "hrss-www", "high", 8.0, "firing"),
    ("http-5xx", "transport-www", "high", 5.0, "firing"),
    ("cert-expiring", "finance-www", "medium", 3.0, "firing"),
    ("defacement", "market-www", "critical", 10.0, "acknowledged"),
    ("dns-hijack", "portal-domain", "critical", 10.0, "resolved"),
)


def _assets() -> dict[str, Asset]:
    plan = city_plan()
    out = {s.id: Asset(id=s.id, unit=s.unit, kind="website", name=s.name,
                       criticality=s.criticality) for s in plan.sites}  # fmt: skip
    out.update({f"{s.id}-domain": Asset(id=f"{s.id}-domain", unit=s.unit, kind="website",
                                       criticality=s.criticality)
                for s in plan.sites if s.key})  # fmt: skip
    out.update({h.id: Asset(id=h.id, unit=h.unit, kind=h.kind, criticality=h.criticality)
                for h in plan.hosts})  # fmt: skip
    return out


class SampleExporter:
    """Three /metrics endpoints (engine, collector, notifier) with moving sample values."""

    def __init__(self) -> None:
        self.engine = EngineMetrics(CollectorRegistry())
        self.collector = CollectorMetrics(CollectorRegistry())
        self.notifier_registry = CollectorRegistry()
        self.notifier = NotifyMetrics(self.notifier_registry)
        self.assets = _assets()
        self.ports: dict[str, int] = {}
        self._servers: list[Any] = []
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick_forever, daemon=True)
        self._n = itertools.count()

    def start(self) -> dict[str, list[str]]:
        """Serve the three registries; return the Prometheus jobs that scrape them."""
        self._set_state()
        registries = {
            "ssa-engine": self.engine.registry,
            "ssa-collector": self.collector.registry,
            "ssa-notifier": self.notifier_registry,
        }
        for job, registry in registries.items():
            server, _ = start_http_server(0, addr="127.0.0.1", registry=registry)
            self._servers.append(server)
            self.ports[job] = int(server.server_port)
        self._tick()
        self._ticker.start()
        return {job: [f"127.0.0.1:{port}"] for job, port in self.ports.items()}

    def stop(self) -> None:
        self._stop.set()
        self._ticker.join(timeout=2.0)
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def _set_state(self) -> None:
        now = datetime.now(UTC)
        snaps = [
            AlertSnapshot(f"fp-{rule}-{asset}", rule, asset, self.assets[asset].unit, state,
                          weight, severity, title=rule,
                          resolved_at=now - timedelta(minutes=5) if state == "resolved" else None)
            for rule, asset, severity, weight, state in ALERTS
        ]  # fmt: skip
        scores = compute_scores(snaps, self.assets, now)
        units = {u.id: Unit(u.id, u.name) for u in city_plan().units}
        self.engine.update_state(scores, self.assets, snaps, units)
        self.engine.rules_reloaded(17)
        self.engine.lag(1.5)
        self.notifier.set_overdue({"city-hrss": 1, "city-market": 0})
        self.collector.track_buffer(lambda: 3)
        self.collector.assets.set(len(self.assets))
        self.notifier.pending.set(2)

    def _observation(self, asset: str, probe: str, ok: bool, n: int, **data: Any) -> Observation:
        a = self.assets[asset]
        return Observation(id=f"o{n}-{asset}-{probe}", asset=asset, unit=a.unit, probe=probe,
                           observed_at=datetime.now(UTC), collector="c1", vantage="local",
                           ok=ok, duration_s=0.01 + (n % 7) * 0.05,
                           error=None if ok else "connect: connection refused",
                           data=data)  # fmt: skip

    def _tick(self) -> None:
        n = next(self._n)
        not_after = format_time(datetime.now(UTC) + timedelta(days=5))
        observations = [
            self._observation("portal", "http", True, n, status=200, latency_ms=12.0),
            self._observation(
                "hrss-www", "http", True, n, status=200, latency_ms=40.0,
                phases_ms={"dns": 1.0, "connect": 2.0, "tls": 9.0, "ttfb": 25.0, "transfer": 3.0},
            ),
            self._observation("portal", "tls", True, n, cert_not_after=not_after),
            self._observation("hrss-www", "http", False, n),
            self._observation("hrss-www", "tls", True, n, cert_not_after=not_after),
            self._observation("finance-www", "tls", True, n, cert_not_after=not_after),
            self._observation("transport-bus", "http", n % 3 != 0, n, status=200),
            self._observation("portal-domain", "dns", True, n, addresses=["127.0.0.1"]),
            self._observation("gw-bigdata", "tcp", True, n, open_ports=[10022]),
        ]
        for o in observations:
            self.collector.observe(o)
            self.engine.observation(o)
            self.engine.rule_eval(0.0002 * (1 + n % 5))
        rule, _asset, severity, _, _ = ALERTS[n % len(ALERTS)]
        self.engine.alerts_total.labels(severity, rule, "firing").inc()
        self.engine.findings_total.labels(rule, severity).inc()
        if n % 4 == 0:
            self.engine.alerts_total.labels(severity, rule, "resolved").inc()
        if n % 5 == 0:
            self.engine.dead_letter("schema")
            self.collector.ingest_events.labels("http", "accepted").inc()
            self.collector.ingest_events.labels("syslog-udp", "unknown_sender").inc()
        self.notifier.attempts.labels("webhook", "ok").inc()
        if n % 3 == 0:
            self.notifier.attempts.labels("dingtalk", "error").inc()

    def _tick_forever(self) -> None:
        while not self._stop.wait(0.25):
            self._tick()
