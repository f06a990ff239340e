"""A real Prometheus (the Debian ``prometheus`` binary) for the demo and the tests.

``PrometheusServer`` writes a scrape configuration for the given jobs, starts
``prometheus`` on a loopback port with its own storage folder, waits until it
is ready, and stops only the process it started. The jobs are named as in
``deploy/prometheus/prometheus.yml`` (``ssa-engine``, ``ssa-collector``,
``ssa-notifier``), so the dashboards' and rules' queries work unchanged.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import yaml

from engine.broker.local import free_port
from engine.errors import SsaError
from engine.processes import terminate
from engine.settings import Settings


class PrometheusError(SsaError):
    """Prometheus could not be started or did not become ready."""


#: The job names of deploy/prometheus/prometheus.yml; dashboards and rules use them.
ENGINE_JOB, COLLECTOR_JOB, NOTIFIER_JOB = "ssa-engine", "ssa-collector", "ssa-notifier"


def ssa_jobs(
    engine: Sequence[str], collectors: Sequence[str], notifier: Sequence[str]
) -> dict[str, list[str]]:
    """The scrape jobs of ssa's processes, given each one's ``host:port`` /metrics targets."""
    return {ENGINE_JOB: list(engine), COLLECTOR_JOB: list(collectors), NOTIFIER_JOB: list(notifier)}


def scrape_config(
    jobs: Mapping[str, Sequence[str]],
    *,
    interval: str = "5s",
    rule_files: Sequence[str] = (),
    alertmanagers: Sequence[str] = (),
) -> dict[str, Any]:
    """A Prometheus configuration scraping ``jobs`` (job name -> ``host:port`` targets)."""
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": list(targets)}]}
            for job, targets in jobs.items()
        ],
    }
    if rule_files:
        config["rule_files"] = list(rule_files)
    if alertmanagers:
        config["alerting"] = {
            "alertmanagers": [{"static_configs": [{"targets": list(alertmanagers)}]}]
        }
    return config


def ssa_scrape_config(
    settings: Settings,
    *,
    interval: str = "5s",
    rule_files: Sequence[str] = (),
    alertmanagers: Sequence[str] = (),
) -> dict[str, Any]:
    """Scrape the engine, collector and notifier where ``settings`` says they listen."""
    jobs = ssa_jobs(
        [f"{settings.api.host}:{settings.api.port}"],
        [f"{settings.collectors.metrics_host}:{settings.collectors.metrics_port}"],
        [f"{settings.notify.metrics_host}:{settings.notify.metrics_port}"],
    )
    return scrape_config(
        jobs, interval=interval, rule_files=rule_files, alertmanagers=alertmanagers
    )


class PrometheusServer:
    """One ``prometheus`` process on ``127.0.0.1``, with its data under ``work_dir``."""

    def __init__(
        self,
        work_dir: Path,
        config: Mapping[str, Any],
        *,
        port: int = 0,
        binary: str = "prometheus",
        retention: str = "1d",
    ) -> None:
        self.work_dir = work_dir
        self.config = dict(config)
        self.port = port or free_port()
        self.binary = binary
        self.retention = retention
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def __enter__(self) -> PrometheusServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self, timeout: float = 30.0) -> None:
        """Write the config, start Prometheus and wait for ``/-/ready``."""
        exe = shutil.which(self.binary)
        if exe is None:
            raise PrometheusError(
                f"{self.binary} not found: install the Debian package 'prometheus' "
                "(scripts/setup.sh does)"
            )
        self.work_dir.mkdir(parents=True, exist_ok=True)
        config_file = self.work_dir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(self.config, sort_keys=False), encoding="utf-8")
        log = (self.work_dir / "prometheus.log").open("wb")
        self._proc = subprocess.Popen(  # noqa: S603 - a fixed binary and our own arguments
            [
                exe,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={self.work_dir / 'data'}",
                f"--storage.tsdb.retention.time={self.retention}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = (self.work_dir / "prometheus.log").read_text(errors="replace")[-2000:]
                raise PrometheusError(f"prometheus exited with {self._proc.returncode}: {tail}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/-/ready", timeout=1.0, trust_env=False).is_success:
                    return
            time.sleep(0.2)
        self.stop()
        raise PrometheusError(f"prometheus not ready on {self.url} within {timeout:g}s")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process this object started, then SIGKILL if it lingers."""
        proc, self._proc = self._proc, None
        if proc is not None:
            terminate([proc], timeout)

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (raises ``PrometheusError`` on an error)."""
        r = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, trust_env=False)
        body = r.json()
        if body.get("status") != "success":
            raise PrometheusError(f"{expr}: {body.get('errorType')}: {body.get('error')}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result
