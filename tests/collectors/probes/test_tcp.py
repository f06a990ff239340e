"""The tcp probe against loopback listeners with banners, silence and resets."""

from __future__ import annotations

import time

from collectors.probes import tcp
from collectors.probes.base import ProbeConfig
from tests.collectors.probes.helpers import host, valid_event
from tests.servers import HttpServer, Page, TcpServer, closed_port


async def test_open_ports_banners_risky_and_unexpected(config: ProbeConfig) -> None:
    with (
        TcpServer.banner("SSH-2.0-OpenSSH_9.2p1 Debian-2") as ssh,
        TcpServer.banner("220 ProFTPD Server (city ftp) [127.0.0.1]") as ftp,
        TcpServer.banner("220 mail.example.gov ESMTP Postfix") as smtp,
        HttpServer({"/": Page("x")}, server_header="nginx/1.24.0") as web,
    ):
        gone = closed_port()
        asset = host(
            "127.0.0.1",
            expected_ports=(web.port, ssh.port, gone),
            tcp={"ports": [smtp.port], "risky_ports": [ftp.port, 1]},
        )
        obs = valid_event(await tcp.probe(asset, config, timeout=5))
    d = obs.data
    assert sorted([ssh.port, ftp.port, smtp.port, web.port]) == d["open_ports"]
    assert d["risky_open"] == [ftp.port]
    assert d["unexpected_open"] == sorted([ftp.port, smtp.port])
    assert d["expected_closed"] == [gone]
    assert not obs.ok and obs.error == f"expected port not open: {gone}"
    assert d["banners"] == {
        str(ssh.port): "SSH-2.0-OpenSSH_9.2p1 Debian-2",
        str(ftp.port): "220 ProFTPD Server (city ftp) [127.0.0.1]",
        str(smtp.port): "220 mail.example.gov ESMTP Postfix",
        str(web.port): "HTTP Server: nginx/1.24.0",
    }
    rows = {r["port"]: r for r in d["ports"]}
    assert rows[gone] == {
        "port": gone,
        "state": "closed",
        "banner": "",
        "risky": False,
        "expected": True,
    }
    assert rows[ftp.port]["risky"] and not rows[ftp.port]["expected"]


async def test_all_expected_ports_open_is_ok(config: ProbeConfig) -> None:
    with TcpServer.banner("SSH-2.0-x") as ssh:
        asset = host("127.0.0.1", expected_ports=(ssh.port,), tcp={"risky_ports": []})
        obs = await tcp.probe(asset, config, timeout=5)
    assert obs.ok and obs.error is None
    # a single-port check also speaks the single-port vocabulary
    assert (obs.data["port"], obs.data["open"], obs.data["banner"]) == (ssh.port, True, "SSH-2.0-x")


async def test_silent_and_resetting_services_do_not_stall_the_probe(config: ProbeConfig) -> None:
    with TcpServer.silent() as silent, TcpServer.reset() as reset:
        asset = host(
            "127.0.0.1",
            tcp={"ports": [silent.port, reset.port], "risky_ports": [], "banner_wait": 0.2},
        )
        start = time.monotonic()
        obs = await tcp.probe(asset, config, timeout=2)
    assert time.monotonic() - start < 1.5
    assert obs.ok
    rows = {r["port"]: r for r in obs.data["ports"]}
    assert rows[silent.port]["state"] == "open" and rows[silent.port]["banner"] == ""
    # a reset after accept is still an open port (the handshake completed)
    assert rows[reset.port]["state"] == "open"


def test_the_default_risky_list_is_checked() -> None:
    ports, risky = tcp.ports_to_check(host("127.0.0.1", expected_ports=(443,)), ProbeConfig())
    for p in (21, 23, 445, 3389, 6379, 9200, 27017):
        assert p in risky and p in ports
    assert 443 in ports and 443 not in risky


def test_http_banner_reads_the_server_header() -> None:
    assert tcp.http_banner(b"HTTP/1.1 200 OK\r\nServer: Apache\r\n\r\n") == "HTTP Server: Apache"
    assert tcp.http_banner(b"HTTP/1.1 400 Bad\r\n\r\n") == "HTTP"
    assert tcp.http_banner(b"-ERR unknown command 'HEAD'\r\n") == "-ERR unknown command 'HEAD'"
