"""The main job: ``ssa demo --duration`` with a real Prometheus scraping it.

The whole system runs on the simulated city (collector, engine, notifier,
a real broker); the Debian ``prometheus`` binary scrapes the engine's,
collector's and notifier's /metrics; afterwards every PromQL expression of
every dashboard panel must parse and return data, and the demo's summary
must name the alerts the scenario raised.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.broker.local import free_port
from engine.demo.plan import SHOWCASE
from engine.demo.prometheus import PrometheusServer, ssa_scrape_config
from engine.demo.promql_check import QueryResult, check_files
from engine.settings import Settings, with_overrides
from tests.conftest import REPO

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

DURATION_S = 100
#: Troubles of the default scenario that the shipped rules must turn into alerts.
EXPECTED_RULES = {"site-down", "defacement", "dark-links", "risky-port-exposed", "cert-expiring"}


def test_demo_runs_the_whole_system_and_feeds_every_dashboard(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    ports = {
        "SSA_API_PORT": free_port(),
        "SSA_COLLECTORS_METRICS_PORT": free_port(),
        "SSA_COLLECTORS_INGEST_PORT": free_port(),
        "SSA_COLLECTORS_SYSLOG_PORT": free_port(),
        "SSA_NOTIFY_METRICS_PORT": free_port(),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSA_")}
    env.update({k: str(v) for k, v in ports.items()})
    env.update(
        SSA_KAFKA_BOOTSTRAP=kafka_settings.kafka.bootstrap,
        SSA_TOPICS_PREFIX=kafka_settings.topics.prefix,
        SSA_TOPICS_PARTITIONS=str(kafka_settings.topics.partitions),
        SSA_API_TOKEN="demo-test-token",
    )
    settings = with_overrides(
        kafka_settings,
        api={"port": ports["SSA_API_PORT"]},
        collectors={"metrics_port": ports["SSA_COLLECTORS_METRICS_PORT"]},
        notify={"metrics_port": ports["SSA_NOTIFY_METRICS_PORT"]},
    )
    prometheus = PrometheusServer(
        tmp_path / "prometheus",
        ssa_scrape_config(
            settings, interval="2s", rule_files=[str(REPO / "deploy/prometheus/rules/ssa-self.yml")]
        ),
    )
    prometheus.start()
    try:
        started = time.monotonic()
        output = tmp_path / "demo.out"
        with open(output, "w") as sink:
            demo = subprocess.Popen(
                [sys.executable, "-m", "engine.cli", "demo", "--dir", str(tmp_path / "demo"),
                 "--duration", str(DURATION_S)],
                env=env, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
        # Query while the system still runs: once its targets go away, Prometheus
        # marks their series stale and instant queries return nothing. A panel
        # shows the run as it unfolds, so a query counts as returning data if it
        # did at any of the moments sampled during the scenario (an alert
        # annotation, say, has data only just after an alert fired).
        dashboards = sorted((REPO / "dashboards").glob("*.json"))
        rounds: list[list[QueryResult]] = []
        time.sleep(30)
        while time.monotonic() - started < DURATION_S - 10:
            rounds.append(check_files(dashboards, prometheus.url, SHOWCASE))
            time.sleep(4)
        demo.wait(timeout=120)
        out = output.read_text()
        logs = "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted((tmp_path / "demo" / "logs").glob("*.log"))
        )
        assert demo.returncode == 0, out + logs

        # Every dashboard query parses and returns data from what Prometheus scraped.
        assert len(rounds) >= 5
        results = rounds[-1]
        assert len(results) > 40
        errors = [r.describe() for rs in rounds for r in rs if not r.parsed or r.error]
        assert errors == [], "\n".join(errors)
        with_data = {(r.query, r.expr) for rs in rounds for r in rs if r.has_data}
        no_data = [r.describe() for r in results if (r.query, r.expr) not in with_data]
        assert no_data == [], "\n".join(no_data) + logs

        assert "ssa demo is running" in out
        assert "summary after" in out and "alerts raised" in out
        raised = {line.split()[0] for line in out.split("alerts raised", 1)[1].splitlines()[1:]
                  if line.startswith("  ") and not line.strip().startswith("state")}  # fmt: skip
        assert EXPECTED_RULES <= raised, out + logs
        # The notifier told the duty room (the city's webhook receiver) about them.
        received = tmp_path / "demo" / "city" / "notifications.jsonl"
        assert received.exists() and received.read_text().count("\n") >= len(EXPECTED_RULES)
    finally:
        prometheus.stop()
    # Nothing the demo started is left running.
    time.sleep(0.5)
    leftovers = subprocess.run(
        ["pgrep", "-f", str(tmp_path / "demo")], capture_output=True, text=True
    )
    assert leftovers.stdout.strip() == ""
