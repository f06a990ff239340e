"""Ledger checkpoints: the head hash of each partition at a time, kept elsewhere.

A checkpoint says "at offset N of partition P the record's hash was H". It
is exported (``ssa audit checkpoint --out FILE``) to somewhere the engine
cannot write (a ticket, a signed e-mail, another system), and checked later
(``ssa audit verify --checkpoints FILE``). Because every hash covers all the
records before it, a matching checkpoint proves the whole prefix of the
partition unchanged; a mismatch or a missing record proves tampering or
truncation, even if the attacker re-sealed the chain after the change.

The file is one JSON object::

    {"format": "ssa.ledger.checkpoint", "v": 1, "topic": "ssa.alerts",
     "created_at": "2026-11-29T10:00:00.000000Z",
     "partitions": [{"partition": 0, "offset": 41, "hash": "…64 hex…",
                     "at": "2026-11-29T09:59:58.120000Z", "timestamp_ms": 1796…}]}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from engine.audit.verify import LedgerRecord
from engine.errors import SsaError
from engine.events import format_time, parse_time

FORMAT = "ssa.ledger.checkpoint"
VERSION = 1
_HASH = re.compile(r"^[0-9a-f]{64}$")


class CheckpointError(SsaError):
    """A checkpoint file that cannot be read."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The head of one partition's chain: the record at ``offset`` had ``hash``."""

    partition: int
    offset: int
    hash: str
    #: Event time of that alert record.
    at: datetime
    timestamp_ms: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "offset": self.offset,
            "hash": self.hash,
            "at": format_time(self.at),
            "timestamp_ms": self.timestamp_ms,
        }


@dataclass(frozen=True, slots=True)
class CheckpointCheck:
    """The verdict on one checkpoint: ``ok``, ``mismatch``, ``truncated`` or ``expired``.

    ``expired`` means retention has deleted the record, so it cannot be checked
    (not counted as tampering; the result says so).
    """

    checkpoint: Checkpoint
    status: str
    detail: str

    @property
    def failed(self) -> bool:
        return self.status in ("mismatch", "truncated")


def checkpoint_of(partition: int, record: LedgerRecord) -> Checkpoint:
    """The checkpoint for a partition whose head is ``record``."""
    a = record.alert
    if a is None or a.hash is None:
        raise CheckpointError(
            f"partition {partition} offset {record.offset}: not a sealed alert, no checkpoint"
        )
    return Checkpoint(partition, record.offset, a.hash, a.at, record.timestamp_ms)


def check(
    cp: Checkpoint, record: LedgerRecord | None, log_start: int, log_end: int
) -> CheckpointCheck:
    """Compare a checkpoint with the record now at its offset (``None`` if unread)."""
    if cp.offset >= log_end:
        return CheckpointCheck(
            cp, "truncated", f"offset {cp.offset} is past the end of the partition ({log_end})"
        )
    if cp.offset < log_start:
        return CheckpointCheck(
            cp,
            "expired",
            f"offset {cp.offset} was deleted by retention (log starts at {log_start})",
        )
    if record is None or record.alert is None:
        return CheckpointCheck(cp, "mismatch", f"offset {cp.offset} holds no sealed alert")
    if record.alert.hash != cp.hash:
        got = record.alert.hash or "none"
        return CheckpointCheck(
            cp,
            "mismatch",
            f"offset {cp.offset} has hash {got[:12]}…, checkpoint says {cp.hash[:12]}…",
        )
    return CheckpointCheck(cp, "ok", f"offset {cp.offset} hash {cp.hash[:12]}… matches")


def dump(topic: str, created_at: datetime, checkpoints: list[Checkpoint]) -> bytes:
    """The checkpoint file's bytes (indented, sorted, newline-terminated)."""
    doc = {
        "format": FORMAT,
        "v": VERSION,
        "topic": topic,
        "created_at": format_time(created_at),
        "partitions": [c.to_dict() for c in sorted(checkpoints, key=lambda c: c.partition)],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def load(path: str | Path) -> tuple[str, list[Checkpoint]]:
    """Read a checkpoint file: ``(topic, checkpoints)``; ``CheckpointError`` if invalid."""
    p = Path(path)
    try:
        doc = orjson.loads(p.read_bytes())
    except FileNotFoundError:
        raise CheckpointError(f"{p}: checkpoint file not found") from None
    except orjson.JSONDecodeError as e:
        raise CheckpointError(f"{p}: not valid JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"{p}: not an ssa ledger checkpoint file")
    if doc.get("v") != VERSION:
        raise CheckpointError(f"{p}: unsupported checkpoint version {doc.get('v')!r}")
    topic = doc.get("topic")
    parts = doc.get("partitions")
    if not isinstance(topic, str) or not isinstance(parts, list):
        raise CheckpointError(f"{p}: needs a topic and a list of partitions")
    return topic, [_entry(p, i, item) for i, item in enumerate(parts)]


def _entry(p: Path, i: int, e: Any) -> Checkpoint:
    where = f"{p}: partitions[{i}]"
    if not isinstance(e, dict):
        raise CheckpointError(f"{where}: must be an object")
    for key in ("partition", "offset", "timestamp_ms"):
        v = e.get(key, 0)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise CheckpointError(f"{where}.{key}: must be a non-negative integer")
    h = e.get("hash")
    if not isinstance(h, str) or not _HASH.match(h):
        raise CheckpointError(f"{where}.hash: must be a 64-digit lowercase hex SHA-256")
    try:
        at = parse_time(str(e.get("at")))
    except ValueError:
        raise CheckpointError(f"{where}.at: not an ISO-8601 time with a timezone") from None
    return Checkpoint(int(e["partition"]), int(e["offset"]), h, at, int(e.get("timestamp_ms", 0)))
