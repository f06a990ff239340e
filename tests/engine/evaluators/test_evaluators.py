"""Every rule type on the pure core: observations and ticks in, findings out."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.evaluators.anomaly import ewma_baseline
from engine.events import Observation
from engine.rules_engine import RuleEngine
from engine.store import DictStore
from tests.rulehelpers import T0, asset, obs, pack, secs

HEAD = "rules:\n  - id: r\n    title: \"{asset.name} r\"\n    severity: high\n"

Script = list[Observation | float]  # an observation, or a tick at that many seconds


def run(tmp_path: Path, rule_yaml: str, script: Script,
        assets: dict[str, Any] | None = None) -> list[tuple[str, float, str, dict[str, str]]]:
    rs = pack(tmp_path, HEAD + rule_yaml)
    engine = RuleEngine(
        rs, DictStore(), assets or {"a1": asset("a1"), "a2": asset("a2", criticality=5)}
    )
    out = []
    for item in script:
        found = (engine.tick(T0 + timedelta(seconds=item)) if isinstance(item, float | int)
                 else engine.process(item))
        out += [(f.kind, secs(f.at), f.asset, f.group) for f in found]
    return out


MATCH = """\
    type: match
    condition: probe == "tcp" and data.open == true and data.port in [23, 3389]
    group_by: [data.port]
    resolve: probe == "tcp" and data.open == false
"""
THRESHOLD = """\
    type: threshold
    condition: probe == "http" and not ok
    resolve: probe == "http" and ok
    count: 3
    window: 60s
"""
BRUTE = """\
    type: threshold
    condition: probe == "ingest" and data.outcome == "failure"
    group_by: [data.source_ip]
    count: 2
    window: 1m
"""
CHANGE = """\
    type: change
    condition: probe == "dns"
    field: data.addresses
"""
ABSENCE = """\
    type: absence
    probe: http
    for: 5m
"""
ABSENCE_KEY_SITES = """\
    type: absence
    probe: http
    for: 5m
    condition: asset.criticality >= 4
"""
ANOMALY = """\
    type: anomaly
    condition: probe == "http"
    field: data.latency_ms
    warmup: 4
    alpha: 0.5
    z: 3
    min_std: 10
    direction: up
"""
SEQ = """\
    type: sequence
    steps: ['probe == "tcp" and data.open == true', 'probe == "content" and data.defaced']
    within: 1h
"""
SEQ3 = """\
    type: sequence
    steps: ['data.event_type == "scan"', 'data.event_type == "login_failure"',
            'data.event_type == "login_success"']
    within: 10m
"""
NOT_FOLLOWED = """\
    type: sequence
    mode: not_followed_by
    steps: ['probe == "content" and data.defaced', 'probe == "content" and not data.defaced']
    within: 10m
"""
BY_UNIT = """\
    type: sequence
    by: unit
    steps: ['probe == "tcp" and data.open == true', 'probe == "content" and data.defaced']
    within: 1h
"""


def tcp(at: float, port: int, is_open: bool = True, **kw: Any) -> Observation:
    return obs(at, "tcp", port=port, open=is_open, **kw)


def http(at: float, ok: bool = True, **kw: Any) -> Observation:
    return obs(at, "http", ok=ok, **kw)


def fail(at: float, ip: str) -> Observation:
    return obs(at, "ingest", outcome="failure", source_ip=ip)


CASES: list[tuple[str, str, Script, list[tuple[str, float, str, dict[str, str]]]]] = [
    ("match per group, resolve only what fired", MATCH,
     [tcp(0, 23), tcp(1, 80), tcp(2, 3389), tcp(3, 23, False), tcp(4, 22, False),
      tcp(5, 23, False)],
     [("match", 0, "a1", {"data.port": "23"}), ("match", 2, "a1", {"data.port": "3389"}),
      ("resolve", 3, "a1", {"data.port": "23"})]),
    ("threshold fires at the count and while over it", THRESHOLD,
     [http(0, False), http(10, False), http(20, False), http(30, False), http(40), http(50)],
     [("match", 20, "a1", {}), ("match", 30, "a1", {}), ("resolve", 40, "a1", {})]),
    ("threshold matches must fall in the window", THRESHOLD,
     [http(0, False), http(40, False), http(70, False), http(80, False)],
     [("match", 80, "a1", {})]),
    ("threshold resolve without firing is silent", THRESHOLD,
     [http(0, False), http(5)], []),
    ("threshold counts per group", BRUTE,
     [fail(0, "203.0.113.1"), fail(1, "203.0.113.2"), fail(2, "203.0.113.1"),
      fail(3, "203.0.113.3")],
     [("match", 2, "a1", {"data.source_ip": "203.0.113.1"})]),
    ("threshold counts per asset", THRESHOLD,
     [http(0, False), obs(1, "http", ok=False, asset="a2"), http(2, False),
      obs(3, "http", ok=False, asset="a2"), http(4, False)],
     [("match", 4, "a1", {})]),
    ("change: first value is the baseline, sets compare unordered", CHANGE,
     [obs(0, "dns", addresses=["192.0.2.1", "192.0.2.2"]),
      obs(1, "dns", addresses=["192.0.2.2", "192.0.2.1"]),
      obs(2, "dns", ok=False),
      obs(3, "dns", addresses=["203.0.113.5"]),
      obs(4, "dns", addresses=["203.0.113.5"])],
     [("match", 3, "a1", {})]),
    ("absence: dead collector", ABSENCE,
     [http(0), 60.0, 299.0, 301.0, 600.0],
     [("match", 300, "a1", {})]),
    ("absence fires once, then the next result resolves", ABSENCE,
     [http(0), 400.0, 500.0, http(700)],
     [("match", 300, "a1", {}), ("resolve", 700, "a1", {})]),
    ("absence watches only the assets its condition selects", ABSENCE_KEY_SITES,
     [http(0), obs(0, "http", asset="a2"), 400.0],
     [("match", 300, "a2", {})]),
    ("absence: a steady probe never fires", ABSENCE,
     [http(0), http(200), http(400), 450.0, http(600), 650.0], []),
    ("anomaly: warm-up, spike, back to normal", ANOMALY,
     [http(0, latency_ms=100), http(1, latency_ms=110), http(2, latency_ms=90),
      http(3, latency_ms=100), http(4, latency_ms=105), http(5, latency_ms=900),
      http(6, latency_ms=101)],
     [("match", 5, "a1", {}), ("resolve", 6, "a1", {})]),
    ("anomaly up ignores drops; non-numbers are skipped", ANOMALY,
     [http(0, latency_ms=100), http(1, latency_ms=100), http(2, latency_ms=100),
      http(3, latency_ms=100), http(4, latency_ms=1), http(5, latency_ms="slow"),
      http(6)], []),
    ("sequence A then B", SEQ,
     [tcp(0, 3389), obs(10, "content", defaced=False), obs(20, "content", defaced=True)],
     [("match", 20, "a1", {})]),
    ("sequence B then A does not match", SEQ,
     [obs(0, "content", defaced=True), tcp(10, 3389)], []),
    ("sequence outside the window does not match", SEQ,
     [tcp(0, 3389), obs(3601, "content", defaced=True)], []),
    ("sequence of three steps in order", SEQ3,
     [obs(0, "ingest", event_type="scan"), obs(1, "ingest", event_type="login_success"),
      obs(2, "ingest", event_type="login_failure"), obs(3, "ingest", event_type="login_success")],
     [("match", 3, "a1", {})]),
    ("A not followed by B: fires at the deadline on a tick", NOT_FOLLOWED,
     [obs(0, "content", defaced=True), 300.0, 630.0, 900.0],
     [("match", 600, "a1", {})]),
    ("A not followed by B: fires on a late observation too", NOT_FOLLOWED,
     [obs(0, "content", defaced=True), obs(700, "content", defaced=True)],
     [("match", 600, "a1", {})]),
    ("A followed by B in time is quiet", NOT_FOLLOWED,
     [obs(0, "content", defaced=True), obs(100, "content", defaced=False), 1000.0], []),
    ("sequence by unit spans assets", BY_UNIT,
     [tcp(0, 3389), obs(10, "content", asset="a2", defaced=True)],
     [("match", 10, "a2", {})]),
]


@pytest.mark.parametrize(("name", "rule", "script", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rule_type(tmp_path: Path, name: str, rule: str, script: Script,
                   expected: list[tuple[str, float, str, dict[str, str]]]) -> None:
    assert run(tmp_path, rule, script) == expected


def test_sequence_by_asset_does_not_span_assets(tmp_path: Path) -> None:
    script: Script = [tcp(0, 3389), obs(10, "content", asset="a2", defaced=True)]
    assert run(tmp_path, SEQ, script) == []


def _explained(tmp_path: Path, rule: str, script: Script, assets: dict[str, Any]) -> list[str]:
    rs = pack(tmp_path, HEAD + rule)
    engine = RuleEngine(rs, DictStore(), assets)
    out = []
    for item in script:
        found = (engine.tick(T0 + timedelta(seconds=item)) if isinstance(item, float)
                 else engine.process(item))
        out += [f"{f.title} | {f.explanation}" for f in found]
    return out


def test_absence_tells_dead_target_from_dead_collector(tmp_path: Path) -> None:
    assets = {"a1": asset("a1"), "a2": asset("a2")}
    # a2 keeps reporting through the same collector: a1 is a dead target
    target = [http(0), obs(0, "http", asset="a2"), obs(200, "http", asset="a2"),
              obs(400, "http", asset="a2"), 400.0]
    assert _explained(tmp_path, ABSENCE, target, assets) == [
        "a1 r (dead target) | no http observation for 5m since 2026-01-01T00:00:00.000000Z; "
        "dead target: collector c1 (v1) still reports other assets but nothing about a1",
    ]
    # another probe of a1 still reports: the http probe alone is silent
    probe = [http(0), obs(200, "tls"), obs(350, "tls", asset="a1"), 350.0]
    assert _explained(tmp_path, ABSENCE, probe, assets) == [
        "a1 r (silent probe) | no http observation for 5m since 2026-01-01T00:00:00.000000Z; "
        "silent probe: other probes of a1 still report, the http probe does not",
    ]
    # nothing at all from the collector
    dead = [http(0), obs(0, "http", asset="a2"), 400.0]
    assert [x.split(" | ")[0] for x in _explained(tmp_path, ABSENCE, dead, assets)] == [
        "a1 r (dead collector)", "a2 r (dead collector)",
    ]


def test_ewma_baseline_matches_the_recursive_definition() -> None:
    rng = np.random.default_rng(3)
    xs = list(rng.normal(200, 20, size=30))
    alpha = 0.1
    mean, var = ewma_baseline(xs, alpha)
    w = [(1 - alpha) ** (len(xs) - 1 - i) for i in range(len(xs))]
    m = sum(wi * x for wi, x in zip(w, xs, strict=True)) / sum(w)
    v = sum(wi * (x - m) ** 2 for wi, x in zip(w, xs, strict=True)) / sum(w)
    assert mean == pytest.approx(m) and var == pytest.approx(v)


def test_threshold_state_stays_bounded(tmp_path: Path) -> None:
    rs = pack(tmp_path, HEAD + BRUTE)
    store = DictStore()
    engine = RuleEngine(rs, store, {"a1": asset("a1")})
    for i in range(2000):
        engine.process(fail(i * 10.0, f"198.51.100.{i % 250}"))
    groups = store["a1"]["r"]
    assert len(groups) <= 70  # idle groups are pruned; each keeps at most `count` entries
    assert all(len(g["h"]) <= 2 for g in groups.values())
