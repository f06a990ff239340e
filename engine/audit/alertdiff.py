"""Comparing two alert histories: what a rule change (or a shadow rule set) would alter.

Alerts are matched by ``(fingerprint, seq, state)``: the same state change
of the same alert. A change present only on the right is *added*, only on
the left *removed*; a matched pair whose content differs is *changed*, with
the fields that differ. The ledger fields (``prev_hash``, ``hash``) and the
``rule_version`` are not compared: two rule sets always differ in version,
and two chains differ in hashes as soon as anything before differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.events import Alert, format_time

IGNORED: frozenset[str] = frozenset({"prev_hash", "hash", "rule_version"})

Key = tuple[str, int, str]


def key_of(a: Alert) -> Key:
    return (a.fingerprint, a.seq, a.state)


@dataclass(frozen=True, slots=True)
class Changed:
    """A state change both sides have, with different content."""

    before: Alert
    after: Alert
    fields: tuple[str, ...]


@dataclass
class AlertDiff:
    """Added, removed and changed alert state changes; ``same`` counts the identical."""

    added: list[Alert] = field(default_factory=list)
    removed: list[Alert] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)
    same: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.removed)} removed, "
            f"{len(self.changed)} changed, {self.same} identical"
        )


def _content(a: Alert) -> dict[str, Any]:
    return {k: v for k, v in a.to_dict().items() if k not in IGNORED}


def diff_alerts(left: Iterable[Alert], right: Iterable[Alert]) -> AlertDiff:
    """How ``right`` (e.g. the replay) differs from ``left`` (e.g. the record)."""
    lmap = {key_of(a): a for a in left}
    rmap = {key_of(a): a for a in right}
    d = AlertDiff()
    for k, a in rmap.items():
        if k not in lmap:
            d.added.append(a)
    for k, b in lmap.items():
        a2 = rmap.get(k)
        if a2 is None:
            d.removed.append(b)
            continue
        lc, rc = _content(b), _content(a2)
        if lc == rc:
            d.same += 1
        else:
            d.changed.append(Changed(b, a2, tuple(sorted(f for f in lc if lc[f] != rc.get(f)))))
    d.added.sort(key=_order)
    d.removed.sort(key=_order)
    d.changed.sort(key=lambda c: _order(c.before))
    return d


def _order(a: Alert) -> tuple[datetime, str, int]:
    return (a.at, a.fingerprint, a.seq)


def describe(a: Alert) -> str:
    """One line naming an alert state change."""
    return (
        f"{format_time(a.at)} {a.fingerprint[:12]} #{a.seq} {a.state:<12} {a.severity:<8} "
        f"{a.rule} on {a.asset}: {a.title}"
    )


def render(d: AlertDiff, limit: int = 50) -> list[str]:
    """The diff as lines: ``+`` added, ``-`` removed, ``~`` changed (with field values)."""
    lines: list[str] = []
    for sign, items in (("+", d.added), ("-", d.removed)):
        lines += [f"{sign} {describe(a)}" for a in items[:limit]]
        if len(items) > limit:
            lines.append(f"{sign} … and {len(items) - limit} more")
    for c in d.changed[:limit]:
        b, a = c.before.to_dict(), c.after.to_dict()
        what = ", ".join(f"{f}: {_short(b.get(f))} -> {_short(a.get(f))}" for f in c.fields)
        lines.append(f"~ {describe(c.before)} [{what}]")
    if len(d.changed) > limit:
        lines.append(f"~ … and {len(d.changed) - limit} more")
    lines.append(d.summary())
    return lines


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 60 else s[:59] + "…"
