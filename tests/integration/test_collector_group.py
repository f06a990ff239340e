"""Scale-out: two collectors in one consumer group split the inventory; one takes over.

Real Kafka: the inventory is synced to the compacted topic, two ``Collector``
services join the group, each probes only the assets of its partitions, and
when one stops the other gets its partitions and probes its assets. A
``fixed`` control event makes the owner re-probe that asset at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from kafka import KafkaProducer

from collectors.service import Collector, CollectorOptions
from engine.events import Control
from engine.inventory.model import Asset, Inventory, Unit
from engine.inventory.topic import sync
from engine.settings import Settings
from tests.collectors.conftest import read_observations

pytestmark = pytest.mark.kafka

IDS = [f"sys-{i:02d}" for i in range(12)]
INVENTORY = Inventory(
    units={"lab": Unit(id="lab", name="Lab")},
    assets={
        aid: Asset(id=aid, unit="lab", kind="system", address=f"{aid}.lab.example.org",
                   probes=("ingest",), interval_s=3600)
        for aid in IDS
    },
)


def collector(settings: Settings, cid: str) -> Collector:
    return Collector(settings, CollectorOptions(
        collector_id=cid, vantage=f"v-{cid}", ingest=False, metrics=False, spread_s=0,
        session_timeout_ms=6000, heartbeat_interval_ms=300,
    ))


async def until(cond: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        await asyncio.sleep(0.1)
    return cond()


async def test_two_collectors_split_then_one_takes_over(kafka_settings: Settings) -> None:
    bootstrap = kafka_settings.kafka.bootstrap
    await asyncio.to_thread(sync, bootstrap, kafka_settings.topic("inventory"), INVENTORY)
    c1, c2 = collector(kafka_settings, "c1"), collector(kafka_settings, "c2")
    await c1.start()
    await c2.start()
    try:
        assert await c1.wait_ready(30) and await c2.wait_ready(30)

        def split() -> bool:
            a, b = set(c1.scheduler.assets), set(c2.scheduler.assets)
            parts1, parts2 = c1.followers[0].assigned, c2.followers[0].assigned
            return (
                a | b == set(IDS) and not a & b and bool(parts1) and bool(parts2)
                and parts1 | parts2 == {0, 1, 2} and not parts1 & parts2
            )

        assert await until(split, 40), (sorted(c1.scheduler.assets), sorted(c2.scheduler.assets))
        owned2 = set(c2.scheduler.assets)
        # spread 0: each asset is probed as soon as it is assigned; the owner's id is on it.
        obs = await asyncio.to_thread(
            read_observations, bootstrap, kafka_settings.topic("observations"), count=len(IDS),
        )
        assert {o.asset for o in obs} == set(IDS)

        await c2.stop()
        assert await until(lambda: set(c1.scheduler.assets) == set(IDS), 30)
        assert c1.followers[0].assigned == {0, 1, 2}

        # A unit reports one of c2's former assets fixed: c1 re-probes it now.
        moved = sorted(owned2)[0]
        seen_before = len(await asyncio.to_thread(
            read_observations, bootstrap, kafka_settings.topic("observations"), count=10_000,
            timeout=2,
        ))
        assert c1.control is not None and await asyncio.to_thread(c1.control.wait_ready, 10)
        fixed = Control(
            id="fixed-1", kind="fixed", at=datetime.now(UTC), actor="notifier",
            target="fp-1", data={"asset": moved},
        )
        producer = KafkaProducer(bootstrap_servers=bootstrap)
        producer.send(kafka_settings.topic("control"), fixed.to_json()).get(10)
        producer.close()
        after = await asyncio.to_thread(
            read_observations, bootstrap, kafka_settings.topic("observations"),
            count=seen_before + 1, timeout=15,
        )
        newest = [o for o in after if o.asset == moved and o.collector == "c1"]
        assert newest, "c1 did not re-probe the asset reported fixed"
    finally:
        await c1.stop()
        await c2.stop()
    c2_obs = [o for o in obs if o.collector == "c2"]
    assert c2_obs and {o.asset for o in c2_obs} <= owned2
    assert all(o.vantage == f"v-{o.collector}" for o in obs)
