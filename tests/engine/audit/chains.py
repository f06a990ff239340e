"""Sealed alert chains and the ways to tamper with them, shared by the audit tests.

A chain is a list of encoded alert records (bytes) as they sit in one
partition of ``ssa.alerts``. Each tamper function returns a new list and the
offset at which the verifier must report the break, and of which kind.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from engine.audit.ledger import seal
from engine.events import Alert

T0 = datetime(2026, 11, 29, 8, 0, 0, tzinfo=UTC)


def alert(i: int) -> Alert:
    """The i-th alert state change of a small, varied history."""
    state = ("firing", "acknowledged", "resolved")[i % 3]
    return Alert(
        fingerprint=f"fp{i // 3:04d}",
        seq=i % 3 + 1,
        state=state,
        rule=("site-down", "cert-expiry", "port-open")[i % 3],
        rule_version="v1",
        asset=f"asset-{i // 3}",
        unit=f"unit-{i % 4}",
        severity=("high", "medium", "critical", "low")[i % 4],
        title=f"alert {i}",
        at=T0 + timedelta(minutes=i),
        started_at=T0 + timedelta(minutes=i - i % 3),
        evidence=(f"obs-{i}",),
        actor="duty" if state == "acknowledged" else None,
    )


def sealed_chain(n: int, prev: str | None = None) -> list[Alert]:
    """``n`` alerts sealed one after the other, as the engine appends them."""
    out = []
    for i in range(n):
        a = seal(alert(i), prev)
        prev = a.hash
        out.append(a)
    return out


def encode(chain: list[Alert]) -> list[bytes]:
    return [a.to_json() for a in chain]


Tamper = Callable[[list[Alert]], tuple[list[bytes], str, int]]


def altered(chain: list[Alert]) -> tuple[list[bytes], str, int]:
    """Record 4's title changed after sealing; its stored hash kept."""
    vals = encode(chain)
    vals[4] = chain[4].evolve(title="nothing happened").to_json()
    return vals, "altered", 4


def altered_raw(chain: list[Alert]) -> tuple[list[bytes], str, int]:
    """Record 5's bytes edited into something that is not an alert."""
    vals = encode(chain)
    vals[5] = vals[5].replace(b'"state":', b'"stat":')
    return vals, "altered", 5


def missing(chain: list[Alert]) -> tuple[list[bytes], str, int]:
    """Record 6 deleted: record 7 now sits at offset 6 and chains from nothing here."""
    vals = encode(chain)
    del vals[6]
    return vals, "missing", 6


def missing_first(chain: list[Alert]) -> tuple[list[bytes], str, int]:
    """The first record deleted: the chain no longer starts at GENESIS."""
    return encode(chain)[1:], "missing", 0


def inserted_unsealed(chain: list[Alert]) -> tuple[list[bytes], str, int]:
    """A forged record with a made-up hash put in at offset 3."""
    vals = encode(chain)
    forged = alert(99).evolve(prev_hash=chain[2].hash, hash="f" * 64)
    vals.insert(3, forged.to_json())
    return vals, "inserted", 3


def inserted_sealed(chain: list[Alert]) -> tuple[list[bytes], str, int]:
    """A forged record properly sealed after record 2, put in at offset 3."""
    vals = encode(chain)
    vals.insert(3, seal(alert(99), chain[2].hash).to_json())
    return vals, "inserted", 3


def inserted_copy(chain: list[Alert]) -> tuple[list[bytes], str, int]:
    """A copy of record 2 appended again at offset 8 (a replayed record)."""
    vals = encode(chain)
    vals.insert(8, vals[2])
    return vals, "inserted", 8


def reordered(chain: list[Alert]) -> tuple[list[bytes], str, int]:
    """Records 5 and 6 swapped."""
    vals = encode(chain)
    vals[5], vals[6] = vals[6], vals[5]
    return vals, "reordered", 5


def moved_back(chain: list[Alert]) -> tuple[list[bytes], str, int]:
    """Record 8 moved to offset 2."""
    vals = encode(chain)
    vals.insert(2, vals.pop(8))
    return vals, "reordered", 2


TAMPERS: dict[str, Tamper] = {
    "altered": altered,
    "altered-raw": altered_raw,
    "missing": missing,
    "missing-first": missing_first,
    "inserted-unsealed": inserted_unsealed,
    "inserted-sealed": inserted_sealed,
    "inserted-copy": inserted_copy,
    "reordered": reordered,
    "moved-back": moved_back,
}
