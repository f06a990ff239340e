"""Export rows of a known period: what each type carries, the unit filter, JSONL and CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import orjson

from engine.audit.export import COLUMNS, rows_of, select, write_csv, write_jsonl
from engine.audit.history import History, Located, notification_time
from engine.events import Alert, Control, SourceOffset
from tests.engine.audit.report_stream import ALERTS, CONTROLS, END, NOTIFICATIONS, S1, S2, START, M


def located(items: list[Any], topic: str) -> list[Located[Any]]:
    return [Located(x, SourceOffset(topic, 0, i)) for i, x in enumerate(items)]


def in_period(t: datetime | None) -> bool:
    return t is not None and START <= t <= END


def history() -> History:
    return History(
        alerts=located([a for a in ALERTS if in_period(a.at)], "ssa.alerts"),
        controls=located([c for c in CONTROLS if in_period(c.at)], "ssa.control"),
        notifications=located(
            [n for n in NOTIFICATIONS if in_period(notification_time(n))], "ssa.notifications"
        ),
    )


def test_rows_of_one_unit_in_time_order() -> None:
    rows = select(rows_of(history()), "unit-a")
    got = [(r.type, r.time, r.action, r.actor) for r in rows]
    assert got == [
        ("alert", S2, "firing", ""),
        ("control", S2, "silence", "duty-2"),
        ("notification", S2 + M, "webhook error", "oncall-a"),
        ("alert", S2 + 10 * M, "acknowledged", "duty-2"),
    ]
    assert rows[2].summary == "* — HTTP 503"
    assert rows[1].summary == "unit=unit-a severity=medium — 维护"


def test_control_rows_find_their_unit_through_the_alert_they_target() -> None:
    rows = select(rows_of(history()), "unit-b")
    acks = [r for r in rows if r.type == "control"]
    assert [(r.action, r.fingerprints, r.asset, r.actor) for r in acks] == [
        ("ack", ("fp1",), "unit-b-site", "duty-1")
    ]


def test_alert_rows_carry_their_evidence_and_the_record() -> None:
    rows = [r for r in rows_of(history()) if r.type == "alert"]
    first = rows[0]
    assert first.fingerprints == ("fp1",)
    assert first.evidence == ("ev-fp1-1",)
    assert Alert.from_dict(first.record) == ALERTS[2]
    assert first.to_dict()["source"] == "ssa.alerts[0]@0"


def test_a_silence_that_muted_an_alert_concerns_its_unit() -> None:
    h = history()
    muted = ALERTS[7].evolve(suppressed=True, suppressed_by=("silence:c3",))
    h.alerts.append(Located(muted, SourceOffset("ssa.alerts", 0, 99)))
    c3 = [r for r in select(rows_of(h), "unit-b") if r.action == "silence"]
    assert [r.record["id"] for r in c3] == ["c3"]


def test_jsonl_lines_are_canonical_objects() -> None:
    rows = rows_of(history())
    buf = io.BytesIO()
    assert write_jsonl(rows, buf) == len(rows) == 12
    lines = buf.getvalue().splitlines()
    objs = [orjson.loads(line) for line in lines]
    assert all(list(o) == sorted(COLUMNS) for o in objs)
    c3 = next(o for o in objs if o["actor"] == "duty-9")
    assert Control.from_dict(c3["record"]) == CONTROLS[3]
    assert (c3["type"], c3["time"], c3["unit"]) == ("control", "2026-11-28T05:00:00.000000Z", "")
    assert [o["type"] for o in objs].count("notification") == 2


def test_csv_has_the_header_and_defuses_formulas() -> None:
    rows = rows_of(history())
    buf = io.BytesIO()
    assert write_csv(rows, buf) == 12
    table = list(csv.reader(io.StringIO(buf.getvalue().decode("utf-8"))))
    assert tuple(table[0]) == COLUMNS
    c3 = next(r for r in table[1:] if r[COLUMNS.index("actor")] == "duty-9")
    assert c3[COLUMNS.index("summary")] == "rule=site-down — =cmd|' /C calc'!A0"
    assert orjson.loads(c3[COLUMNS.index("record")])["comment"] == "=cmd|' /C calc'!A0"
    first = table[1]
    assert (
        first[COLUMNS.index("time")]
        == "2026-11-28T01:00:00.000000Z"
        == S1.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    )
