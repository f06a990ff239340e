"""``ssa collect --inventory FILE`` as a real process, and ``ssa probe`` by hand.

The collector probes an HTTPS site on loopback (certificate from a test CA),
publishes to the real broker, and exports the metrics on /metrics, including
the certificate expiry from the tls observations. SIGTERM stops it cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from engine.broker.local import free_port
from engine.settings import Settings
from tests.collectors.conftest import read_observations
from tests.servers.certs import TestPKI
from tests.servers.http import HttpServer, Page

pytestmark = pytest.mark.kafka


def env_for(settings: Settings, metrics_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "SSA_KAFKA_BOOTSTRAP": settings.kafka.bootstrap,
        "SSA_TOPICS_PREFIX": settings.topics.prefix,
        "SSA_COLLECTORS_METRICS_PORT": str(metrics_port),
        "SSA_COLLECTORS_INGEST_PORT": "0",
        "SSA_COLLECTORS_SYSLOG_PORT": "0",
    }


def test_collect_publishes_and_exports_metrics(kafka_settings: Settings, tmp_path: Path) -> None:
    pki = TestPKI(tmp_path)
    with HttpServer({"/": Page("<title>门户</title>ok")}, ssl_context=pki.valid(days=30)) as site:
        inv = tmp_path / "inv.yaml"
        inv.write_text(
            "units:\n  - {id: lab, name: Lab}\nassets:\n"
            f"  - id: portal\n    unit: lab\n    kind: website\n"
            f"    url: https://127.0.0.1:{site.port}/\n    criticality: 5\n"
            f"    probes: [http, tls]\n    interval: 5s\n"
            f"    options: {{http: {{ca_file: '{pki.ca_file}'}}, tls: {{ca_file: '{pki.ca_file}', "
            "legacy_check: false}}\n"
        )
        metrics_port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "collect", "--inventory", str(inv),
             "--vantage", "lab-east", "--id", "c-cmd"],
            env=env_for(kafka_settings, metrics_port), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )
        try:
            obs = read_observations(
                kafka_settings.kafka.bootstrap, kafka_settings.topic("observations"), count=2,
                timeout=40,
            )
            by_probe = {o.probe: o for o in obs}
            assert set(by_probe) == {"http", "tls"}, [o.to_dict() for o in obs]
            assert by_probe["http"].ok and by_probe["http"].data["status"] == 200
            assert by_probe["tls"].ok and by_probe["tls"].vantage == "lab-east"
            text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert 'ssa_probe_success{asset="portal",probe="http",unit="lab"} 1.0' in text
    assert 'ssa_probes_total{probe="tls",result="ok"} 1.0' in text
    assert "ssa_probe_duration_seconds_bucket" in text
    expiry = next(
        float(line.split()[-1]) for line in text.splitlines()
        if line.startswith('ssa_tls_cert_expiry_timestamp_seconds{asset="portal"}')
    )
    assert 29 * 86400 < expiry - time.time() < 31 * 86400
    assert "ssa_collector_buffer_size 0.0" in text
    assert "ssa_collector_buffer_dropped_total 0.0" in text


def test_probe_prints_one_observation(tmp_path: Path) -> None:
    with HttpServer({"/": Page("<title>值班</title>hello")}) as site:
        run = subprocess.run(
            [sys.executable, "-m", "engine.cli", "probe", f"http://127.0.0.1:{site.port}/",
             "--probe", "http", "--timeout", "5"],
            capture_output=True, text=True, timeout=30,
        )
    assert run.returncode == 0, run.stderr
    obs = json.loads(run.stdout)
    assert obs["probe"] == "http" and obs["ok"] is True and obs["data"]["status"] == 200
    assert obs["data"]["title"] == "值班" and obs["asset"] == "adhoc"


def test_probe_of_a_closed_port_fails_as_data() -> None:
    port = free_port()
    run = subprocess.run(
        [sys.executable, "-m", "engine.cli", "probe", f"http://127.0.0.1:{port}/",
         "--probe", "http", "--timeout", "2"],
        capture_output=True, text=True, timeout=30,
    )
    assert run.returncode == 1
    obs = json.loads(run.stdout)
    assert obs["ok"] is False and obs["error"]


def test_probe_rejects_an_unknown_probe() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "engine.cli", "probe", "192.0.2.1", "--probe", "htp"],
        capture_output=True, text=True, timeout=30,
    )
    assert run.returncode == 2
    assert "unknown probe 'htp' (known: content, dns, http, icmp, ingest, tcp, tls)" in run.stderr
