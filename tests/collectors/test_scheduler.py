"""The scheduler against real loopback servers: hangs never delay others, slots are bounded."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator

import pytest

from collectors.plan import Plan
from collectors.probes.base import ProbeConfig
from collectors.scheduler import Scheduler
from engine.events import Observation
from engine.inventory.model import Asset
from tests.servers.tcp import TcpServer


async def banner_probe(asset: Asset, config: ProbeConfig, *, timeout: float) -> Observation:
    """Reads a greeting and ignores its timeout on purpose: the scheduler's backstop must hold."""
    watch = config.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", int(asset.address.split(":")[1]))
    try:
        line = await reader.readline()  # hangs forever on a silent server
    finally:
        writer.close()
    return config.observation(asset, "banner", watch, ok=True, data={"banner": line.decode()})


async def polite_probe(asset: Asset, config: ProbeConfig, *, timeout: float) -> Observation:
    """Honours its timeout; a silent server makes it fail as data, never raise."""
    watch = config.start()
    try:
        return await asyncio.wait_for(banner_probe(asset, config, timeout=timeout), timeout)
    except TimeoutError:
        return config.failure(asset, "polite", watch, f"no banner within {timeout}s")


def target(aid: str, port: int, interval: float, probe: str = "banner") -> Asset:
    return Asset(
        id=aid, unit="u", kind="system", address=f"127.0.0.1:{port}",
        probes=(probe,), interval_s=interval,
    )


@pytest.fixture
def servers() -> Iterator[tuple[TcpServer, TcpServer]]:
    with TcpServer.banner("SSH-2.0-OpenSSH_9.2") as fast, TcpServer.silent() as silent:
        yield fast, silent


async def run_for(s: Scheduler, seconds: float) -> None:
    task = asyncio.create_task(s.run())
    await asyncio.sleep(seconds)
    s.stop()
    await task


async def test_a_hanging_target_never_delays_another(servers: tuple[TcpServer, TcpServer]) -> None:
    fast, silent = servers
    seen: list[tuple[float, Observation]] = []
    s = Scheduler(
        {"banner": banner_probe}, ProbeConfig(), lambda o: seen.append((time.monotonic(), o)),
        timeout=0.5, grace=0.3, plan=Plan(rng=random.Random(0), retry_min_s=0.2),
    )
    s.put(target("hung", silent.port, interval=1.0))
    s.put(target("quick", fast.port, interval=0.3))
    start = time.monotonic()
    await run_for(s, 2.5)
    quick = [t for t, o in seen if o.asset == "quick"]
    hung = [o for _, o in seen if o.asset == "hung"]
    assert len(quick) >= 6, len(quick)
    gaps = [b - a for a, b in zip([start, *quick], quick, strict=False)]
    assert max(gaps) < 0.7, gaps  # ~0.3s interval (+ jitter), never the hang's 0.8s backstop
    quick_obs = [o for _, o in seen if o.asset == "quick"]
    assert all(o.ok and o.data["banner"].startswith("SSH-2.0") for o in quick_obs)
    assert hung and all(not o.ok and o.error == "timed out after 0.5s" for o in hung)
    assert all(0.75 <= o.duration_s < 1.2 for o in hung)


async def test_the_global_concurrency_limit_holds(servers: tuple[TcpServer, TcpServer]) -> None:
    _, silent = servers
    seen: list[Observation] = []
    s = Scheduler(
        {"polite": polite_probe}, ProbeConfig(), seen.append,
        concurrency=3, timeout=0.4, plan=Plan(rng=random.Random(1)),
    )
    for i in range(9):
        s.put(target(f"t{i}", silent.port, interval=5.0, probe="polite"))
    # Spread at most 5s: make every job due now so they all compete for slots.
    for i in range(9):
        s.reprobe(f"t{i}")
    await run_for(s, 1.6)
    assert s.peak_running == 3
    assert len(seen) == 9 and all(not o.ok and o.error == "no banner within 0.4s" for o in seen)
    # Three waves of 0.4s each: the last waited for a slot, then ran its full timeout.
    assert silent.accepted == 9


async def test_reprobe_runs_an_asset_now(servers: tuple[TcpServer, TcpServer]) -> None:
    fast, _ = servers
    seen: list[Observation] = []
    s = Scheduler({"banner": banner_probe}, ProbeConfig(), seen.append, timeout=1.0)
    s.put(target("site", fast.port, interval=3600.0))
    task = asyncio.create_task(s.run())
    assert s.reprobe("site") and not s.reprobe("not-mine")
    for _ in range(50):
        if seen:
            break
        await asyncio.sleep(0.02)
    assert len(seen) == 1
    s.reprobe("site")
    await asyncio.sleep(0.3)
    s.stop()
    await task
    assert len(seen) == 2 and all(o.ok for o in seen)


async def test_a_raising_probe_and_an_unknown_probe_become_failures() -> None:
    async def broken(asset: Asset, config: ProbeConfig, *, timeout: float) -> Observation:
        raise RuntimeError("bug")

    seen: list[Observation] = []
    s = Scheduler({"broken": broken}, ProbeConfig(), seen.append, timeout=1.0)
    a = Asset(id="x", unit="u", kind="ip", address="127.0.0.1", probes=("broken", "gone"))
    obs = [await s.run_probe(a, "broken"), await s.run_probe(a, "gone")]
    assert [o.error for o in obs] == [
        "probe error: RuntimeError: bug",
        "no probe named 'gone' here",
    ]
    assert not any(o.ok for o in obs)
