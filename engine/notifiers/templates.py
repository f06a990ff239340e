"""What a notification says: title, severity, asset, unit, explanation, dashboard links.

Every channel renders from ``render(message)``: a title and one block per
alert, which the channel lays out in its own format (plain text for email,
Markdown for the robots, JSON for webhooks and Alertmanager). Links point at
the Grafana dashboards provisioned with ssa (``dashboards/``): the asset view
and the unit view, filtered to the alert's asset and unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from engine.events import Alert, format_time
from engine.notifiers.base import Message

#: Grafana dashboard uids provisioned by ssa (dashboards/*.json).
ASSET_DASHBOARD = "ssa-asset"
UNIT_DASHBOARD = "ssa-unit"

_KIND_WORD = {
    "firing": "FIRING",
    "resolved": "RESOLVED",
    "escalation": "ESCALATED",
    "overdue": "OVERDUE",
}


@dataclass(frozen=True, slots=True)
class AlertBlock:
    """One alert as every channel shows it."""

    fingerprint: str
    state: str
    severity: str
    title: str
    asset: str
    unit: str
    rule: str
    explanation: str
    started_at: str
    at: str
    asset_link: str
    unit_link: str


@dataclass(frozen=True, slots=True)
class Rendered:
    """The channel-neutral text of a message."""

    title: str
    blocks: tuple[AlertBlock, ...]
    note: str

    def text(self) -> str:
        """Plain text: the email body and the fallback of the robots."""
        lines = [self.title, ""]
        if self.note:
            lines += [self.note, ""]
        for b in self.blocks:
            lines += [
                f"[{b.severity.upper()}] {b.title}",
                f"  state:     {b.state}",
                f"  asset:     {b.asset}",
                f"  unit:      {b.unit}",
                f"  rule:      {b.rule}",
                f"  since:     {b.started_at}",
            ]
            if b.explanation:
                lines.append(f"  why:       {b.explanation}")
            lines += [f"  dashboard: {b.asset_link}", f"  unit view: {b.unit_link}", ""]
        return "\n".join(lines).rstrip() + "\n"

    def markdown(self) -> str:
        """Markdown as the DingTalk, WeCom and Feishu robots accept it."""
        lines = [f"### {self.title}"]
        if self.note:
            lines.append(f"> {self.note}")
        for b in self.blocks:
            lines += [
                "",
                f"**[{b.severity.upper()}] {b.title}**",
                f"- 资产 asset: {b.asset}",
                f"- 单位 unit: {b.unit}",
                f"- 状态 state: {b.state} (since {b.started_at})",
            ]
            if b.explanation:
                lines.append(f"- 原因 why: `{b.explanation}`")
            lines.append(
                f"- [资产视图 asset dashboard]({b.asset_link}) · [单位视图 unit]({b.unit_link})"
            )
        return "\n".join(lines)


def asset_link(grafana_url: str, asset: str) -> str:
    """The asset dashboard filtered to one asset."""
    return f"{grafana_url.rstrip('/')}/d/{ASSET_DASHBOARD}?var-asset={quote(asset, safe='')}"


def unit_link(grafana_url: str, unit: str) -> str:
    """The unit dashboard filtered to one unit."""
    return f"{grafana_url.rstrip('/')}/d/{UNIT_DASHBOARD}?var-unit={quote(unit, safe='')}"


def block(message: Message, alert: Alert) -> AlertBlock:
    """One alert of a message with its names and links filled in."""
    asset_name = message.asset_names.get(alert.asset, "")
    unit_name = message.unit_names.get(alert.unit, "")
    return AlertBlock(
        fingerprint=alert.fingerprint,
        state=alert.state,
        severity=alert.severity,
        title=alert.title,
        asset=f"{asset_name} ({alert.asset})" if asset_name else alert.asset,
        unit=f"{unit_name} ({alert.unit})" if unit_name else alert.unit,
        rule=alert.rule,
        explanation=alert.explanation,
        started_at=format_time(alert.started_at),
        at=format_time(alert.at),
        asset_link=asset_link(message.grafana_url, alert.asset),
        unit_link=unit_link(message.grafana_url, alert.unit),
    )


def title(message: Message) -> str:
    """``[FIRING:2] critical: 门户网站 unreachable`` — kind, count, top severity, first title."""
    word = _KIND_WORD.get(message.kind, message.kind.upper())
    alerts = message.alerts
    if not alerts:
        return f"[{word}] ssa"
    order = ("info", "low", "medium", "high", "critical")
    top = max(alerts, key=lambda a: order.index(a.severity) if a.severity in order else 0)
    more = f" (+{len(alerts) - 1} more)" if len(alerts) > 1 else ""
    level = f" L{message.level}" if message.kind in ("escalation", "overdue") else ""
    return f"[{word}:{len(alerts)}{level}] {top.severity}: {top.title}{more}"


def render(message: Message) -> Rendered:
    """The title and alert blocks every channel lays out."""
    return Rendered(
        title=title(message),
        blocks=tuple(block(message, a) for a in message.alerts),
        note=message.note,
    )
