"""The alert ledger: alert records hash-chained per partition of ``ssa.alerts``.

Each record's ``hash`` is SHA-256 over the previous record's hash and the
record's canonical encoding (``Alert.to_json`` with ``hash`` left empty), so
altering, dropping, inserting or reordering any record breaks every link
after it. The first record of a partition chains from ``GENESIS``.
"""

from __future__ import annotations

import hashlib

from engine.events import Alert

GENESIS = "0" * 64


def record_hash(alert: Alert, prev_hash: str) -> str:
    """The hash a record must carry, given the previous record's hash."""
    body = alert.evolve(prev_hash=prev_hash, hash=None).to_json()
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + body).hexdigest()


def seal(alert: Alert, prev_hash: str | None) -> Alert:
    """The alert with ``prev_hash`` and ``hash`` filled in, ready to append."""
    prev = prev_hash or GENESIS
    return alert.evolve(prev_hash=prev, hash=record_hash(alert, prev))
