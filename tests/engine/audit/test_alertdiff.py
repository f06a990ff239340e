"""Comparing alert histories by (fingerprint, seq, state)."""

from __future__ import annotations

from engine.audit.alertdiff import diff_alerts, render
from engine.audit.ledger import seal
from tests.engine.audit.chains import alert


def test_added_removed_changed_and_identical() -> None:
    left = [alert(0), alert(1), alert(2), alert(3)]
    right = [
        seal(alert(0), None),  # same content, now sealed: identical
        alert(1).evolve(rule_version="v2"),  # another rule version only: identical
        alert(2).evolve(severity="high", title="louder"),
        alert(4),
    ]
    d = diff_alerts(left, right)
    assert [a.title for a in d.added] == ["alert 4"]
    assert [a.title for a in d.removed] == ["alert 3"]
    assert [(c.before.title, c.fields) for c in d.changed] == [("alert 2", ("severity", "title"))]
    assert d.same == 2 and not d.empty
    assert d.summary() == "1 added, 1 removed, 1 changed, 2 identical"


def test_render_lines() -> None:
    d = diff_alerts([alert(2)], [alert(2).evolve(severity="high")])
    lines = render(d)
    assert lines[0].startswith("~ 2026-11-29T08:02:00.000000Z fp0000 #3 resolved")
    assert lines[0].endswith("[severity: 'critical' -> 'high']")
    assert lines[-1] == "0 added, 0 removed, 1 changed, 0 identical"


def test_render_limits_long_sections() -> None:
    d = diff_alerts([], [alert(i) for i in range(7)])
    lines = render(d, limit=5)
    assert lines[5] == "+ … and 2 more" and len(lines) == 7


def test_identical_histories_have_an_empty_diff() -> None:
    assert diff_alerts([alert(i) for i in range(5)], [alert(i) for i in range(5)]).empty
