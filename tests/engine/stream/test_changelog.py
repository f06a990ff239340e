"""``ChangelogStore``: a dict whose changes leave as one changelog record per key per flush."""

from __future__ import annotations

import orjson

from engine.stream.changelog import ChangelogStore, apply_record, changelog_topic
from engine.stream.outbox import Outbox


def records(outbox: Outbox) -> list[tuple[str, bytes | None, bytes | None, int | None]]:
    return [(t, k, v, p) for t, k, v, p, _ in outbox._records]


def test_names_are_those_faust_tables_used() -> None:
    assert changelog_topic("ssa", "ssa-engine", "alert-state") == (
        "ssa-ssa-engine-alert-state-changelog"
    )


def test_one_record_per_changed_key_with_its_latest_value() -> None:
    store = ChangelogStore("cl", 2)
    for i in range(100):
        store["watermark"] = i
    store["window/a"] = [1, 2]
    store["gone"] = 1
    del store["gone"]
    out = Outbox()
    assert store.dirty == 3
    assert store.flush(out) == 3
    assert records(out) == [
        ("cl", b'"2/watermark"', b"99", 2),
        ("cl", b'"2/window/a"', b"[1,2]", 2),
        ("cl", b'"2/gone"', None, 2),  # a tombstone
    ]
    assert store.dirty == 0 and store.flush(Outbox()) == 0
    assert dict(store.items()) == {"watermark": 99, "window/a": [1, 2]}
    assert "gone" not in store and store.get("gone", "x") == "x"


def test_flush_encodes_the_value_as_it_is_at_flush_time() -> None:
    store = ChangelogStore("cl", 0)
    window: list[int] = []
    store["w"] = window
    window.append(5)  # changed in place after the assignment
    out = Outbox()
    store.flush(out)
    assert records(out)[0][2] == b"[5]"


def test_records_applied_in_order_rebuild_the_store() -> None:
    store = ChangelogStore("cl", 1)
    out = Outbox()
    store["a"] = {"n": 1}
    store["b"] = 2
    store.flush(out)
    store["a"] = {"n": 2}
    del store["b"]
    store.flush(out)
    data: dict[str, object] = {}
    for _, key, value, partition in records(out):
        assert partition == 1
        apply_record(data, 1, key, value)
    assert data == {"a": {"n": 2}}


def test_records_of_another_partition_or_without_key_are_ignored() -> None:
    data: dict[str, object] = {"kept": 1}
    apply_record(data, 1, orjson.dumps("2/kept"), None)
    apply_record(data, 1, None, b"1")
    assert data == {"kept": 1}
