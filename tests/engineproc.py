"""One real ``ssa engine`` process for a test: its own API port, data dir and log.

Shared by the engine, replay and reliability tests. The process gets the
test's topics (``settings.topics.prefix``) and the session broker; ``metric``
reads its ``/metrics`` over HTTP, the way Prometheus would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from engine.broker.local import free_port
from engine.processes import terminate
from engine.settings import Settings
from engine.stream.app import control_group
from engine.stream.evaluator import engine_group
from tests.conftest import REPO


class EngineProcess:
    """An ``ssa engine`` subprocess on the given rules and inventory."""

    def __init__(
        self,
        settings: Settings,
        tmp: Path,
        rules: Path,
        inventory: Path,
        *,
        token: str = "",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.port = free_port()
        self.log = tmp / "engine.log"
        #: The group of the engine's evaluator (observations, engine commands) and
        #: of its control fan-out (``ssa.control``).
        self.group = engine_group(settings)
        self.control_group = control_group(settings)
        self.argv = [
            sys.executable, "-m", "engine.cli", "engine",
            "--rules", str(rules), "--inventory", str(inventory),
        ]  # fmt: skip
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SSA_")}
        self.env.update(
            SSA_KAFKA_BOOTSTRAP=settings.kafka.bootstrap,
            SSA_TOPICS_PREFIX=settings.topics.prefix,
            SSA_TOPICS_PARTITIONS=str(settings.topics.partitions),
            SSA_API_PORT=str(self.port),
            SSA_API_TOKEN=token,
            SSA_ENGINE_DATA_DIR=str(tmp / "engine-data"),
        )
        self.env.update(env or {})
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> None:
        """Start the process and wait until its API answers."""
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log_text()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError("engine did not come up:\n" + self.log_text())

    def stop(self) -> None:
        """SIGTERM (a clean shutdown), SIGKILL after 30 s."""
        if self.proc:
            terminate([self.proc])

    def kill(self) -> None:
        """SIGKILL: no flush, no commit, no goodbye."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def metric(self, name: str, **labels: str) -> float:
        """The first sample of ``name`` whose labels include ``labels`` (0 if none)."""
        text = httpx.get(f"{self.url}/metrics", timeout=5).text
        for line in text.splitlines():
            if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
                if line[len(name)] in "{ ":
                    return float(line.rsplit(" ", 1)[1])
        return 0.0

    def wait_metric(self, name: str, value: float, timeout: float = 30, **labels: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.metric(name, **labels) >= value:
                return
            time.sleep(0.3)
        raise AssertionError(f"{name}{labels} never reached {value}: {self.metric(name, **labels)}")
