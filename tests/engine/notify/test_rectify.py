"""The rectification loop (通报整改) on a virtual clock."""

from __future__ import annotations

from engine.notify.core import NotifyCore
from tests.engine.notify.builders import alert, confirm, control, core, record, summary, t

HOUR = 3600.0


def opened(severity: str = "high") -> NotifyCore:
    """An alert told to the unit's contacts at t=30: a rectification item opens."""
    c = core()
    c.on_alert(alert("fp-a", at=0, severity=severity), t(0))
    confirm(c, c.tick(t(30)), t(30))
    return c


def test_item_opens_when_the_unit_is_told_with_its_deadline() -> None:
    c = opened()
    item = c.rectify.items["fp-a"]
    assert (item.state, item.unit, item.asset) == ("open", "gov-office", "portal")
    assert item.deadline == t(30 + 2 * HOUR)  # high: 2h in the routes


def test_no_item_for_routes_without_unit_recipients() -> None:
    c = core()
    c.on_alert(alert("fp-l", severity="low", tags=()), t(0))
    confirm(c, c.tick(t(30)), t(30))
    assert c.rectify.items == {}


def test_ack_fixed_reprobe_then_close_once_the_alert_stays_resolved() -> None:
    c = opened()
    assert c.on_control(control("ack", "fp-a", 100, actor="gov-office/值班室")) == []
    assert c.rectify.items["fp-a"].state == "acknowledged"
    [req] = c.on_control(control("fixed", "fp-a", 200))  # no asset in data: ask for a re-probe
    assert (req.asset, req.fingerprint) == ("portal", "fp-a")
    assert c.rectify.items["fp-a"].state == "fixed"
    # the notifier's own re-probe request (it carries the asset) is not answered again
    assert c.on_control(control("fixed", "fp-a", 201, asset="portal", fingerprint="fp-a")) == []
    # the lifecycle resolves the alert on the report; the re-probe does not make it fire again
    c.on_alert(alert("fp-a", seq=2, state="resolved", at=200, severity="high"), t(200))
    assert c.rectify.items["fp-a"].verify_until == t(800)  # verify_after: 10m by default
    c.tick(t(799))
    assert c.rectify.items["fp-a"].state == "fixed"
    c.tick(t(800))
    item = c.rectify.items["fp-a"]
    assert (item.state, item.resolution, item.closed_at) == ("closed", "re-probe passed", t(800))
    assert c.rectify.listing() == [] and c.rectify.listing(include_closed=True) == [item]


def test_fix_that_does_not_hold_goes_back_to_acknowledged() -> None:
    c = opened()
    c.on_control(control("fixed", "fp-a", 200, asset="portal"))
    c.on_alert(alert("fp-a", seq=2, state="resolved", at=200, severity="high"), t(200))
    # the re-probe still fails: the rule matches again, a new episode fires
    c.on_alert(alert("fp-a", seq=3, at=230, severity="high"), t(230))
    item = c.rectify.items["fp-a"]
    assert (item.state, item.verify_until) == ("acknowledged", None)
    assert item.history[-1].endswith("re-probe failed: fired again")
    ds = c.tick(t(1000))
    assert ("hook", "*", "firing", ("fp-a:firing:3",)) in summary(ds)  # told again
    confirm(c, ds, t(1000))
    assert c.rectify.items["fp-a"] is item  # the same item goes on
    assert c.rectify.items["fp-a"].state == "acknowledged"


def test_resolving_without_a_fix_report_closes_as_recovered() -> None:
    c = opened()
    c.on_alert(alert("fp-a", seq=2, state="resolved", at=100, severity="high"), t(100))
    assert c.rectify.items["fp-a"].resolution == "recovered"


def test_overdue_item_escalates_once_and_counts_per_unit() -> None:
    c = opened()
    c.on_control(control("ack", "fp-a", 60))  # acknowledged: no escalation by timer
    assert c.next_wakeup() == t(30 + 2 * HOUR)
    ds = c.tick(t(30 + 2 * HOUR))
    assert summary(ds) == [
        ("mail", "chief@example.org", "overdue", ("fp-a:firing:1:overdue",)),
        ("quiet", "*", "overdue", ("fp-a:firing:1:overdue",)),
    ]
    assert ds[0].message.note == (
        "Rectification overdue: deadline 2026-12-01T02:00:30.000000Z passed, state acknowledged"
    )
    assert ds[1].message.recipients == ()  # the rectification receiver names no contacts
    assert c.rectify.overdue_by_unit() == {"gov-office": 1}
    confirm(c, ds, t(30 + 2 * HOUR))
    assert c.tick(t(30 + 5 * HOUR)) == []  # once
    c.on_alert(alert("fp-a", seq=2, state="resolved", at=6 * HOUR, severity="high"), t(6 * HOUR))
    assert c.rectify.overdue_by_unit() == {}


def test_ack_before_the_item_opened_is_ignored() -> None:
    c = core()
    c.on_alert(alert("fp-a", at=0), t(0))
    c.on_control(control("ack", "fp-a", 5))
    confirm(c, c.tick(t(30)), t(30))
    assert c.rectify.items["fp-a"].state == "open"


def test_items_rebuild_from_the_log_and_controls() -> None:
    before = core()
    before.on_alert(alert("fp-a", at=0, severity="high"), t(0))
    records = [record(d, t(30)) for d in before.tick(t(30))]
    again = core()  # a restart: the log first, then the replayed alerts and controls
    for r in records:
        again.on_record(r)
    again.on_alert(alert("fp-a", at=0, severity="high"), t(0))
    again.on_control(control("ack", "fp-a", 100))
    item = again.rectify.items["fp-a"]
    assert (item.state, item.opened_at, item.deadline) == ("acknowledged", t(30), t(30 + 2 * HOUR))
