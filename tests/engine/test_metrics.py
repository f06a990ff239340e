"""The engine's metrics: names, bounded labels, and a clean ``promtool check metrics``."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from engine.events import Alert, Finding, Observation
from engine.inventory.model import Asset, Unit
from engine.metrics import DEADLETTER_REASONS, EngineMetrics
from engine.scoring import AlertSnapshot, compute_scores

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ASSETS = {
    "portal": Asset(
        "portal", "gov-office", "website", url="https://www.example.gov/", criticality=5
    ),
    "gw-1": Asset("gw-1", "gov-office", "ip", address="192.0.2.10", criticality=4),
}
ALERTS = [
    AlertSnapshot("fp1", "site-down", "portal", "gov-office", "firing", 5.0, "high"),
    AlertSnapshot("fp2", "cert-expiring", "portal", "gov-office", "acknowledged", 2.0, "medium"),
    AlertSnapshot("fp3", "host-down", "gw-1", "gov-office", "resolved", 8.0, "critical", "", NOW),
]


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def fed() -> EngineMetrics:
    m = EngineMetrics(CollectorRegistry())
    alert = Alert(
        fingerprint="fp1", seq=1, state="firing", rule="site-down", rule_version="v1",
        asset="portal", unit="gov-office", severity="high", title="Portal down", at=NOW,
        started_at=NOW,
    )  # fmt: skip
    m.alert(alert)
    m.alert(alert.evolve(seq=2, state="acknowledged"))
    m.finding(
        Finding(id="f1", rule="site-down", rule_version="v1", asset="portal", unit="gov-office",
                severity="high", at=NOW, title="Portal down")
    )  # fmt: skip
    for probe, ok in (("http", True), ("http", False), ("gopher", True)):
        m.observation(
            Observation(id="o1", asset="portal", unit="gov-office", probe=probe, observed_at=NOW,
                        collector="c1", vantage="local", ok=ok, duration_s=0.1)
        )  # fmt: skip
    m.dead_letter("missing_field")
    m.dead_letter("some free text that must not become a label")
    m.rules_reloaded(42)
    m.rule_reload_failed()
    m.rule_eval(0.0003)
    m.lag(1.5)
    m.update_state(compute_scores(ALERTS, ASSETS, NOW), ASSETS, ALERTS)
    return m


def test_values_and_labels() -> None:
    s = samples(fed().registry)
    assert (
        s[("ssa_alerts_total", (("rule", "site-down"), ("severity", "high"), ("state", "firing")))]
        == 1
    )
    assert s[("ssa_findings_total", (("rule", "site-down"), ("severity", "high")))] == 1
    assert s[("ssa_observations_total", (("probe", "http"), ("result", "fail")))] == 1
    assert s[("ssa_observations_total", (("probe", "other"), ("result", "ok")))] == 1
    assert s[("ssa_deadletter_total", (("reason_kind", "missing_field"),))] == 1
    assert s[("ssa_deadletter_total", (("reason_kind", "processing_error"),))] == 1
    assert s[("ssa_deadletter_total", (("reason_kind", "invalid_json"),))] == 0
    assert s[("ssa_rules_loaded", ())] == 42
    assert s[("ssa_rule_reload_failures_total", ())] == 1
    assert s[("ssa_rule_eval_seconds_count", ())] == 1
    assert s[("ssa_engine_lag_seconds", ())] == 1.5
    portal = (
        "ssa_asset_risk_score",
        (("asset", "portal"), ("kind", "website"), ("unit", "gov-office")),
    )
    assert s[portal] == pytest.approx(100 * (1 - 2.718281828459045 ** (-35 / 25)))
    assert ("ssa_unit_risk_score", (("unit", "gov-office"),)) in s
    assert 0 < s[("ssa_posture_score", ())] < 100
    firing = {k[1]: v for k, v in s.items() if k[0] == "ssa_alerts_firing"}
    assert firing == {
        (("rule", "cert-expiring"), ("severity", "medium"), ("unit", "gov-office")): 1,
        (("rule", "site-down"), ("severity", "high"), ("unit", "gov-office")): 1,
    }


def test_state_gauges_drop_what_is_gone() -> None:
    m = fed()
    m.update_state(compute_scores([], {}, NOW), {}, [])
    names = {name for name, _ in samples(m.registry)}
    assert "ssa_asset_risk_score" not in names and "ssa_alerts_firing" not in names
    assert samples(m.registry)[("ssa_posture_score", ())] == 100


def test_registries_are_independent() -> None:
    a, b = EngineMetrics(CollectorRegistry()), EngineMetrics(CollectorRegistry())
    a.rules_reloaded(3)
    assert samples(b.registry)[("ssa_rules_loaded", ())] == 0


def test_deadletter_kinds_are_the_bounded_set() -> None:
    m = EngineMetrics(CollectorRegistry())
    m.dead_letter("invalid_json")
    m.dead_letter("free text from a message")  # never becomes a label value
    got = samples(m.registry)
    assert got[("ssa_deadletter_total", (("reason_kind", "invalid_json"),))] == 1
    assert got[("ssa_deadletter_total", (("reason_kind", "processing_error"),))] == 1
    assert {dict(k[1]).get("reason_kind") for k in got if k[0] == "ssa_deadletter_total"} == set(
        DEADLETTER_REASONS
    )


def test_promtool_check_metrics_is_clean() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) must be installed"
    text = generate_latest(fed().registry)
    assert b"ssa_asset_risk_score{" in text and b"ssa_rule_eval_seconds_bucket" in text
    done = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, timeout=30
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


def test_inventory_names_are_exported_as_info_series() -> None:
    m = EngineMetrics(CollectorRegistry())
    units = {"gov-office": Unit("gov-office", "市政府办公室")}
    m.update_state(compute_scores(ALERTS, ASSETS, NOW), ASSETS, ALERTS, units)
    s = samples(m.registry)
    assert s[("ssa_unit_info", (("name", "市政府办公室"), ("unit", "gov-office")))] == 1
    portal = ASSETS["portal"]
    key = (("asset", "portal"), ("criticality", str(portal.criticality)), ("kind", portal.kind),
           ("name", portal.name or "portal"), ("unit", portal.unit))  # fmt: skip
    assert s[("ssa_asset_info", key)] == 1


def test_info_series_follow_a_replaced_inventory() -> None:
    m = EngineMetrics(CollectorRegistry())
    units = {"gov-office": Unit("gov-office", "市政府办公室")}
    m.update_state(compute_scores(ALERTS, ASSETS, NOW), ASSETS, ALERTS, units)
    m.update_state(compute_scores([], ASSETS, NOW), ASSETS, [], units)  # same inventory
    assert {dict(k[1])["asset"] for k in samples(m.registry) if k[0] == "ssa_asset_info"} == {
        "portal", "gw-1",
    }  # fmt: skip
    smaller = {"portal": ASSETS["portal"]}  # a sync replaces the mapping
    renamed = {"gov-office": Unit("gov-office", "市人民政府办公室")}
    m.update_state(compute_scores([], smaller, NOW), smaller, [], renamed)
    s = samples(m.registry)
    assert {dict(k[1])["asset"] for k in s if k[0] == "ssa_asset_info"} == {"portal"}
    assert s[("ssa_unit_info", (("name", "市人民政府办公室"), ("unit", "gov-office")))] == 1
    assert ("ssa_unit_info", (("name", "市政府办公室"), ("unit", "gov-office"))) not in s


def test_a_batch_of_observations_is_counted_at_once() -> None:
    m = EngineMetrics(CollectorRegistry())
    m.observations({("http", True): 40, ("http", False): 2, ("gopher", True): 3})
    s = samples(m.registry)
    assert s[("ssa_observations_total", (("probe", "http"), ("result", "ok")))] == 40
    assert s[("ssa_observations_total", (("probe", "http"), ("result", "fail")))] == 2
    assert s[("ssa_observations_total", (("probe", "other"), ("result", "ok")))] == 3
