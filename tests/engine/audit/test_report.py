"""The situation report of a known day: every number exact, both renderings escaped."""

from __future__ import annotations

from datetime import timedelta

from engine.audit.report import Report, build_report
from engine.audit.report_render import render_html, render_markdown
from tests.engine.audit.report_stream import ALERTS, END, OBSERVATIONS, START, TITLE3, H, M


def report() -> Report:
    return build_report("day", END, OBSERVATIONS, ALERTS)


def test_period_and_counts() -> None:
    r = report()
    assert (r.start, r.end) == (START, END)
    assert r.observations == 8
    assert r.alert_records == 7  # fp3's two changes are before, fp5's after


def test_availability_per_unit() -> None:
    r = report()
    assert [(a.unit, a.ok, a.total) for a in r.availability] == [("unit-b", 0, 2), ("unit-a", 5, 6)]
    assert abs(r.availability[1].ratio - 5 / 6) < 1e-12


def test_alerts_by_severity_and_rule() -> None:
    r = report()
    assert r.by_severity == {"critical": 0, "high": 2, "medium": 1, "low": 0, "info": 0}
    assert r.by_rule == [("site-down", "high", 2), ("cert-expiry", "medium", 1)]


def test_mean_times_to_acknowledge_and_resolve() -> None:
    r = report()
    assert (r.mtta, r.mtta_n) == (20 * M, 2)
    assert (r.mttr, r.mttr_n) == (H + 22 * M + timedelta(seconds=30), 2)


def test_overdue_rectifications() -> None:
    r = report()
    assert [(o.fingerprint, o.severity, o.acknowledged_by, o.overdue_by) for o in r.overdue] == [
        ("fp3", "critical", "duty-3", 22 * H)
    ]
    assert r.overdue[0].deadline == START + 2 * H


def test_risk_trend_is_time_weighted() -> None:
    r = report()
    assert len(r.risk) == 24
    means = [b.mean for b in r.risk]
    peaks = [b.peak for b in r.risk]
    assert means[:4] == [20.0, 30.0, 34.0, 24.0]
    assert means[4:20] == [24.0] * 16
    assert (means[20], peaks[20]) == (29.0, 34.0)
    assert (means[21], peaks[21]) == (26.5, 34.0)
    assert means[22:] == [24.0, 24.0]


def test_markdown_has_the_numbers_and_escapes_titles() -> None:
    md = render_markdown(report())
    assert "| unit-b | 0 | 2 | 0.00% |" in md
    assert "| unit-a | 5 | 6 | 83.33% |" in md
    assert "| high | 2 |" in md and "| site-down | high | 2 |" in md
    assert "- Mean time to acknowledge: 20m (2 alerts)" in md
    assert "- Mean time to resolve: 1h22m30s (2 alerts)" in md
    assert "\\<b\\>port 23\\</b\\> \\| open" in md
    assert TITLE3 not in md
    assert "| duty-3 | 2026-11-27 22:00 UTC | 22h |" in md
    assert "| 2026-11-28 20:00 UTC | 29.00 | 34.00 |" in md


def test_html_is_self_contained_and_escaped() -> None:
    page = render_html(report())
    assert page.startswith("<!DOCTYPE html>")
    assert "&lt;b&gt;port 23&lt;/b&gt; | open" in page
    assert "<b>port 23" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in page and "src=" not in page and "<link" not in page
    assert '<td class="n">83.33%</td>' in page
    assert "<svg" in page and page.count("<rect") == 48


def test_an_empty_period_renders() -> None:
    r = build_report("week", END, [], [])
    assert len(r.risk) == 28 and all(b.mean == 0 for b in r.risk)
    assert "No http or icmp observations in the period." in render_markdown(r)
    assert "None." in render_html(r)
