"""Verifying the alert ledger: find the first broken link of a partition's chain.

``verify_partition`` takes the records of ONE partition of ``ssa.alerts`` in
offset order and walks the chain that ``engine.audit.ledger.seal`` built.
The first record that does not fit is reported as a ``Break`` with one of
four kinds. The classification looks at the whole range (a map from every
record's stored hash to its position), so a record that points *forward* can
be told from one that points to nothing:

``altered``
    The record's stored ``hash`` is not the hash of its content (or it is
    not a valid alert at all), and the next record still chains from that
    stored hash: the content was changed after it was sealed.
``inserted``
    A record that is not part of the chain sits between two records that
    chain to each other. Either it is unsealed (its hash does not match its
    content) and the record after it chains from the record before it; or it
    is sealed but a later record skips it (chains from a record before it);
    or it is a copy of an earlier record (same hash seen before).
    The reported offset is the first inserted record.
``reordered``
    The record's ``prev_hash`` is the hash of a record that appears *later*
    in the partition: the records are all there, in the wrong order.
``missing``
    The record is intact but its ``prev_hash`` is the hash of no record in
    the range: one or more records before it were removed. (A record that
    was altered *and re-sealed* without re-sealing its successors looks the
    same; either way the record before the reported offset is not the one
    that was written.)

What a chain cannot show by itself: an attacker who rewrites a record and
re-seals every record after it produces a valid chain. Checkpoints (the
head hash at an offset, exported and kept elsewhere; ``engine.audit.checkpoint``)
catch that.

The first record of the range must chain from ``anchor``: ``GENESIS`` when
the range starts at the partition's first offset ever written, the hash of
a checkpoint or of the preceding record, or ``None`` to accept whatever the
first record says (a range that starts in the middle with nothing to anchor
it; the result says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.audit.ledger import record_hash
from engine.errors import EventError
from engine.events import Alert

KINDS: tuple[str, ...] = ("altered", "missing", "inserted", "reordered")


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """One record of a partition: its offset, Kafka timestamp and decoded alert.

    ``alert`` is ``None`` when the value is not a valid alert; ``error`` says why.
    """

    offset: int
    alert: Alert | None
    timestamp_ms: int = 0
    error: str = ""


def decode_record(offset: int, value: bytes | None, timestamp_ms: int = 0) -> LedgerRecord:
    """A record as read from Kafka; an undecodable value keeps the reason."""
    if value is None:
        return LedgerRecord(offset, None, timestamp_ms, "empty record")
    try:
        return LedgerRecord(offset, Alert.from_json(value), timestamp_ms)
    except EventError as e:
        return LedgerRecord(offset, None, timestamp_ms, str(e))


@dataclass(frozen=True, slots=True)
class Break:
    """The first broken link: what kind, at which offset, and the evidence."""

    kind: str
    offset: int
    detail: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of verifying one partition (or a range of it)."""

    partition: int
    records: int
    first_offset: int | None
    last_offset: int | None
    #: Hash of the last record that verified (the head of the intact chain).
    head_hash: str | None
    #: The hash the first record had to chain from; ``None``: not anchored.
    anchor: str | None
    broken: Break | None = None
    #: Offsets of redelivered copies: runs that repeat, byte for byte, the
    #: records just before them (an at-least-once producer re-sending after a
    #: crash). They add nothing to the record and break no link; they are listed.
    duplicates: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify_partition(
    partition: int, records: Sequence[LedgerRecord], anchor: str | None
) -> VerifyResult:
    """Walk the chain of one partition's records (offset order); stop at the first break."""
    first = records[0].offset if records else None
    last = records[-1].offset if records else None
    # stored hash -> index of its first occurrence, for forward/backward references
    where: dict[str, int] = {}
    for i, r in enumerate(records):
        if r.alert is not None and r.alert.hash is not None:
            where.setdefault(r.alert.hash, i)

    expected = anchor
    head: str | None = None
    duplicates: list[int] = []
    i = 0
    while i < len(records):
        run = _redelivered_run(records, i, where)
        if run:
            duplicates.extend(records[k].offset for k in range(i, i + run))
            i += run
            continue
        r = records[i]
        broken = _check(records, i, expected, where, anchored=i > 0 or anchor is not None)
        if broken is not None:
            return VerifyResult(
                partition, len(records), first, last, head, anchor, broken, tuple(duplicates)
            )
        assert r.alert is not None and r.alert.hash is not None
        head = expected = r.alert.hash
        i += 1
    return VerifyResult(partition, len(records), first, last, head, anchor, None, tuple(duplicates))


def _redelivered_run(records: Sequence[LedgerRecord], i: int, where: dict[str, int]) -> int:
    """Length of the redelivered run starting at ``i``, or 0 if ``i`` does not start one.

    Records ``i, i+1, …`` are a redelivery when they repeat exactly the records
    ``j … i-1`` just before them, where ``j`` is the first occurrence of record
    ``i``'s hash (the partition may end inside the run). A copy of an older
    record anywhere else is an insertion, and ``_check`` reports it.
    """
    a = records[i].alert
    if a is None or a.hash is None:
        return 0
    j = where.get(a.hash)
    if j is None or j >= i:
        return 0
    length = i - j
    for t in range(length):
        if i + t >= len(records):
            break
        if records[i + t].alert is None or records[i + t].alert != records[j + t].alert:
            return 0
    return min(length, len(records) - i)


def _check(
    records: Sequence[LedgerRecord],
    i: int,
    expected: str | None,
    where: dict[str, int],
    anchored: bool,
) -> Break | None:
    r = records[i]
    nxt = records[i + 1] if i + 1 < len(records) else None
    nxt_prev = nxt.alert.prev_hash if nxt is not None and nxt.alert is not None else None
    a = r.alert
    if a is None or a.hash is None or a.prev_hash is None:
        why = r.error or "record carries no hash chain"
        if nxt_prev is not None and nxt_prev == expected:
            return Break(
                "inserted",
                r.offset,
                f"not a sealed alert ({why}); the next record chains from the one before it",
            )
        return Break("altered", r.offset, f"not a sealed alert: {why}")

    computed = record_hash(a, a.prev_hash)
    if computed != a.hash:
        if expected is not None and nxt_prev == expected:
            return Break(
                "inserted",
                r.offset,
                "unsealed record; the next record chains from the one before it",
            )
        return Break(
            "altered",
            r.offset,
            "content does not match its hash "
            f"(stored {_short(a.hash)}, computed {_short(computed)})",
        )

    seen_at = where[a.hash]
    if seen_at < i:
        return Break(
            "inserted", r.offset, f"copy of the record at offset {records[seen_at].offset}"
        )

    if not anchored or a.prev_hash == expected:
        return None

    k = where.get(a.prev_hash)
    if k is not None and k > i:
        return Break(
            "reordered",
            r.offset,
            f"chains from the record at offset {records[k].offset}, which comes later",
        )
    if expected is not None and nxt_prev == expected:
        return Break(
            "inserted",
            r.offset,
            "does not chain from the record before it, and the next record does",
        )
    if k is not None and k < i - 1:
        first_extra = records[k + 1].offset
        return Break(
            "inserted",
            first_extra,
            f"records {first_extra}..{records[i - 1].offset} "
            f"are not in the chain: offset {r.offset} chains from offset "
            f"{records[k].offset}",
        )
    if i == 0:
        return Break(
            "missing",
            r.offset,
            "first record does not chain from the anchor "
            f"{_short(expected)}: records before it are missing",
        )
    return Break(
        "missing",
        r.offset,
        f"prev_hash {_short(a.prev_hash)} is the hash of no record "
        f"here: records between offsets {records[i - 1].offset} and {r.offset} are "
        "missing (or the one before was re-sealed)",
    )


def _short(h: str | None) -> str:
    return f"{h[:12]}…" if h else "none"
