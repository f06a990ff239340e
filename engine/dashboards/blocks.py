"""Building blocks of ssa's Grafana dashboards: panels, variables, layout.

Every panel and variable reads the Prometheus chosen by the dashboard's
``datasource`` variable (``${datasource}``); no datasource uid is ever
written into a dashboard. Titles are bilingual (中文 / English), as the
inventory's names are Chinese. ``layout`` numbers panels and places them on
Grafana's 24-column grid, so ids and positions cannot collide.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

DS: dict[str, str] = {"type": "prometheus", "uid": "${datasource}"}
WIDTH = 24

OVERVIEW = "ssa-overview"
#: The notifier's messages link to these two (engine/notifiers/templates.py).
UNIT = "ssa-unit"
ASSET = "ssa-asset"
ALERTS = "ssa-alerts"
HEALTH = "ssa-health"
SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_COLORS = {
    "critical": "dark-red",
    "high": "red",
    "medium": "orange",
    "low": "yellow",
    "info": "blue",
}
SEVERITY_NAMES = {
    "critical": "紧急",
    "high": "高危",
    "medium": "中危",
    "low": "低危",
    "info": "提示",
}


# -- building blocks -------------------------------------------------------


@dataclass
class Target:
    """One PromQL query of a panel."""

    expr: str
    legend: str = ""
    instant: bool = False
    table: bool = False

    def to_json(self, ref: str) -> dict[str, Any]:
        t: dict[str, Any] = {
            "refId": ref,
            "datasource": DS,
            "expr": self.expr,
            "legendFormat": self.legend or "__auto",
            "range": not self.instant,
            "instant": self.instant,
        }
        if self.table:
            t["format"] = "table"
        return t


@dataclass
class Panel:
    """One panel: a type, a title, its queries and a size (the layout places it)."""

    kind: str
    title: str
    targets: list[Target]
    w: int
    h: int
    description: str = ""
    unit: str = ""
    minmax: tuple[float, float] | None = None
    #: Threshold steps as (value or None for the base, colour).
    thresholds: list[tuple[float | None, str]] = field(default_factory=list)
    mappings: list[dict[str, Any]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)
    overrides: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    transformations: list[dict[str, Any]] = field(default_factory=list)
    #: Markdown of a text panel (no targets).
    content: str = ""

    def to_json(self, pid: int, x: int, y: int) -> dict[str, Any]:
        p: dict[str, Any] = {
            "id": pid,
            "type": self.kind,
            "title": self.title,
            "gridPos": {"h": self.h, "w": self.w, "x": x, "y": y},
        }
        if self.description:
            p["description"] = self.description
        if self.kind == "text":
            p["options"] = {"mode": "markdown", "content": self.content}
            return p
        p["datasource"] = DS
        p["targets"] = [t.to_json(chr(ord("A") + i)) for i, t in enumerate(self.targets)]
        defaults: dict[str, Any] = {"custom": dict(self.custom)}
        if self.unit:
            defaults["unit"] = self.unit
        if self.minmax:
            defaults["min"], defaults["max"] = self.minmax
        if self.thresholds:
            defaults["thresholds"] = {
                "mode": "absolute",
                "steps": [{"value": v, "color": c} for v, c in self.thresholds],
            }
            defaults["color"] = {"mode": "thresholds"}
        if self.mappings:
            defaults["mappings"] = self.mappings
        if self.links:
            defaults["links"] = self.links
        p["fieldConfig"] = {"defaults": defaults, "overrides": self.overrides}
        p["options"] = self.options
        if self.transformations:
            p["transformations"] = self.transformations
        return p


def stat(title: str, expr: str, w: int = 4, h: int = 5, **kw: Any) -> Panel:
    options = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "background",
        "graphMode": "area",
        "textMode": "auto",
    }
    return Panel("stat", title, [Target(expr, kw.pop("legend", ""))], w, h, options=options, **kw)


def series(
    title: str,
    *targets: Target,
    w: int = 12,
    h: int = 8,
    stack: bool = False,
    bars: bool = False,
    **kw: Any,
) -> Panel:
    custom: dict[str, Any] = {
        "drawStyle": "bars" if bars else "line",
        "fillOpacity": 15,
        "lineWidth": 1,
        "showPoints": "never",
        "spanNulls": False,
    }
    if stack:
        custom["stacking"] = {"mode": "normal", "group": "A"}
    custom.update(kw.pop("custom", {}))
    options = {
        "legend": {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull"]},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return Panel("timeseries", title, list(targets), w, h, options=options, custom=custom, **kw)


def table(title: str, expr: str, w: int = 12, h: int = 9, **kw: Any) -> Panel:
    options = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}}
    renames: dict[str, str] = kw.pop("renames", {})
    hide = {"Time": True, "__name__": True, "job": True, "instance": True}
    transformations = [
        {
            "id": "organize",
            "options": {"excludeByName": hide, "renameByName": renames, "indexByName": {}},
        },
    ]
    return Panel(
        "table",
        title,
        [Target(expr, instant=True, table=True)],
        w,
        h,
        options=options,
        transformations=transformations,
        **kw,
    )


def bars(title: str, expr: str, legend: str, w: int = 12, h: int = 9, **kw: Any) -> Panel:
    options = {
        "orientation": "horizontal",
        "displayMode": "gradient",
        "showUnfilled": True,
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
    }
    return Panel(
        "bargauge", title, [Target(expr, legend, instant=True)], w, h, options=options, **kw
    )


def timeline(title: str, expr: str, legend: str, w: int = 24, h: int = 10, **kw: Any) -> Panel:
    options = {
        "showValue": "never",
        "mergeValues": True,
        "rowHeight": 0.8,
        "legend": {"displayMode": "list", "placement": "bottom"},
    }
    return Panel("state-timeline", title, [Target(expr, legend)], w, h, options=options, **kw)


def text(title: str, content: str, w: int = 12, h: int = 8) -> Panel:
    return Panel("text", title, [], w, h, content=content)


def layout(panels: Iterable[Panel]) -> list[dict[str, Any]]:
    """Place panels left to right, wrapping at the grid width; ids from 1."""
    out: list[dict[str, Any]] = []
    x = y = row_h = 0
    for pid, p in enumerate(panels, start=1):
        if x + p.w > WIDTH:
            x, y, row_h = 0, y + row_h, 0
        out.append(p.to_json(pid, x, y))
        x += p.w
        row_h = max(row_h, p.h)
    return out


def datasource_var() -> dict[str, Any]:
    return {
        "name": "datasource",
        "label": "数据源 / Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "refresh": 1,
        "regex": "",
        "options": [],
        "includeAll": False,
        "multi": False,
    }


def query_var(
    name: str, label: str, query: str, *, all_values: bool = False, hide: int = 0
) -> dict[str, Any]:
    v: dict[str, Any] = {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "definition": query,
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2,
        "sort": 1,
        "regex": "",
        "current": {},
        "options": [],
        "hide": hide,
        "includeAll": all_values,
        "multi": all_values,
    }
    if all_values:
        v["allValue"] = ".*"
    return v


def severity_var() -> dict[str, Any]:
    options = [
        {"text": f"{SEVERITY_NAMES[s]} {s}", "value": s, "selected": False} for s in SEVERITIES
    ]
    return {
        "name": "severity",
        "label": "严重程度 / Severity",
        "type": "custom",
        "query": ",".join(SEVERITIES),
        "current": {"text": ["All"], "value": ["$__all"]},
        "options": options,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "hide": 0,
    }


def dashboard(
    uid: str,
    title: str,
    description: str,
    panels: Iterable[Panel],
    variables: Iterable[dict[str, Any]] = (),
    time_from: str = "now-6h",
    annotations: Iterable[dict[str, Any]] = (),
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["ssa", "态势感知"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": time_from, "to": "now"},
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "links": [
            {
                "title": "态势感知 / SSA",
                "type": "dashboards",
                "tags": ["ssa"],
                "asDropdown": True,
                "includeVars": False,
                "keepTime": True,
                "icon": "external link",
                "targetBlank": False,
                "tooltip": "",
                "url": "",
            },
        ],
        "templating": {"list": [datasource_var(), *variables]},
        "annotations": {"list": list(annotations)},
        "panels": layout(panels),
    }


def alerts_annotation() -> dict[str, Any]:
    """Marks on every time series where new alerts fired."""
    return {
        "name": "告警触发 / Alerts fired",
        "datasource": DS,
        "enable": True,
        "iconColor": "red",
        "expr": 'sum by (rule) (increase(ssa_alerts_total{state="firing"}[$__interval])) > 0',
        "titleFormat": "{{rule}}",
        "textFormat": "新告警 / new alert",
        "step": "60s",
        "hide": False,
    }


#: Where a data link takes its value: a table row's column, a series' label, or a variable.
ROW, LABEL, VAR = "${{__data.fields.{0}}}", "${{__field.labels.{0}}}", "${{{0}}}"


def asset_link(source: str = ROW) -> dict[str, Any]:
    """A data link to the asset dashboard for the ``asset`` of a row, series or variable."""
    url = f"/d/{ASSET}?var-asset={source.format('asset')}&${{__url_time_range}}"
    return {"title": "资产详情 / Asset detail", "url": url}


def unit_link(source: str = ROW) -> dict[str, Any]:
    """A data link to the unit dashboard for the ``unit`` of a row, series or variable."""
    url = f"/d/{UNIT}?var-unit={source.format('unit')}&${{__url_time_range}}"
    return {"title": "单位态势 / Unit drill-down", "url": url}


RISK_STEPS: list[tuple[float | None, str]] = [
    (None, "green"),
    (25, "yellow"),
    (50, "orange"),
    (75, "red"),
]
POSTURE_STEPS: list[tuple[float | None, str]] = [
    (None, "red"),
    (60, "orange"),
    (80, "yellow"),
    (90, "green"),
]
UP_MAPPING = [
    {
        "type": "value",
        "options": {
            "0": {"text": "异常 FAIL", "color": "red", "index": 0},
            "1": {"text": "正常 OK", "color": "green", "index": 1},
        },
    }
]
SEVERITY_OVERRIDES = [
    {
        "matcher": {"id": "byName", "options": s},
        "properties": [
            {"id": "color", "value": {"mode": "fixed", "fixedColor": SEVERITY_COLORS[s]}}
        ],
    }
    for s in SEVERITIES
]
DAYS_LEFT = "(ssa_tls_cert_expiry_timestamp_seconds{sel} - time()) / 86400"
RATE = "$__rate_interval"
