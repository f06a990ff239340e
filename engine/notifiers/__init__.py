"""Notification channels: one module per channel, one ``Notifier`` protocol, one registry.

``NOTIFIERS`` maps the channel name used in ``notify/routes.yaml`` to the
class that implements it; the route loader takes the allowed channel names
and each channel's allowed keys from here.
"""

from __future__ import annotations

from engine.notifiers.alertmanager import AlertmanagerNotifier
from engine.notifiers.base import (
    ChannelConfigError,
    DeliveryError,
    Message,
    Notifier,
    Recipient,
    Secret,
)
from engine.notifiers.dingtalk import DingTalkNotifier
from engine.notifiers.email import EmailNotifier
from engine.notifiers.feishu import FeishuNotifier
from engine.notifiers.webhook import WebhookNotifier
from engine.notifiers.wecom import WeComNotifier

NOTIFIERS: dict[str, type[Notifier]] = {
    "webhook": WebhookNotifier,
    "alertmanager": AlertmanagerNotifier,
    "email": EmailNotifier,
    "dingtalk": DingTalkNotifier,
    "wecom": WeComNotifier,
    "feishu": FeishuNotifier,
}

__all__ = [
    "NOTIFIERS",
    "ChannelConfigError",
    "DeliveryError",
    "Message",
    "Notifier",
    "Recipient",
    "Secret",
]
