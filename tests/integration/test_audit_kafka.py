"""``ssa audit verify | checkpoint`` against chains written to a real broker.

Every kind of tampering is written to its own partition of a fresh alerts
topic; the verifier must name the kind and the offset of each.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from engine.audit.export import COLUMNS
from engine.audit.ledger import seal
from engine.cli import main
from engine.events import SourceOffset, format_time, parse_time
from engine.settings import Settings, with_overrides
from tests.engine.audit.chains import TAMPERS, alert, encode, sealed_chain
from tests.engine.audit.report_stream import (
    ALERTS,
    CONTROLS,
    END,
    NOTIFICATIONS,
    OBSERVATIONS,
    START,
)
from tests.integration.audit_support import create_topic, produce, write_config

pytestmark = pytest.mark.kafka

NAMES = sorted(TAMPERS)


def fresh_alerts_topic(settings: Settings, partitions: int) -> tuple[Settings, str]:
    prefix = f"a{uuid.uuid4().hex[:10]}"
    s = with_overrides(settings, topics={"prefix": prefix})
    create_topic(settings.kafka.bootstrap, s.topic("alerts"), partitions)
    return s, prefix


def lines_by_partition(out: str, topic: str) -> dict[int, str]:
    found = {}
    for line in out.splitlines():
        if line.startswith(f"{topic}["):
            p = int(line[len(topic) + 1 : line.index("]")])
            found[p] = line
    return found


def test_verify_names_each_kind_of_tampering_at_its_offset(
    kafka_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s, prefix = fresh_alerts_topic(kafka_settings, 1 + len(NAMES))
    bootstrap = s.kafka.bootstrap
    topic = s.topic("alerts")
    chain = sealed_chain(12)
    produce(bootstrap, topic, encode(chain), partition=0)
    expected = {}
    for p, name in enumerate(NAMES, start=1):
        values, kind, offset = TAMPERS[name](chain)
        produce(bootstrap, topic, values, partition=p)
        expected[p] = (kind, offset)

    rc = main(["--config", write_config(tmp_path, s, prefix), "audit", "verify"])
    out = capsys.readouterr().out
    assert rc == 1
    lines = lines_by_partition(out, topic)
    assert " ok " in lines[0] and "offsets 0..11 (12 records)" in lines[0]
    assert chain[-1].hash is not None and chain[-1].hash[:16] in lines[0]
    for p, (kind, offset) in expected.items():
        assert "BROKEN" in lines[p], lines[p]
        assert f": {kind} at offset {offset}: " in lines[p], (NAMES[p - 1], lines[p])


def test_verify_a_period_checks_the_link_into_it(
    kafka_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s, prefix = fresh_alerts_topic(kafka_settings, 2)
    bootstrap, topic = s.kafka.bootstrap, s.topic("alerts")
    chain = sealed_chain(12)
    times = [a.at for a in chain]
    values, _, _ = TAMPERS["altered"](chain)  # record 4 altered
    produce(bootstrap, topic, encode(chain), partition=0, times=times)
    produce(bootstrap, topic, values, partition=1, times=times)
    config = write_config(tmp_path, s, prefix)

    # records 6..9: the altered record 4 is outside; the link 5 -> 6 is checked
    args = [
        "--config",
        config,
        "audit",
        "verify",
        "--from",
        format_time(times[6]),
        "--to",
        format_time(times[9]),
    ]
    assert main(args) == 0
    lines = lines_by_partition(capsys.readouterr().out, topic)
    assert "offsets 5..9 (5 records)" in lines[0] and "offsets 5..9" in lines[1]

    # records 4..9 (read from 3): the alteration is inside
    args[-3] = format_time(times[4])
    assert main(args) == 1
    lines = lines_by_partition(capsys.readouterr().out, topic)
    assert " ok " in lines[0]
    assert ": altered at offset 4: content does not match its hash" in lines[1]

    # a period after the last record holds nothing to verify
    later = format_time(times[-1] + timedelta(hours=1))
    assert main(["--config", config, "audit", "verify", "--from", later]) == 0
    lines = lines_by_partition(capsys.readouterr().out, topic)
    assert lines[0].split() == [f"{topic}[0]", "empty"] and lines[1].endswith("empty")


def test_checkpoints_catch_a_rewritten_and_a_truncated_log(
    kafka_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s, prefix = fresh_alerts_topic(kafka_settings, 2)
    bootstrap, topic = s.kafka.bootstrap, s.topic("alerts")
    chain = sealed_chain(10)
    produce(bootstrap, topic, encode(chain), partition=0)
    produce(bootstrap, topic, encode(chain[:6]), partition=1)
    config = write_config(tmp_path, s, prefix)
    cpfile = tmp_path / "checkpoint.json"

    assert main(["--config", config, "audit", "checkpoint", "--out", str(cpfile)]) == 0
    doc = json.loads(cpfile.read_text())
    assert doc["topic"] == topic and doc["format"] == "ssa.ledger.checkpoint"
    heads = {e["partition"]: (e["offset"], e["hash"]) for e in doc["partitions"]}
    assert heads == {0: (9, chain[9].hash), 1: (5, chain[5].hash)}
    capsys.readouterr()

    # the log grows honestly: the checkpoints still hold
    produce(bootstrap, topic, encode([seal(alert(6), chain[5].hash)]), partition=1)
    assert main(["--config", config, "audit", "verify", "--checkpoints", str(cpfile)]) == 0
    out = capsys.readouterr().out
    assert f"checkpoint {topic}[0]@9" in out and out.count(" ok ") >= 2

    # an attacker rewrites the log: record 3 changed and every later record re-sealed,
    # partition 1 cut short. The new chain verifies; the checkpoints do not.
    s2, prefix2 = fresh_alerts_topic(kafka_settings, 2)
    forged, prev = list(chain[:3]), chain[2].hash
    for i in range(3, 10):
        a = seal(alert(i).evolve(title="nothing to see") if i == 3 else alert(i), prev)
        prev = a.hash
        forged.append(a)
    produce(bootstrap, s2.topic("alerts"), encode(forged), partition=0)
    produce(bootstrap, s2.topic("alerts"), encode(chain[:4]), partition=1)
    config2 = write_config(tmp_path, s2, prefix2)
    rc = main(["--config", config2, "audit", "verify", "--checkpoints", str(cpfile)])
    out = capsys.readouterr().out
    assert rc == 1
    t2 = s2.topic("alerts")
    assert " ok " in lines_by_partition(out, t2)[0]  # the forged chain is self-consistent
    assert f"checkpoint {t2}[0]@9" in out and "mismatch" in out
    assert "offset 5 is past the end of the partition (4)" in out


def test_checkpoint_refuses_a_broken_ledger(
    kafka_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s, prefix = fresh_alerts_topic(kafka_settings, 1)
    values, _, _ = TAMPERS["reordered"](sealed_chain(8))
    produce(s.kafka.bootstrap, s.topic("alerts"), values, partition=0)
    out = tmp_path / "cp.json"
    rc = main(
        ["--config", write_config(tmp_path, s, prefix), "audit", "checkpoint", "--out", str(out)]
    )
    assert rc == 1 and not out.exists()
    assert "reordered at offset 5" in capsys.readouterr().out


def write_known_stream(s: Settings) -> None:
    """The hand-worked day of tests/engine/audit/report_stream.py, stamped in event time."""
    b = s.kafka.bootstrap
    chain, prev = [], None
    for a in ALERTS:
        if a.fingerprint == "fp2":  # cites observation o3, at offset 2 of partition 0
            a = a.evolve(sources=(SourceOffset(s.topic("observations"), 0, 2),))
        sealed = seal(a, prev)
        prev = sealed.hash
        chain.append(sealed)
    produce(b, s.topic("alerts"), encode(chain), times=[a.at for a in chain])
    produce(b, s.topic("control"), [c.to_json() for c in CONTROLS], times=[c.at for c in CONTROLS])
    produce(
        b,
        s.topic("notifications"),
        [orjson.dumps(n) for n in NOTIFICATIONS],
        times=[parse_time(str(n["at"])) for n in NOTIFICATIONS],
    )
    produce(
        b,
        s.topic("observations"),
        [o.to_json() for o in OBSERVATIONS],
        partition=0,
        keys=[o.asset.encode() for o in OBSERVATIONS],
        times=[o.observed_at for o in OBSERVATIONS],
    )


def test_export_and_report_of_a_known_stream(
    kafka_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_known_stream(kafka_settings)
    config = write_config(tmp_path, kafka_settings)
    period = ["--from", format_time(START), "--to", format_time(END)]

    out = tmp_path / "unit-a.jsonl"
    args = ["audit", "export", *period, "--unit", "unit-a", "--format", "jsonl", "--out", str(out)]
    assert main(["--config", config, *args]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["type"], r["action"], r["actor"]) for r in rows] == [
        ("alert", "firing", ""),
        ("control", "silence", "duty-2"),
        ("notification", "webhook error", "oncall-a"),
        ("alert", "acknowledged", "duty-2"),
    ]
    assert rows[0]["evidence"] == "ev-fp2-1"
    assert rows[0]["record"]["hash"] is not None  # the sealed record, as recorded
    assert rows[2]["record"] == NOTIFICATIONS[1]
    assert "exported 4 rows (2 alerts, 1 control actions, 1 notifications)" in (
        capsys.readouterr().err
    )
    assert rows[0]["observations"] == []

    evidence = tmp_path / "evidence.jsonl"
    args = ["audit", "export", *period, "--unit", "unit-a", "--evidence", "--out", str(evidence)]
    assert main(["--config", config, *args]) == 0
    rows = [json.loads(line) for line in evidence.read_text(encoding="utf-8").splitlines()]
    assert rows[0]["observations"] == [OBSERVATIONS[2].to_dict()]
    assert rows[3]["observations"] == [OBSERVATIONS[2].to_dict()]
    assert rows[1]["observations"] == rows[2]["observations"] == []

    csv_out = tmp_path / "all.csv"
    args = ["audit", "export", *period, "--format", "csv", "--out", str(csv_out)]
    assert main(["--config", config, *args]) == 0
    table = list(csv.reader(io.StringIO(csv_out.read_text(encoding="utf-8"))))
    assert tuple(table[0]) == COLUMNS and len(table) == 13
    assert "exported 12 rows (7 alerts, 3 control actions, 2 notifications)" in (
        capsys.readouterr().err
    )

    folder = tmp_path / "report"
    args = ["report", "--period", "day", "--at", format_time(END), "--out", str(folder)]
    assert main(["--config", config, *args]) == 0
    md = (folder / "ssa-report-day-20261129T0000Z.md").read_text(encoding="utf-8")
    page = (folder / "ssa-report-day-20261129T0000Z.html").read_text(encoding="utf-8")
    assert "8 availability observations, 7 alert records." in md
    assert "| unit-b | 0 | 2 | 0.00% |" in md and "| unit-a | 5 | 6 | 83.33% |" in md
    assert "| site-down | high | 2 |" in md and "| cert-expiry | medium | 1 |" in md
    assert "- Mean time to acknowledge: 20m (2 alerts)" in md
    assert "- Mean time to resolve: 1h22m30s (2 alerts)" in md
    assert "| critical | unit-a | unit-a-site | port-open |" in md
    assert "| 2026-11-28 20:00 UTC | 29.00 | 34.00 |" in md
    assert "&lt;b&gt;port 23&lt;/b&gt;" in page and "<b>port 23" not in page
