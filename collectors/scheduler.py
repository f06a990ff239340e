"""The probe scheduler: runs every job of the plan on time, never stalled by a target.

``Scheduler.run()`` is one loop: sleep until the earliest due job (or until
woken by a new asset or a re-probe request), start every due job as its own
task, repeat. Each task waits for a slot of the global concurrency limit
(an ``asyncio.Semaphore``), then runs the probe bounded by its timeout, with
``asyncio.wait_for`` as a backstop in case a probe ignores its own timeout.
So a slow or hanging target holds one slot for at most ``timeout + grace``
seconds and never delays another asset's probe.

Every observation goes to ``emit`` (the publisher and the metrics). Time
comes from ``clock`` (monotonic seconds), injectable for tests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping

from collectors.plan import Job, Plan
from collectors.probes.base import Probe, ProbeConfig
from engine.events import Observation
from engine.inventory.model import Asset

log = logging.getLogger(__name__)

#: Extra seconds the backstop gives a probe beyond its own timeout.
GRACE_S = 1.0


class Scheduler:
    """Runs the probes of the assets it holds, each on its own interval."""

    def __init__(
        self,
        probes: Mapping[str, Probe],
        config: ProbeConfig,
        emit: Callable[[Observation], None],
        *,
        concurrency: int = 200,
        timeout: float = 10.0,
        plan: Plan | None = None,
        clock: Callable[[], float] = time.monotonic,
        grace: float = GRACE_S,
    ) -> None:
        self.probes = probes
        self.config = config
        self.emit = emit
        self.timeout = timeout
        self.grace = grace
        self.plan = plan or Plan()
        self.clock = clock
        self.slots = asyncio.Semaphore(concurrency)
        self.concurrency = concurrency
        self.running = 0
        self.peak_running = 0
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = False

    # -- what to probe -------------------------------------------------------------

    def put(self, asset: Asset) -> None:
        """Probe ``asset`` (new or changed) from now on."""
        self.plan.put(asset, self.clock())
        self._wake.set()

    def remove(self, asset_id: str) -> Asset | None:
        """Stop probing ``asset_id``."""
        return self.plan.remove(asset_id)

    def replace_all(self, assets: Iterable[Asset]) -> None:
        """Probe exactly ``assets`` (a reloaded file)."""
        given = list(assets)
        keep = {a.id for a in given}
        for aid in [a for a in self.plan.assets if a not in keep]:
            self.remove(aid)
        for a in given:
            self.put(a)

    def reprobe(self, asset_id: str) -> bool:
        """Probe ``asset_id`` now (a unit said it fixed a problem); False if not ours."""
        ok = self.plan.now_due(asset_id, self.clock())
        if ok:
            log.info("re-probing %s now", asset_id)
            self._wake.set()
        return ok

    @property
    def assets(self) -> Mapping[str, Asset]:
        return self.plan.assets

    # -- the loop -------------------------------------------------------------------

    async def run(self) -> None:
        """Start due jobs until ``stop()``; returns after cancelling running probes."""
        try:
            while not self._stopped:
                now = self.clock()
                for job in self.plan.take_due(now):
                    task = asyncio.create_task(self._run_job(job), name=f"probe {job[1]} {job[0]}")
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                due = self.plan.next_due()
                delay = 3600.0 if due is None else max(0.0, due - self.clock())
                self._wake.clear()
                if delay > 0:
                    try:
                        await asyncio.wait_for(self._wake.wait(), timeout=delay)
                    except TimeoutError:
                        pass
        finally:
            for t in list(self._tasks):
                t.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    async def _run_job(self, job: Job) -> None:
        async with self.slots:
            asset = self.plan.assets.get(job[0])
            if asset is None:
                return
            self.running += 1
            self.peak_running = max(self.peak_running, self.running)
            try:
                obs = await self.run_probe(asset, job[1])
            finally:
                self.running -= 1
        self.plan.finished(job, obs.ok, self.clock())
        self._wake.set()
        try:
            self.emit(obs)
        except Exception:  # a sink bug must not stop the scheduler; it is logged
            log.exception("emitting observation %s failed", obs.id)

    async def run_probe(self, asset: Asset, name: str) -> Observation:
        """Run one probe of one asset; always returns an observation."""
        timeout = min(self.timeout, asset.interval)
        watch = self.config.start()
        probe = self.probes.get(name)
        if probe is None:
            return self.config.failure(asset, name, watch, f"no probe named '{name}' here")
        try:
            return await asyncio.wait_for(
                probe(asset, self.config, timeout=timeout), timeout + self.grace
            )
        except TimeoutError:
            return self.config.failure(asset, name, watch, f"timed out after {timeout:g}s")
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a probe bug is reported as data, and logged with its trace
            log.exception("probe %s of %s raised", name, asset.id)
            return self.config.failure(asset, name, watch, f"probe error: {type(e).__name__}: {e}")
