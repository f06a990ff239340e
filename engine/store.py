"""The keyed state store the pure core keeps its state in.

Evaluators, the alert lifecycle and the notifier keep per-key state (windows,
baselines, alert states). In the engine a Faust table (changelog-backed)
implements this interface; in replay, tests and benchmarks a ``DictStore``
does. Values must be JSON-serialisable plain data (dicts, lists, str, numbers,
bools, None) so they survive a changelog round trip unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol


class StateStore(Protocol):
    """Get, put and delete plain-data state by string key."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def __setitem__(self, key: str, value: Any) -> None: ...

    def __delitem__(self, key: str) -> None: ...

    def __contains__(self, key: object) -> bool: ...

    def keys(self) -> Any: ...


class DictStore(dict[str, Any]):
    """The in-memory store used by replay, tests and benchmarks."""

    def scan(self, prefix: str) -> Iterator[tuple[str, Any]]:
        """Every (key, value) whose key starts with ``prefix``."""
        for k, v in self.items():
            if k.startswith(prefix):
                yield k, v
