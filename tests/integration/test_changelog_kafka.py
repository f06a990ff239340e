"""Engine state written to a real changelog topic and recovered from it."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from engine.stream.changelog import ChangelogStore, recover
from engine.stream.outbox import Outbox

pytestmark = pytest.mark.kafka


async def test_recover_reads_each_partition_to_its_end(kafka_bootstrap: str) -> None:
    topic = f"changelog-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([
            NewTopic(topic, num_partitions=3, replication_factor=1,
                     topic_configs={"cleanup.policy": "compact"}),
        ])  # fmt: skip
    finally:
        admin.close()
    stores = {p: ChangelogStore(topic, p) for p in range(3)}
    outbox = Outbox()
    for p, store in stores.items():
        for i in range(500):
            store[f"asset-{i % 50}"] = {"p": p, "i": i}
            if i % 100 == 99:
                store.flush(outbox)
        store["~offset/obs"] = 1000 + p
        del store["asset-7"]
        store.flush(outbox)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        futures = await outbox.send(producer)
        for f in futures:
            await f
    finally:
        await producer.stop()

    got = await recover(kafka_bootstrap, [topic], [0, 2])
    assert set(got) == {(topic, 0), (topic, 2)}
    for p in (0, 2):
        assert got[(topic, p)] == dict(stores[p].items())
        assert got[(topic, p)]["~offset/obs"] == 1000 + p
        assert "asset-7" not in got[(topic, p)]
        assert got[(topic, p)]["asset-49"] == {"p": p, "i": 499}
    # A partition nobody wrote recovers empty, without waiting.
    empty = f"{topic}-empty"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(empty, num_partitions=1, replication_factor=1)])
    finally:
        admin.close()
    assert await recover(kafka_bootstrap, [empty], [0]) == {(empty, 0): {}}
