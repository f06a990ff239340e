"""What a compiled expression reads: one observation and its asset."""

from __future__ import annotations

from typing import Any

from engine.events import Observation, SourceOffset
from engine.inventory.model import Asset


class Ctx:
    """One observation being evaluated, with its asset and event time.

    Filled once per observation by the engine and passed to every rule (the
    engine refills one context per event rather than allocating one). ``ts`` is ``observed_at``
    as POSIX seconds (the evaluators' clock). A macro's value is the same for
    every rule that uses it on one observation (rules routed to one probe
    see the same folded macro), so ``memo`` keeps it.
    """

    __slots__ = ("asset", "data", "memo", "obs", "source", "ts")

    def __init__(
        self, obs: Observation, asset: Asset | None, source: SourceOffset | None = None
    ) -> None:
        self.obs = obs
        self.data: dict[str, Any] = obs.data
        self.asset = asset
        self.ts = obs.observed_ts
        self.source = source
        #: Macro values already computed for this observation.
        self.memo: dict[str, Any] | None = None

    @classmethod
    def blank(cls) -> Ctx:
        """A context for no observation yet, for a caller that refills one per event.

        The refill sets every slot, as ``__init__`` does; no finding or state
        may keep a context past the event it was filled for.
        """
        c: Ctx = object.__new__(cls)
        c.memo = None
        return c
