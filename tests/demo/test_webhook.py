"""The demo's webhook receiver, fed by the notifier's real webhook channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from engine.demo.webhook import WebhookReceiver
from engine.notifiers import DeliveryError, Message, Secret
from engine.notifiers.webhook import WebhookNotifier
from tests.engine.notify.builders import alert

SECRET = "demo-webhook-secret"


@pytest.fixture
async def receiver(tmp_path: Path) -> AsyncIterator[WebhookReceiver]:
    r = WebhookReceiver(log_file=tmp_path / "n.jsonl", echo=False, secret=SECRET)
    await r.start()
    yield r
    await r.close()


def message(key: str) -> Message:
    return Message(
        receiver="demo-webhook",
        channel="webhook",
        kind="firing",
        alerts=(alert(asset="hrss-www", unit="city-hrss"),),
        idempotency_key=key,
        grafana_url="http://127.0.0.1:3000",
    )


async def test_signed_messages_verify_and_a_repeat_is_flagged(receiver: WebhookReceiver) -> None:
    n = WebhookNotifier(receiver.url + "ssa", Secret(SECRET))
    n.validate()
    await n.send(message("k1"))
    await n.send(message("k1"))  # a retry after a lost answer: same idempotency key
    first, again = receiver.received
    assert first.verified is True and not first.duplicate
    assert again.duplicate
    assert first.body["alerts"][0]["asset"] == "hrss-www"
    assert first.summary() == "[FIRING:1] high: hrss-www is down: firing high site-down hrss-www"
    assert again.summary().endswith("(repeat)")
    assert first.headers["Idempotency-Key"] == "k1"
    assert receiver.log_file is not None
    assert len(receiver.log_file.read_text().splitlines()) == 2


async def test_a_wrong_secret_is_refused_and_recorded(receiver: WebhookReceiver) -> None:
    n = WebhookNotifier(receiver.url + "ssa", Secret("not-the-secret"))
    with pytest.raises(DeliveryError):
        await n.send(message("k2"))
    assert [r.verified for r in receiver.received][-1] is False
    assert receiver.received[-1].summary().endswith("(BAD SIGNATURE)")
    async with httpx.AsyncClient(trust_env=False) as c:
        listed = (await c.get(receiver.url + "received")).json()
    assert listed[-1]["verified"] is False
