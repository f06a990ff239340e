"""A batch whose alerts are rejected by the broker must not be marked processed.

The alerts topic is made to reject the alerts' (two-day-old) event timestamps, a
non-retriable per-partition error, while the changelogs (send-time timestamps) accept
their records. The worker stops uncommitted; once the topic accepts them again, a
restarted worker must produce every alert the core makes of the observations.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from engine.settings import Settings
from tests.conftest import REPO
from tests.reliability.engineproc import EngineProc, Traffic, end_offsets, wait_committed
from tests.reliability.test_worker_crash import check_alerts

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _alerts_reject_before(bootstrap: str, topic: str, ms: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC,
                    topic,
                    configs={"message.timestamp.before.max.ms": str(ms)},
                )
            ]
        )
    finally:
        admin.close()


@pytest.fixture
def engine(kafka_settings: Settings, tmp_path: Path) -> Iterator[EngineProc]:
    e = EngineProc(kafka_settings, tmp_path, REPO / "rules")
    try:
        yield e
    finally:
        e.stop()


def test_rejected_alerts_are_redone(
    engine: EngineProc, kafka_settings: Settings, tmp_path: Path
) -> None:
    bootstrap = kafka_settings.kafka.bootstrap
    alerts, obs = kafka_settings.topic("alerts"), kafka_settings.topic("observations")
    _alerts_reject_before(bootstrap, alerts, 3_600_000)
    traffic = Traffic(datetime.now(UTC).replace(microsecond=0) - timedelta(days=2))
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for _ in range(3000):
        key, o = traffic.next()
        producer.send(obs, key=key, value=o.to_json())
    producer.flush()
    producer.close()

    engine.start()
    deadline = time.monotonic() + 60
    while engine.alive() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not engine.alive(), "a worker whose alerts are rejected must stop"
    assert "InvalidTimestamp" in engine.log_text()

    _alerts_reject_before(bootstrap, alerts, 2**63 - 1)
    engine.start()
    assert wait_committed(bootstrap, engine.group, obs, timeout=60) == end_offsets(bootstrap, obs)
    check_alerts(kafka_settings, tmp_path)  # nothing lost
