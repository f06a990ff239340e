"""The inventory follower: waits for an unreachable broker, applies records and tombstones."""

from __future__ import annotations

import threading
import time

import pytest

from collectors.inventory import InventoryFollower
from engine.broker.local import free_port
from engine.inventory.model import Asset, Inventory, Unit
from engine.inventory.topic import sync
from engine.settings import Settings
from tests.collectors.conftest import TcpProxy

pytestmark = pytest.mark.kafka


def inventory(*ids: str) -> Inventory:
    return Inventory(
        units={"u": Unit(id="u", name="U")},
        assets={i: Asset(id=i, unit="u", kind="ip", address="192.0.2.1") for i in ids},
    )


def wait_for(cond: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_follower_waits_for_kafka_then_tracks_puts_and_tombstones(
    kafka_settings: Settings,
) -> None:
    bootstrap = kafka_settings.kafka.bootstrap
    topic = kafka_settings.topic("inventory")
    sync(bootstrap, topic, inventory("a", "b", "c"))
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    dead = free_port()
    seen: dict[str, Asset] = {}
    lock = threading.Lock()

    def put(a: Asset) -> None:
        with lock:
            seen[a.id] = a

    def remove(aid: str) -> None:
        with lock:
            seen.pop(aid, None)

    follower = InventoryFollower(
        f"127.0.0.1:{dead}", topic, group=None, on_put=put, on_remove=remove
    )
    follower.start()
    proxy = None
    try:
        assert not follower.wait_ready(1.5)  # nothing listens yet: it keeps retrying
        proxy = TcpProxy(dead, (host, int(port)))
        assert follower.wait_ready(30)
        assert wait_for(lambda: set(seen) == {"a", "b", "c"}, 20), seen
        sync(bootstrap, topic, inventory("a", "c", "d"))
        assert wait_for(lambda: set(seen) == {"a", "c", "d"}, 20), seen
        assert set(follower.assets) == {"a", "c", "d"}
    finally:
        follower.stop()
        if proxy is not None:
            proxy.close()
    assert seen == {}  # stopping hands every asset back
