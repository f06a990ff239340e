"""Asset builders and checks shared by the probe tests."""

from __future__ import annotations

from typing import Any

from engine.events import Observation
from engine.inventory.model import Asset


def website(url: str, **options: dict[str, Any]) -> Asset:
    """A website asset for ``url`` with per-probe options."""
    return Asset(id="site-1", unit="unit-1", kind="website", url=url, options=options)


def host(address: str, expected_ports: tuple[int, ...] = (), **options: dict[str, Any]) -> Asset:
    """An ip asset at ``address`` with per-probe options."""
    return Asset(
        id="ip-1",
        unit="unit-1",
        kind="ip",
        address=address,
        expected_ports=expected_ports,
        options=options,
    )


def valid_event(obs: Observation) -> Observation:
    """The observation survives the event contract's encode/validate round trip."""
    again = Observation.from_json(obs.to_json())
    assert again == obs
    return obs
