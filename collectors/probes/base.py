"""The one probe contract: what every probe is given and what it returns.

A probe is ``async def probe(asset, config, *, timeout) -> Observation``. It
is given the asset to look at, a ``ProbeConfig`` (who is probing, from where,
size caps, the clock) and a time budget in seconds. It never raises for a
target's failure: a refused connection, a timeout or an expired certificate is
data (``ok=False`` plus ``error``). It raises ``ProbeError`` only when it is
misconfigured (for example an asset without the address the probe needs).

``ProbeConfig.start()`` gives a ``Stopwatch`` taken when the probe starts;
``ProbeConfig.observation(...)`` and ``ProbeConfig.failure(...)`` build the
``Observation`` with a fresh id, the start time and the elapsed duration.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from collectors.probes.ledger import PushLedger
from engine.events import Observation
from engine.inventory.model import Asset

if TYPE_CHECKING:
    from engine.settings import Settings

#: The longest error text kept in an observation (the rest is cut).
MAX_ERROR_CHARS = 500


def utc_now() -> datetime:
    """The wall clock as an aware UTC datetime (the default ``ProbeConfig.now``)."""
    return datetime.now(UTC)


def new_id() -> str:
    """A fresh observation id."""
    return uuid.uuid4().hex


class Probe(Protocol):
    """The signature every probe has; ``PROBES`` maps names to these."""

    async def __call__(
        self, asset: Asset, config: ProbeConfig, *, timeout: float
    ) -> Observation: ...


@dataclass(frozen=True, slots=True)
class Stopwatch:
    """When a probe started: the wall time it reports and a monotonic start."""

    observed_at: datetime
    started: float

    def elapsed(self) -> float:
        """Seconds since the probe started (monotonic, never negative)."""
        return max(0.0, time.perf_counter() - self.started)


@dataclass(frozen=True)
class ProbeConfig:
    """Everything a probe needs besides the asset and its time budget."""

    #: This collector's id (``Observation.collector``).
    collector: str = "collector"
    #: Where the collector stands (``Observation.vantage``, ``--vantage``).
    vantage: str = "local"
    #: Largest response body a probe reads, in bytes; the rest is not fetched.
    max_body_bytes: int = 2 << 20
    #: Where approved content baselines live (one file per asset).
    baseline_dir: Path = field(default_factory=lambda: Path("baselines"))
    #: The clock: an aware UTC datetime. Tests pass a fixed or stepping clock.
    now: Callable[[], datetime] = utc_now
    #: Nameservers for the dns probe ("host" or "host:port"); empty = the system's.
    nameservers: tuple[str, ...] = ()
    #: Extra CA bundle (PEM file) trusted by http/tls probes besides the system's.
    ca_file: str | None = None
    #: The User-Agent the http and content probes send.
    user_agent: str = "ssa-collector/0.1 (+security-centre)"
    #: Collector-wide probe options by probe name (asset options override them).
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Events pushed by registered systems (written by the ingest servers).
    pushes: PushLedger = field(default_factory=PushLedger)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        collector: str | None = None,
        vantage: str | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> ProbeConfig:
        """The probe config of a collector run with ``settings``."""
        c = settings.collectors
        return cls(
            collector=collector or "collector",
            vantage=vantage or c.vantage,
            max_body_bytes=c.max_body_bytes,
            baseline_dir=Path(c.baseline_dir),
            now=now,
        )

    def start(self) -> Stopwatch:
        """Start timing a probe; pass the result to ``observation``/``failure``."""
        return Stopwatch(self.now(), time.perf_counter())

    def option(self, asset: Asset, probe: str, key: str, default: Any = None) -> Any:
        """A probe option: the asset's own, else the collector's, else ``default``."""
        own = asset.options.get(probe, {})
        if key in own:
            return own[key]
        return self.options.get(probe, {}).get(key, default)

    def observation(
        self,
        asset: Asset,
        probe: str,
        watch: Stopwatch,
        *,
        ok: bool,
        data: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> Observation:
        """The observation of one probe run that started at ``watch``."""
        return Observation(
            id=new_id(),
            asset=asset.id,
            unit=asset.unit,
            probe=probe,
            observed_at=watch.observed_at,
            collector=self.collector,
            vantage=self.vantage,
            ok=ok,
            duration_s=round(watch.elapsed(), 6),
            error=None if error is None else clip_error(error),
            data=dict(data or {}),
        )

    def failure(
        self,
        asset: Asset,
        probe: str,
        watch: Stopwatch,
        error: str,
        data: Mapping[str, Any] | None = None,
    ) -> Observation:
        """A failed probe run: ``ok=False`` with the reason."""
        return self.observation(asset, probe, watch, ok=False, data=data, error=error)


def clip_error(text: str) -> str:
    """An error text short enough for an observation (one line, bounded)."""
    one_line = " ".join(text.split())
    if len(one_line) > MAX_ERROR_CHARS:
        return one_line[: MAX_ERROR_CHARS - 1] + "…"
    return one_line or "error"
