"""The publisher: buffering while Kafka is unreachable, delivering when it is back, loud drops."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pytest

from collectors.metrics import CollectorMetrics, sample
from collectors.probes.base import ProbeConfig
from collectors.publisher import Publisher
from engine.broker.local import free_port
from engine.events import Observation
from engine.inventory.model import Asset
from engine.settings import Settings
from tests.collectors.conftest import TcpProxy, read_observations

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def observations(n: int) -> list[Observation]:
    config = ProbeConfig(collector="c1", now=lambda: T0)
    out = []
    for i in range(n):
        asset = Asset(id=f"a{i}", unit="u1", kind="ip", address="192.0.2.1")
        out.append(config.observation(asset, "tcp", config.start(), ok=True, data={"i": i}))
    return out


def wait_for(cond: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@pytest.mark.kafka
def test_delivers_keyed_observations(kafka_settings: Settings) -> None:
    topic = kafka_settings.topic("observations")
    pub = Publisher(kafka_settings.kafka.bootstrap, topic)
    pub.start()
    sent = observations(20)
    for obs in sent:
        pub.publish(obs)
    assert wait_for(lambda: pub.delivered == 20, 20)
    pub.stop()
    got = read_observations(kafka_settings.kafka.bootstrap, topic, count=20)
    assert sorted(o.id for o in got) == sorted(o.id for o in sent)


@pytest.mark.kafka
def test_buffers_while_unreachable_then_delivers(
    kafka_settings: Settings, tcp_proxy: list[TcpProxy]
) -> None:
    host, port = kafka_settings.kafka.bootstrap.split(",")[0].rsplit(":", 1)
    dead_port = free_port()  # nothing listens here yet
    topic = kafka_settings.topic("observations")
    metrics = CollectorMetrics()
    pub = Publisher(f"127.0.0.1:{dead_port}", topic, metrics=metrics, backoff_max_s=0.5)
    pub.start()
    sent = observations(5)
    for obs in sent:
        pub.publish(obs)
    errors = "ssa_collector_publish_errors_total"
    assert wait_for(lambda: (sample(metrics.registry, errors) or 0) >= 2, 10)
    assert pub.buffered() == 5 and pub.delivered == 0
    assert sample(metrics.registry, "ssa_collector_buffer_size") == 5

    # The broker becomes reachable at the configured address.
    tcp_proxy.append(TcpProxy(dead_port, (host, int(port))))
    assert wait_for(lambda: pub.delivered == 5, 30), (pub.delivered, pub.buffered())
    assert pub.buffered() == 0 and pub.dropped == 0
    pub.stop()
    got = read_observations(kafka_settings.kafka.bootstrap, topic, count=5)
    assert sorted(o.id for o in got) == sorted(o.id for o in sent)


def test_a_full_buffer_drops_the_oldest_loudly(caplog: pytest.LogCaptureFixture) -> None:
    metrics = CollectorMetrics()
    # Not started: nothing drains the buffer, as during a long outage.
    pub = Publisher(f"127.0.0.1:{free_port()}", "t.observations", metrics=metrics, buffer_size=3)
    sent = observations(5)
    with caplog.at_level(logging.ERROR, logger="collectors.publisher"):
        for obs in sent:
            pub.publish(obs)
    assert pub.buffered() == 3 and pub.dropped == 2
    assert [o.id for _, o in pub._buffer] == [o.id for o in sent[2:]]
    assert sample(metrics.registry, "ssa_collector_buffer_dropped_total") == 2
    assert any("observation buffer full (3)" in r.message for r in caplog.records)
