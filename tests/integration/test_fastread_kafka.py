"""``fastread`` (aiokafka) finds and reads what ``TopicReader`` (kafka-python) does."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from engine.audit.fastread import PeriodReader, Want, read_ranges
from engine.audit.topicread import PartitionRange, TopicReader
from engine.broker.local import free_port
from engine.errors import BrokerError
from engine.settings import Settings
from tests.integration.audit_support import produce

pytestmark = pytest.mark.kafka


T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _fill(settings: Settings) -> str:
    """Partition p of the observations topic holds 40 * (p + 1) values ``p:i``, a minute apart."""
    topic = settings.topic("observations")
    for p in range(3):
        n = 40 * (p + 1)
        produce(settings.kafka.bootstrap, topic, [f"{p}:{i}".encode() for i in range(n)],
                partition=p, times=[T0 + timedelta(minutes=i) for i in range(n)])  # fmt: skip
    return topic


def _flat(batches: object) -> dict[int, list[tuple[int, bytes | None]]]:
    out: dict[int, list[tuple[int, bytes | None]]] = {}
    for batch in batches:  # type: ignore[attr-defined]
        for r in batch:
            out.setdefault(r.partition, []).append((r.offset, r.value))
    return out


def test_reads_the_same_records_as_the_kafka_python_reader(kafka_settings: Settings) -> None:
    topic = _fill(kafka_settings)
    bootstrap = kafka_settings.kafka.bootstrap
    with TopicReader(bootstrap, topic) as reader:
        ranges = reader.ranges()
        # a middle slice of partition 1, nothing of partition 0, all of partition 2
        ranges[1] = PartitionRange(1, 10, 55, 0, 80)
        ranges[0] = PartitionRange(0, 5, 5, 0, 40)
        expected = _flat(reader.read(ranges))
    got = _flat(read_ranges(bootstrap, topic, ranges, max_records=7))
    assert got == expected
    assert sorted(got) == [1, 2]
    assert got[1] == [(i, f"1:{i}".encode()) for i in range(10, 55)]
    assert [o for o, _ in got[2]] == list(range(120))


def test_a_period_reader_finds_the_ranges_topic_reader_finds_and_reads_in_order(
    kafka_settings: Settings,
) -> None:
    topic, control = _fill(kafka_settings), kafka_settings.topic("control")
    produce(kafka_settings.kafka.bootstrap, control, [b"c0", b"c1"], times=[T0, T0])
    bootstrap = kafka_settings.kafka.bootstrap
    since, until = T0 + timedelta(minutes=10), T0 + timedelta(minutes=50)
    with TopicReader(bootstrap, topic) as r:
        expected = r.ranges(since, until)
        partitions = r.partitions
    wants = [Want(control), Want(topic, since, until), Want(topic + "-unread", read=False,
             ranges={0: PartitionRange(0, 0, 5, 0, 5)})]  # fmt: skip
    with PeriodReader(bootstrap, wants, max_records=9) as reader:
        assert reader.ranges(topic) == expected
        assert reader.partitions(topic) == partitions == [0, 1, 2]
        assert expected[0] == PartitionRange(0, 10, 40, 0, 40)
        assert expected[2] == PartitionRange(2, 10, 51, 0, 120)
        assert _flat(reader.read(control)) == {0: [(0, b"c0"), (1, b"c1")]}
        got = _flat(reader.read(topic))
    assert {p: [o for o, _ in got[p]] for p in got} == {
        p: list(range(r.start, r.end)) for p, r in expected.items()
    }


def test_a_topic_that_does_not_exist_is_a_broker_error(kafka_settings: Settings) -> None:
    missing = kafka_settings.topic("observations") + "-missing"
    with (
        PeriodReader(kafka_settings.kafka.bootstrap, [Want(missing)]) as reader,
        pytest.raises(BrokerError, match=f"topic {missing} does not exist"),
    ):
        reader.ranges(missing)


def test_nothing_to_read_starts_no_reader(kafka_settings: Settings) -> None:
    ranges = {0: PartitionRange(0, 3, 3, 0, 3)}
    before = threading.active_count()
    assert list(read_ranges(kafka_settings.kafka.bootstrap, "no-such-topic", ranges)) == []
    assert threading.active_count() == before


def test_a_caller_that_stops_early_ends_the_reader(kafka_settings: Settings) -> None:
    topic = _fill(kafka_settings)
    ranges = {p: PartitionRange(p, 0, 40 * (p + 1), 0, 40 * (p + 1)) for p in range(3)}
    before = threading.active_count()
    it = read_ranges(kafka_settings.kafka.bootstrap, topic, ranges, max_records=5, prefetch=1)
    first = next(it)
    assert 0 < len(first) <= 5
    it.close()  # type: ignore[attr-defined]
    assert threading.active_count() == before


def test_an_unreachable_broker_is_a_broker_error() -> None:
    ranges = {0: PartitionRange(0, 0, 1, 0, 1)}
    bootstrap = f"127.0.0.1:{free_port()}"
    with pytest.raises(BrokerError, match=f"cannot reach Kafka at {bootstrap}"):
        list(read_ranges(bootstrap, "ssa.observations", ranges))


def test_records_that_never_arrive_are_a_broker_error(kafka_settings: Settings) -> None:
    topic = _fill(kafka_settings)
    ranges = {0: PartitionRange(0, 0, 45, 0, 45)}  # partition 0 holds only 40
    with pytest.raises(BrokerError, match=r"no records arrive for \[0\]"):
        _flat(read_ranges(kafka_settings.kafka.bootstrap, topic, ranges, stall_s=1.0))
