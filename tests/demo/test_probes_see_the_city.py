"""The collectors' real probes, run on the city's inventory, see each scripted trouble.

The city is started with its pages approved as content baselines; each
scenario step is then applied directly (no clock) and the probe that should
notice it is run before and after, through ``collectors.probes.PROBES``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from collectors.probes import PROBES
from collectors.probes.base import ProbeConfig
from engine.demo.city import City, CityConfig
from engine.demo.scenario import Step
from engine.inventory.loader import load_inventory
from engine.inventory.model import Inventory


@pytest.fixture
async def city(tmp_path: Path) -> AsyncIterator[City]:
    config = CityConfig(
        work_dir=tmp_path, echo=False, webhook_port=None, baseline_dir=tmp_path / "baselines"
    )
    async with City(config) as c:
        yield c


async def probe(city: City, inv: Inventory, asset: str, name: str) -> tuple[bool, dict[str, Any]]:
    config = ProbeConfig(collector="test", baseline_dir=city.config.baseline_dir or Path())
    obs = await PROBES[name](inv.assets[asset], config, timeout=5.0)
    return obs.ok, dict(obs.data)


async def test_every_site_has_an_approved_baseline(city: City) -> None:
    assert city.baselines == sorted(s.id for s in city.plan.sites)
    inv = load_inventory(city.inventory_path)
    ok, data = await probe(city, inv, "portal", "content")
    assert ok and data["baseline"] != "missing" and data["changed"] is False


async def test_the_probes_see_each_trouble_and_its_repair(city: City) -> None:
    inv = load_inventory(city.inventory_path)

    # An outage: connection refused, then back.
    assert (await probe(city, inv, "hrss-www", "http"))[0]
    await city.apply(Step(0, "down", "hrss-www"))
    ok, data = await probe(city, inv, "hrss-www", "http")
    assert not ok and "status" not in data
    await city.apply(Step(0, "restore", "hrss-www"))
    assert (await probe(city, inv, "hrss-www", "http"))[1]["status"] == 200

    # A failing backend and a slowdown.
    await city.apply(Step(0, "fail", "transport-www", 503))
    assert (await probe(city, inv, "transport-www", "http"))[1]["status"] == 503
    await city.apply(Step(0, "slow", "edu-www", 1.0))
    assert (await probe(city, inv, "edu-www", "http"))[1]["phases_ms"]["ttfb"] >= 1000

    # A defacement and dark links, against the approved baselines.
    await city.apply(Step(0, "deface", "market-www"))
    ok, data = await probe(city, inv, "market-www", "content")
    assert data["defaced"] is True and data["changed"] is True
    assert any("hacked by" in k.lower() for k in data["defacement_keywords"]), data
    await city.apply(Step(0, "dark_links", "health-www"))
    ok, data = await probe(city, inv, "health-www", "content")
    assert len(data["dark_links"]) >= 3, data

    # A risky port opening on a fixed IP.
    assert (await probe(city, inv, "gw-bigdata", "tcp"))[1]["risky_open"] == []
    await city.apply(Step(0, "open_port", "gw-bigdata", 6379))
    assert (await probe(city, inv, "gw-bigdata", "tcp"))[1]["risky_open"] == [6379]

    # A DNS answer changing.
    ok, data = await probe(city, inv, "portal-domain", "dns")
    assert data["addresses"] == ["127.0.0.1"] and data["matches_expected"] is True
    await city.apply(Step(0, "dns", "www.gov.example", "203.0.113.66"))
    ok, data = await probe(city, inv, "portal-domain", "dns")
    assert data["addresses"] == ["203.0.113.66"] and data["matches_expected"] is False

    # The certificate about to expire.
    ok, data = await probe(city, inv, "finance-www", "tls")
    assert ok and data["chain_valid"] and data["hostname_match"]
    assert 4.9 <= data["cert_days_left"] <= 5.0
