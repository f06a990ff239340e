"""A ``StateStore`` over a Faust table, pinned to one partition, written back per batch.

Faust writes a table change to the changelog partition of the *current*
event; when events are processed in batches (``take_events``) the current
event is not the one whose state changes. This adapter writes each change
to the changelog partition it belongs to, explicitly, and namespaces keys
by partition so state of different partitions never collides on a worker
that owns several.

Changes go to the table's data at once (reads see them) but to the changelog
only on ``flush()``, which the agent calls at the end of every batch: a key
changed many times in a batch (the watermark, a busy asset's window) costs
one changelog record, its last value, instead of one per change. The records
go to the batch's ``Outbox`` (see there for ordering and at-least-once),
written as Faust's own ``send_changelog`` would write them.
"""

from __future__ import annotations

from typing import Any

from engine.stream.outbox import Outbox, encode_json

_DELETED = object()


class PartitionStore:
    """``StateStore`` for one partition of one changelog-backed Faust table."""

    def __init__(self, table: Any, partition: int) -> None:
        self._table = table
        self._data = table.data
        self.partition = partition
        self._prefix = f"{partition}/"
        #: Full keys changed since the last flush -> their latest value (or _DELETED).
        self._dirty: dict[str, Any] = {}
        self._topic: str | None = None

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(self._prefix + key, default)

    def __getitem__(self, key: str) -> Any:
        return self._data[self._prefix + key]

    def __setitem__(self, key: str, value: Any) -> None:
        k = self._prefix + key
        self._data[k] = value
        self._dirty[k] = value

    def __delitem__(self, key: str) -> None:
        k = self._prefix + key
        del self._data[k]
        self._dirty[k] = _DELETED

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (self._prefix + key) in self._data

    def keys(self) -> list[str]:
        n = len(self._prefix)
        return [k[n:] for k in list(self._data.keys()) if k.startswith(self._prefix)]

    def items(self) -> list[tuple[str, Any]]:
        n = len(self._prefix)
        return [(k[n:], v) for k, v in list(self._data.items()) if k.startswith(self._prefix)]

    @property
    def dirty(self) -> int:
        """How many keys wait for ``flush``."""
        return len(self._dirty)

    def flush(self, outbox: Outbox) -> int:
        """Put one changelog record per key changed since the last flush in ``outbox``.

        The record holds the value as it is now, encoded now (later in-place
        changes go out with the next flush); a deleted key gets a tombstone.
        """
        if not self._dirty:
            return 0
        dirty, self._dirty = self._dirty, {}
        if self._topic is None:
            self._topic = self._table.changelog_topic.get_topic_name()
        topic, p = self._topic, self.partition
        for k, v in dirty.items():
            value = None if v is _DELETED else encode_json(v)
            outbox.add(topic, encode_json(k), value, p)
        return len(dirty)
