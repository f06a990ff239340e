"""How the alert lifecycle lays out its state in a ``StateStore``.

Keys (values are JSON-able dicts and lists, so a changelog-backed Faust table
can hold them):

- ``alert/<fingerprint>``: one ``AlertRecord`` (kept after resolution: the
  fingerprint's ``seq`` continues in its next episode);
- ``silence/<id>``: one ``Silence``;
- ``index/silences``: the sorted ids of the stored silences;
- ``index/inhibitors``: fingerprints of the active alerts whose rules inhibit
  others (so a new alert need not scan every record to learn what mutes it);
- ``meta``: ``clock`` (latest event time processed) and ``next_due``.

A missing index (a new store, or one written before indexes existed) is
rebuilt by a scan on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from engine.alerting.record import ACTIVE, AlertRecord
from engine.alerting.silences import Silence
from engine.events import format_time, parse_time
from engine.store import StateStore

ALERT = "alert/"
SILENCE = "silence/"
SILENCES_INDEX = "index/silences"
INHIBITORS_INDEX = "index/inhibitors"
META = "meta"


class AlertState:
    """Typed access to the lifecycle's keys in one store."""

    def __init__(self, store: StateStore, inhibits: Callable[[str], bool]) -> None:
        self.store = store
        #: Whether a rule's alerts inhibit others (from the current policies).
        self.inhibits = inhibits
        #: Active records' stored dicts by fingerprint: read by one scan of the store on
        #: first use, then kept up to date by ``save`` (the lifecycle is the only writer of
        #: its store; a driver whose store changed underneath builds a new lifecycle).
        self._memo: dict[str, dict[str, Any]] | None = None
        #: The stored meta last read or written, and its times parsed.
        self._meta: dict[str, Any] | None = None
        self._times: tuple[datetime | None, datetime | None] = (None, None)

    def forget(self) -> None:
        """Drop what was read from the store (read it again when next needed)."""
        self._memo = None

    # ----------------------------------------------------------------- alerts

    def record(self, fp: str) -> AlertRecord | None:
        d = self.store.get(ALERT + fp)
        return AlertRecord.from_dict(d) if d is not None else None

    def records(self) -> list[AlertRecord]:
        """Every alert record, in fingerprint order."""
        keys = sorted(k for k in self.store.keys() if str(k).startswith(ALERT))
        return [AlertRecord.from_dict(self.store.get(k)) for k in keys]

    def active(self) -> list[dict[str, Any]]:
        """The stored dicts of the active alerts, in fingerprint order (no parsing)."""
        if self._memo is None:
            memo = {}
            for k in self.store.keys():
                if str(k).startswith(ALERT):
                    d = self.store.get(k)
                    if d is not None and d["state"] in ACTIVE:
                        memo[d["fingerprint"]] = d
            self._memo = memo
        return [self._memo[k] for k in sorted(self._memo)]

    def save(self, rec: AlertRecord) -> None:
        d = rec.to_dict()
        self.store[ALERT + rec.fingerprint] = d
        if self.inhibits(rec.rule):
            fps = set(self._inhibitor_index())
            wanted = fps | {rec.fingerprint} if rec.active else fps - {rec.fingerprint}
            if wanted != fps:
                self.store[INHIBITORS_INDEX] = sorted(wanted)
        if self._memo is not None:
            if rec.active:
                self._memo[rec.fingerprint] = d
            else:
                self._memo.pop(rec.fingerprint, None)

    def inhibitors(self) -> list[dict[str, Any]]:
        """The stored dicts of the active alerts whose rules inhibit others."""
        return [
            d
            for fp in self._inhibitor_index()
            if (d := self.store.get(ALERT + fp)) is not None and d["state"] in ACTIVE
        ]

    def reindex_inhibitors(self) -> None:
        """Rebuild the inhibitor index (the policies changed)."""
        self.store[INHIBITORS_INDEX] = self._scan_inhibitors()

    def _inhibitor_index(self) -> list[str]:
        fps = self.store.get(INHIBITORS_INDEX)
        if fps is None:
            fps = self.store[INHIBITORS_INDEX] = self._scan_inhibitors()
        return list(fps)

    def _scan_inhibitors(self) -> list[str]:
        return [d["fingerprint"] for d in self.active() if self.inhibits(d["rule"])]

    # --------------------------------------------------------------- silences

    def silences(self) -> list[Silence]:
        """Every stored silence, by start."""
        out = [
            Silence.from_dict(d) for i in self._silence_ids() if (d := self.store.get(SILENCE + i))
        ]
        return sorted(out, key=lambda s: (s.starts_at, s.id))

    def silence(self, sid: str) -> Silence | None:
        d = self.store.get(SILENCE + sid)
        return Silence.from_dict(d) if d is not None else None

    def put_silence(self, s: Silence) -> None:
        self.store[SILENCE + s.id] = s.to_dict()
        ids = self._silence_ids()
        if s.id not in ids:
            self.store[SILENCES_INDEX] = sorted({*ids, s.id})

    def drop_silences_ended_before(self, t: datetime) -> None:
        old = {s.id for s in self.silences() if s.end <= t}
        if old:
            for sid in old:
                del self.store[SILENCE + sid]
            self.store[SILENCES_INDEX] = sorted(set(self._silence_ids()) - old)

    def _silence_ids(self) -> list[str]:
        ids = self.store.get(SILENCES_INDEX)
        if ids is None:
            keys = self.store.keys()
            ids = sorted(str(k)[len(SILENCE) :] for k in keys if str(k).startswith(SILENCE))
            self.store[SILENCES_INDEX] = ids
        return list(ids)

    # ------------------------------------------------------------------- meta

    def meta(self) -> dict[str, Any]:
        meta = self.store.get(META)
        return dict(meta) if meta else {"clock": None, "next_due": None}

    def set_meta(self, meta: dict[str, Any]) -> None:
        self.store[META] = meta

    def times(self) -> tuple[datetime | None, datetime | None]:
        """The meta's ``clock`` and ``next_due``, parsed (once per stored meta)."""
        meta = self.store.get(META)
        if not meta:
            return None, None
        if meta is not self._meta:
            self._meta, self._times = meta, (_parse(meta["clock"]), _parse(meta["next_due"]))
        return self._times

    def set_times(self, clock: datetime | None, next_due: datetime | None) -> None:
        """Store ``clock`` and ``next_due`` (no write when they did not change)."""
        meta = self.store.get(META)
        if meta and meta is self._meta and self._times == (clock, next_due):
            return
        new = dict(meta) if meta else {}
        new["clock"], new["next_due"] = _fmt(clock), _fmt(next_due)
        self.store[META] = new
        self._meta, self._times = new, (clock, next_due)


def _fmt(t: datetime | None) -> str | None:
    return format_time(t) if t is not None else None


def _parse(s: str | None) -> datetime | None:
    return parse_time(s) if s is not None else None
