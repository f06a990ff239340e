"""The notifier's metrics: the per-unit overdue gauge follows the items, attempts are counted."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from engine.notify.service import NotifyMetrics


def test_overdue_gauge_per_unit_goes_back_to_zero() -> None:
    reg = CollectorRegistry()
    m = NotifyMetrics(reg)
    m.set_overdue({"gov-office": 2, "edu-bureau": 1})
    m.set_overdue({"gov-office": 1})
    text = generate_latest(reg).decode()
    assert 'ssa_rectifications_overdue{unit="gov-office"} 1.0' in text
    assert 'ssa_rectifications_overdue{unit="edu-bureau"} 0.0' in text
    m.attempts.labels(channel="webhook", result="ok").inc()
    assert (
        'ssa_notifications_total{channel="webhook",result="ok"} 1.0'
        in generate_latest(reg).decode()
    )
