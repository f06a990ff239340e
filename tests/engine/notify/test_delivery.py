"""Delivery: backoff with jitter, exactly one confirmation, dead letters, rate limits."""

from __future__ import annotations

import random

import pytest

from engine.notify.core import NotifyCore
from engine.notify.delivery import Deliverer, RetryPolicy, TokenBucket
from engine.notify.records import DeliveryRecord
from engine.notify.routes import load_routes
from tests.engine.notifiers import receiver as r
from tests.engine.notify.builders import alert, inventory, t


class VirtualTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def setup(
    url: str, rate: str = ""
) -> tuple[NotifyCore, list[DeliveryRecord], list[DeliveryRecord], Deliverer, VirtualTime]:
    text = (
        "receivers:\n"
        f"  hook:\n    webhook: {{url: '{url}/webhook', secret: {r.WEBHOOK_SECRET}}}\n"
        + (f"    rate_limit: {rate}\n" if rate else "")
        + "routes:\n  - receiver: hook\n    recipients: none\n    group_wait: 0s\n"
    )
    routes = load_routes("routes.yaml", text=text, env={})
    core = NotifyCore(routes, inventory(), "http://127.0.0.1:3000")
    log: list[DeliveryRecord] = []
    dead: list[DeliveryRecord] = []
    vt = VirtualTime()

    async def record(rec: DeliveryRecord) -> None:
        log.append(rec)
        core.on_record(rec)

    async def dead_letter(rec: DeliveryRecord) -> None:
        dead.append(rec)

    d = Deliverer(
        routes.receivers,
        record,
        policy=RetryPolicy(5, 1.0, 8.0),
        dead_letter=dead_letter,
        confirmed=core.ledger.confirmed,
        clock=vt.clock,
        sleep=vt.sleep,
        wall=lambda: t(vt.now),
        rng=random.Random(7),
    )
    return core, log, dead, d, vt


async def test_fails_n_times_then_exactly_one_confirmed_delivery(receiver: r.Receiver) -> None:
    core, log, dead, deliverer, vt = setup(receiver.url)
    receiver.fail_next = 3
    core.on_alert(alert("fp-a"), t(0))
    [d] = core.tick(t(0))
    final = await deliverer.deliver(d)
    assert final is not None and final.result == "ok" and final.attempt == 4
    assert [(x.result, x.attempt) for x in log] == [
        ("error", 1),
        ("error", 2),
        ("error", 3),
        ("ok", 4),
    ]
    assert {x.idempotency_key for x in log} == {"hook/*/fp-a:firing:1"}
    assert all(x.reason == "HTTP 500 from 127.0.0.1" for x in log[:3])
    assert receiver.requests == 4 and len(receiver.of("webhook")) == 1
    # exponential backoff with jitter: half fixed, half random, capped at 8s
    assert len(vt.sleeps) == 3
    for attempt, s in enumerate(vt.sleeps, start=1):
        step = min(8.0, 2.0 ** (attempt - 1))
        assert step / 2 <= s <= step
    # confirmed: delivering again does nothing, and the core has nothing left to send
    assert await deliverer.deliver(d) is None
    assert core.tick(t(100)) == []
    assert receiver.requests == 4
    assert dead == []


async def test_retry_budget_spent_goes_to_the_dead_letter_with_the_reason(
    receiver: r.Receiver,
) -> None:
    core, log, dead, deliverer, _ = setup(receiver.url)
    receiver.fail_next = 100
    core.on_alert(alert("fp-a"), t(0))
    [d] = core.tick(t(0))
    final = await deliverer.deliver(d)
    assert final is not None and (final.result, final.attempt) == ("dead", 5)
    assert [x.result for x in log] == ["error"] * 4 + ["dead"]
    assert dead == [final] and final.reason == "HTTP 500 from 127.0.0.1"
    assert core.ledger.is_settled(d.dest, "fp-a:firing:1")  # not retried forever on restart


async def test_a_refusal_is_not_retried(receiver: r.Receiver) -> None:
    core, _log, dead, deliverer, _ = setup(receiver.url)
    receiver.fail_next, receiver.fail_status = 1, 400
    core.on_alert(alert("fp-a"), t(0))
    [d] = core.tick(t(0))
    final = await deliverer.deliver(d)
    assert final is not None and (final.result, final.attempt) == ("dead", 1)
    assert final.reason == "HTTP 400 from 127.0.0.1"
    assert len(dead) == 1


async def test_records_never_carry_the_secret(receiver: r.Receiver) -> None:
    core, log, _, deliverer, _ = setup(receiver.url)
    receiver.fail_next = 1
    core.on_alert(alert("fp-a"), t(0))
    for d in core.tick(t(0)):
        await deliverer.deliver(d)
    assert log and all(r.WEBHOOK_SECRET.encode() not in x.to_json() for x in log)
    assert DeliveryRecord.from_json(log[-1].to_json()) == log[-1]


async def test_rate_limit_spaces_out_a_burst(receiver: r.Receiver) -> None:
    core, _log, _, deliverer, vt = setup(receiver.url, rate="{count: 2, per: 10s}")
    for i in range(5):
        core.on_alert(alert(f"fp-{i}", asset=f"a{i}", rule=f"r{i}"), t(0))
    ds = core.tick(t(0))
    assert len(ds) == 5
    for d in ds:
        await deliverer.deliver(d)
    assert len(receiver.of("webhook")) == 5
    # two at once, then one every 5 s
    assert vt.sleeps == pytest.approx([5.0, 5.0, 5.0])


@pytest.mark.parametrize(
    ("steps", "waits"),
    [
        ([0, 0, 0], [0.0, 0.0, 5.0]),
        ([0, 0, 20, 20], [0.0, 0.0, 0.0, 0.0]),
        ([0, 0, 0, 0], [0.0, 0.0, 5.0, 10.0]),
    ],
)
def test_token_bucket(steps: list[float], waits: list[float]) -> None:
    b = TokenBucket(2, 10.0, 0.0)
    assert [b.reserve(s) for s in steps] == pytest.approx(waits)
