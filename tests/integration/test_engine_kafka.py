"""The engine as a real process on a real broker.

Observations in → findings and hash-chained alerts out; a malformed message
goes to the dead-letter topic; the worker is restarted in the middle of a
threshold window and the window survives (changelog recovery); /metrics
shows the alert; an acknowledgement through the API (token required) becomes
a state change on the alerts topic.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from kafka import KafkaProducer

from engine.audit.ledger import GENESIS, record_hash
from engine.events import Alert, Finding, Observation
from engine.settings import Settings
from tests.conftest import REPO
from tests.engineproc import EngineProcess
from tests.kafkautil import read_topic

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

INVENTORY = """\
units:
  - id: gov-office
    name: 市政府办公室
    contacts: [{name: 值班室, email: duty@example.org}]
  - id: finance
    name: 财政局
assets:
  - id: portal
    unit: gov-office
    kind: website
    name: 门户网站
    url: https://www.example.gov/
    criticality: 5
    probes: [http]
  - id: czj-portal
    unit: finance
    kind: website
    name: 财政局网站
    url: https://czj.example.gov/
    criticality: 3
    probes: [http]
"""
TOKEN = "test-token-" + uuid.uuid4().hex


@pytest.fixture
def engine(kafka_settings: Settings, tmp_path: Path) -> Iterator[EngineProcess]:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY, encoding="utf-8")
    e = EngineProcess(kafka_settings, tmp_path, REPO / "rules", inventory, token=TOKEN)
    try:
        yield e
    finally:
        e.stop()


def _failure(t: datetime, asset: str = "portal", unit: str = "gov-office") -> Observation:
    return Observation(
        id=uuid.uuid4().hex, asset=asset, unit=unit, probe="http", observed_at=t,
        collector="c1", vantage="test", ok=False, duration_s=0.2, error="status 503",
        data={"status": 503, "latency_ms": 200.0},
    )  # fmt: skip


def test_engine_end_to_end(engine: EngineProcess, kafka_settings: Settings) -> None:
    bootstrap = kafka_settings.kafka.bootstrap
    topic = kafka_settings.topic("observations")
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)

    # Two failures of a three-in-five-minutes threshold, then the worker restarts.
    engine.start()
    for i in range(2):
        producer.send(topic, key=b"gov-office", value=_failure(t0 + timedelta(minutes=i)).to_json())
    producer.send(topic, key=b"gov-office", value=b'{"v": 1, "garbage": true')
    producer.flush()
    engine.wait_metric("ssa_observations_total", 2, probe="http", result="fail")
    engine.wait_metric("ssa_deadletter_total", 1, reason_kind="invalid_json")
    engine.stop()
    assert read_topic(bootstrap, kafka_settings.topic("alerts"), expect=0, timeout=1) == []

    engine.start()
    producer.send(topic, key=b"gov-office", value=_failure(t0 + timedelta(minutes=2)).to_json())
    producer.flush()

    # The third failure completes the window that began before the restart.
    findings = [
        Finding.from_json(r.value)
        for r in read_topic(bootstrap, kafka_settings.topic("findings"), expect=1)
    ]
    assert [(f.rule, f.asset, len(f.evidence)) for f in findings] == [("site-down", "portal", 3)]
    assert "3 matches within 5m" in findings[0].explanation
    alerts = [
        Alert.from_json(r.value) for r in read_topic(bootstrap, kafka_settings.topic("alerts"), 1)
    ]
    assert [(a.rule, a.state, a.seq) for a in alerts] == [("site-down", "firing", 1)]
    fired = alerts[0]
    assert fired.prev_hash == GENESIS and fired.hash == record_hash(fired, GENESIS)
    assert fired.sources and fired.sources[0].topic == topic

    # The dead letter kept the bytes and the reason.
    dead = read_topic(bootstrap, kafka_settings.topic("deadletter"), expect=1)
    assert len(dead) == 1 and b"not valid JSON" in dead[0].value

    # /metrics and the API show it; mutations need the token.
    engine.wait_metric("ssa_alerts_firing", 1, rule="site-down", unit="gov-office")
    assert engine.metric("ssa_asset_risk_score", asset="portal") > 0
    fp = fired.fingerprint
    listed = httpx.get(f"{engine.url}/api/v1/alerts", params={"state": "firing"}).json()
    assert [a["fingerprint"] for a in listed["alerts"]] == [fp]
    refused = httpx.post(f"{engine.url}/api/v1/alerts/{fp}/ack", json={"comment": "x"})
    assert refused.status_code == 401
    ok = httpx.post(
        f"{engine.url}/api/v1/alerts/{fp}/ack",
        json={"comment": "处理中", "actor": "duty-officer"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert ok.status_code in (200, 202), ok.text

    # The acknowledgement is a state change on the topic, chained to the firing record.
    records = read_topic(bootstrap, kafka_settings.topic("alerts"), expect=2)
    changes = [Alert.from_json(r.value) for r in records]
    assert [(a.state, a.seq) for a in changes] == [("firing", 1), ("acknowledged", 2)]
    acked = changes[1]
    assert acked.actor == "duty-officer"
    assert records[0].partition == records[1].partition
    assert acked.prev_hash == fired.hash and acked.hash == record_hash(acked, fired.hash)
    # Alert records carry their own event time as the Kafka timestamp (audit periods).
    assert [r.timestamp for r in records] == [int(a.at.timestamp() * 1000) for a in changes]
    # And the control itself is on ssa.control, for the audit.
    controls = read_topic(bootstrap, kafka_settings.topic("control"), expect=1)
    assert b'"kind":"ack"' in controls[0].value


def _engine_until_it_stops(
    bootstrap: str, prefix: str, tmp_path: Path, partitions: int = 3
) -> subprocess.CompletedProcess[str]:
    """``ssa engine`` on the example inventory, run to its end (it is expected to stop)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSA_")}
    env.update(SSA_KAFKA_BOOTSTRAP=bootstrap, SSA_TOPICS_PREFIX=prefix,
               SSA_TOPICS_PARTITIONS=str(partitions), SSA_API_PORT="0",
               SSA_ENGINE_DATA_DIR=str(tmp_path / "data"))  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", "engine", "--rules", str(REPO / "rules"),
         "--inventory", str(REPO / "inventory")],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_worker_without_its_input_topics_stops_and_says_so(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix = f"missing{uuid.uuid4().hex[:8]}"
    done = _engine_until_it_stops(kafka_bootstrap, prefix, tmp_path)
    assert done.returncode != 0
    assert (
        f"topic {prefix}.observations, {prefix}.engine-commands does not exist on "
        f"{kafka_bootstrap}; create the topics first: ssa topics create"
    ) in done.stdout + done.stderr


def test_a_worker_that_cannot_recover_its_state_stops(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    """A changelog record that is not JSON: the worker must stop with the error, not
    run on without the partition's state (an error in a rebalance callback would
    only be logged by aiokafka, and the worker would sit idle, reporting healthy)."""
    from kafka.admin import KafkaAdminClient, NewTopic

    s = kafka_settings
    changelog = f"{s.topics.prefix}-{s.engine.app_id}-alert-state-changelog"
    admin = KafkaAdminClient(bootstrap_servers=s.kafka.bootstrap)
    try:
        admin.create_topics([NewTopic(changelog, num_partitions=3, replication_factor=1,
                                      topic_configs={"cleanup.policy": "compact"})])  # fmt: skip
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=s.kafka.bootstrap, acks="all")
    producer.send(changelog, key=b'"1/alert/x"', value=b"\xff not json", partition=1)
    producer.flush()
    producer.close()
    done = _engine_until_it_stops(s.kafka.bootstrap, s.topics.prefix, tmp_path)
    assert done.returncode != 0
    assert "evaluator stopped" in done.stdout + done.stderr
