"""The shipped Prometheus, Alertmanager and docker-compose files pass their own tools.

``promtool`` and ``amtool`` are the real Debian binaries (packages ``prometheus``
and ``prometheus-alertmanager``); ``docker-compose config`` parses and
validates the compose file without a Docker daemon.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which(cmd[0])
    assert exe is not None, f"{cmd[0]} is not installed (scripts/setup.sh installs it)"
    return subprocess.run([exe, *cmd[1:]], cwd=REPO, capture_output=True, text=True, timeout=60)


def test_promtool_accepts_the_prometheus_config() -> None:
    r = run("promtool", "check", "config", "deploy/prometheus/prometheus.yml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 1 rule files found" in r.stdout


def test_promtool_accepts_the_self_monitoring_rules() -> None:
    r = run("promtool", "check", "rules", "deploy/prometheus/rules/ssa-self.yml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 9 rules found" in r.stdout


def test_the_self_monitoring_rules_fire_as_their_unit_tests_say() -> None:
    r = run("promtool", "test", "rules", "tests/dashboards/ssa-self.test.yml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_the_self_monitoring_rules_cover_what_the_issue_asks() -> None:
    groups = yaml.safe_load((REPO / "deploy/prometheus/rules/ssa-self.yml").read_text())["groups"]
    names = {r["alert"] for g in groups for r in g["rules"]}
    assert {"SsaEngineDown", "SsaEngineLagHigh", "SsaCollectorsSilent",
            "SsaDeadLettersRising"} <= names  # fmt: skip
    for g in groups:
        for r in g["rules"]:
            assert r["labels"]["component"] == "ssa" and r["labels"]["severity"]
            assert " / " in r["annotations"]["summary"]


def test_prometheus_scrapes_the_three_ssa_jobs() -> None:
    config = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {j["job_name"] for j in config["scrape_configs"]}
    assert {"ssa-engine", "ssa-collector", "ssa-notifier"} <= jobs


def test_amtool_accepts_the_alertmanager_config() -> None:
    r = run("amtool", "check-config", "deploy/alertmanager/alertmanager.yml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout and "3 receivers" in r.stdout


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        ("alertname=SsaEngineDown component=ssa severity=critical", "ssa-operators"),
        ("rule=site-down asset=portal unit=city-gov-office severity=critical",
         "on-call,duty-room"),
        ("rule=cert-expiring asset=portal severity=medium", "duty-room"),
    ],
)  # fmt: skip
def test_alertmanager_routes_alerts_to_the_right_people(labels: str, receivers: str) -> None:
    r = run("amtool", "config", "routes", "test",
            "--config.file=deploy/alertmanager/alertmanager.yml", *labels.split())  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == receivers


def test_docker_compose_parses_the_whole_stack() -> None:
    r = run("docker-compose", "-f", "docker-compose.yml", "config")
    assert r.returncode == 0, r.stderr
    config = yaml.safe_load(r.stdout)
    services = config["services"]
    assert set(services) >= {"kafka", "init", "engine", "collector", "notifier", "prometheus",
                             "alertmanager", "grafana"}  # fmt: skip
    assert services["kafka"]["image"].startswith("apache/kafka:3.9")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["engine"]["command"] == ["engine"]
    assert services["collector"]["command"][0] == "collect"
    assert services["notifier"]["command"] == ["notify"]
    for name in ("engine", "collector", "notifier"):
        assert services[name]["build"]["context"] == str(REPO)
        assert services[name]["environment"]["SSA_KAFKA_BOOTSTRAP"] == "kafka:9092"
    for svc in services.values():  # published ports bind loopback only
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), port
    assert (REPO / "Dockerfile").is_file()


def test_the_notifier_gets_every_secret_its_routes_name() -> None:
    def env_refs(node: object) -> set[str]:
        if isinstance(node, dict):
            if set(node) == {"env"}:
                return {str(node["env"])}
            return set().union(*(env_refs(v) for v in node.values()))
        if isinstance(node, list):
            return set().union(*(env_refs(v) for v in node))
        return set()

    named = env_refs(yaml.safe_load((REPO / "notify/routes.yaml").read_text(encoding="utf-8")))
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    env = compose["services"]["notifier"]["environment"]
    assert named and named <= set(env), sorted(named - set(env))
