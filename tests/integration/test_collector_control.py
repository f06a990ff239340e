"""A collector stores baselines approved anywhere, and re-probes on request."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from kafka import KafkaProducer

from collectors.content import baseline as baselines
from collectors.control import ControlListener
from engine.events import Control
from engine.settings import Settings
from tests.collectors.probes.test_content import APPROVED_AT, _approval
from tests.servers import pages

pytestmark = pytest.mark.kafka


def test_approved_baselines_and_reprobes_arrive(kafka_settings: Settings, tmp_path: Path) -> None:
    reprobed: list[str] = []
    listener = ControlListener(
        kafka_settings.kafka.bootstrap,
        kafka_settings.topic("control"),
        reprobed.append,
        baseline_dir=str(tmp_path),
    )
    listener.start()
    try:
        assert listener.wait_ready(30)
        producer = KafkaProducer(bootstrap_servers=kafka_settings.kafka.bootstrap, acks="all")
        fixed = Control(
            id="c-fixed", kind="fixed", at=APPROVED_AT, actor="unit", target="fp1",
            data={"asset": "site-1"},
        )  # fmt: skip
        for c in (_approval(APPROVED_AT, pages.portal()), fixed):
            producer.send(kafka_settings.topic("control"), c.to_json())
        producer.flush()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (reprobed and baselines.load(tmp_path, "site-1")):
            time.sleep(0.1)
    finally:
        listener.stop()
    stored = baselines.load(tmp_path, "site-1")
    assert stored is not None and stored.approved_at == APPROVED_AT
    assert reprobed == ["site-1"]
