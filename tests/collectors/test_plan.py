"""The scheduler's timetable, with plain numbers for time."""

from __future__ import annotations

import random

from collectors.plan import Plan
from engine.inventory.model import Asset


def asset(aid: str = "a", interval: float = 60.0, probes: tuple[str, ...] = ("tcp",)) -> Asset:
    return Asset(
        id=aid, unit="u", kind="ip", address="192.0.2.1", probes=probes, interval_s=interval
    )


def test_new_jobs_are_spread_over_the_first_interval() -> None:
    plan = Plan(rng=random.Random(1))
    for i in range(50):
        plan.put(asset(f"a{i}", interval=8.0), now=100.0)
    dues = [st.due for st in plan.jobs.values()]
    assert all(100.0 <= d <= 108.0 for d in dues)
    assert max(dues) - min(dues) > 5.0  # spread, not all at once


def test_success_waits_an_interval_with_jitter() -> None:
    plan = Plan(rng=random.Random(2), jitter=0.1)
    plan.put(asset(interval=60.0), now=0.0)
    (job,) = plan.take_due(now=10.0)
    assert plan.next_due() is None  # running: not due again
    due = plan.finished(job, ok=True, now=10.0)
    assert due is not None and 64.0 <= due <= 76.0


def test_failures_retry_sooner_then_back_off_to_the_interval() -> None:
    plan = Plan(rng=random.Random(3), jitter=0.0, retry_min_s=5.0, fast_retries=3)
    plan.put(asset(interval=60.0), now=0.0)
    now, dues = 10.0, []
    for _ in range(5):
        (job,) = plan.take_due(now)
        due = plan.finished(job, ok=False, now=now)
        assert due is not None
        dues.append(due - now)
        now = due
    assert dues == [15.0, 15.0, 15.0, 60.0, 60.0]
    (job,) = plan.take_due(now)
    assert plan.finished(job, ok=True, now=now) == now + 60.0
    assert plan.retry_interval(asset(interval=8.0)) == 5.0
    assert plan.retry_interval(asset(interval=4.0)) == 4.0


def test_now_due_moves_an_asset_forward_or_queues_after_its_run() -> None:
    plan = Plan(rng=random.Random(4))
    plan.put(asset("a", probes=("tcp", "icmp")), now=0.0)
    plan.put(asset("b"), now=0.0)
    assert plan.now_due("a", now=1.0) and not plan.now_due("zzz", now=1.0)
    assert sorted(plan.take_due(now=1.0)) == [("a", "icmp"), ("a", "tcp")]
    plan.now_due("a", now=2.0)  # while running: run again right after
    assert plan.finished(("a", "tcp"), ok=True, now=3.0) == 3.0


def test_changing_probes_and_removing_assets() -> None:
    plan = Plan(rng=random.Random(5))
    plan.put(asset("a", probes=("tcp", "icmp")), now=0.0)
    plan.put(asset("a", probes=("icmp",)), now=1.0)
    assert list(plan.jobs) == [("a", "icmp")]
    assert plan.remove("a") is not None and plan.jobs == {} and plan.next_due() is None
    assert plan.finished(("a", "icmp"), ok=True, now=2.0) is None  # finished after removal
