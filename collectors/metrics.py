"""The collector's Prometheus metrics, in its own registry, served on /metrics.

Names follow ``ssa_<name>_<unit>``; labels come from the inventory (asset,
unit, probe) and a fixed ``result`` set, never from free text. When an asset
leaves this collector (removed, or moved to another collector by a rebalance)
its per-asset series are removed, so the collector that owns an asset is the
only one exporting it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from threading import Thread
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from engine.events import Observation, parse_time

log = logging.getLogger(__name__)

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


#: The phases of an HTTP probe, as the http probe reports them in ``data.phases_ms``.
HTTP_PHASES: tuple[str, ...] = ("dns", "connect", "tls", "ttfb", "transfer")


class CollectorMetrics:
    """Every metric a collector exports; ``observe`` is called once per observation."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.probe_success = Gauge(
            "ssa_probe_success", "1 if the last probe of this asset succeeded, else 0",
            ["asset", "unit", "probe"], registry=r,
        )
        self.probe_duration = Histogram(
            "ssa_probe_duration_seconds", "Time a probe took", ["probe"],
            buckets=DURATION_BUCKETS, registry=r,
        )
        self.probes_total = Counter(
            "ssa_probes_total", "Probe runs by result (ok, fail)", ["probe", "result"], registry=r
        )
        self.cert_expiry = Gauge(
            "ssa_tls_cert_expiry_timestamp_seconds",
            "When the asset's TLS certificate expires (Unix time)", ["asset"], registry=r,
        )
        self.http_phase = Gauge(
            "ssa_http_phase_seconds",
            "Time of each phase of the asset's last HTTP probe (dns, connect, tls, ttfb, transfer)",
            ["asset", "phase"], registry=r,
        )
        self.buffer_size = Gauge(
            "ssa_collector_buffer_size", "Observations waiting to be published", registry=r
        )
        self.buffer_dropped = Counter(
            "ssa_collector_buffer_dropped_total",
            "Observations dropped because the local buffer was full", registry=r,
        )
        self.publish_errors = Counter(
            "ssa_collector_publish_errors_total",
            "Failed attempts to reach Kafka or deliver observations", registry=r,
        )
        self.ingest_events = Counter(
            "ssa_ingest_events_total",
            "Pushed events by transport and result (accepted, unauthorized, malformed, ...)",
            ["transport", "result"], registry=r,
        )
        self.assets = Gauge(
            "ssa_collector_assets", "Assets this collector currently probes", registry=r
        )
        self._labels: dict[str, set[tuple[str, str, str]]] = {}

    def observe(self, obs: Observation) -> None:
        """Record one observation (scheduled probes and ingest events alike)."""
        if obs.probe == "ingest" and obs.data.get("event_type") != "push_status":
            self.probes_total.labels(obs.probe, "ok" if obs.ok else "fail").inc()
            return  # pushed events are not probe runs of the asset
        key = (obs.asset, obs.unit, obs.probe)
        self._labels.setdefault(obs.asset, set()).add(key)
        self.probe_success.labels(*key).set(1 if obs.ok else 0)
        self.probe_duration.labels(obs.probe).observe(obs.duration_s)
        self.probes_total.labels(obs.probe, "ok" if obs.ok else "fail").inc()
        phases = obs.data.get("phases_ms") if obs.probe == "http" else None
        if isinstance(phases, dict):
            for phase in HTTP_PHASES:
                ms = phases.get(phase)
                if isinstance(ms, int | float) and not isinstance(ms, bool):
                    self.http_phase.labels(obs.asset, phase).set(ms / 1000.0)
        not_after = obs.data.get("cert_not_after") if obs.probe == "tls" else None
        if isinstance(not_after, str):
            try:
                self.cert_expiry.labels(obs.asset).set(parse_time(not_after).timestamp())
            except ValueError:
                log.warning("tls observation %s has a bad cert_not_after", obs.id)

    def forget(self, asset_id: str) -> None:
        """Remove the per-asset series of an asset this collector no longer owns."""
        for key in self._labels.pop(asset_id, set()):
            self.probe_success.remove(*key)
        try:
            self.cert_expiry.remove(asset_id)
        except KeyError:
            pass  # it never had a tls observation
        for phase in HTTP_PHASES:
            try:
                self.http_phase.remove(asset_id, phase)
            except KeyError:
                pass  # it never had an http observation with this phase

    def track_buffer(self, size: Callable[[], int]) -> None:
        """Read the buffer fill from ``size`` at every scrape."""
        self.buffer_size.set_function(size)


class MetricsServer:
    """/metrics of one registry on ``host:port`` (127.0.0.1 unless configured)."""

    def __init__(self, registry: CollectorRegistry, host: str = "127.0.0.1", port: int = 0):
        self.registry, self.host, self.port = registry, host, port
        self._server: WSGIServer | None = None
        self._thread: Thread | None = None

    def start(self) -> int:
        """Start serving; returns the bound port (useful with port 0)."""
        server, thread = start_http_server(self.port, addr=self.host, registry=self.registry)
        self._server, self._thread = server, thread
        self.port = int(server.server_port)
        log.info("collector metrics on http://%s:%d/metrics", self.host, self.port)
        return self.port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def sample(registry: CollectorRegistry, name: str, labels: dict[str, str] | None = None) -> Any:
    """The current value of one sample (tests and ``ssa collect`` status lines)."""
    return registry.get_sample_value(name, labels or {})
