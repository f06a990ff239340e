"""Shared pieces of the reliability tests: an engine process, a city of assets, observations.

``EngineProc`` is the integration test's ``Engine`` (one ``ssa engine``
subprocess with its own API port and data dir) given this module's
inventory and a rules folder of the caller's choice, plus ``kill()``
(SIGKILL, no cleanup) and helpers that read the Faust group's committed
offsets, so a test can tell when every observation has been processed.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from engine.events import Observation
from engine.settings import Settings
from tests.engineproc import EngineProcess

UNITS = ("gov-office", "finance", "health", "police", "edu", "water")


def inventory_yaml(n_assets: int) -> str:
    """``n_assets`` websites spread over ``UNITS`` (example.gov names only)."""
    lines = ["units:"]
    for u in UNITS:
        lines += [f"  - id: {u}", f"    name: {u}"]
    lines.append("assets:")
    for i in range(n_assets):
        lines += [
            f"  - id: site-{i:03d}",
            f"    unit: {UNITS[i % len(UNITS)]}",
            "    kind: website",
            f"    name: site {i}",
            f"    url: https://s{i}.example.gov/",
            f"    criticality: {1 + i % 5}",
            "    probes: [http]",
        ]
    return "\n".join(lines) + "\n"


class EngineProc(EngineProcess):
    """An ``ssa engine`` subprocess on this module's inventory and the given rules."""

    def __init__(self, settings: Settings, tmp: Path, rules: Path, n_assets: int = 30) -> None:
        inv = tmp / "inventory.yaml"
        inv.write_text(inventory_yaml(n_assets), encoding="utf-8")
        # The engine's group session timeout is 10 s (settings.engine); a 1 s
        # heartbeat lets the group notice a SIGKILLed member sooner still.
        super().__init__(settings, tmp, rules, inv, env={"SSA_ENGINE_HEARTBEAT_INTERVAL_S": "1"})


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or ())]
        return {tp.partition: o for tp, o in c.end_offsets(tps).items()}
    finally:
        c.close()


def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        got = admin.list_group_offsets(group).get(group, {})
    finally:
        admin.close()
    return {tp.partition: m.offset for tp, m in got.items() if tp.topic == topic}


def wait_committed(bootstrap: str, group: str, topic: str, timeout: float) -> dict[int, int]:
    """Wait until the group has committed the end of every partition of ``topic``."""
    end = end_offsets(bootstrap, topic)
    deadline = time.monotonic() + timeout
    got: dict[int, int] = {}
    while time.monotonic() < deadline:
        got = committed_offsets(bootstrap, group, topic)
        if all(got.get(p, 0) >= o for p, o in end.items()):
            return got
        time.sleep(0.5)
    raise AssertionError(f"group {group} committed {got}, topic ends at {end}")


@dataclass
class Traffic:
    """Deterministic observations for a city of assets: mostly healthy, regular outages.

    Asset *i*'s k-th observation is at ``t0 + k*period``; every ``cycle``
    observations it fails three times in a row (``site-down`` fires) and then
    recovers (the resolve condition), so alerts fire and resolve all the time.
    """

    t0: datetime
    n_assets: int = 30
    period_s: float = 10.0
    cycle: int = 12
    seed: int = 7

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._k = 0

    def next(self) -> tuple[bytes, Observation]:
        """The next observation (round-robin over assets) and its record key (the unit)."""
        i = self._k % self.n_assets
        k = self._k // self.n_assets
        self._k += 1
        failing = k % self.cycle in (6, 7, 8)
        unit = UNITS[i % len(UNITS)]
        status = 503 if failing else 200
        obs = Observation(
            id=uuid.UUID(int=self._rng.getrandbits(128)).hex, asset=f"site-{i:03d}", unit=unit,
            probe="http", observed_at=self.t0 + timedelta(seconds=k * self.period_s),
            collector="load", vantage="test", ok=not failing, duration_s=0.1,
            error="status 503" if failing else None,
            data={"status": status, "latency_ms": round(self._rng.uniform(80, 160), 1)},
        )  # fmt: skip
        return unit.encode(), obs


def metric_sum(engine: EngineProcess, name: str) -> float:
    """The sum of every sample of ``name`` (all label sets) on the engine's /metrics."""
    import httpx

    total = 0.0
    for line in httpx.get(f"{engine.url}/metrics", timeout=5).text.splitlines():
        if line.startswith(name) and line[len(name)] in "{ ":
            total += float(line.rsplit(" ", 1)[1])
    return total


def wait_sum(engine: EngineProcess, name: str, value: float, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    got = 0.0
    while time.monotonic() < deadline:
        got = metric_sum(engine, name)
        if got >= value:
            return got
        time.sleep(0.5)
    raise AssertionError(f"{name} reached {got}, not {value}")


def processed_offsets(bootstrap: str, changelog: str, topic: str) -> dict[int, int]:
    """The engine's own durable record of what it processed: the ``~offset/<topic>``
    marker of each partition in the alert-state changelog (latest value wins)."""
    import orjson

    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [
            TopicPartition(changelog, p) for p in sorted(c.partitions_for_topic(changelog) or ())
        ]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        ends = c.end_offsets(tps)
        out: dict[int, int] = {}
        suffix = f"/~offset/{topic}"
        while any(c.position(tp) < ends[tp] for tp in tps):
            for records in c.poll(timeout_ms=500).values():
                for r in records:
                    key = orjson.loads(r.key) if r.key else ""
                    if isinstance(key, str) and key.endswith(suffix) and r.value is not None:
                        out[int(key.split("/", 1)[0])] = int(orjson.loads(r.value))
        return out
    finally:
        c.close()


def wait_processed(engine: EngineProcess, settings: Settings, timeout: float) -> dict[int, int]:
    """Wait until the engine's processed-offset markers reach the end of every partition."""
    topic = settings.topic("observations")
    changelog = f"{settings.topics.prefix}-{settings.engine.app_id}-alert-state-changelog"
    end = end_offsets(settings.kafka.bootstrap, topic)
    deadline = time.monotonic() + timeout
    got: dict[int, int] = {}
    while time.monotonic() < deadline:
        got = processed_offsets(settings.kafka.bootstrap, changelog, topic)
        if all(got.get(p, -1) >= o - 1 for p, o in end.items() if o > 0):
            return got
        time.sleep(1)
    raise AssertionError(f"processed-offset markers {got}, topic ends at {end}")
