"""When each probe of each asset runs next: the scheduler's pure timetable.

A job is one (asset, probe) pair. ``Plan`` keeps a heap of due times in the
caller's clock (seconds, monotonic) and has no clock or I/O of its own, so its
rules are tested with plain numbers:

- a new job starts at a random point within ``spread_s`` (at most its interval),
  so a fresh collector does not probe everything at once;
- after a success the next run is one interval later, jittered by ±``jitter``;
- after a failure the next run comes sooner (a quarter interval, at least
  ``retry_min_s``) for ``fast_retries`` consecutive failures, then back to the
  normal interval so a dead target is not hammered;
- ``now_due(asset)`` moves an asset's jobs to now (the re-probe hook);
- a running job is not due again until it finishes (no overlapping runs).
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field

from engine.inventory.model import Asset

Job = tuple[str, str]  # (asset id, probe name)


@dataclass
class JobState:
    """The schedule of one job."""

    due: float
    failures: int = 0
    running: bool = False
    #: Asked to run again as soon as the current run finishes.
    again: bool = False


@dataclass
class Plan:
    """The timetable of every job of the assets this collector owns."""

    jitter: float = 0.1
    #: New jobs start at a random point within this many seconds (at most one interval).
    spread_s: float = 10.0
    retry_min_s: float = 5.0
    fast_retries: int = 3
    rng: random.Random = field(default_factory=random.Random)
    assets: dict[str, Asset] = field(default_factory=dict)
    jobs: dict[Job, JobState] = field(default_factory=dict)
    _heap: list[tuple[float, Job]] = field(default_factory=list)

    # -- the set of assets -----------------------------------------------------

    def put(self, asset: Asset, now: float) -> None:
        """Add an asset or replace it (new probes start, dropped probes stop)."""
        old = self.assets.get(asset.id)
        self.assets[asset.id] = asset
        for probe in asset.probes:
            job = (asset.id, probe)
            if job in self.jobs:
                if old is not None and old.interval != asset.interval:
                    st = self.jobs[job]
                    st.due = min(st.due, now + asset.interval)
                    self._push(job)
                continue
            first = self.rng.uniform(0, min(asset.interval, self.spread_s))
            self.jobs[job] = JobState(due=now + first)
            self._push(job)
        for job in [j for j in self.jobs if j[0] == asset.id and j[1] not in asset.probes]:
            del self.jobs[job]

    def remove(self, asset_id: str) -> Asset | None:
        """Stop probing an asset; returns it if it was here."""
        for job in [j for j in self.jobs if j[0] == asset_id]:
            del self.jobs[job]
        return self.assets.pop(asset_id, None)

    def now_due(self, asset_id: str, now: float) -> bool:
        """Run every probe of ``asset_id`` now (or right after a running one ends)."""
        if asset_id not in self.assets:
            return False
        for job, st in self.jobs.items():
            if job[0] == asset_id:
                if st.running:
                    st.again = True
                else:
                    st.due = now
                    self._push(job)
        return True

    # -- running -----------------------------------------------------------------

    def next_due(self) -> float | None:
        """The earliest due time of a job that is not running, or None."""
        while self._heap:
            due, job = self._heap[0]
            st = self.jobs.get(job)
            if st is None or st.running or st.due != due:
                heapq.heappop(self._heap)  # stale entry
                continue
            return due
        return None

    def take_due(self, now: float) -> list[Job]:
        """Every job due at ``now``, marked running."""
        out: list[Job] = []
        while (due := self.next_due()) is not None and due <= now:
            _, job = heapq.heappop(self._heap)
            self.jobs[job].running = True
            out.append(job)
        return out

    def finished(self, job: Job, ok: bool, now: float) -> float | None:
        """Record a run's result and schedule the next; returns its due time."""
        st = self.jobs.get(job)
        asset = self.assets.get(job[0])
        if st is None or asset is None:
            return None  # removed while it ran
        st.running = False
        st.failures = 0 if ok else st.failures + 1
        if st.again:
            st.again, st.due = False, now
        elif 0 < st.failures <= self.fast_retries:
            st.due = now + self.retry_interval(asset)
        else:
            st.due = now + asset.interval * (1 + self.rng.uniform(-self.jitter, self.jitter))
        self._push(job)
        return st.due

    def retry_interval(self, asset: Asset) -> float:
        """How soon a failed probe is tried again."""
        return min(asset.interval, max(self.retry_min_s, asset.interval / 4))

    def _push(self, job: Job) -> None:
        heapq.heappush(self._heap, (self.jobs[job].due, job))
