"""The dns probe against a DNS server on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from collectors.probes import dns as dns_probe
from collectors.probes.base import ProbeConfig
from engine.errors import ProbeError
from engine.inventory.model import Asset
from tests.servers import DnsServer

ZONE = {
    "example.gov": {"NS": ["ns1.example.gov", "ns2.example.gov"], "A": ["192.0.2.1"]},
    "www.example.gov": {"A": ["192.0.2.10", "192.0.2.11"], "AAAA": ["2001:db8::10"]},
    "portal.example.gov": {"CNAME": ["cdn.example.net"]},
    "cdn.example.net": {"A": ["198.51.100.7"]},
    "mail.example.gov": {"MX": []},
}


@pytest.fixture(scope="module")
def dns_server() -> Iterator[DnsServer]:
    with DnsServer(ZONE) as srv:
        yield srv


def _site(host: str, port: int, expected: tuple[str, ...] = ()) -> Asset:
    return Asset(
        id="site-1",
        unit="unit-1",
        kind="website",
        url=f"https://{host}/",
        expected_addresses=expected,
        options={"dns": {"nameserver": "127.0.0.1", "port": port}},
    )


async def test_addresses_ns_and_lookup_time(config: ProbeConfig, dns_server: DnsServer) -> None:
    obs = await dns_probe.probe(_site("www.example.gov", dns_server.port), config, timeout=3)
    assert obs.ok and obs.error is None
    assert obs.data["addresses"] == ["192.0.2.10", "192.0.2.11", "2001:db8::10"]
    assert obs.data["cnames"] == []
    assert obs.data["ns"] == ["ns1.example.gov", "ns2.example.gov"]
    assert obs.data["lookup_ms"] > 0
    assert obs.data["matches_expected"] is None


async def test_the_cname_chain_is_followed(config: ProbeConfig, dns_server: DnsServer) -> None:
    obs = await dns_probe.probe(_site("portal.example.gov", dns_server.port), config, timeout=3)
    assert obs.ok
    assert obs.data["cnames"] == ["cdn.example.net"]
    assert obs.data["addresses"] == ["198.51.100.7"]


@pytest.mark.parametrize(
    ("host", "expected", "matches", "unexpected"),
    [
        ("www.example.gov", ("192.0.2.10", "192.0.2.11", "2001:db8::10"), True, []),
        ("www.example.gov", ("192.0.2.10",), False, ["192.0.2.11", "2001:db8::10"]),
        ("portal.example.gov", ("cdn.example.net",), True, []),
        ("portal.example.gov", ("192.0.2.10",), False, ["198.51.100.7"]),
    ],
)
async def test_answers_are_compared_with_the_expected_ones(
    config: ProbeConfig,
    dns_server: DnsServer,
    host: str,
    expected: tuple[str, ...],
    matches: bool,
    unexpected: list[str],
) -> None:
    obs = await dns_probe.probe(_site(host, dns_server.port, expected), config, timeout=3)
    assert obs.data["matches_expected"] is matches
    assert obs.data["unexpected_addresses"] == unexpected


async def test_a_name_that_does_not_exist(config: ProbeConfig, dns_server: DnsServer) -> None:
    obs = await dns_probe.probe(_site("nope.example.gov", dns_server.port), config, timeout=3)
    assert not obs.ok and obs.error == "nxdomain: nope.example.gov does not exist"
    assert obs.data == {"rcode": "NXDOMAIN"}


async def test_a_name_without_addresses(config: ProbeConfig, dns_server: DnsServer) -> None:
    obs = await dns_probe.probe(_site("mail.example.gov", dns_server.port), config, timeout=3)
    assert not obs.ok and obs.error == "mail.example.gov has no A or AAAA record"


async def test_a_server_that_never_answers_ends_within_the_timeout(config: ProbeConfig) -> None:
    with DnsServer(ZONE, silent=True) as srv:
        start = time.monotonic()
        obs = await dns_probe.probe(_site("www.example.gov", srv.port), config, timeout=0.5)
        assert srv.queries >= 1
    assert time.monotonic() - start < 1.5
    assert not obs.ok and obs.error == "timeout after 0.5s"


async def test_the_collector_nameserver_is_used_when_the_asset_names_none(
    config: ProbeConfig, dns_server: DnsServer
) -> None:
    cfg = replace(config, nameservers=(f"127.0.0.1:{dns_server.port}",))
    asset = Asset(id="s", unit="u", kind="website", url="https://www.example.gov/")
    obs = await dns_probe.probe(asset, cfg, timeout=3)
    assert obs.ok and "192.0.2.10" in obs.data["addresses"]


async def test_an_ip_asset_is_a_misconfiguration(config: ProbeConfig) -> None:
    asset = Asset(id="ip-1", unit="u", kind="ip", address="192.0.2.10")
    with pytest.raises(ProbeError, match="needs a host name"):
        await dns_probe.probe(asset, config, timeout=1)
