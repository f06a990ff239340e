"""Prometheus Alertmanager: ``POST /api/v2/alerts``, so existing on-call routing keeps working.

Each alert becomes an Alertmanager alert with labels ``alertname`` (the
rule), ``severity``, ``asset``, ``unit``, ``ssa_fingerprint`` and the alert's
group-by values; annotations carry the title, explanation and dashboard
links. A resolved alert is sent with ``endsAt`` = the time it resolved (in
the past), which resolves it in Alertmanager. Firing alerts are sent without
``endsAt``: Alertmanager then resolves them after its ``resolve_timeout``
unless re-sent, so set the route's ``repeat_interval`` below that timeout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from engine.events import format_time
from engine.notifiers import http
from engine.notifiers.base import SECRET, ChannelConfigError, Message, Secret
from engine.notifiers.templates import render

_LABEL = re.compile(r"[^a-zA-Z0-9_]")


def label_name(key: str) -> str:
    """A group-by key as a valid Prometheus label name."""
    name = _LABEL.sub("_", key)
    return name if name and not name[0].isdigit() else f"_{name}"


def alerts_body(message: Message) -> list[dict[str, Any]]:
    """The ``postableAlerts`` array of the Alertmanager API v2."""
    r = render(message)
    out = []
    for a, b in zip(message.alerts, r.blocks, strict=True):
        labels = {label_name(k): v for k, v in a.group.items()}
        labels.update(
            alertname=a.rule,
            severity=a.severity,
            asset=a.asset,
            unit=a.unit,
            ssa_fingerprint=a.fingerprint,
        )
        item: dict[str, Any] = {
            "labels": labels,
            "annotations": {
                "summary": a.title,
                "description": a.explanation,
                "dashboard": b.asset_link,
                "unit_dashboard": b.unit_link,
            },
            "startsAt": format_time(a.started_at),
            "generatorURL": b.asset_link,
        }
        if a.state == "resolved":
            item["endsAt"] = format_time(a.at)
        out.append(item)
    return out


@dataclass(frozen=True)
class AlertmanagerNotifier:
    """Forward alerts to an Alertmanager (its base URL, e.g. http://127.0.0.1:9093)."""

    channel: ClassVar[str] = "alertmanager"
    per_recipient: ClassVar[bool] = False
    rate: ClassVar[tuple[int, float]] = (600, 60.0)

    url: str
    #: Bearer token if the Alertmanager sits behind an authenticating proxy.
    token: Secret = field(default_factory=lambda: Secret(""), metadata=SECRET)
    timeout: float = http.DEFAULT_TIMEOUT_S
    ca_file: str = ""

    def validate(self) -> None:
        problem = http.check_url(self.url)
        if problem:
            raise ChannelConfigError("url", problem)

    async def send(self, message: Message) -> None:
        headers = {"Authorization": f"Bearer {self.token.reveal()}"} if self.token else {}
        await http.post(
            self.url.rstrip("/") + "/api/v2/alerts",
            orjson.dumps(alerts_body(message)),
            headers,
            timeout=self.timeout,
            verify=self.ca_file or True,
        )
