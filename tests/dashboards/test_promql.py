"""Every dashboard query parses and returns data from a real Prometheus.

The Debian ``prometheus`` binary runs on a free loopback port with its own
storage folder and scrapes the engine's, collectors' and notifier's real
metric classes (``exporter.SampleExporter``) every second; then
``engine.demo.promql_check`` evaluates each panel's and annotation's PromQL
through ``/api/v1/query``, with the template variables filled in.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.demo.plan import SHOWCASE
from engine.demo.prometheus import PrometheusServer, scrape_config, ssa_jobs
from engine.demo.promql_check import (
    PanelQuery,
    PrometheusAPI,
    check_dashboard,
    check_files,
    extract_queries,
    resolve_variables,
    substitute,
)
from tests.dashboards.exporter import SampleExporter

REPO = Path(__file__).resolve().parents[2]
FILES = sorted((REPO / "dashboards").glob("*.json"))
#: Values a duty officer would pick: a unit with an outage, its https website.
VALUES = SHOWCASE
#: Metrics a panel shows that no ssa process exports yet, and who should: the test
#: fails as soon as one of them appears, so this list cannot go stale.
PENDING: dict[str, str] = {}


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    exporter = SampleExporter()
    targets = exporter.start()
    jobs = ssa_jobs(targets["ssa-engine"], targets["ssa-collector"], targets["ssa-notifier"])
    server = PrometheusServer(
        tmp_path_factory.mktemp("prometheus"), scrape_config(jobs, interval="1s")
    )
    try:
        server.start()
        deadline = time.monotonic() + 30
        # rate() needs two samples in its window; wait for three scrapes of every job.
        while time.monotonic() < deadline:
            counts = server.query("count_over_time(up[1m])")
            if len(counts) == 3 and all(float(s["value"][1]) >= 3 for s in counts):
                break
            time.sleep(0.3)
        else:
            pytest.fail("Prometheus did not scrape the three jobs three times in 30s")
        yield server
    finally:
        server.stop()
        exporter.stop()


def _pending(expr: str) -> str | None:
    return next((m for m in PENDING if m in expr), None)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_query_parses_and_returns_data(prometheus: PrometheusServer, path: Path) -> None:
    api = PrometheusAPI(prometheus.url)
    try:
        results = check_dashboard(json.loads(path.read_text(encoding="utf-8")), api, VALUES)
    finally:
        api.close()
    assert len(results) >= 6
    for r in results:
        assert r.parsed and r.error is None, r.describe()
        if _pending(r.expr):
            assert not r.has_data, f"{_pending(r.expr)} is exported now: drop it from PENDING"
        else:
            assert r.has_data, r.describe()
        assert "$" not in r.expr.replace("$1", ""), f"unsubstituted variable: {r.describe()}"


def test_variables_resolve_as_grafana_would(prometheus: PrometheusServer) -> None:
    by_uid = {json.loads(p.read_text())["uid"]: json.loads(p.read_text()) for p in FILES}
    api = PrometheusAPI(prometheus.url)
    try:
        unit = resolve_variables(by_uid["ssa-unit"], api)
        asset = resolve_variables(by_uid["ssa-asset"], api, {"asset": "finance-www"})
        alerts = resolve_variables(by_uid["ssa-alerts"], api)
    finally:
        api.close()
    assert unit == {"unit": "city-bigdata"}  # the first unit, in sorted order
    assert asset == {"asset": "finance-www", "unit": "city-finance"}  # unit follows the asset
    assert alerts == {"severity": ".*", "unit": ".*"}  # multi-value variables start at "All"


def test_a_broken_query_is_reported_as_a_parse_error_and_a_missing_metric_as_no_data(
    prometheus: PrometheusServer,
) -> None:
    dashboard = {
        "uid": "probe",
        "panels": [
            {"id": 1, "title": "bad", "targets": [{"refId": "A", "expr": "sum(rate(x[5m]"}]},
            {"id": 2, "title": "none", "targets": [{"refId": "A", "expr": "ssa_no_such_metric"}]},
            {"id": 3, "title": "ok", "targets": [{"refId": "A", "expr": "ssa_posture_score"}]},
        ],
    }
    api = PrometheusAPI(prometheus.url)
    try:
        bad, none, ok = check_dashboard(dashboard, api)
    finally:
        api.close()
    assert not bad.parsed and bad.error is not None and bad.error.startswith("bad_data:")
    assert none.parsed and not none.has_data and none.describe().endswith(
        "NO DATA :: ssa_no_such_metric"
    )
    assert ok.parsed and ok.series == 1


def test_check_files_covers_every_dashboard(prometheus: PrometheusServer) -> None:
    results = check_files(FILES, prometheus.url, VALUES)
    expected = sum(len(extract_queries(json.loads(p.read_text()))) for p in FILES)
    assert len(results) == expected > 50
    assert {r.query.dashboard for r in results} == {
        "ssa-overview", "ssa-unit", "ssa-asset", "ssa-alerts", "ssa-health",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("expr", "values", "expected"),
    [
        ('x{unit="$unit"}', {"unit": "u1"}, 'x{unit="u1"}'),
        ('x{unit=~"${unit}"}', {"unit": ".*"}, 'x{unit=~".*"}'),
        ('x{unit=~"${unit:regex}"}', {"unit": "a|b"}, 'x{unit=~"a|b"}'),
        ("x{a='[[asset]]'}", {"asset": "p"}, "x{a='p'}"),
        ("rate(x[$__rate_interval])", {}, "rate(x[1m])"),
        ("increase(x[$__range])", {}, "increase(x[1h])"),
        ('label_replace(x, "d", "$1", "s", "(.*)")', {},
         'label_replace(x, "d", "$1", "s", "(.*)")'),
        ("x{v=\"$unknown\"}", {}, "x{v=\"$unknown\"}"),
    ],
)  # fmt: skip
def test_substitute_fills_variables_and_grafana_builtins(
    expr: str, values: dict[str, str], expected: str
) -> None:
    assert substitute(expr, values) == expected


def test_extract_queries_finds_nested_row_panels_and_annotations() -> None:
    dashboard = {
        "uid": "d",
        "panels": [
            {"id": 1, "type": "row", "title": "r", "panels": [
                {"id": 2, "title": "inner", "targets": [{"refId": "A", "expr": "up"}]}]},
            {"id": 3, "type": "text", "title": "t"},
        ],
        "annotations": {"list": [{"name": "a", "expr": "changes(up[1m]) > 0"}]},
    }  # fmt: skip
    assert extract_queries(dashboard) == [
        PanelQuery("d", 2, "inner", "A", "up"),
        PanelQuery("d", None, "a", "annotation", "changes(up[1m]) > 0"),
    ]
