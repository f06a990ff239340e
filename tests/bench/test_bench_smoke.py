"""A small run of each bench script, so the scripts keep working (issue 9).

Benchmarks are not tests: nothing here asserts a speed. Each script is run
as the documentation says, with tiny sizes, and must exit 0 and print the
figures it exists for. Scripts of the other areas are run too when present.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

BENCH = REPO / "bench"


def run(script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 90) -> str:
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True, text=True, cwd=REPO, timeout=timeout,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_scale_prints_memory_and_recompute_for_each_size() -> None:
    out = run("bench_scale.py", "--assets", "50,200", "--rounds", "1", "--runs", "1")
    rows = [line.split() for line in out.splitlines() if "->" not in line and "done" not in line]
    assert [r[0] for r in rows if r[:1] in (["50"], ["200"])] == ["50", "200"]
    assert "50 -> 200 assets (x4): state memory" in out


@pytest.mark.kafka
@pytest.mark.slow
def test_e2e_prints_throughput_and_latency(kafka_bootstrap: str) -> None:
    out = run(
        "bench_e2e.py", "--bootstrap", kafka_bootstrap, "--assets", "60",
        "--observations", "300", "--rate", "100", "--seconds", "2", "--trigger", "0.1",
        "--runs", "1", "--timeout", "60",
    )  # fmt: skip
    assert "run 1:" in out and "worker up after" in out
    assert "latency at 100 obs/s for 2s" in out and "median p99" in out


def test_common_records_a_section(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import common
    finally:
        sys.path.remove(str(BENCH))
    md = tmp_path / "BENCHMARKS.md"
    common.write_section("x", "cmd one", "figure 1", md)
    common.write_section("y", "cmd two", "figure 2", md)
    common.write_section("x", "cmd three", "figure 3", md)
    text = md.read_text()
    assert "figure 1" not in text and "figure 3" in text and "figure 2" in text
    assert text.index("cmd three") < text.index("cmd two")
    assert common.percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert common.percentile([float(i) for i in range(1, 101)], 99) == 99.0


@pytest.mark.parametrize(
    ("script", "args", "expect"),
    [
        ("bench_core.py", ("--messages", "2000", "--runs", "1"), "decode only"),
        ("bench_alerting.py", ("--findings", "500", "--alerts", "100", "--runs", "1"), "/s"),
        (
            "bench_http_probe.py",
            ("--concurrency", "2", "--seconds", "0.5", "--runs", "1"),
            "ratio ssa/blackbox",
        ),
    ],
)
def test_other_bench_scripts_run(script: str, args: tuple[str, ...], expect: str) -> None:
    if not (BENCH / script).exists():
        pytest.fail(f"{script} is gone; update this smoke test")
    assert expect in run(script, *args)


@pytest.mark.kafka
@pytest.mark.slow
def test_replay_bench_runs(kafka_bootstrap: str) -> None:
    out = run(
        "bench_replay.py", "--bootstrap", kafka_bootstrap, "--observations", "500",
        "--runs", "1", "--workers", "1",
    )  # fmt: skip
    for row in ("read, old: kafka-python", "read, new: aiokafka", "replay, old read path",
                "replay (ssa replay", "pipeline only", "replay: new / old ="):  # fmt: skip
        assert row in out
    assert "the same alerts, byte for byte" in out
