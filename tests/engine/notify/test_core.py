"""The notifier's pure core on a virtual clock: grouping timers, resolved notices, restarts."""

from __future__ import annotations

from tests.engine.notify.builders import alert, confirm, control, core, record, summary, t


def test_group_wait_collects_alerts_of_one_group() -> None:
    c = core()
    c.on_alert(alert("fp-a", at=0), t(0))
    c.on_alert(alert("fp-b", asset="gw-1", at=10), t(10))
    assert c.next_wakeup() == t(30)
    assert c.tick(t(29)) == []
    [d] = c.tick(t(30))
    assert summary([d]) == [("hook", "*", "firing", ("fp-a:firing:1", "fp-b:firing:1"))]
    assert [p.name for p in d.message.recipients] == ["值班室", "网络科"]  # level 1 only
    assert d.message.idempotency_key.startswith("hook/*/g")
    assert c.tick(t(31)) == []  # in flight: not sent twice


def test_single_alert_key_is_fingerprint_state_seq() -> None:
    c = core()
    c.on_alert(alert("fp-a", at=0), t(0))
    [d] = c.tick(t(30))
    assert d.message.idempotency_key == "hook/*/fp-a:firing:1"


def test_email_goes_to_each_contact_with_an_address() -> None:
    c = core()
    c.on_alert(alert("fp-m", tags=(), severity="medium"), t(0))
    ds = c.tick(t(30))
    assert summary(ds) == [
        ("mail", "duty@example.org", "firing", ("fp-m:firing:1",)),
        ("mail", "net@example.org", "firing", ("fp-m:firing:1",)),
    ]


def test_group_interval_then_only_what_is_new() -> None:
    c = core()
    c.on_alert(alert("fp-a", at=0), t(0))
    confirm(c, c.tick(t(30)), t(31))
    c.on_alert(alert("fp-b", asset="gw-1", at=40), t(40))
    assert c.tick(t(100)) == []
    assert c.next_wakeup() == t(330)
    assert summary(c.tick(t(330))) == [("hook", "*", "firing", ("fp-b:firing:1",))]


def test_repeat_interval_repeats_unchanged_firing_alerts_once_per_interval() -> None:
    c = core()
    c.on_alert(alert("fp-m", at=0, severity="medium", tags=()), t(0))  # mail, no escalation
    confirm(c, c.tick(t(30)), t(30))
    assert c.tick(t(30 + 4 * 3600 - 1)) == []
    ds = c.tick(t(30 + 4 * 3600))
    assert summary(ds) == [
        ("mail", "duty@example.org", "firing", ("fp-m:firing:1:r1",)),
        ("mail", "net@example.org", "firing", ("fp-m:firing:1:r1",)),
    ]
    confirm(c, ds, t(30 + 4 * 3600))
    assert c.tick(t(30 + 4 * 3600 + 60)) == []


def test_no_reminders_once_acknowledged() -> None:
    c = core()
    c.on_alert(alert("fp-m", at=0, severity="medium", tags=()), t(0))
    confirm(c, c.tick(t(30)), t(30))
    c.on_control(control("ack", "fp-m", 60))
    assert c.tick(t(30 + 4 * 3600)) == []


def test_resolved_is_told_to_whoever_was_told_it_fired() -> None:
    c = core()
    c.on_alert(alert("fp-a", at=0), t(0))
    confirm(c, c.tick(t(30)), t(30))
    c.on_alert(alert("fp-a", seq=2, state="resolved", at=100), t(100))
    ds = c.tick(t(330))
    assert summary(ds) == [("hook", "*", "resolved", ("fp-a:resolved:2",))]
    assert ds[0].message.kind == "resolved"


def test_resolved_of_an_alert_silenced_since_it_was_told() -> None:
    c = core()
    c.on_alert(alert("fp-a", at=0), t(0))
    confirm(c, c.tick(t(30)), t(30))
    c.on_alert(alert("fp-a", seq=2, at=60, suppressed=True), t(60))  # silenced while firing
    assert c.tick(t(330)) == []
    c.on_alert(alert("fp-a", seq=3, state="resolved", at=400, suppressed=True), t(400))
    assert summary(c.tick(t(700))) == [("hook", "*", "resolved", ("fp-a:resolved:3",))]


def test_silenced_from_the_start_is_never_told_even_when_resolved() -> None:
    c = core()
    c.on_alert(alert("fp-a", at=0, suppressed=True), t(0))
    assert c.tick(t(30)) == []
    c.on_alert(alert("fp-a", seq=2, state="resolved", at=60, suppressed=True), t(60))
    assert c.tick(t(1000)) == []


def test_send_resolved_false() -> None:
    c = core()
    c.on_alert(alert("fp-l", severity="low", tags=()), t(0))
    confirm(c, c.tick(t(30)), t(30))
    c.on_alert(alert("fp-l", seq=2, state="resolved", severity="low", tags=(), at=60), t(60))
    assert c.tick(t(1000)) == []


def test_late_or_duplicate_alert_events_are_ignored() -> None:
    c = core()
    c.on_alert(alert("fp-a", seq=2, state="resolved", at=10), t(10))
    c.on_alert(alert("fp-a", seq=1, at=0), t(11))
    c.on_alert(alert("fp-a", seq=2, state="resolved", at=10), t(12))
    assert c.tick(t(100)) == []


def test_a_restart_never_repeats_what_the_log_confirmed() -> None:
    first = core()
    first.on_alert(alert("fp-a", at=0), t(0))
    first.on_alert(alert("fp-m", tags=(), severity="medium", at=0), t(0))
    sent = first.tick(t(30))
    confirmed, lost = sent[:2], sent[2:]  # the process died before the last was confirmed
    records = [record(d, t(31)) for d in confirmed]

    again = core()
    for r in records:
        again.on_record(r)
    again.on_alert(alert("fp-a", at=0), t(0))
    again.on_alert(alert("fp-m", tags=(), severity="medium", at=0), t(0))
    resent = again.tick(t(500))
    assert summary(resent) == summary(lost)
    assert [d.message.idempotency_key for d in resent] == [d.message.idempotency_key for d in lost]


def test_failed_attempts_do_not_settle_but_dead_letters_do() -> None:
    c = core()
    c.on_alert(alert("fp-a", at=0), t(0))
    [d] = c.tick(t(30))
    c.on_record(record(d, t(31), "error"))
    assert (d.dest, "fp-a:firing:1") in c.inflight
    c.on_record(record(d, t(40), "dead"))
    assert c.ledger.is_settled(d.dest, "fp-a:firing:1")
    assert not c.ledger.was_told(d.dest, "fp-a")
    c.on_alert(alert("fp-a", seq=2, state="resolved", at=50), t(50))
    assert c.tick(t(1000)) == []  # nobody heard it fire, so nobody hears it end


def test_the_same_episode_is_not_told_again_after_a_silence_ends() -> None:
    c = core()
    c.on_alert(alert("fp-a", at=0, severity="medium"), t(0))
    confirm(c, c.tick(t(30)), t(30))
    c.on_alert(alert("fp-a", seq=2, at=60, severity="medium", suppressed=True), t(60))
    c.on_alert(alert("fp-a", seq=3, at=120, started=0, severity="medium"), t(120))  # silence ends
    assert c.tick(t(500)) == []
    # a new episode (it resolved and fired again) is news
    c.on_alert(
        alert("fp-a", seq=4, state="resolved", at=1100, started=0, severity="medium"), t(1100)
    )
    confirm(c, [d for d in c.tick(t(1400)) if d.message.kind == "resolved"], t(1400))
    c.on_alert(alert("fp-a", seq=5, at=2000, severity="medium"), t(2000))
    assert summary(c.tick(t(2300))) == [("hook", "*", "firing", ("fp-a:firing:5",))]
