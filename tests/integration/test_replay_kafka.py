"""Replay against what the real engine recorded, on a real broker.

A synthetic history of ~14,000 observations that makes every rule of the
shipped pack act (engine.audit.sample), with an acknowledgement, a silence,
its early end and a "fixed" report, is fed to a real ``ssa engine`` process.
The controls are sent once the engine has consumed every observation before
them, so their place in the live stream is their place in event time. Then:
``ssa replay`` twice gives byte-identical output, equal to the engine's
``ssa.alerts`` (hashes included); a changed rule set gives the expected diff;
a shadow run of the changed rules is reported against the live alerts.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from engine.audit.ledger import GENESIS
from engine.audit.sample import T0, SampleHistory, sample_history
from engine.audit.shadow import ShadowRunner
from engine.audit.verify import decode_record, verify_partition
from engine.broker.topics import create_topics
from engine.cli import main
from engine.events import Alert, Observation, format_time
from engine.inventory.loader import load_inventory
from engine.ruleset import load_ruleset
from engine.settings import Settings, with_overrides
from tests.conftest import REPO
from tests.engineproc import EngineProcess
from tests.integration.audit_support import produce, wait_consumed, write_config
from tests.kafkautil import read_topic

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@dataclass
class Recorded:
    settings: Settings
    config: str
    inventory: Path
    history: SampleHistory
    alerts: list[list[bytes]]  # per partition, in offset order
    tmp: Path


def _produce_observations(s: Settings, batch: list[Observation]) -> None:
    if batch:
        produce(
            s.kafka.bootstrap,
            s.topic("observations"),
            [o.to_json() for o in batch],
            partition=None,
            keys=[o.unit.encode() for o in batch],  # Asset.partition_key
            times=[o.observed_at for o in batch],
        )


@pytest.fixture(scope="module")
def recorded(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    s = with_overrides(
        Settings.load(env={}),
        kafka={"bootstrap": kafka_bootstrap},
        topics={"prefix": f"r{uuid.uuid4().hex[:10]}", "partitions": 3},
    )
    create_topics(kafka_bootstrap, s)
    tmp = tmp_path_factory.mktemp("replay")
    history = sample_history()
    inventory = tmp / "inventory.yaml"
    inventory.write_text(history.inventory_yaml, encoding="utf-8")
    engine = EngineProcess(s, tmp, REPO / "rules", inventory)
    engine.start()
    try:
        rest = list(history.observations)
        for k, c in enumerate(sorted(history.controls, key=lambda c: c.at), start=1):
            before = [o for o in rest if o.observed_at <= c.at]
            rest = rest[len(before) :]
            _produce_observations(s, before)
            wait_consumed(kafka_bootstrap, engine.group, [s.topic("observations")])
            produce(kafka_bootstrap, s.topic("control"), [c.to_json()], times=[c.at])
            wait_consumed(kafka_bootstrap, engine.control_group, [s.topic("control")], at_least=k)
            wait_consumed(kafka_bootstrap, engine.group, [s.topic("engine-commands")], at_least=k)
        _produce_observations(s, rest)
        wait_consumed(kafka_bootstrap, engine.group, [s.topic("observations")], timeout=120)
    finally:
        engine.stop()
    records = read_topic(kafka_bootstrap, s.topic("alerts"), expect=1, timeout=10)
    per_partition: list[list[bytes]] = [[] for _ in range(3)]
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        per_partition[r.partition].append(r.value)
    yield Recorded(s, write_config(tmp, s), inventory, history, per_partition, tmp)


def _replay(rec: Recorded, out: Path, *extra: str) -> int:
    return main(
        ["--config", rec.config, "replay", "--inventory", str(rec.inventory),
         "--out", str(out), "--quiet", *extra]
    )  # fmt: skip


def test_the_engine_recorded_a_valid_chain_of_every_rule(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(recorded.history.observations) >= 10_000
    rules = {r.id for r in load_ruleset(REPO / "rules").rules}
    seen = {Alert.from_json(v).rule for part in recorded.alerts for v in part}
    assert seen == rules
    for p, values in enumerate(recorded.alerts):
        chain = [decode_record(i, v) for i, v in enumerate(values)]
        assert verify_partition(p, chain, GENESIS).ok
    n = sum(len(p) for p in recorded.alerts)
    assert main(["--config", recorded.config, "audit", "verify"]) == 0
    assert f"ledger ok: 3 partitions, {n} records" in capsys.readouterr().out


def test_replay_twice_is_byte_identical_and_equals_the_live_engine(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = recorded.tmp / "first.jsonl", recorded.tmp / "second.jsonl"
    assert _replay(recorded, first) == 0
    err = capsys.readouterr().err
    assert _replay(recorded, second) == 0
    assert first.read_bytes() == second.read_bytes()
    parallel = recorded.tmp / "parallel.jsonl"
    assert _replay(recorded, parallel, "--workers", "2") == 0
    assert parallel.read_bytes() == first.read_bytes()
    live = b"".join(v + b"\n" for part in recorded.alerts for v in part)
    assert first.read_bytes() == live
    n = sum(len(p) for p in recorded.alerts)
    assert f"replayed {len(recorded.history.observations)} observations" in err
    assert f"identical to the {n} recorded alert changes of the period" in err


def changed_rules(tmp: Path) -> Path:
    """The shipped pack with cert-expiring lowered to 5 days and weak-tls raised to high."""
    rules = tmp / "candidate-rules"
    if not rules.exists():
        shutil.copytree(REPO / "rules", rules)
        tls = rules / "tls.yaml"
        text = tls.read_text(encoding="utf-8")
        cond = "data.cert_days_left >= 0 and data.cert_days_left < 14"
        assert text.count(cond) == 1
        text = text.replace(cond, "data.cert_days_left >= 0 and data.cert_days_left < 5")
        head, sep, tail = text.partition("  - id: weak-tls")
        assert sep and tail.count("severity: medium") >= 1
        tls.write_text(head + sep + tail.replace("severity: medium", "severity: high", 1))
    return rules


def test_a_changed_rule_set_gives_the_expected_diff(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    out = recorded.tmp / "candidate.jsonl"
    assert _replay(recorded, out, "--rules", str(changed_rules(recorded.tmp))) == 0
    lines = capsys.readouterr().err.splitlines()
    removed = [line for line in lines if line.startswith("- ")]
    changed = [line for line in lines if line.startswith("~ ")]
    added = [line for line in lines if line.startswith("+ ")]
    assert added == []
    assert len(removed) == 2
    assert all("cert-expiring on web-11" in line for line in removed)
    assert {line.split()[4] for line in removed} == {"firing", "resolved"}
    assert len(changed) == 1
    assert "weak-tls on web-14" in changed[0]
    assert "[severity: 'medium' -> 'high']" in changed[0]
    n = sum(len(p) for p in recorded.alerts)
    assert lines[-1] == f"0 added, 2 removed, 1 changed, {n - 3} identical"


def test_replay_of_a_period_reads_only_that_period_and_warms_up(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    since, until = T0 + timedelta(hours=3), T0 + timedelta(hours=3, minutes=30)
    # the engine stamped its alert records with the wall clock, days after these events
    period = ["--from", format_time(since), "--to", format_time(until), "--slack", "30d"]
    out = recorded.tmp / "period.jsonl"

    # cold: what was open before the period is unknown, so the record is not reproduced
    assert _replay(recorded, out, *period) == 1
    err = capsys.readouterr().err
    expected = sum(1 for o in recorded.history.observations if since <= o.observed_at <= until)
    assert f"replayed {expected} observations" in err
    assert "the replay with the live rules differs from the record" in err
    alerts = [Alert.from_json(line) for line in out.read_bytes().splitlines()]
    assert alerts and all(a.at >= since for a in alerts)

    # warmed up from the start of the history: the period's record exactly
    assert _replay(recorded, out, *period, "--warmup", "3h") == 0
    err = capsys.readouterr().err
    recorded_in_period = [
        v for part in recorded.alerts for v in part if since <= Alert.from_json(v).at <= until
    ]
    assert f"identical to the {len(recorded_in_period)} recorded alert changes" in err
    assert len(recorded_in_period) > 0
    assert sorted(out.read_bytes().splitlines()) == sorted(recorded_in_period)


def test_shadow_rules_run_beside_the_live_ones_and_are_reported(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    s = recorded.settings
    runner = ShadowRunner(
        s, s.kafka.bootstrap, load_ruleset(changed_rules(recorded.tmp)),
        load_inventory(recorded.inventory), since=T0,
    )  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        total = len(recorded.history.observations)
        for _ in range(600):
            if runner.stats.observations >= total:
                break
            thread.join(0.1)
        assert runner.stats.observations == total
    finally:
        stop.set()
        thread.join(30)
    shadow = read_topic(s.kafka.bootstrap, s.topic("shadow.alerts"), expect=1, timeout=10)
    per_partition: dict[int, list[bytes]] = {}
    for r in sorted(shadow, key=lambda r: (r.partition, r.offset)):
        per_partition.setdefault(r.partition, []).append(r.value)
    for p, values in per_partition.items():
        chain = [decode_record(i, v) for i, v in enumerate(values)]
        assert verify_partition(p, chain, GENESIS).ok

    # the engine stamped its records with the wall clock, days after these events
    period = ["--from", format_time(T0), "--to", format_time(T0 + timedelta(hours=5)),
              "--slack", "30d"]  # fmt: skip
    assert main(["--config", recorded.config, "shadow", "report", *period]) == 0
    out = capsys.readouterr().out
    n = sum(len(p) for p in recorded.alerts)
    assert f": {n} alert changes; shadow {s.topic('shadow.alerts')}: {n - 2}" in out
    assert out.splitlines()[-1] == f"0 added, 2 removed, 1 changed, {n - 3} identical"
    row = next(line for line in out.splitlines() if line.startswith("cert-expiring "))
    assert row.split() == ["cert-expiring", "1", "0"]
    assert "weak-tls on web-14" in out and "[severity: 'medium' -> 'high']" in out
    # the live record is untouched and nothing was notified
    assert len(read_topic(s.kafka.bootstrap, s.topic("alerts"), expect=n, timeout=5)) == n
    assert read_topic(s.kafka.bootstrap, s.topic("notifications"), expect=0, timeout=1) == []
