"""Approved content baselines: what a page looked like when a person said it was right.

A baseline is the page's normalised content hash, its visible text lines
(normalised, for the diff), its title and the external hosts it links to or
loads from. ``ssa baseline approve ASSET`` writes one; the content probe
compares every fetch with it. Baselines are JSON files, one per asset, in
``settings.collectors.baseline_dir`` (written atomically: a crash never
leaves half a baseline).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from collectors.content.normalise import normalise
from collectors.content.page import PageFacts
from engine.errors import ProbeError
from engine.events import Control, format_time, parse_time

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
MAX_DIFF_LINES = 2000


@dataclass(frozen=True)
class Baseline:
    """One asset's approved page."""

    asset: str
    url: str
    content_hash: str
    title: str
    lines: tuple[str, ...]
    hosts: tuple[str, ...]
    approved_at: datetime
    approved_by: str = ""
    #: False when the text lines were left out (a page too big for a control
    #: event): the hash still tells a change, but there is nothing to diff against.
    complete: bool = True

    @classmethod
    def of(
        cls,
        asset: str,
        url: str,
        content_hash: str,
        facts: PageFacts,
        approved_at: datetime,
        approved_by: str = "",
    ) -> Baseline:
        """The baseline of a page just read."""
        return cls(
            asset=asset,
            url=url,
            content_hash=content_hash,
            title=facts.title,
            lines=tuple(text_lines(facts)),
            hosts=tuple(sorted(facts.external_hosts(url))),
            approved_at=approved_at,
            approved_by=approved_by,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "url": self.url,
            "content_hash": self.content_hash,
            "title": self.title,
            "lines": list(self.lines),
            "hosts": list(self.hosts),
            "approved_at": format_time(self.approved_at),
            "approved_by": self.approved_by,
            "complete": self.complete,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Baseline:
        return cls(
            asset=str(d["asset"]),
            url=str(d["url"]),
            content_hash=str(d["content_hash"]),
            title=str(d.get("title", "")),
            lines=tuple(str(x) for x in d.get("lines", ())),
            hosts=tuple(str(x) for x in d.get("hosts", ())),
            approved_at=parse_time(str(d["approved_at"])),
            approved_by=str(d.get("approved_by", "")),
            complete=bool(d.get("complete", True)),
        )

    def without_lines(self) -> Baseline:
        """This baseline with its text lines left out (``complete`` False)."""
        return replace(self, lines=(), complete=False)


def text_lines(facts: PageFacts) -> list[str]:
    """The page's visible text lines, normalised like the hash (dates, counters…)."""
    return [normalise(line) for line in facts.lines]


def path_for(directory: str | os.PathLike[str], asset_id: str) -> Path:
    """Where an asset's baseline lives (the id must be a plain name)."""
    if not _SAFE_ID.match(asset_id):
        raise ProbeError(f"not a valid asset id for a baseline file: {asset_id!r}")
    return Path(directory) / f"{asset_id}.json"


def load(directory: str | os.PathLike[str], asset_id: str) -> Baseline | None:
    """The asset's approved baseline, or None if there is none yet."""
    path = path_for(directory, asset_id)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return Baseline.from_dict(json.loads(raw))
    except (ValueError, KeyError, TypeError) as e:
        raise ProbeError(f"{path}: not a valid baseline: {e}") from None


def save(directory: str | os.PathLike[str], baseline: Baseline) -> Path:
    """Write the baseline atomically; return its path."""
    path = path_for(directory, baseline.asset)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(baseline.to_dict(), ensure_ascii=False, indent=1, sort_keys=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{baseline.asset}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def from_control(control: Control) -> Baseline | None:
    """The baseline an ``approve_baseline`` control event carries (None for other events)."""
    if control.kind != "approve_baseline" or not isinstance(control.data.get("baseline"), dict):
        return None
    try:
        return Baseline.from_dict(control.data["baseline"])
    except (ValueError, KeyError, TypeError) as e:
        raise ProbeError(f"control event {control.id}: not a valid baseline: {e}") from None


def apply_control(directory: str | os.PathLike[str], control: Control) -> Path | None:
    """Store the baseline of an approval recorded on the control topic.

    Collectors on other machines call this for every control event, so an
    approval made anywhere reaches every collector's ``baseline_dir``. An
    older approval never replaces a newer one (replaying the topic is safe).
    Returns the path written, or None when there was nothing newer to store.
    """
    new = from_control(control)
    if new is None:
        return None
    old = load(directory, new.asset)
    if old is not None and old.approved_at >= new.approved_at:
        return None
    return save(directory, new)


@dataclass(frozen=True)
class Diff:
    """How a page's text differs from the baseline's."""

    #: Share of the text that changed, 0 (same) .. 1 (all different).
    changed: float
    added: tuple[str, ...]
    removed: tuple[str, ...]


def diff(old: tuple[str, ...] | list[str], new: tuple[str, ...] | list[str]) -> Diff:
    """Compare two pages' text lines (at most the first 2000 of each)."""
    a, b = list(old[:MAX_DIFF_LINES]), list(new[:MAX_DIFF_LINES])
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    added: list[str] = []
    removed: list[str] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("replace", "delete"):
            removed += a[i1:i2]
        if op in ("replace", "insert"):
            added += b[j1:j2]
    return Diff(round(1.0 - matcher.ratio(), 4), tuple(added), tuple(removed))


def unified(old: tuple[str, ...] | list[str], new: tuple[str, ...] | list[str]) -> list[str]:
    """A unified diff of the text lines, for a person to review."""
    return list(difflib.unified_diff(list(old), list(new), "approved", "now", lineterm="", n=1))
