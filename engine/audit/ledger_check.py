"""Checking the ledger in Kafka: every partition of ``ssa.alerts``, and checkpoints.

The Kafka half of ``ssa audit verify`` and ``ssa audit checkpoint``: read
each partition's records for a period, anchor the first one (``GENESIS`` at
the start of the log, else the record just before the period), run
``verify_partition`` and compare checkpoints with what the log now holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from engine.audit.checkpoint import Checkpoint, CheckpointCheck, check, checkpoint_of
from engine.audit.ledger import GENESIS
from engine.audit.topicread import PartitionRange, TopicReader
from engine.audit.verify import LedgerRecord, VerifyResult, decode_record, verify_partition


@dataclass
class LedgerReport:
    """Per-partition verification results and checkpoint verdicts."""

    topic: str
    results: list[VerifyResult] = field(default_factory=list)
    checkpoints: list[CheckpointCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results) and not any(c.failed for c in self.checkpoints)


def read_partition(reader: TopicReader, r: PartitionRange) -> list[LedgerRecord]:
    """Every record of one range, decoded (undecodable ones keep their reason)."""
    out: list[LedgerRecord] = []
    for batch in reader.read({r.partition: r}):
        out.extend(decode_record(m.offset, m.value, m.timestamp_ms) for m in batch)
    return out


def verify_ledger(
    reader: TopicReader,
    since: datetime | None = None,
    until: datetime | None = None,
    checkpoints: Sequence[Checkpoint] = (),
) -> LedgerReport:
    """Verify every partition's chain over ``[since, until]`` and check ``checkpoints``."""
    report = LedgerReport(reader.topic)
    by_partition: dict[int, list[Checkpoint]] = {}
    for cp in checkpoints:
        by_partition.setdefault(cp.partition, []).append(cp)
    for p, r in sorted(reader.ranges(since, until).items()):
        anchor: str | None
        if r.start == 0:
            anchor = GENESIS
        elif r.start > r.log_start and r.size > 0:
            # read one record more: the link into the period is checked too
            r = PartitionRange(p, r.start - 1, r.end, r.log_start, r.log_end)
            anchor = None
        else:  # the log's beginning was deleted by retention: a checkpoint may anchor it
            anchor = next(
                (c.hash for c in by_partition.get(p, ()) if c.offset == r.start - 1), None
            )
        records = read_partition(reader, r) if r.size else []
        report.results.append(verify_partition(p, records, anchor))
        held = {rec.offset: rec for rec in records}
        for cp in by_partition.pop(p, []):
            report.checkpoints.append(_check_one(reader, cp, r, held))
    for p, cps in sorted(by_partition.items()):  # checkpoints of partitions that are gone
        for cp in cps:
            report.checkpoints.append(
                CheckpointCheck(cp, "truncated", f"partition {p} does not exist any more")
            )
    return report


def _check_one(
    reader: TopicReader, cp: Checkpoint, r: PartitionRange, held: dict[int, LedgerRecord]
) -> CheckpointCheck:
    rec = held.get(cp.offset)
    if rec is None and r.log_start <= cp.offset < r.log_end:
        m = reader.read_at(cp.partition, cp.offset)
        rec = decode_record(m.offset, m.value, m.timestamp_ms) if m is not None else None
    return check(cp, rec, r.log_start, r.log_end)


def head_checkpoints(reader: TopicReader, at: datetime | None = None) -> list[Checkpoint]:
    """The head of every non-empty partition (as of ``at``, else now), verified first.

    Raises nothing for a broken chain: callers get the verification too and decide.
    """
    out = []
    for p, r in sorted(reader.ranges(None, at).items()):
        if r.end <= r.log_start:
            continue
        m = reader.read_at(p, r.end - 1)
        if m is not None:
            out.append(checkpoint_of(p, decode_record(m.offset, m.value, m.timestamp_ms)))
    return out
