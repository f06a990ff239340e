"""The identity of an alert: which rule, on which asset, for which group.

A fingerprint is the first 32 hex digits (128 bits) of the SHA-256 of the
canonical JSON array ``[rule, asset, [[key, value], ...]]`` with the group
pairs sorted by key, encoded as UTF-8 with no whitespace. The same rule on the
same asset with the same group-by values always has the same fingerprint, on
every worker and in every replay; anyone can recompute it
(``sha256(b'["site-down","portal",[]]').hexdigest()[:32]``):

    >>> fingerprint("site-down", "portal", {})
    '13f4344adeb76bf7fff5206e81b809d3'

It is the key of the alert on ``ssa.alerts`` and in the lifecycle's store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import orjson


def fingerprint(rule: str, asset: str, group: Mapping[str, str] | None = None) -> str:
    """The stable 32-hex-digit identity of (rule, asset, group-by values)."""
    pairs = sorted((group or {}).items())
    canonical = orjson.dumps([rule, asset, [[k, v] for k, v in pairs]])
    return hashlib.sha256(canonical).hexdigest()[:32]
