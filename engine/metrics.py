"""The engine's Prometheus metrics: names, labels, and how they are fed.

Everything is registered into the ``CollectorRegistry`` passed in (never the
global ``REGISTRY``), so the engine, replay and every test have their own.
Names follow ``ssa_<name>_<unit>`` (DESIGN.md); label values only come from
the inventory (asset, unit, kind), the rules (rule, severity), the fixed
probe names and small fixed sets (``result``, ``state``, ``reason_kind``):
never from free text, so the number of series stays bounded.

Two kinds of metric live here:
- **Counters and histograms** the stream app bumps as things happen
  (``alert``, ``finding``, ``observation``, ``dead_letter``, ``rule_eval``...).
- **State gauges** (risk scores, alerts firing) exported from the latest
  snapshot given to ``update_state``: a custom collector yields them at
  scrape time, so an asset that leaves the inventory or an alert that
  resolves simply disappears from the output (no stale series).
"""

from __future__ import annotations

import threading
from collections import Counter as Tally
from collections.abc import Iterable, Iterator, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from engine.deadletter import REASON_KINDS
from engine.events import SEVERITIES, Alert, Finding, Observation
from engine.inventory.model import Asset, Unit
from engine.scoring import AlertSnapshot, Scores

#: Probe names known to ssa; any other value is exported as ``other``.
PROBES: tuple[str, ...] = ("http", "tls", "dns", "tcp", "icmp", "content", "ingest")

#: Why a message went to the dead-letter topic (the ``reason_kind`` label): the
#: bounded categories of ``engine.deadletter``, the one place they are defined.
DEADLETTER_REASONS: tuple[str, ...] = REASON_KINDS

RULE_EVAL_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)


class EngineMetrics:
    """Every metric of the engine, in one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        r = registry
        self.alerts_total = Counter(
            "ssa_alerts",
            "Alert state changes emitted, by severity, rule and new state",
            ["severity", "rule", "state"],
            registry=r,
        )
        self.findings_total = Counter(
            "ssa_findings", "Findings produced by the rules", ["rule", "severity"], registry=r
        )
        self.observations_total = Counter(
            "ssa_observations",
            "Observations consumed, by probe and result (ok, fail)",
            ["probe", "result"],
            registry=r,
        )
        self.deadletter_total = Counter(
            "ssa_deadletter",
            "Messages sent to the dead-letter topic, by kind of reason",
            ["reason_kind"],
            registry=r,
        )
        self.rules_loaded = Gauge("ssa_rules_loaded", "Rules in the active rule set", registry=r)
        self.rule_reload_failures_total = Counter(
            "ssa_rule_reload_failures",
            "Rule reloads that failed (the last good set stays active)",
            registry=r,
        )
        self.rule_eval_seconds = Histogram(
            "ssa_rule_eval_seconds",
            "Time to evaluate the rule set against one event",
            buckets=RULE_EVAL_BUCKETS,
            registry=r,
        )
        self.engine_lag_seconds = Gauge(
            "ssa_engine_lag_seconds",
            "How far the engine's event time trails the wall clock",
            registry=r,
        )
        self._state = StateCollector()
        r.register(self._state)
        # Pre-create the bounded label sets so they show as 0 before they happen.
        for kind in DEADLETTER_REASONS:
            self.deadletter_total.labels(kind)

    # --------------------------------------------------------------- counters

    def alert(self, a: Alert) -> None:
        """Count one emitted Alert event."""
        self.alerts_total.labels(_severity(a.severity), a.rule, a.state).inc()

    def finding(self, f: Finding) -> None:
        self.findings_total.labels(f.rule, _severity(f.severity)).inc()

    def observation(self, o: Observation) -> None:
        probe = o.probe if o.probe in PROBES else "other"
        self.observations_total.labels(probe, "ok" if o.ok else "fail").inc()

    def observations(self, tally: Mapping[tuple[str, bool], int]) -> None:
        """Count a batch of observations at once: ``{(probe, ok): how many}``."""
        for (probe, ok), n in tally.items():
            label = probe if probe in PROBES else "other"
            self.observations_total.labels(label, "ok" if ok else "fail").inc(n)

    def dead_letter(self, reason_kind: str) -> None:
        """Count a dead letter; unknown kinds count as ``other``."""
        kind = reason_kind if reason_kind in DEADLETTER_REASONS else "processing_error"
        self.deadletter_total.labels(kind).inc()

    def rules_reloaded(self, count: int) -> None:
        self.rules_loaded.set(count)

    def rule_reload_failed(self) -> None:
        self.rule_reload_failures_total.inc()

    def rule_eval(self, seconds: float) -> None:
        self.rule_eval_seconds.observe(seconds)

    def lag(self, seconds: float) -> None:
        self.engine_lag_seconds.set(max(0.0, seconds))

    # ------------------------------------------------------------ state gauges

    def update_state(
        self,
        scores: Scores,
        assets: Mapping[str, Asset],
        alerts: Sequence[AlertSnapshot],
        units: Mapping[str, Unit] | None = None,
    ) -> None:
        """Export these scores and alerts from now on (called after each recompute)."""
        self._state.update(scores, assets, alerts, units or {})


class StateCollector(Collector):
    """Yields the risk and firing gauges from the latest snapshot at scrape time.

    The inventory gauges (``ssa_unit_info``, ``ssa_asset_info``) depend on the
    inventory alone, so they are built once per inventory, not on every
    refresh (at 10,000 assets that was most of a refresh's time: BENCHMARKS.md,
    Scale). An inventory change replaces the mappings, it does not mutate
    them (``Inventory`` is rebuilt on sync), which is what the cache keys on.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._info_of: tuple[object, object] | None = None
        self._info: list[Metric] = _inventory_families({}, {})
        self._families: list[Metric] = [*_state_families(None, {}, ()), *self._info]

    def update(
        self,
        scores: Scores,
        assets: Mapping[str, Asset],
        alerts: Sequence[AlertSnapshot],
        units: Mapping[str, Unit],
    ) -> None:
        if self._info_of is None or self._info_of[0] is not assets or self._info_of[1] is not units:
            self._info, self._info_of = _inventory_families(assets, units), (assets, units)
        families = [*_state_families(scores, assets, alerts), *self._info]
        with self._lock:
            self._families = families

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            families = list(self._families)
        yield from families

    def describe(self) -> Iterable[Metric]:
        return [*_state_families(None, {}, ()), *_inventory_families({}, {})]


def _state_families(
    scores: Scores | None,
    assets: Mapping[str, Asset],
    alerts: Sequence[AlertSnapshot],
) -> list[Metric]:
    asset_g = GaugeMetricFamily(
        "ssa_asset_risk_score", "Risk score of an asset, 0-100", labels=["asset", "unit", "kind"]
    )
    unit_g = GaugeMetricFamily(
        "ssa_unit_risk_score", "Risk score of a unit, 0-100", labels=["unit"]
    )
    posture_g = GaugeMetricFamily(
        "ssa_posture_score", "City-wide posture, 0-100 (100 = nothing at risk)"
    )
    firing_g = GaugeMetricFamily(
        "ssa_alerts_firing",
        "Active (firing or acknowledged) alerts, by severity, rule and unit",
        labels=["severity", "rule", "unit"],
    )
    if scores is not None:
        for asset_id, score in sorted(scores.asset.items()):
            a = assets.get(asset_id)
            if a is not None:  # only inventory assets: labels come from the inventory
                asset_g.add_metric([a.id, a.unit, a.kind], score)
        for unit_id, score in sorted(scores.unit.items()):
            unit_g.add_metric([unit_id], score)
        posture_g.add_metric([], scores.posture)
    tally = Tally((_severity(a.severity), a.rule, a.unit) for a in alerts if a.state != "resolved")
    for labels, n in sorted(tally.items()):
        firing_g.add_metric(list(labels), n)
    return [asset_g, unit_g, posture_g, firing_g]


def _inventory_families(assets: Mapping[str, Asset], units: Mapping[str, Unit]) -> list[Metric]:
    """The inventory's own names (e.g. 市人民政府办公室), so dashboards can show them.

    Join with ``* on(unit) group_left(name) ssa_unit_info``. Names come from
    the inventory, never from events, so the label set stays bounded.
    """
    unit_info = GaugeMetricFamily(
        "ssa_unit_info", "A registered unit and its name (always 1)", labels=["unit", "name"]
    )
    asset_info = GaugeMetricFamily(
        "ssa_asset_info",
        "A registered asset, its name and criticality (always 1)",
        labels=["asset", "unit", "kind", "name", "criticality"],
    )
    for u in sorted(units.values(), key=lambda u: u.id):
        unit_info.add_metric([u.id, u.name or u.id], 1)
    for a in sorted(assets.values(), key=lambda a: a.id):
        asset_info.add_metric([a.id, a.unit, a.kind, a.name or a.id, str(a.criticality)], 1)
    return [unit_info, asset_info]


def _severity(s: str) -> str:
    return s if s in SEVERITIES else "info"
