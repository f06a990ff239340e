"""The duty room's five dashboards, as data (see ``engine.dashboards.blocks``).

- 城市安全态势总览 / City situation overview — the wall screen.
- 单位态势 / Unit drill-down — one unit's assets, alerts and rectifications.
- 资产详情 / Asset detail — one asset's probes, latency, certificate and risk.
- 告警时间线 / Alert timeline — what fired when, by rule, unit and severity.
- 系统运行状况 / System health — is ssa itself doing its job.

``docs/duty-officer.md`` describes what each panel tells the duty officer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.dashboards.blocks import (
    ALERTS,
    ASSET,
    DAYS_LEFT,
    HEALTH,
    LABEL,
    OVERVIEW,
    POSTURE_STEPS,
    RATE,
    RISK_STEPS,
    SEVERITY_NAMES,
    SEVERITY_OVERRIDES,
    UNIT,
    UP_MAPPING,
    VAR,
    Target,
    alerts_annotation,
    asset_link,
    bars,
    dashboard,
    query_var,
    series,
    severity_var,
    stat,
    table,
    text,
    timeline,
    unit_link,
)

#: A series that is absent means "none": show 0 rather than "No data".
NONE_IS_ZERO = " or on() vector(0)"
ASSET_COLUMNS = {"asset": "资产 asset", "name": "名称 name", "unit": "单位 unit",
                 "kind": "类型 kind", "Value": "风险 risk"}  # fmt: skip


def _firing(severity: str, w: int = 3) -> Any:
    color = {"critical": "dark-red", "high": "red", "medium": "orange", "low": "yellow"}[severity]
    return stat(
        f"{SEVERITY_NAMES[severity]} / {severity.capitalize()}",
        f'sum(ssa_alerts_firing{{severity="{severity}"}}){NONE_IS_ZERO}',
        w=w,
        description=f"Alerts of severity {severity} firing now (acknowledged ones included).",
        thresholds=[(None, "green"), (1, color)],
    )


def overview() -> dict[str, Any]:
    panels = [
        stat("城市安全态势评分 / City posture score", "ssa_posture_score", w=6, minmax=(0, 100),
             thresholds=POSTURE_STEPS,
             description="100 − city risk: 100 means nothing is wrong anywhere (docs/risk.md)."),
        _firing("critical"),
        _firing("high"),
        _firing("medium"),
        _firing("low"),
        stat("监测资产 / Assets watched", "count(ssa_asset_risk_score)", w=3,
             thresholds=[(None, "blue")], description="Assets with a risk score."),
        stat("网站可用率 / Website availability",
             'avg(ssa_probe_success{probe="http"})', w=3, unit="percentunit",
             minmax=(0, 1), thresholds=[(None, "red"), (0.9, "orange"), (0.99, "green")],
             description="Share of websites whose last http probe succeeded."),
        series("态势评分趋势 / City posture over time", Target("ssa_posture_score", "态势 posture"),
               minmax=(0, 100), unit="none"),
        series("告警（按严重程度） / Firing alerts by severity",
               Target("sum by (severity) (ssa_alerts_firing)", "{{severity}}"),
               stack=True, overrides=SEVERITY_OVERRIDES),
        bars("风险最高的单位 / Top-risk units",
             "topk(10, ssa_unit_risk_score * on(unit) group_left(name) ssa_unit_info)", "{{name}}",
             minmax=(0, 100), thresholds=RISK_STEPS, links=[unit_link(LABEL)]),
        table("风险最高的资产 / Top-risk assets",
              "topk(15, ssa_asset_risk_score * on(asset) group_left(name) ssa_asset_info)",
              renames=ASSET_COLUMNS, thresholds=RISK_STEPS, links=[asset_link()],
              overrides=[{"matcher": {"id": "byName", "options": "Value"}, "properties": [
                  {"id": "custom.cellOptions", "value": {"type": "color-background"}}]}]),
        bars("网站可用性（最差15个，1小时） / Website availability (worst 15, 1h)",
             'bottomk(15, avg_over_time(ssa_probe_success{probe="http"}[1h]))', "{{asset}}",
             unit="percentunit", minmax=(0, 1), links=[asset_link(LABEL)],
             thresholds=[(None, "red"), (0.9, "orange"), (0.99, "green")]),
        table("证书即将到期 / Certificates expiring soonest (days left)",
              "bottomk(10, " + DAYS_LEFT.format(sel="") + ")",
              renames={"asset": "资产 asset", "Value": "剩余天数 days left"},
              unit="none", thresholds=[(None, "red"), (7, "orange"), (30, "green")],
              links=[asset_link()]),
        table("当前告警 / Alerts firing now",
              "sum by (severity, rule, unit) (ssa_alerts_firing) > 0",
              renames={"severity": "级别 severity", "rule": "规则 rule", "unit": "单位 unit",
                       "Value": "数量 count"}, links=[unit_link()]),
        table("最近告警（所选时段） / Recent alerts (time range)",
              "sort_desc(sum by (rule, severity, state) (increase(ssa_alerts_total[$__range])))",
              renames={"rule": "规则 rule", "severity": "级别 severity", "state": "状态 state",
                       "Value": "次数 count"}, unit="none"),
    ]  # fmt: skip
    return dashboard(
        OVERVIEW, "城市安全态势总览 / City situation overview",
        "The whole city at a glance: posture, firing alerts, who is most at risk and why.",
        panels, annotations=[alerts_annotation()],
    )  # fmt: skip


def unit() -> dict[str, Any]:
    sel = '{unit="$unit"}'
    panels = [
        stat("单位风险评分 / Unit risk score", f"ssa_unit_risk_score{sel}", w=6, minmax=(0, 100),
             thresholds=RISK_STEPS),
        stat("当前告警 / Alerts firing", f"sum(ssa_alerts_firing{sel}){NONE_IS_ZERO}", w=6,
             thresholds=[(None, "green"), (1, "red")]),
        stat("逾期整改 / Overdue rectifications",
             f"sum(ssa_rectifications_overdue{sel}){NONE_IS_ZERO}", w=6,
             thresholds=[(None, "green"), (1, "red")],
             description="Rectification items of this unit past their deadline."),
        stat("探测通过率 / Probes passing", f"avg(ssa_probe_success{sel})", w=6,
             unit="percentunit", minmax=(0, 1),
             thresholds=[(None, "red"), (0.9, "orange"), (0.99, "green")]),
        series("单位风险趋势 / Unit risk over time", Target(f"ssa_unit_risk_score{sel}", "$unit"),
               minmax=(0, 100)),
        series("资产风险 / Risk of each asset", Target(f"ssa_asset_risk_score{sel}", "{{asset}}"),
               minmax=(0, 100)),
        table("本单位资产 / Assets of the unit", f"sort_desc(ssa_asset_risk_score{sel})",
              renames=ASSET_COLUMNS, thresholds=RISK_STEPS, links=[asset_link()]),
        table("告警（按规则） / Firing alerts by rule",
              f"sum by (rule, severity) (ssa_alerts_firing{sel})",
              renames={"rule": "规则 rule", "severity": "级别 severity", "Value": "数量 count"}),
        timeline("探测结果 / Probe results", f"ssa_probe_success{sel}", "{{asset}} {{probe}}",
                 mappings=UP_MAPPING, thresholds=[(None, "red"), (1, "green")]),
        table("证书剩余天数 / Certificate days left",
              DAYS_LEFT.format(sel="") + f" and on(asset) ssa_asset_risk_score{sel}",
              renames={"asset": "资产 asset", "Value": "剩余天数 days left"},
              thresholds=[(None, "red"), (7, "orange"), (30, "green")], links=[asset_link()]),
        series("整改逾期趋势 / Overdue rectifications over time",
               Target(f"sum(ssa_rectifications_overdue{sel}){NONE_IS_ZERO}", "逾期 overdue")),
    ]  # fmt: skip
    return dashboard(
        UNIT, "单位态势 / Unit drill-down",
        "One unit: its risk, its assets, what is firing, and its overdue rectifications.",
        panels,
        [query_var("unit", "单位 / Unit", "label_values(ssa_unit_risk_score, unit)")],
        annotations=[alerts_annotation()],
    )  # fmt: skip


def asset() -> dict[str, Any]:
    sel = '{asset="$asset"}'
    explanation = (
        "**资产 `$asset`（单位 `$unit`）的风险从何而来 / Where this asset's risk comes from**\n\n"
        "风险评分 = Σ 触发告警的规则权重 × 资产重要性，已恢复告警按半衰期衰减（见 docs/risk.md）。"
        "\n\nThe score sums, over this asset's alerts, the rule's risk weight × the asset's "
        "criticality; resolved alerts fade with a half-life (docs/risk.md). The engine explains "
        "each score alert by alert:\n\n"
        "    ssa alerts list --unit $unit\n\n"
        "The table beside this lists the rules firing in the asset's unit."
    )
    panels = [
        stat("资产风险评分 / Asset risk score", f"ssa_asset_risk_score{sel}", w=6,
             minmax=(0, 100), thresholds=RISK_STEPS),
        stat("探测状态 / Probes passing", f"min(ssa_probe_success{sel})", w=6,
             mappings=UP_MAPPING, thresholds=[(None, "red"), (1, "green")],
             description="OK when every probe of the asset passed on its last run."),
        stat("证书剩余天数 / Certificate days left", DAYS_LEFT.format(sel=sel), w=6,
             unit="none", thresholds=[(None, "red"), (7, "orange"), (30, "green")],
             description="Days until the asset's TLS certificate expires (tls probe)."),
        stat("所属单位风险 / Unit risk", 'ssa_unit_risk_score{unit="$unit"}', w=6,
             minmax=(0, 100), thresholds=RISK_STEPS, links=[unit_link(VAR)]),
        timeline("探测历史 / Probe history", f"ssa_probe_success{sel}", "{{probe}}", h=7,
                 mappings=UP_MAPPING, thresholds=[(None, "red"), (1, "green")]),
        series("延迟分解 / Latency phases (http)",
               Target(f"ssa_http_phase_seconds{sel}", "{{phase}}"), stack=True, unit="s",
               description="dns · connect · tls · ttfb · transfer of the last http probe."),
        series("风险评分趋势 / Risk over time", Target(f"ssa_asset_risk_score{sel}", "$asset"),
               minmax=(0, 100)),
        series("证书到期趋势 / Certificate days left over time",
               Target(DAYS_LEFT.format(sel=sel), "days left"), unit="none"),
        series("探测耗时（全部资产 p90） / Probe duration (p90, all assets)",
               Target("histogram_quantile(0.9, sum by (le, probe) "
                      f"(rate(ssa_probe_duration_seconds_bucket[{RATE}])))", "{{probe}}"),
               unit="s"),
        text("风险解释 / Risk explanation", explanation),
        table("单位内触发的规则 / Rules firing in the unit",
              'sum by (rule, severity) (ssa_alerts_firing{unit="$unit"})',
              renames={"rule": "规则 rule", "severity": "级别 severity", "Value": "数量 count"},
              h=8),
    ]  # fmt: skip
    return dashboard(
        ASSET, "资产详情 / Asset detail",
        "One asset: probe history, where its latency goes, its certificate, and its risk.",
        panels,
        [query_var("asset", "资产 / Asset", "label_values(ssa_asset_risk_score, asset)"),
         query_var("unit", "单位 / Unit",
                   'label_values(ssa_asset_risk_score{asset="$asset"}, unit)', hide=2)],
        time_from="now-3h", annotations=[alerts_annotation()],
    )  # fmt: skip


def alerts() -> dict[str, Any]:
    sel = '{severity=~"$severity", unit=~"$unit"}'
    panels = [
        timeline("告警时间线 / Alerts firing over time",
                 f"sum by (unit, rule) (ssa_alerts_firing{sel}) > 0", "{{unit}} · {{rule}}",
                 h=12, thresholds=[(None, "green"), (1, "red")],
                 mappings=[{"type": "range", "options": {
                     "from": 1, "to": 1e9, "result": {"text": "告警 firing", "color": "red"}}}]),
        series("告警状态变化 / Alert state changes",
               Target(f'sum by (state) (increase(ssa_alerts_total{{severity=~"$severity"}}'
                      f"[{RATE}]))", "{{state}}"), bars=True, stack=True),
        series("规则发现 / Findings by rule",
               Target(f'sum by (rule) (increase(ssa_findings_total{{severity=~"$severity"}}'
                      f"[{RATE}]))", "{{rule}}"), bars=True, stack=True),
        series("触发中的告警（按严重程度） / Firing by severity",
               Target(f"sum by (severity) (ssa_alerts_firing{sel})", "{{severity}}"),
               stack=True, overrides=SEVERITY_OVERRIDES),
        series("触发中的告警（按单位） / Firing by unit",
               Target(f"sum by (unit) (ssa_alerts_firing{sel})", "{{unit}}"), stack=True),
        table("告警汇总（所选时段） / Alert changes in the time range",
              'sort_desc(sum by (rule, severity, state) '
              '(increase(ssa_alerts_total{severity=~"$severity"}[$__range])))',
              renames={"rule": "规则 rule", "severity": "级别 severity", "state": "状态 state",
                       "Value": "次数 count"}, w=24),
    ]  # fmt: skip
    return dashboard(
        ALERTS, "告警时间线 / Alert timeline",
        "When each alert fired and resolved, by unit, rule and severity.",
        panels,
        [severity_var(),
         query_var("unit", "单位 / Unit", "label_values(ssa_alerts_firing, unit)",
                   all_values=True)],
        time_from="now-12h", annotations=[alerts_annotation()],
    )  # fmt: skip


def health() -> dict[str, Any]:
    def up(job: str, title: str) -> Any:
        return stat(title, f'sum(up{{job="{job}"}}){NONE_IS_ZERO}', w=4,
                    thresholds=[(None, "red"), (1, "green")],
                    description=f"Prometheus targets of job {job} that answer.")  # fmt: skip

    panels = [
        up("ssa-engine", "引擎 / Engine up"),
        up("ssa-collector", "采集器 / Collectors up"),
        up("ssa-notifier", "通知 / Notifier up"),
        stat("引擎延迟 / Engine lag", "max(ssa_engine_lag_seconds)", w=4, unit="s",
             thresholds=[(None, "green"), (30, "orange"), (120, "red")]),
        stat("已加载规则 / Rules loaded", "max(ssa_rules_loaded)", w=4,
             thresholds=[(None, "red"), (1, "green")]),
        stat("规则重载失败 / Rule reload failures (1h)",
             f"sum(increase(ssa_rule_reload_failures_total[1h])){NONE_IS_ZERO}", w=4,
             thresholds=[(None, "green"), (1, "red")]),
        series("探测速率 / Probe rate by result",
               Target(f"sum by (probe, result) (rate(ssa_probes_total[{RATE}]))",
                      "{{probe}} {{result}}"), unit="ops"),
        series("探测失败比例 / Probe failure ratio",
               Target(f'sum by (probe) (rate(ssa_probes_total{{result="fail"}}[{RATE}])) / '
                      f"sum by (probe) (rate(ssa_probes_total[{RATE}]))", "{{probe}}"),
               unit="percentunit", minmax=(0, 1)),
        series("探测耗时 / Probe duration p50 · p99",
               Target("histogram_quantile(0.5, sum by (le, probe) "
                      f"(rate(ssa_probe_duration_seconds_bucket[{RATE}])))", "p50 {{probe}}"),
               Target("histogram_quantile(0.99, sum by (le, probe) "
                      f"(rate(ssa_probe_duration_seconds_bucket[{RATE}])))", "p99 {{probe}}"),
               unit="s"),
        series("引擎延迟 / Engine lag", Target("max(ssa_engine_lag_seconds)", "lag"), unit="s",
               thresholds=[(None, "green"), (30, "orange"), (120, "red")],
               custom={"thresholdsStyle": {"mode": "line"}}),
        series("观测处理 / Observations processed",
               Target(f"sum by (probe, result) (rate(ssa_observations_total[{RATE}]))",
                      "{{probe}} {{result}}"), unit="ops"),
        series("规则评估耗时 / Rule evaluation time",
               Target("histogram_quantile(0.99, sum by (le) "
                      f"(rate(ssa_rule_eval_seconds_bucket[{RATE}])))", "p99"),
               Target(f"sum(rate(ssa_rule_eval_seconds_sum[{RATE}])) / "
                      f"sum(rate(ssa_rule_eval_seconds_count[{RATE}]))", "mean"), unit="s"),
        series("死信 / Dead letters",
               Target(f"sum by (reason_kind) (increase(ssa_deadletter_total[{RATE}]))"
                      f"{NONE_IS_ZERO}", "{{reason_kind}}"), bars=True,
               description="Rejected input, by the kind of reason (ssa.deadletter)."),
        series("通知投递 / Notifications by channel and result",
               Target(f"sum by (channel, result) (rate(ssa_notifications_total[{RATE}]))",
                      "{{channel}} {{result}}"), unit="ops"),
        series("通知失败 / Notification failures",
               Target(f'sum by (channel, result) (increase(ssa_notifications_total'
                      f'{{result!="ok"}}[{RATE}])){NONE_IS_ZERO}', "{{channel}} {{result}}"),
               bars=True,
               description="error: an attempt failed and will be retried; "
                           "dead: given up after the retry budget (a dead letter)."),
        bars("逾期整改（按单位） / Overdue rectifications by unit",
             f"sum by (unit) (ssa_rectifications_overdue){NONE_IS_ZERO}", "{{unit}}",
             thresholds=[(None, "green"), (1, "red")], h=8),
        series("采集器资产分配 / Assets per collector",
               Target("ssa_collector_assets", "{{instance}}"), stack=True,
               description="How the inventory's partitions are shared out; it changes when a "
                           "collector joins or leaves (a rebalance)."),
        series("推送事件 / Pushed events by result",
               Target(f"sum by (transport, result) (rate(ssa_ingest_events_total[{RATE}]))",
                      "{{transport}} {{result}}"), unit="ops",
               description="Security events pushed by registered systems (HTTP JSON, syslog); "
                           "unauthorized or malformed ones are rejected."),
        series("待发送通知 / Notifications pending",
               Target("sum(ssa_notifications_pending)", "pending")),
        series("采集缓冲 / Collector buffer",
               Target("sum(ssa_collector_buffer_size)", "buffered"),
               Target(f"sum(rate(ssa_collector_buffer_dropped_total[{RATE}]))", "dropped/s"),
               Target(f"sum(rate(ssa_collector_publish_errors_total[{RATE}]))",
                      "publish errors/s")),
    ]  # fmt: skip
    return dashboard(
        HEALTH, "系统运行状况 / System health",
        "Is ssa itself working: targets up, probe rates and errors, engine lag, dead letters, "
        "notification failures, overdue rectifications.",
        panels, time_from="now-3h",
    )  # fmt: skip


#: File name -> builder, in the order the dashboards are listed.
DASHBOARDS: dict[str, Callable[[], dict[str, Any]]] = {
    "ssa-overview.json": overview,
    "ssa-unit.json": unit,
    "ssa-asset.json": asset,
    "ssa-alerts.json": alerts,
    "ssa-health.json": health,
}
