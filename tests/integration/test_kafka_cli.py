"""``ssa kafka up | status | down`` manage a real broker and leave nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.broker.local import free_port

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _ssa(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_up_status_down(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSA_")}
    env.update(
        SSA_KAFKA_STATE_DIR=str(tmp_path / "kafka"),
        SSA_KAFKA_PORT=str(free_port()),
        SSA_KAFKA_CONTROLLER_PORT=str(free_port()),
        SSA_KAFKA_HEAP="512m",
    )
    up = _ssa(env, "kafka", "up")
    try:
        assert up.returncode == 0, up.stderr
        assert "kafka started" in up.stdout
        pid = int((tmp_path / "kafka" / "kafka.pid").read_text())
        assert Path(f"/proc/{pid}").exists()

        again = _ssa(env, "kafka", "up")
        assert again.returncode == 0 and "already running" in again.stdout

        status = _ssa(env, "kafka", "status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert "kafka healthy" in status.stdout
        assert "Apache Kafka 3.9.1" in status.stdout
        assert f"pid {pid}" in status.stdout
    finally:
        down = _ssa(env, "kafka", "down")
    assert down.returncode == 0 and "kafka stopped" in down.stdout
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
    assert not (tmp_path / "kafka" / "kafka.pid").exists()

    after = _ssa(env, "kafka", "status")
    assert after.returncode == 1
    assert "kafka unhealthy" in after.stdout
