"""``AlertRecord`` to and from its stored dict (the form a Faust table holds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.alerting.record import AlertRecord
from engine.events import SourceOffset, parse_time

T0 = datetime(2026, 12, 1, 8, 0, 0, 123456, tzinfo=UTC)


def record(**changes: object) -> AlertRecord:
    base: dict[str, object] = dict(
        fingerprint="ab12", rule="site-down", rule_version="v1", asset="portal", unit="gov",
        severity="high", title="Portal down", state="firing", seq=3, started_at=T0,
        at=T0 + timedelta(seconds=90), last_match_at=T0 + timedelta(seconds=60),
        last_activity_at=T0 + timedelta(seconds=90), group={"unit": "gov"}, risk_weight=4.0,
        tags=("key-site",), explanation="status (503) == 200", evidence=("o1", "o2"),
        sources=(SourceOffset("ssa.observations", 2, 41),), suppressed_by=("maintenance",),
        actor="duty", changes=(T0, T0 + timedelta(seconds=30)), flapping=True,
    )  # fmt: skip
    base.update(changes)
    return AlertRecord(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "rec",
    [record(), record(state="resolved", resolved_at=T0 + timedelta(hours=1), changes=()),
     record(sources=(), evidence=(), tags=(), suppressed_by=(), group={}, actor=None)],
)  # fmt: skip
def test_a_stored_record_reads_back_equal(rec: AlertRecord) -> None:
    back = AlertRecord.from_dict(rec.to_dict())
    assert back == rec
    for t in (back.started_at, back.at, back.last_match_at, back.last_activity_at, *back.changes):
        assert t.tzinfo is UTC


def test_times_with_an_offset_are_read_as_utc_like_parse_time() -> None:
    d = record().to_dict()
    d["at"] = "2026-12-01T16:01:30.123456+08:00"
    d["changes"] = ["2026-12-01T08:00:00+00:00", "2026-12-01T08:00:30.123456Z"]
    back = AlertRecord.from_dict(d)
    assert back.at == parse_time(d["at"]) == T0 + timedelta(seconds=90)
    assert back.at.tzinfo is UTC and all(t.tzinfo is UTC for t in back.changes)
    assert back.changes == tuple(parse_time(t) for t in d["changes"])


def test_a_time_without_an_offset_is_refused() -> None:
    d = record().to_dict()
    d["started_at"] = "2026-12-01T08:00:00"
    with pytest.raises(ValueError, match="has no timezone"):
        AlertRecord.from_dict(d)
