"""The demo's Prometheus: configured from the settings, checked by promtool, started for real."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from engine.demo.prometheus import PrometheusError, PrometheusServer, ssa_scrape_config
from engine.settings import Settings

REPO = Path(__file__).resolve().parents[2]
RULES = str(REPO / "deploy/prometheus/rules/ssa-self.yml")


def test_the_scrape_config_follows_the_settings_and_passes_promtool(tmp_path: Path) -> None:
    settings = Settings.load(env={"SSA_API_PORT": "18080", "SSA_COLLECTORS_METRICS_PORT": "19108",
                                  "SSA_NOTIFY_METRICS_PORT": "19109"})  # fmt: skip
    config = ssa_scrape_config(settings, interval="2s", rule_files=[RULES],
                               alertmanagers=["127.0.0.1:19093"])  # fmt: skip
    targets = {j["job_name"]: j["static_configs"][0]["targets"] for j in config["scrape_configs"]}
    assert targets == {
        "ssa-engine": ["127.0.0.1:18080"],
        "ssa-collector": ["127.0.0.1:19108"],
        "ssa-notifier": ["127.0.0.1:19109"],
    }
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    r = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 1 rule files found" in r.stdout


def test_prometheus_starts_loads_the_self_rules_and_stops(tmp_path: Path) -> None:
    config = ssa_scrape_config(Settings.load(env={}), interval="1s", rule_files=[RULES])
    with PrometheusServer(tmp_path, config) as prom:
        assert prom.pid is not None
        # No ssa process runs: the engine's "down" alert is what Prometheus sees.
        assert prom.query('up{job="ssa-engine"} == 0 or absent(up{job="ssa-engine"})')
        # The nine self-monitoring rules were loaded from deploy/prometheus/rules.
        groups = httpx.get(f"{prom.url}/api/v1/rules", trust_env=False).json()["data"]["groups"]
        assert [len(g["rules"]) for g in groups] == [9]
    assert prom.pid is None


def test_a_bad_config_is_reported_with_prometheus_own_words(tmp_path: Path) -> None:
    server = PrometheusServer(tmp_path, {"global": {"scrape_interval": "soon"}})
    bad_duration = r'exited with 2: .*not a valid duration string: \\"soon'
    with pytest.raises(PrometheusError, match=bad_duration):
        server.start(timeout=15)
