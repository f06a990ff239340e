"""``ssa inventory sync`` against a real broker: publish, re-sync, tombstone."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from engine.cli import main
from engine.inventory.loader import load_inventory
from engine.inventory.model import Asset
from engine.inventory.topic import decode_asset, read_topic, sync
from engine.settings import Settings

pytestmark = pytest.mark.kafka

UNITS = "units:\n  - {id: u1, name: Unit one}\n"


def asset_yaml(*ids: str) -> str:
    items = "".join(
        f"  - {{id: {i}, unit: u1, kind: ip, address: 192.0.2.{n + 1}, probes: [ingest]}}\n"
        for n, i in enumerate(ids)
    )
    return UNITS + "assets:\n" + items


def all_records(bootstrap: str, topic: str) -> list[tuple[str, bytes | None]]:
    """Every record on the topic (before compaction), in partition order."""
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or ())]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        ends = c.end_offsets(tps)
        out: list[tuple[str, bytes | None]] = []
        while any(c.position(tp) < ends[tp] for tp in tps):
            for records in c.poll(timeout_ms=500).values():
                out += [(r.key.decode(), r.value) for r in records]
        return out
    finally:
        c.close()


def test_sync_publishes_then_is_idempotent_then_tombstones(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    bootstrap = kafka_settings.kafka.bootstrap
    topic = kafka_settings.topic("inventory")
    f = tmp_path / "inv.yaml"
    f.write_text(asset_yaml("a", "b", "c"))

    first = sync(bootstrap, topic, load_inventory(f, probes=["ingest"]))
    assert sorted(first.published) == ["a", "b", "c"] and first.removed == ()
    live = read_topic(bootstrap, topic)
    assert sorted(live) == ["a", "b", "c"]
    assert decode_asset(live["b"]) == Asset(
        id="b", unit="u1", kind="ip", address="192.0.2.2", probes=("ingest",)
    )

    again = sync(bootstrap, topic, load_inventory(f, probes=["ingest"]))
    assert again.published == () and sorted(again.unchanged) == ["a", "b", "c"]

    f.write_text(asset_yaml("a", "c").replace("192.0.2.2", "192.0.2.9"))
    third = sync(bootstrap, topic, load_inventory(f, probes=["ingest"]))
    assert third.removed == ("b",) and third.published == ("c",)  # c moved to .2
    assert sorted(read_topic(bootstrap, topic)) == ["a", "c"]
    records = all_records(bootstrap, topic)
    assert ("b", None) in records and len(records) == 3 + 2


def test_cli_sync_and_check(
    kafka_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SSA_KAFKA_BOOTSTRAP", kafka_settings.kafka.bootstrap)
    monkeypatch.setenv("SSA_TOPICS_PREFIX", kafka_settings.topics.prefix)
    f = tmp_path / "inv.yaml"
    f.write_text(asset_yaml("x", "y"))
    assert main(["inventory", "check", str(f)]) == 0
    assert capsys.readouterr().out == "ok: 1 units, 2 assets (0 website, 2 ip, 0 system)\n"
    assert main(["inventory", "sync", str(f)]) == 0
    topic = kafka_settings.topic("inventory")
    assert capsys.readouterr().out == f"{topic}: 2 published, 0 unchanged, 0 removed\n"
    f.write_text(asset_yaml("x"))
    assert main(["inventory", "sync", str(f)]) == 0
    out = capsys.readouterr().out
    assert "0 published, 1 unchanged, 1 removed" in out and "removed y" in out
