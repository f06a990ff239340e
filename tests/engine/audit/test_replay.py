"""The replay driver over records in memory, with the engine's own Pipeline and rules."""

from __future__ import annotations

import zlib
from datetime import timedelta
from pathlib import Path

import pytest

from engine.alerting.fingerprint import fingerprint
from engine.audit.ledger import GENESIS
from engine.audit.replay import Replay, run
from engine.audit.sample import T0, sample_history
from engine.audit.topicread import Record
from engine.audit.verify import decode_record, verify_partition
from engine.events import Alert, Control, Observation
from engine.inventory.loader import load_inventory
from engine.inventory.model import Inventory
from engine.pipeline import Pipeline
from engine.ruleset import RuleSet, load_ruleset
from engine.store import DictStore
from tests.conftest import REPO

TOPIC = "ssa.observations"


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_ruleset(REPO / "rules")


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    path = tmp_path_factory.mktemp("inv") / "inventory.yaml"
    path.write_text(sample_history(websites=20, ips=10, hours=0.1).inventory_yaml)
    return load_inventory(path)


def records(observations: list[Observation], partitions: int = 3) -> list[Record]:
    """Observations as records of a topic keyed by unit, offsets counted per partition."""
    next_offset = [0] * partitions
    out = []
    for o in observations:
        p = zlib.crc32(o.unit.encode()) % partitions
        out.append(Record(p, next_offset[p], 0, o.asset.encode(), o.to_json()))
        next_offset[p] += 1
    return out


def replay(
    ruleset: RuleSet, inventory: Inventory, recs: list[Record], controls: list[Control],
    partitions: int = 3,
) -> tuple[list[Alert], Replay]:  # fmt: skip
    pipes = {p: Pipeline(ruleset, inventory, DictStore(), DictStore()) for p in range(partitions)}
    r = Replay.start(TOPIC, pipes, controls)
    return run(r, [recs[i : i + 1000] for i in range(0, len(recs), 1000)]), r


def failure(i: int, minutes: float) -> Observation:
    return Observation(
        id=f"f{i}", asset="web-03", unit="unit-3", probe="http",
        observed_at=T0 + timedelta(minutes=minutes), collector="c1", vantage="local",
        ok=False, duration_s=0.1, error="status 503", data={"status": 503},
    )  # fmt: skip


SITE_DOWN = fingerprint("site-down", "web-03", {})


def ack(minutes: float) -> Control:
    return Control(id="ack", kind="ack", at=T0 + timedelta(minutes=minutes), actor="duty",
                   target=SITE_DOWN)  # fmt: skip


@pytest.mark.parametrize(
    ("ack_at", "states"),
    [
        (1.5, ["firing"]),  # before the alert exists: nothing to acknowledge
        (2.0, ["firing", "acknowledged"]),  # same time as the third failure: it goes first
        (2.5, ["firing", "acknowledged"]),  # after the last observation: applied at the end
    ],
)
def test_controls_are_merged_by_event_time(
    ruleset: RuleSet, inventory: Inventory, ack_at: float, states: list[str]
) -> None:
    recs = records([failure(i, i) for i in range(3)])
    alerts, r = replay(ruleset, inventory, recs, [ack(ack_at)])
    assert [a.state for a in alerts if a.fingerprint == SITE_DOWN] == states
    assert r.stats.controls_applied == 3  # every partition's pipeline got it


def test_invalid_records_are_counted_and_skipped(ruleset: RuleSet, inventory: Inventory) -> None:
    recs = records([failure(i, i) for i in range(3)])
    recs.insert(1, Record(recs[0].partition, 99, 0, None, b'{"v": 1, "nope": true}'))
    recs.insert(2, Record(recs[0].partition, 100, 0, None, None))
    alerts, r = replay(ruleset, inventory, recs, [])
    assert r.stats.rejected == 2 and r.stats.observations == 3
    assert [a.state for a in alerts] == ["firing"]


def test_the_sample_history_replays_identically_into_valid_chains(
    ruleset: RuleSet, inventory: Inventory, tmp_path: Path
) -> None:
    h = sample_history()
    recs = records(h.observations)
    first, r1 = replay(ruleset, inventory, recs, h.controls)
    second, _ = replay(ruleset, inventory, recs, h.controls)
    assert b"".join(a.to_json() for a in first) == b"".join(a.to_json() for a in second)
    assert {a.rule for a in first} == {rule.id for rule in ruleset.rules}
    assert r1.stats.observations == len(h.observations) >= 10_000
    for p, part in r1.partitions.items():
        chain = [decode_record(i, a.to_json()) for i, a in enumerate(part.alerts)]
        assert verify_partition(p, chain, GENESIS).ok
    assert any(a.state == "acknowledged" and a.actor == "duty-a" for a in first)
    assert any(a.suppressed_by == ("silence:c-sil-1",) for a in first)
