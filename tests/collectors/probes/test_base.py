"""The probe contract helpers and the scheduled ingest probe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from collectors.probes import PROBES, ingest
from collectors.probes.base import ProbeConfig, clip_error
from engine.events import Observation
from engine.inventory.model import Asset

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
SYSTEM = Asset(id="oa-system", unit="city-gov-office", kind="system", address="192.0.2.20")


def test_observation_carries_identity_and_round_trips() -> None:
    config = ProbeConfig(collector="c1", vantage="dc-east", now=lambda: T0)
    watch = config.start()
    obs = config.observation(SYSTEM, "tcp", watch, ok=True, data={"open_ports": [22]})
    assert (obs.asset, obs.unit, obs.probe, obs.collector, obs.vantage) == (
        "oa-system",
        "city-gov-office",
        "tcp",
        "c1",
        "dc-east",
    )
    assert obs.observed_at == T0 and obs.duration_s >= 0
    assert Observation.from_json(obs.to_json()) == obs
    other = config.observation(SYSTEM, "tcp", watch, ok=True)
    assert other.id != obs.id


def test_failure_is_ok_false_with_a_one_line_bounded_reason() -> None:
    config = ProbeConfig(now=lambda: T0)
    obs = config.failure(SYSTEM, "http", config.start(), "connect\nrefused " + "x" * 900)
    assert obs.ok is False
    assert obs.error is not None and "\n" not in obs.error and len(obs.error) == 500
    assert clip_error("  \n ") == "error"


def test_option_prefers_the_asset_over_the_collector() -> None:
    asset = Asset(id="a", unit="u", kind="ip", address="192.0.2.1", options={"tcp": {"x": 1}})
    config = ProbeConfig(options={"tcp": {"x": 2, "y": 3}})
    assert config.option(asset, "tcp", "x") == 1
    assert config.option(asset, "tcp", "y") == 3
    assert config.option(asset, "tcp", "z", "d") == "d"


async def test_ingest_probe_reports_pushes_and_silence() -> None:
    assert PROBES["ingest"] is ingest.probe
    now = [T0]
    config = ProbeConfig(now=lambda: now[0])
    quiet = Asset(
        id="oa-system",
        unit="u",
        kind="system",
        address="192.0.2.20",
        options={"ingest": {"max_silence_s": 60}},
    )
    first = await ingest.probe(quiet, config, timeout=1)
    assert first.ok and first.data["events"] == 0 and first.data["last_event_at"] is None
    config.pushes.record("oa-system", T0)
    config.pushes.record("oa-system", T0 + timedelta(seconds=5))
    now[0] = T0 + timedelta(seconds=30)
    second = await ingest.probe(quiet, config, timeout=1)
    assert second.ok and second.data["events"] == 2 and second.data["silent_s"] == 25.0
    now[0] = T0 + timedelta(seconds=200)
    third = await ingest.probe(quiet, config, timeout=1)
    assert not third.ok and third.data["events"] == 0 and third.error == "no events pushed for 195s"
    assert third.data["events_total"] == 2
