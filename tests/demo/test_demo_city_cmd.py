"""``ssa demo-city`` runs the city for a fixed time, writes its inventory, says where things are."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.cli.demo_city_cmd import ingest_target
from engine.inventory.loader import load_inventory
from engine.settings import Settings


def test_demo_city_runs_for_a_fixed_time_and_writes_its_inventory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "city"
    url = "http://127.0.0.1:9/ingest/v1/events"
    rc = main(["demo-city", "--dir", str(work), "--speed", "1800", "--duration", "1.5",
               "--ingest-url", url, "--ingest-token", "t"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    assert f"inventory: {work / 'inventory.yaml'}" in out
    assert "city: 25 websites on 127.0.0.1" in out
    assert "playing the scenario: 15 steps in 1s (speed 1800)" in out
    assert "[city   3.0 min] hrss-www: a site stops listening (connection refused)" in out
    assert "city stopped: 15 scenario steps played, 0 notifications received" in out
    inv = load_inventory(work / "inventory.yaml", probes=("http", "tls", "dns", "tcp", "icmp",
                                                           "content", "ingest"))  # fmt: skip
    assert "portal" in inv.assets


def test_a_non_positive_speed_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo-city", "--dir", str(tmp_path), "--speed", "0"]) == 2
    assert "ssa: --speed must be positive, got 0.0" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "tokens", "expected"),
    [
        ({}, "idp=s3cret,mail=x", ("http://127.0.0.1:8514/ingest/v1/events", "s3cret")),
        ({}, "", ("http://127.0.0.1:8514/ingest/v1/events", "")),
        ({"ingest_url": "http://127.0.0.1:1/x", "ingest_token": "tok"}, "idp=other",
         ("http://127.0.0.1:1/x", "tok")),
    ],
)  # fmt: skip
def test_the_ingest_target_comes_from_flags_or_the_collectors_settings(
    flags: dict[str, str], tokens: str, expected: tuple[str, str]
) -> None:
    settings = Settings.load(env={"SSA_COLLECTORS_INGEST_TOKENS": tokens})
    args = argparse.Namespace(**{"ingest_url": None, "ingest_token": None, **flags})
    target = ingest_target(args, settings)
    assert (target.url, target.token, target.system) == (*expected, "idp")


def test_demo_city_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "demo-city", "--dir", str(tmp_path / "c"),
         "--ingest-url", "http://127.0.0.1:9/ingest/v1/events"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("playing the scenario"):
                break
        proc.send_signal(signal.SIGTERM)
        rest = proc.stdout.read()
        assert proc.wait(timeout=15) == 0, "".join(lines) + rest
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "city stopped: 0 scenario steps played, 0 notifications received" in rest
