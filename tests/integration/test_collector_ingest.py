"""A running collector's ingest: syslog UDP+TCP (5424, 3164), HTTP with good and bad tokens.

Every accepted event must arrive on the observations topic as an observation
of the system that sent it; refused pushes must be refused with the right
status and never leak the token into the logs.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import httpx
import pytest

from collectors.service import Collector, CollectorOptions
from engine.inventory.model import Asset, Inventory, Unit
from engine.settings import Settings, with_overrides
from tests.collectors.conftest import read_keyed

pytestmark = pytest.mark.kafka

TOKEN = "tok-9f2c1e7d-oa"
INVENTORY = Inventory(
    units={"lab": Unit(id="lab", name="Lab")},
    assets={
        "oa": Asset(id="oa", unit="lab", kind="system", address="127.0.0.1:8443",
                    probes=("ingest",), interval_s=3600),
        "mail": Asset(id="mail", unit="lab", kind="system", address="mail.lab.example.org:25",
                      depends_on=("oa",)),
    },
)


async def test_pushed_events_become_observations(
    kafka_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = with_overrides(kafka_settings, collectors={"ingest_tokens": f"oa={TOKEN}"})
    collector = Collector(settings, CollectorOptions(
        inventory=INVENTORY, vantage="lab-east", collector_id="c-ingest",
        http_port=0, syslog_port=0, metrics_port=0, control=False, spread_s=3600,
    ))
    caplog.set_level(logging.DEBUG)
    await collector.start()
    try:
        assert collector.servers is not None
        ports = collector.servers.ports
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.sendto(
            b'<38>1 2026-11-29T07:59:58Z oa sshd 1 AUTH [x@1 event_type="login" '
            b'user="wang" src="203.0.113.7" outcome="failure"] bad password',
            ("127.0.0.1", ports["udp"]),
        )
        udp.sendto(
            b"<34>Nov 29 07:58:01 mail.lab.example.org postfix/smtpd[9]: "
            b"warning: unknown[198.51.100.4]: SASL LOGIN authentication failed",
            ("127.0.0.1", ports["udp"]),
        )
        udp.close()
        _, writer = await asyncio.open_connection("127.0.0.1", ports["tcp"])
        framed = b"<86>1 - oa sudo - - - event_type=priv_escalation user=ops outcome=success"
        writer.write(str(len(framed)).encode() + b" " + framed)  # octet counting
        writer.write(b"<38>Nov 29 07:59:00 oa sshd[1]: Accepted password for li from "
                     b"192.0.2.44 port 2222 ssh2\n")  # newline framing
        await writer.drain()
        writer.close()

        url = f"http://127.0.0.1:{ports['http']}/ingest/v1/events"
        async with httpx.AsyncClient(timeout=5) as http:
            good = await http.post(url, headers={"Authorization": f"Bearer {TOKEN}"}, json=[
                {"event_type": "login", "user": "zhao", "source_ip": "203.0.113.9",
                 "outcome": "failure", "message": "3 failed logins", "at": "2026-11-29T07:59:00Z"},
                {"event_type": "file_upload", "user": "qian", "outcome": "success"},
            ])
            bad = await http.post(url, headers={"Authorization": "Bearer wrong"}, json={})
            none = await http.post(url, json={"event_type": "x"})
            big = await http.post(url, headers={"Authorization": f"Bearer {TOKEN}"},
                                  content=b"[" + b" " * (2 << 20) + b"]")
            junk = await http.post(url, headers={"Authorization": f"Bearer {TOKEN}"},
                                   content=b"{not json")
            scalar = await http.post(url, headers={"Authorization": f"Bearer {TOKEN}"},
                                     json=[1, 2])
        assert good.status_code == 202 and good.json()["accepted"] == 2
        assert (bad.status_code, none.status_code) == (401, 401)
        assert (big.status_code, junk.status_code, scalar.status_code) == (413, 400, 400)

        keyed = await asyncio.to_thread(
            read_keyed, settings.kafka.bootstrap, settings.topic("observations"), count=6
        )
    finally:
        await collector.stop()

    got = [o for _, o in keyed]
    assert len(got) == 6
    # Keyed by the asset's partition_key, so the engine sees related assets on one worker.
    assert all(k == INVENTORY.assets[o.asset].partition_key for k, o in keyed)
    assert all(o.probe == "ingest" and o.collector == "c-ingest" and o.vantage == "lab-east"
               for o in got)
    by_type = {o.data["event_type"]: o for o in got}
    login_udp = next(o for o in got if o.data.get("transport") == "udp" and o.asset == "oa")
    assert login_udp.data["user"] == "wang" and login_udp.data["outcome"] == "failure"
    assert login_udp.data["source_ip"] == "203.0.113.7" and login_udp.data["rfc"] == "5424"
    mail = next(o for o in got if o.asset == "mail")
    assert mail.data["rfc"] == "3164" and mail.data["app"] == "postfix/smtpd"
    assert by_type["priv_escalation"].data["transport"] == "tcp"
    assert by_type["auth"].data["user"] == "li" and by_type["auth"].data["outcome"] == "success"
    http_login = next(o for o in got if o.data["transport"] == "http" and o.data["user"] == "zhao")
    assert http_login.observed_at.isoformat() == "2026-11-29T07:59:00+00:00"
    assert by_type["file_upload"].asset == "oa"
    assert TOKEN not in caplog.text
    m = collector.metrics.registry
    assert m.get_sample_value("ssa_ingest_events_total",
                              {"transport": "http", "result": "unauthorized"}) == 2
    assert m.get_sample_value("ssa_ingest_events_total",
                              {"transport": "udp", "result": "accepted"}) == 2
    assert collector.config.pushes.records["oa"].total == 5


async def test_ssa_reprobe_makes_the_owner_probe_now(
    kafka_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.cli import main

    collector = Collector(kafka_settings, CollectorOptions(
        inventory=INVENTORY, collector_id="c-reprobe", ingest=False, metrics=False,
        spread_s=3600,  # without a request, oa would not be probed for up to an hour
    ))
    await collector.start()
    try:
        assert await collector.wait_ready(20)
        monkeypatch.setenv("SSA_KAFKA_BOOTSTRAP", kafka_settings.kafka.bootstrap)
        monkeypatch.setenv("SSA_TOPICS_PREFIX", kafka_settings.topics.prefix)
        assert await asyncio.to_thread(main, ["reprobe", "oa", "--comment", "patched"]) == 0
        got = await asyncio.to_thread(
            read_keyed, kafka_settings.kafka.bootstrap, kafka_settings.topic("observations"),
            count=1, timeout=15,
        )
    finally:
        await collector.stop()
    assert [(o.asset, o.probe, o.collector) for _, o in got] == [("oa", "ingest", "c-reprobe")]
