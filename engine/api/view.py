"""What the HTTP API reads: the ``StateView`` protocol and its document shapes.

The API never touches the lifecycle, Kafka or Faust tables directly; it asks
a state view for JSON-ready documents. ``InMemoryStateView``
(``engine.api.memory``) is the implementation the stream app and the tests
use; anything with these methods will do (e.g. a view over Faust tables).

Documents (all times ISO-8601 UTC strings):
- asset: ``id, unit, kind, name, criticality, score, raw, scale, active_alerts,
  contributions`` (each contribution as in ``engine.scoring.Contribution``).
- unit: ``id, name, score, raw, scale, assets, active_alerts, contributions``.
- alert: the latest Alert event's fields plus ``last_match_at``,
  ``resolved_at`` and ``flapping``; ``alert(fp)`` adds ``history``, the Alert
  events of that fingerprint (oldest first).
- silence: ``id, matchers, starts_at, ends_at, creator, comment,
  created_at, expired_at, status`` (``pending``, ``active`` or ``expired``).
- posture: ``at, posture, city, raw, scale, contributions``.
"""

from __future__ import annotations

from typing import Any, Protocol

Doc = dict[str, Any]

#: ``state=`` filter values: an alert state, or ``active`` (firing or acknowledged).
STATE_FILTERS: tuple[str, ...] = ("firing", "acknowledged", "resolved", "active")


class StateView(Protocol):
    """Read access to alerts, scores and silences for the API."""

    def refresh(self) -> None:
        """Bring scores (and exported gauges) up to date; cheap when nothing changed."""

    def assets(self) -> list[Doc]: ...

    def asset(self, asset_id: str) -> Doc | None: ...

    def units(self) -> list[Doc]: ...

    def posture(self) -> Doc: ...

    def alerts(
        self, state: str | None = None, severity: str | None = None, unit: str | None = None
    ) -> list[Doc]: ...

    def alert(self, fingerprint: str) -> Doc | None: ...

    def silences(self) -> list[Doc]: ...

    def silence(self, silence_id: str) -> Doc | None: ...
