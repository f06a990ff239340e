"""The city's inventory is a valid inventory that points at the running city, on loopback only."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from engine.demo.city import City, CityConfig
from engine.demo.inventory import Layout, inventory_document
from engine.demo.plan import city_plan
from engine.inventory.loader import load_inventory

#: The probes the city's inventory uses (all of the collectors' probes of issue 3).
PROBES = ("http", "tls", "dns", "tcp", "icmp", "content", "ingest")


def _loopback(host: str) -> bool:
    return ipaddress.ip_address(host).is_loopback


async def test_the_written_inventory_loads_and_matches_the_running_city(tmp_path: Path) -> None:
    async with City(CityConfig(work_dir=tmp_path, echo=False, webhook_port=None)) as city:
        inv = load_inventory(city.inventory_path, probes=PROBES)
        plan = city.plan
        assert len(inv.units) == len(plan.units) == 12
        key_sites = [s for s in plan.sites if s.key]
        assert len(inv.assets) == len(plan.sites) + len(key_sites) + len(plan.hosts)
        for spec in plan.sites:
            a = inv.assets[spec.id]
            assert a.url == city.sites[spec.id].url
            assert a.unit == spec.unit and a.name == spec.name
            if spec.https:
                assert a.options["tls"]["ca_file"] == str(city.ca_file.resolve())
                assert Path(a.options["http"]["ca_file"]).is_file()
        for spec in key_sites:
            d = inv.assets[f"{spec.id}-domain"]
            assert d.host == spec.hostname and d.probes == ("dns",)
            assert d.options["dns"] == {"nameserver": "127.0.0.1", "port": city.dns.port}
            assert d.expected_addresses == ("127.0.0.1",)
        idp = inv.assets["idp"]
        assert idp.kind == "system" and "ingest" in idp.probes
        assert idp.address == f"{city.host_net}.20:10443"
        gw = inv.assets["gw-bigdata"]
        assert gw.expected_ports == (10022,)  # 6379 is not expected: opening it is the risk
        for a in inv.assets.values():
            if a.url and not a.id.endswith("-domain"):
                assert _loopback(urlsplit(a.url).hostname or "")
            if a.address:
                assert _loopback(a.host)
        assert inv.assets["portal"].interval == 5.0
        assert inv.assets["transport-bus"].interval == 10.0


@pytest.mark.parametrize("host_net", ["127.77.0", "127.200.3"])
def test_hosts_live_in_the_chosen_loopback_block(host_net: str) -> None:
    layout = Layout(
        site_host="127.0.0.1",
        site_ports={s.id: 20000 + i for i, s in enumerate(city_plan().sites)},
        host_net=host_net,
        dns_address="127.0.0.1:5353",
        ca_file="/tmp/ca.pem",
    )
    doc = inventory_document(city_plan(), layout)
    addresses = [a["address"] for a in doc["assets"] if "address" in a]
    assert addresses and all(x.startswith(f"{host_net}.") for x in addresses)
