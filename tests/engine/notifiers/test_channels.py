"""Webhook, DingTalk, WeCom and Feishu against a loopback receiver that checks them."""

from __future__ import annotations

import pytest

from engine.notifiers import DeliveryError, Message, Recipient, Secret
from engine.notifiers.dingtalk import DingTalkNotifier
from engine.notifiers.feishu import FeishuNotifier
from engine.notifiers.webhook import WebhookNotifier
from engine.notifiers.wecom import WeComNotifier
from tests.engine.notifiers import receiver as r
from tests.engine.notify.builders import alert

GRAFANA = "http://127.0.0.1:3000"


def message(channel: str, **kw: object) -> Message:
    a = alert()
    defaults: dict[str, object] = dict(
        receiver=f"test-{channel}",
        channel=channel,
        kind="firing",
        alerts=(a, alert("fp-gw", asset="gw-1", severity="critical")),
        idempotency_key=f"test-{channel}/*/fp-portal-down:firing:1",
        recipients=(
            Recipient(
                "值班室",
                "duty@example.org",
                "+86-0000-0001",
                {"wecom": "duty", "feishu": "ou_duty", "dingtalk": "duty"},
            ),
        ),
        unit_names={"gov-office": "市人民政府办公室"},
        asset_names={"portal": "市政府门户网站"},
        grafana_url=GRAFANA,
    )
    defaults.update(kw)
    return Message(**defaults)  # type: ignore[arg-type]


async def test_webhook_is_signed_and_carries_the_alerts(receiver: r.Receiver) -> None:
    n = WebhookNotifier(f"{receiver.url}/webhook", Secret(r.WEBHOOK_SECRET))
    n.validate()
    await n.send(message("webhook"))
    [got] = receiver.of("webhook")
    body = got.body
    assert body["idempotency_key"] == "test-webhook/*/fp-portal-down:firing:1"
    assert body["title"] == "[FIRING:2] critical: gw-1 is down (+1 more)"
    first = body["alerts"][0]
    assert (first["severity"], first["asset"], first["unit"]) == ("high", "portal", "gov-office")
    assert first["explanation"] == "data.status (503) == 200"
    assert first["links"]["asset"] == f"{GRAFANA}/d/ssa-asset?var-asset=portal"
    assert first["links"]["unit"] == f"{GRAFANA}/d/ssa-unit?var-unit=gov-office"
    assert body["recipients"] == [{"name": "值班室", "email": "duty@example.org", "level": 1}]


async def test_webhook_with_the_wrong_secret_is_refused_without_retry(
    receiver: r.Receiver,
) -> None:
    n = WebhookNotifier(f"{receiver.url}/webhook", Secret("not-the-secret"))
    with pytest.raises(DeliveryError) as e:
        await n.send(message("webhook"))
    assert e.value.reason == "HTTP 401 from 127.0.0.1"
    assert not e.value.retryable
    assert receiver.rejected == [("webhook", "bad signature")]


async def test_dingtalk_signature_format_and_mentions(receiver: r.Receiver) -> None:
    n = DingTalkNotifier(Secret(r.DT_TOKEN), Secret(r.DT_SECRET), url=f"{receiver.url}/robot/send")
    n.validate()
    await n.send(message("dingtalk"))
    [got] = receiver.of("dingtalk")
    md = got.body["markdown"]
    assert md["title"].startswith("[FIRING:2] critical")
    assert "市政府门户网站 (portal)" in md["text"]
    assert "市人民政府办公室 (gov-office)" in md["text"]
    assert "`data.status (503) == 200`" in md["text"]
    assert f"({GRAFANA}/d/ssa-asset?var-asset=portal)" in md["text"]
    assert got.body["at"] == {
        "atMobiles": ["+86-0000-0001"],
        "atUserIds": ["duty"],
        "isAtAll": False,
    }


async def test_dingtalk_wrong_secret_is_a_refusal_that_names_no_secret(
    receiver: r.Receiver,
) -> None:
    n = DingTalkNotifier(Secret(r.DT_TOKEN), Secret("SECwrong"), url=f"{receiver.url}/robot/send")
    with pytest.raises(DeliveryError) as e:
        await n.send(message("dingtalk"))
    assert e.value.reason == "127.0.0.1 refused the message: code 310000 sign not match"
    assert not e.value.retryable
    assert r.DT_TOKEN not in str(e.value) and "SECwrong" not in repr(n)


async def test_wecom_key_format_and_mentions(receiver: r.Receiver) -> None:
    n = WeComNotifier(Secret(r.WECOM_KEY), url=f"{receiver.url}/cgi-bin/webhook/send")
    n.validate()
    await n.send(message("wecom"))
    [got] = receiver.of("wecom")
    content = got.body["markdown"]["content"]
    assert content.startswith("### [FIRING:2] critical: gw-1 is down")
    assert content.endswith("<@duty>")


async def test_wecom_long_message_is_clipped_to_the_limit(receiver: r.Receiver) -> None:
    many = tuple(alert(f"fp-{i}", asset=f"asset-{i}") for i in range(80))
    n = WeComNotifier(Secret(r.WECOM_KEY), url=f"{receiver.url}/cgi-bin/webhook/send")
    await n.send(message("wecom", alerts=many))
    [got] = receiver.of("wecom")
    assert len(got.body["markdown"]["content"].encode()) <= 4096


async def test_wecom_wrong_key(receiver: r.Receiver) -> None:
    n = WeComNotifier(Secret("nope"), url=f"{receiver.url}/cgi-bin/webhook/send")
    with pytest.raises(DeliveryError) as e:
        await n.send(message("wecom"))
    assert e.value.reason == "127.0.0.1 refused the message: code 93000 invalid webhook url"
    assert "nope" not in str(e.value)


async def test_feishu_signature_in_body_and_rich_text(receiver: r.Receiver) -> None:
    n = FeishuNotifier(
        Secret(r.FS_TOKEN), Secret(r.FS_SECRET), url=f"{receiver.url}/open-apis/bot/v2/hook"
    )
    n.validate()
    await n.send(message("feishu", kind="resolved", alerts=(alert(state="resolved"),)))
    [got] = receiver.of("feishu")
    post = got.body["content"]["post"]["zh_cn"]
    assert post["title"] == "[RESOLVED:1] high: portal is down"
    links = [x for para in post["content"] for x in para if x["tag"] == "a"]
    assert links[0]["href"] == f"{GRAFANA}/d/ssa-asset?var-asset=portal"
    assert post["content"][-1] == [{"tag": "at", "user_id": "ou_duty"}]


async def test_feishu_wrong_secret(receiver: r.Receiver) -> None:
    n = FeishuNotifier(
        Secret(r.FS_TOKEN), Secret("wrong"), url=f"{receiver.url}/open-apis/bot/v2/hook"
    )
    with pytest.raises(DeliveryError) as e:
        await n.send(message("feishu"))
    assert "code 19021" in e.value.reason
    assert not e.value.retryable


async def test_server_errors_are_retryable_and_name_only_the_host(receiver: r.Receiver) -> None:
    receiver.fail_next = 1
    n = DingTalkNotifier(Secret(r.DT_TOKEN), Secret(r.DT_SECRET), url=f"{receiver.url}/robot/send")
    with pytest.raises(DeliveryError) as e:
        await n.send(message("dingtalk"))
    assert e.value.reason == "HTTP 500 from 127.0.0.1"
    assert e.value.retryable


async def test_unreachable_receiver_is_retryable() -> None:
    from engine.broker.local import free_port

    n = WebhookNotifier(f"http://127.0.0.1:{free_port()}/webhook", Secret("s"), timeout=2.0)
    with pytest.raises(DeliveryError) as e:
        await n.send(message("webhook"))
    assert e.value.reason == "ConnectError posting to 127.0.0.1"
    assert e.value.retryable
