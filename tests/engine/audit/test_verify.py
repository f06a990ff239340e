"""The ledger verifier: an intact chain passes; each kind of tampering is found where it is."""

from __future__ import annotations

import pytest

from engine.audit.ledger import GENESIS, seal
from engine.audit.verify import LedgerRecord, decode_record, verify_partition
from tests.engine.audit.chains import TAMPERS, Tamper, alert, encode, sealed_chain


def records(values: list[bytes], start: int = 0) -> list[LedgerRecord]:
    return [decode_record(start + i, v) for i, v in enumerate(values)]


def test_an_intact_chain_verifies_from_genesis() -> None:
    chain = sealed_chain(12)
    result = verify_partition(0, records(encode(chain)), GENESIS)
    assert result.ok
    assert result.records == 12
    assert (result.first_offset, result.last_offset) == (0, 11)
    assert result.head_hash == chain[-1].hash


def test_an_empty_partition_verifies() -> None:
    result = verify_partition(2, [], GENESIS)
    assert result.ok and result.records == 0 and result.head_hash is None


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_each_tampering_is_classified_at_its_offset(name: str) -> None:
    tamper: Tamper = TAMPERS[name]
    values, kind, offset = tamper(sealed_chain(12))
    result = verify_partition(0, records(values), GENESIS)
    assert not result.ok
    assert result.broken is not None
    assert (result.broken.kind, result.broken.offset) == (kind, offset), result.broken.detail


def test_the_head_is_the_last_record_before_the_break() -> None:
    chain = sealed_chain(12)
    values, _, _ = TAMPERS["altered"](chain)
    result = verify_partition(0, records(values), GENESIS)
    assert result.head_hash == chain[3].hash


def test_a_range_from_the_middle_is_accepted_unanchored_or_anchored() -> None:
    chain = sealed_chain(12)
    tail = records(encode(chain[5:]), start=5)
    assert verify_partition(0, tail, None).ok
    assert verify_partition(0, tail, chain[4].hash).ok
    wrong = verify_partition(0, tail, chain[3].hash)
    assert wrong.broken is not None
    assert (wrong.broken.kind, wrong.broken.offset) == ("missing", 5)


def test_altering_then_resealing_one_record_shows_at_the_next_link() -> None:
    chain = sealed_chain(10)
    values = encode(chain)
    values[4] = seal(chain[4].evolve(title="forged"), chain[3].hash).to_json()
    result = verify_partition(0, records(values), GENESIS)
    assert result.broken is not None
    assert (result.broken.kind, result.broken.offset) == ("missing", 5)
    assert "re-sealed" in result.broken.detail


def test_resealing_the_whole_tail_makes_a_valid_chain_only_a_checkpoint_catches() -> None:
    chain = sealed_chain(10)
    forged = chain[:4]
    prev = chain[3].hash
    for i in range(4, 10):
        a = alert(i).evolve(title="forged") if i == 4 else alert(i)
        a = seal(a, prev)
        prev = a.hash
        forged.append(a)
    assert verify_partition(0, records(encode(forged)), GENESIS).ok
    assert forged[-1].hash != chain[-1].hash


def test_an_empty_value_is_reported_as_altered() -> None:
    values: list[bytes | None] = list(encode(sealed_chain(5)))
    values[2] = None
    result = verify_partition(0, [decode_record(i, v) for i, v in enumerate(values)], GENESIS)
    assert result.broken is not None
    assert (result.broken.kind, result.broken.offset) == ("altered", 2)
    assert "empty record" in result.broken.detail


def test_break_details_name_the_evidence() -> None:
    values, _, _ = TAMPERS["inserted-copy"](sealed_chain(12))
    result = verify_partition(0, records(values), GENESIS)
    assert result.broken is not None
    assert result.broken.detail == "copy of the record at offset 2"


@pytest.mark.parametrize(
    ("resent", "cut", "copies"),
    [
        ((4, 5, 6), None, (7, 8, 9)),  # a worker re-sent its last three records
        ((6,), None, (7,)),  # just the last one
        ((3, 4, 5, 6), 9, (7, 8)),  # the partition ends inside the re-sent run
    ],
)
def test_redelivered_runs_are_listed_not_broken(
    resent: tuple[int, ...], cut: int | None, copies: tuple[int, ...]
) -> None:
    values = encode(sealed_chain(7))
    values += [values[k] for k in resent]
    values = values[:cut]
    result = verify_partition(0, records(values), GENESIS)
    assert result.ok, result.broken
    assert result.duplicates == copies


def test_a_redelivery_followed_by_the_chain_continuing_verifies() -> None:
    chain = sealed_chain(9)
    values = encode(chain[:7]) + encode(chain[5:7]) + encode(chain[7:])
    result = verify_partition(0, records(values), GENESIS)
    assert result.ok and result.duplicates == (7, 8)
    assert result.head_hash == chain[-1].hash
