"""Escalation on a virtual clock: unacknowledged alerts climb the levels; an ack stops them."""

from __future__ import annotations

from tests.engine.notify.builders import alert, confirm, control, core, summary, t

FIRST = 30.0  # group_wait: the first notice goes out at t=30


def test_levels_are_told_in_turn_while_nobody_acknowledges() -> None:
    c = core()
    c.on_alert(alert("fp-a", at=0, severity="critical"), t(0))
    confirm(c, c.tick(t(FIRST)), t(FIRST))
    assert c.next_wakeup() == t(FIRST + 15 * 60)
    assert c.tick(t(FIRST + 15 * 60 - 1)) == []
    level2 = c.tick(t(FIRST + 15 * 60))
    # level 2 goes by mail (the level's receiver), to the unit's level-2 contact
    assert summary(level2) == [("mail", "chief@example.org", "escalation", ("fp-a:firing:1:L2",))]
    m = level2[0].message
    assert m.level == 2
    assert m.note == "Not acknowledged within 15m: escalated to level 2"
    assert m.recipients[0].level == 2
    confirm(c, level2, t(FIRST + 15 * 60))
    assert c.tick(t(FIRST + 30 * 60)) == []
    level3 = c.tick(t(FIRST + 45 * 60))
    # level 3 has no receiver of its own: the route's; level-3 contacts are mentioned
    assert summary(level3) == [("hook", "*", "escalation", ("fp-a:firing:1:L3",))]
    assert [p.name for p in level3[0].message.recipients] == ["主任"]
    confirm(c, level3, t(FIRST + 45 * 60))
    later = c.tick(t(FIRST + 3 * 3600))
    assert [d for d in later if d.message.kind == "escalation"] == []  # no level 4


def test_ack_before_the_deadline_stops_escalation() -> None:
    c = core()
    c.on_alert(alert("fp-a", at=0, severity="medium"), t(0))
    confirm(c, c.tick(t(FIRST)), t(FIRST))
    c.on_control(control("ack", "fp-a", 600))
    assert c.next_wakeup() != t(FIRST + 15 * 60)
    assert [d for d in c.tick(t(FIRST + 60 * 60)) if d.message.kind == "escalation"] == []


def test_alert_turning_acknowledged_stops_escalation_too() -> None:
    c = core()
    c.on_alert(alert("fp-a", at=0, severity="medium"), t(0))
    confirm(c, c.tick(t(FIRST)), t(FIRST))
    c.on_alert(alert("fp-a", seq=2, state="acknowledged", at=300, severity="medium"), t(300))
    assert [d for d in c.tick(t(FIRST + 60 * 60)) if d.message.kind == "escalation"] == []


def test_unack_resumes_the_climb() -> None:
    c = core()
    c.on_alert(alert("fp-a", at=0, severity="medium"), t(0))
    confirm(c, c.tick(t(FIRST)), t(FIRST))
    c.on_control(control("ack", "fp-a", 60))
    assert c.tick(t(FIRST + 20 * 60)) == []
    c.on_control(control("unack", "fp-a", FIRST + 20 * 60))
    assert summary(c.tick(t(FIRST + 20 * 60 + 1))) == [
        ("mail", "chief@example.org", "escalation", ("fp-a:firing:1:L2",))
    ]


def test_resolved_ends_escalation_and_every_level_told_hears_it() -> None:
    c = core()
    c.on_alert(alert("fp-a", at=0, severity="medium"), t(0))
    confirm(c, c.tick(t(FIRST)), t(FIRST))
    confirm(c, c.tick(t(FIRST + 15 * 60)), t(FIRST + 15 * 60))  # level 2 told
    c.on_alert(alert("fp-a", seq=2, state="resolved", at=1000, severity="medium"), t(1000))
    ds = c.tick(t(1300))
    assert summary(ds) == [
        ("hook", "*", "resolved", ("fp-a:resolved:2",)),
        ("mail", "chief@example.org", "resolved", ("fp-a:resolved:2",)),
    ]
    assert c.tick(t(FIRST + 45 * 60)) == []  # no level 3 for a resolved alert


def test_no_escalation_for_an_alert_never_delivered() -> None:
    c = core()
    c.on_alert(alert("fp-a", at=0, severity="medium"), t(0))
    c.tick(t(FIRST))  # sent, but never confirmed
    assert c.tick(t(FIRST + 60 * 60)) == []


def test_a_silence_pauses_the_climb() -> None:
    c = core()
    c.on_alert(alert("fp-a", at=0, severity="medium"), t(0))
    confirm(c, c.tick(t(FIRST)), t(FIRST))
    c.on_alert(alert("fp-a", seq=2, at=60, started=0, severity="medium", suppressed=True), t(60))
    assert c.tick(t(FIRST + 20 * 60)) == []
    c.on_alert(
        alert("fp-a", seq=3, at=FIRST + 20 * 60, started=0, severity="medium"), t(FIRST + 20 * 60)
    )
    assert summary(c.tick(t(FIRST + 20 * 60 + 1))) == [
        ("mail", "chief@example.org", "escalation", ("fp-a:firing:3:L2",))
    ]


def test_escalation_follows_its_own_route_when_an_alert_is_on_several() -> None:
    from engine.notify.core import NotifyCore
    from engine.notify.routes import load_routes
    from tests.engine.notify.builders import inventory

    text = (
        "receivers:\n"
        "  am: {alertmanager: {url: 'http://127.0.0.1:9093'}}\n"
        "  hook: {webhook: {url: 'http://127.0.0.1:9/hook', secret: s}}\n"
        "routes:\n"
        "  - {name: to-am, receiver: am, recipients: none, continue: true}\n"
        "  - name: duty\n"
        "    receiver: hook\n"
        "    escalation: [{after: 10m}]\n"
    )
    c = NotifyCore(load_routes("r.yaml", text=text, env={}), inventory())
    c.on_alert(alert("fp-a", at=0), t(0))
    sent = sorted(c.tick(t(FIRST)), key=lambda d: d.route != "to-am")
    assert [d.route for d in sent] == ["to-am", "duty"]
    confirm(c, sent, t(FIRST))  # the Alertmanager record comes first
    assert summary(c.tick(t(FIRST + 600))) == [("hook", "*", "escalation", ("fp-a:firing:1:L2",))]
