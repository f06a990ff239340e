"""A ``StateStore`` over a Faust table, pinned to one partition.

Faust writes a table change to the changelog partition of the *current*
event; when events are processed in batches (``take_events``) the current
event is not the one whose state changes. This adapter writes each change
to the changelog partition it belongs to, explicitly, and namespaces keys
by partition so state of different partitions never collides on a worker
that owns several.
"""

from __future__ import annotations

from typing import Any


class PartitionStore:
    """``StateStore`` for one partition of one changelog-backed Faust table."""

    def __init__(self, table: Any, partition: int) -> None:
        self._table = table
        self._data = table.data
        self.partition = partition
        self._prefix = f"{partition}/"

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(self._prefix + key, default)

    def __getitem__(self, key: str) -> Any:
        return self._data[self._prefix + key]

    def __setitem__(self, key: str, value: Any) -> None:
        k = self._prefix + key
        self._data[k] = value
        self._table.send_changelog(self.partition, k, value)

    def __delitem__(self, key: str) -> None:
        k = self._prefix + key
        del self._data[k]
        self._table.send_changelog(self.partition, k, None, value_serializer="raw")

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (self._prefix + key) in self._data

    def keys(self) -> list[str]:
        n = len(self._prefix)
        return [k[n:] for k in list(self._data.keys()) if k.startswith(self._prefix)]

    def items(self) -> list[tuple[str, Any]]:
        n = len(self._prefix)
        return [(k[n:], v) for k, v in list(self._data.items()) if k.startswith(self._prefix)]
