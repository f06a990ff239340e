"""Alerts forwarded to a real Alertmanager (Debian's prometheus-alertmanager), listed back."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.broker.local import free_port
from engine.notifiers import Message
from engine.notifiers.alertmanager import AlertmanagerNotifier
from tests.engine.notify.builders import alert

BINARY = "/usr/bin/prometheus-alertmanager"
CONFIG = """\
route:
  receiver: "null"
  group_wait: 1s
receivers:
  - name: "null"
"""


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    d = tmp_path_factory.mktemp("alertmanager")
    (d / "am.yml").write_text(CONFIG)
    port = free_port()
    proc = subprocess.Popen(
        [
            BINARY,
            f"--config.file={d / 'am.yml'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            f"--storage.path={d / 'data'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(d / "am.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(Path(d / "am.log").read_text()[-2000:])
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def listed(url: str, fingerprint: str) -> list[dict[str, Any]]:
    got = httpx.get(f"{url}/api/v2/alerts", timeout=5).json()
    return [a for a in got if a["labels"].get("ssa_fingerprint") == fingerprint]


def message(state: str, at_s: float, seq: int) -> Message:
    now = datetime.now(UTC)
    a = alert("fp-am-1", seq=seq, state=state, at=0.0, group={"port": "443", "probe-id": "x"})
    # Alertmanager judges resolution against its own clock: use real times.
    a = a.evolve(started_at=now - timedelta(minutes=10), at=now + timedelta(seconds=at_s))
    return Message(
        receiver="am",
        channel="alertmanager",
        kind=state,
        alerts=(a,),
        idempotency_key=f"am/*/fp-am-1:{state}:{seq}",
        grafana_url="http://127.0.0.1:3000",
    )


async def test_firing_then_resolved(alertmanager: str) -> None:
    n = AlertmanagerNotifier(alertmanager)
    n.validate()
    await n.send(message("firing", 0, 1))
    [got] = listed(alertmanager, "fp-am-1")
    assert got["status"]["state"] == "active"
    assert got["labels"] == {
        "alertname": "site-down",
        "severity": "high",
        "asset": "portal",
        "unit": "gov-office",
        "ssa_fingerprint": "fp-am-1",
        "port": "443",
        "probe_id": "x",
    }
    assert got["annotations"]["summary"] == "portal is down"
    assert got["annotations"]["dashboard"] == "http://127.0.0.1:3000/d/ssa-asset?var-asset=portal"

    await n.send(message("resolved", -1, 2))  # endsAt one second in the past
    deadline = time.monotonic() + 10
    while listed(alertmanager, "fp-am-1") and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert listed(alertmanager, "fp-am-1") == []  # resolved alerts leave the active list
    everything = httpx.get(
        f"{alertmanager}/api/v2/alerts",
        params={"active": "true", "silenced": "true", "inhibited": "true", "unprocessed": "true"},
    ).json()
    assert [a for a in everything if a["labels"]["ssa_fingerprint"] == "fp-am-1"] == []


async def test_bad_url_is_refused_at_validation() -> None:
    from engine.notifiers import ChannelConfigError

    with pytest.raises(ChannelConfigError) as e:
        AlertmanagerNotifier("ftp://127.0.0.1:9093").validate()
    assert str(e.value) == "url: must be an http:// or https:// URL"
