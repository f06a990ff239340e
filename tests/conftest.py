"""Shared fixtures: a real Kafka broker for the whole session, fresh topics per test.

The broker is started from the official jars on free loopback ports with a
512m heap, or ``SSA_KAFKA_BOOTSTRAP`` names an existing cluster to use.
Each test that asks for ``kafka_settings`` gets its own topic prefix, so
tests never see each other's records.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.broker.local import LocalBroker
from engine.broker.topics import create_topics
from engine.settings import Settings, with_overrides

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap servers of a real broker that lives for the test session."""
    existing = os.environ.get("SSA_KAFKA_BOOTSTRAP")
    if existing:
        yield existing
        return
    settings = Settings.load(env={})
    # Not under pytest's basetemp: a concurrent pytest session prunes old basetemps,
    # and a broker whose log directory vanishes shuts itself down.
    state_dir = Path(tempfile.mkdtemp(prefix="ssa-test-kafka-"))
    broker = LocalBroker.on_free_ports(settings, state_dir)
    broker.start(timeout=120)
    try:
        yield broker.bootstrap
    finally:
        broker.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def kafka_settings(kafka_bootstrap: str) -> Settings:
    """Settings pointing at the session broker, with this test's own topics created."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    settings = with_overrides(
        Settings.load(env={}),
        kafka={"bootstrap": kafka_bootstrap},
        topics={"prefix": prefix, "partitions": 3},
    )
    create_topics(kafka_bootstrap, settings)
    return settings
