"""Every field a probe puts in ``data`` is in the shared vocabulary (engine.vocabulary).

Rules may only name vocabulary fields, so a probe field missing there could
never be used by a rule; this runs each probe for real and checks its keys.
"""

from __future__ import annotations

from collectors.probes import content, dns, http, icmp, tcp, tls
from collectors.probes.base import ProbeConfig
from engine.events import Observation
from engine.inventory.model import Asset
from engine.vocabulary import ALL_DATA_FIELDS, DATA_FIELDS
from tests.collectors.probes.helpers import host, website
from tests.servers import DnsServer, HttpServer, Page, Redirect, TcpServer, TestPKI, pages


def _unknown(obs: Observation) -> set[str]:
    return set(obs.data) - ALL_DATA_FIELDS


async def test_every_probe_field_is_in_the_vocabulary(config: ProbeConfig, pki: TestPKI) -> None:
    assert {"http", "tls", "dns", "tcp", "icmp", "content"} <= set(DATA_FIELDS)
    observations: list[Observation] = []
    routes = {"/": Page(pages.with_dark_links()), "/loop": Redirect("/loop")}
    with (
        HttpServer(routes, ssl_context=pki.valid(), host_name="localhost") as srv,
        TcpServer.banner("SSH-2.0-x") as ssh,
        DnsServer({"www.example.gov": {"A": ["192.0.2.10"]}}) as ns,
    ):
        site = website(srv.url("/"), http={"ca_file": pki.ca_file}, tls={"ca_file": pki.ca_file})
        loop = website(srv.url("/loop"), http={"ca_file": pki.ca_file})
        named = Asset(
            id="d", unit="u", kind="website", url="https://www.example.gov/",
            expected_addresses=("192.0.2.10",),
            options={"dns": {"nameserver": "127.0.0.1", "port": ns.port}},
        )  # fmt: skip
        nxdomain = Asset(
            id="d", unit="u", kind="website", url="https://nope.example.gov/",
            options={"dns": {"nameserver": "127.0.0.1", "port": ns.port}},
        )  # fmt: skip
        ip = host("127.0.0.1", expected_ports=(ssh.port,), tcp={"risky_ports": []})
        observations += [
            await http.probe(site, config, timeout=5),
            await http.probe(loop, config, timeout=5),
            await tls.probe(site, config, timeout=5),
            await dns.probe(named, config, timeout=3),
            await dns.probe(nxdomain, config, timeout=3),
            await tcp.probe(ip, config, timeout=5),
            await icmp.probe(host("127.0.0.1", icmp={"interval": 0.01}), config, timeout=3),
            await icmp.probe(
                host("127.0.0.1", icmp={"method": "tcp", "tcp_ports": [ssh.port]}),
                config,
                timeout=3,
            ),
            await content.probe(site, config, timeout=5),
        ]
    assert all(obs.data for obs in observations)
    assert {obs.probe: _unknown(obs) for obs in observations} == {
        "http": set(), "tls": set(), "dns": set(), "tcp": set(), "icmp": set(), "content": set(),
    }  # fmt: skip
