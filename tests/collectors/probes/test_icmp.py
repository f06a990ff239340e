"""The icmp probe on loopback: real ICMP echoes, and the TCP fallback without raw sockets."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from collectors.probes import icmp
from collectors.probes.base import ProbeConfig
from engine.events import Observation
from tests.collectors.probes.helpers import host, valid_event
from tests.servers import TcpServer, closed_port

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2"])
async def test_echoes_are_answered_on_loopback(config: ProbeConfig, address: str) -> None:
    if os.geteuid() != 0:
        pytest.fail("the icmp probe tests need root for raw sockets (CI runs as root)")
    asset = host(address, icmp={"count": 3, "interval": 0.05})
    obs = valid_event(await icmp.probe(asset, config, timeout=3))
    assert obs.ok and obs.error is None
    d = obs.data
    assert d["method"] == "icmp"
    assert d["reachable"] is True and d["loss"] == 0.0
    assert (d["sent"], d["received"]) == (3, 3)
    assert 0 <= d["rtt_min_ms"] <= d["rtt_ms"] <= d["rtt_max_ms"] < 100


@pytest.mark.parametrize("listening", [True, False])
async def test_the_tcp_method_counts_accept_and_refusal_as_reachable(
    config: ProbeConfig, listening: bool
) -> None:
    with TcpServer.banner("x") as srv:
        port = srv.port if listening else closed_port()
        asset = host("127.0.0.1", icmp={"method": "tcp", "tcp_ports": [port], "interval": 0.01})
        obs = valid_event(await icmp.probe(asset, config, timeout=2))
    assert obs.ok
    assert obs.data["method"] == "tcp-fallback" and obs.data["port"] == port
    assert obs.data["received"] == 3 and obs.data["loss"] == 0.0


def test_without_raw_sockets_the_probe_falls_back_to_tcp() -> None:
    """Run the probe in a child process that lacks CAP_NET_RAW (dropped with setpriv)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None or os.geteuid() != 0:
        pytest.fail("needs root and setpriv (util-linux) to drop CAP_NET_RAW")
    code = (
        "import asyncio, sys\n"
        "from collectors.probes import icmp\n"
        "from collectors.probes.base import ProbeConfig\n"
        "from engine.inventory.model import Asset\n"
        "a = Asset(id='ip-1', unit='u', kind='ip', address='127.0.0.1', expected_ports=(1,),"
        " options={'icmp': {'interval': 0.01}})\n"
        "obs = asyncio.run(icmp.probe(a, ProbeConfig(), timeout=3))\n"
        "sys.stdout.buffer.write(obs.to_json())\n"
    )
    out = subprocess.run(
        [setpriv, "--bounding-set=-net_raw", "--inh-caps=-net_raw", sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        timeout=60,
        check=True,
    )
    obs = Observation.from_json(out.stdout)
    assert obs.ok
    assert obs.data["method"] == "tcp-fallback"
    assert obs.data["port"] == 1  # port 1 refuses: the host answered
    assert obs.data["reachable"] is True


def test_loss_and_rtt_summary() -> None:
    s = icmp._summary([0.001, 0.003], 4, "icmp")
    assert s == {
        "reachable": True,
        "rtt_ms": 2.0,
        "rtt_min_ms": 1.0,
        "rtt_max_ms": 3.0,
        "loss": 0.5,
        "sent": 4,
        "received": 2,
        "method": "icmp",
    }
    none = icmp._summary([], 3, "tcp-fallback")
    assert none["reachable"] is False and none["loss"] == 1.0 and none["rtt_ms"] is None
