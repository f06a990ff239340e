"""Events of every type through a real Kafka broker and back, byte for byte."""

from __future__ import annotations

import pytest
from kafka import KafkaProducer

from engine.broker.topics import TOPICS, describe_topics
from engine.events import EVENT_TYPES
from engine.settings import Settings
from tests.engine.test_events import ALERT, CONTROL, FINDING, OBSERVATION
from tests.kafkautil import read_topic

pytestmark = pytest.mark.kafka

ROUTES = [
    ("observations", OBSERVATION, OBSERVATION.asset),
    ("findings", FINDING, FINDING.asset),
    ("alerts", ALERT, ALERT.fingerprint),
    ("control", CONTROL, None),
]


def test_every_event_kind_survives_the_broker(kafka_settings: Settings) -> None:
    bootstrap = kafka_settings.kafka.bootstrap
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for topic, event, key in ROUTES:
        producer.send(
            kafka_settings.topic(topic),
            key=key.encode() if key else None,
            value=event.to_json(),
            headers=[("kind", event.KIND.encode())],
        )
    producer.flush(timeout=30)
    producer.close()

    for topic, event, key in ROUTES:
        name = kafka_settings.topic(topic)
        records = read_topic(bootstrap, name, expect=1)
        assert len(records) == 1, f"{name}: {len(records)} records"
        record = records[0]
        kind = dict(record.headers)["kind"].decode()
        decoded = EVENT_TYPES[kind].from_json(record.value)
        assert decoded == event
        assert record.value == event.to_json()
        assert (record.key.decode() if record.key else None) == key


def test_topics_are_created_idempotently_with_retention(kafka_settings: Settings) -> None:
    from engine.broker.topics import create_topics

    again = create_topics(kafka_settings.kafka.bootstrap, kafka_settings)
    assert set(again.values()) == {"exists"}
    rows = {r["topic"]: r for r in describe_topics(kafka_settings.kafka.bootstrap, kafka_settings)}
    assert len(rows) == len(TOPICS)
    inv = rows[kafka_settings.topic("inventory")]
    assert inv["cleanup.policy"] == "compact"
    obs = rows[kafka_settings.topic("observations")]
    assert obs["partitions"] == 3
    assert int(obs["retention.ms"]) == 180 * 86_400_000
    assert rows[kafka_settings.topic("control")]["partitions"] == 1
