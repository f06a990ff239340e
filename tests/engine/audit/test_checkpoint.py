"""Checkpoint files: round trip, verdicts, and each invalid file with its exact message."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.audit.checkpoint import Checkpoint, CheckpointError, check, checkpoint_of, dump, load
from engine.audit.verify import LedgerRecord, decode_record
from tests.engine.audit.chains import T0, encode, sealed_chain


def test_dump_then_load_gives_the_same_checkpoints(tmp_path: Path) -> None:
    chain = sealed_chain(3)
    cps = [checkpoint_of(p, decode_record(2, encode(chain)[2], 1234)) for p in (1, 0)]
    path = tmp_path / "cp.json"
    path.write_bytes(dump("ssa.alerts", T0, cps))
    topic, loaded = load(path)
    assert topic == "ssa.alerts"
    assert [c.partition for c in loaded] == [0, 1]
    assert loaded[0] == Checkpoint(0, 2, chain[2].hash or "", chain[2].at, 1234)


def test_no_checkpoint_of_an_unsealed_record() -> None:
    with pytest.raises(CheckpointError, match="partition 0 offset 7: not a sealed alert"):
        checkpoint_of(0, LedgerRecord(7, None, 0, "bad"))


@pytest.mark.parametrize(
    ("offset", "log_start", "log_end", "hash_ok", "status", "detail"),
    [
        (5, 0, 10, True, "ok", "offset 5 hash {h} matches"),
        (5, 0, 10, False, "mismatch", "offset 5 has hash {o}, checkpoint says {h}"),
        (5, 0, 5, True, "truncated", "offset 5 is past the end of the partition (5)"),
        (5, 6, 10, True, "expired", "offset 5 was deleted by retention (log starts at 6)"),
    ],
)
def test_verdicts(
    offset: int, log_start: int, log_end: int, hash_ok: bool, status: str, detail: str
) -> None:
    chain = sealed_chain(8)
    cp = Checkpoint(0, offset, chain[offset].hash or "", chain[offset].at)
    held = chain[offset] if hash_ok else chain[offset + 1]
    result = check(cp, LedgerRecord(offset, held), log_start, log_end)
    h, o = (chain[offset].hash or "")[:12] + "…", (chain[offset + 1].hash or "")[:12] + "…"
    assert (result.status, result.detail) == (status, detail.format(h=h, o=o))
    assert result.failed == (status in ("mismatch", "truncated"))


GOOD = '{"hash": "HASH", "offset": 1, "partition": 0, "at": "2026-11-29T08:00:00Z"}'.replace(
    "HASH", "a" * 64
)


def doc(entry: str) -> str:
    return (
        '{"format": "ssa.ledger.checkpoint", "v": 1, "topic": "t", "partitions": [' + entry + "]}"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ('{"format": "other"}', "not an ssa ledger checkpoint file"),
        ('{"format": "ssa.ledger.checkpoint", "v": 2}', "unsupported checkpoint version 2"),
        (
            '{"format": "ssa.ledger.checkpoint", "v": 1, "topic": "t"}',
            "needs a topic and a list of partitions",
        ),
        (
            '{"format": "ssa.ledger.checkpoint", "v": 1, "topic": "t", "partitions": [1]}',
            "partitions[0]: must be an object",
        ),
        (
            doc(GOOD.replace('"offset": 1', '"offset": -1')),
            "partitions[0].offset: must be a non-negative integer",
        ),
        (
            doc(GOOD.replace("a" * 64, "A" * 64)),
            "partitions[0].hash: must be a 64-digit lowercase hex SHA-256",
        ),
        (
            doc(GOOD.replace("Z", "")),
            "partitions[0].at: not an ISO-8601 time with a timezone",
        ),
    ],
)
def test_invalid_checkpoint_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "cp.json"
    path.write_text(text)
    with pytest.raises(CheckpointError) as e:
        load(path)
    assert str(e.value).startswith(f"{path}: {message}")


def test_a_missing_checkpoint_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="checkpoint file not found"):
        load(tmp_path / "nope.json")
