"""Collector metrics: per-asset series, cert expiry, forgetting assets that moved away."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from collectors.metrics import CollectorMetrics, MetricsServer, sample
from collectors.probes.base import ProbeConfig
from engine.inventory.model import Asset

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
SITE = Asset(id="portal", unit="gov", kind="website", url="https://www.example.gov/")


def test_observations_fill_the_series_and_forget_clears_them() -> None:
    m = CollectorMetrics()
    config = ProbeConfig(now=lambda: T0)
    w = config.start()
    m.observe(config.observation(SITE, "http", w, ok=True, data={"status": 200}))
    m.observe(config.failure(SITE, "http", w, "refused"))
    m.observe(config.observation(
        SITE, "tls", w, ok=True, data={"cert_not_after": "2027-01-01T00:00:00Z"}
    ))
    r = m.registry
    labels = {"asset": "portal", "unit": "gov", "probe": "http"}
    assert sample(r, "ssa_probe_success", labels) == 0  # the last one failed
    assert sample(r, "ssa_probes_total", {"probe": "http", "result": "ok"}) == 1
    assert sample(r, "ssa_probes_total", {"probe": "http", "result": "fail"}) == 1
    assert sample(r, "ssa_probe_duration_seconds_count", {"probe": "http"}) == 2
    assert sample(r, "ssa_tls_cert_expiry_timestamp_seconds", {"asset": "portal"}) == (
        datetime(2027, 1, 1, tzinfo=UTC).timestamp()
    )
    m.forget("portal")
    assert sample(r, "ssa_probe_success", labels) is None
    assert sample(r, "ssa_tls_cert_expiry_timestamp_seconds", {"asset": "portal"}) is None
    m.forget("portal")  # twice is harmless


def test_pushed_events_are_counted_but_are_not_probe_runs() -> None:
    m = CollectorMetrics()
    config = ProbeConfig(now=lambda: T0)
    event = config.observation(SITE, "ingest", config.start(), ok=True, data={"event_type": "auth"})
    m.observe(event)
    assert sample(m.registry, "ssa_probes_total", {"probe": "ingest", "result": "ok"}) == 1
    assert sample(
        m.registry, "ssa_probe_success", {"asset": "portal", "unit": "gov", "probe": "ingest"}
    ) is None


def test_metrics_are_served_on_loopback() -> None:
    m = CollectorMetrics()
    m.track_buffer(lambda: 7)
    server = MetricsServer(m.registry, "127.0.0.1", 0)
    port = server.start()
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        server.stop()
    assert "ssa_collector_buffer_size 7.0" in text
    assert "ssa_collector_publish_errors_total 0.0" in text


def test_http_phases_become_per_asset_gauges_in_seconds() -> None:
    m = CollectorMetrics()
    config = ProbeConfig(now=lambda: T0)
    phases = {"dns": 1.5, "connect": 2.0, "tls": 8.0, "ttfb": 30.0, "transfer": 4.5, "odd": 1.0}
    m.observe(config.observation(SITE, "http", config.start(), ok=True, data={"phases_ms": phases}))
    r = m.registry
    assert sample(r, "ssa_http_phase_seconds", {"asset": "portal", "phase": "ttfb"}) == 0.03
    assert sample(r, "ssa_http_phase_seconds", {"asset": "portal", "phase": "dns"}) == 0.0015
    assert sample(r, "ssa_http_phase_seconds", {"asset": "portal", "phase": "odd"}) is None
    m.forget("portal")
    assert sample(r, "ssa_http_phase_seconds", {"asset": "portal", "phase": "ttfb"}) is None
