"""The simulated city on loopback, played on a fast clock, seen from outside.

The city plays its real default scenario at 300x speed (30 city minutes in
6 seconds) while each test coroutine watches one thing change the way a
probe would see it: over HTTP(S), TLS, DNS and TCP, from 127.0.0.0/8 only.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dns.asyncresolver
import httpx
import pytest
from aiohttp import web
from cryptography import x509

from engine.broker.local import free_port
from engine.demo.city import City, CityConfig
from engine.demo.pages import DARK_LINKS, DEFACER
from engine.demo.pusher import ATTACKER_IP, IngestTarget
from engine.demo.scenario import DEFAULT_SCENARIO

SPEED = 300.0  # the default 30-minute scenario in 6 s
TOKEN = "demo-ingest-token"


class IngestReceiver:
    """A stand-in for the collectors' ingest endpoint: checks the token, keeps the events."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.rejected = 0
        self.port = free_port()

    async def handle(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.rejected += 1
            return web.Response(status=401)
        self.events.append(await request.json())
        return web.json_response({"accepted": 1}, status=202)


@pytest.fixture
async def ingest() -> AsyncIterator[IngestReceiver]:
    receiver = IngestReceiver()
    app = web.Application()
    app.router.add_post("/ingest/v1/events", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receiver.port).start()
    yield receiver
    await runner.cleanup()


@pytest.fixture
async def city(tmp_path: Path, ingest: IngestReceiver) -> AsyncIterator[City]:
    target = IngestTarget(f"http://127.0.0.1:{ingest.port}/ingest/v1/events", TOKEN, "idp")
    config = CityConfig(work_dir=tmp_path, speed=SPEED, ingest=target, echo=False)
    async with City(config) as c:
        yield c


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> float:
    """Poll ``check`` until it is true; return the seconds it took (fail on timeout)."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


_CONTEXTS: dict[Path, ssl.SSLContext] = {}


def client(city: City) -> httpx.AsyncClient:
    """A client trusting the city's CA; no kept-alive connections, so an outage shows at once."""
    if city.ca_file not in _CONTEXTS:
        _CONTEXTS[city.ca_file] = ssl.create_default_context(cafile=str(city.ca_file))
    return httpx.AsyncClient(
        verify=_CONTEXTS[city.ca_file],
        timeout=5.0,
        trust_env=False,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


async def status_of(city: City, site: str) -> int | str:
    """The HTTP status of a site, or ``"refused"`` when nothing listens."""
    async with client(city) as c:
        try:
            return (await c.get(city.sites[site].url)).status_code
        except httpx.ConnectError:
            return "refused"


async def body_of(city: City, site: str) -> str:
    async with client(city) as c:
        return (await c.get(city.sites[site].url)).text


async def resolve(city: City, name: str) -> list[str]:
    r = dns.asyncresolver.Resolver(configure=False)
    r.nameservers = [city.dns.host]
    r.port = city.dns.port
    answer = await r.resolve(name, "A", lifetime=2.0)
    return sorted(a.address for a in answer)


async def port_open(host: str, port: int) -> bool:
    try:
        _, w = await asyncio.open_connection(host, port)
    except OSError:
        return False
    w.close()
    return True


async def test_every_site_serves_its_page_over_http_or_verified_https(city: City) -> None:
    assert len(city.sites) >= 24
    async with client(city) as c:
        for site in city.sites.values():
            r = await c.get(site.url)
            assert r.status_code == 200, site.spec.id
            assert f"<title>{site.spec.name}</title>" in r.text
            assert site.url.startswith("https://" if site.spec.https else "http://")


async def test_the_default_scenario_plays_out_on_a_fast_clock(
    city: City, ingest: IngestReceiver
) -> None:
    gw = f"{city.host_net}.12"

    async def outage() -> None:
        await until(lambda: _eq(status_of(city, "hrss-www"), "refused"))
        await until(lambda: _eq(status_of(city, "hrss-www"), 200))

    async def error_503() -> None:
        await until(lambda: _eq(status_of(city, "transport-www"), 503))
        await until(lambda: _eq(status_of(city, "transport-www"), 200))

    async def defacement() -> None:
        await until(lambda: _contains(body_of(city, "market-www"), f"Hacked by {DEFACER}"))
        await until(lambda: _contains(body_of(city, "market-www"), "工作动态"))

    async def dark_links() -> None:
        url = DARK_LINKS[0][0]
        await until(lambda: _contains(body_of(city, "health-www"), url))
        page = await body_of(city, "health-www")
        assert 'style="display:none"' in page and "font-size:0" in page
        await until(lambda: _not(_contains(body_of(city, "health-www"), url)))

    async def risky_port() -> None:
        await until(lambda: port_open(gw, 6379))
        reader, writer = await asyncio.open_connection(gw, 6379)
        writer.write(b"PING\r\n")
        assert await reader.readline() == b"+PONG\r\n"
        writer.close()
        await until(lambda: _not(port_open(gw, 6379)))

    async def dns_change() -> None:
        await until(lambda: _eq(resolve(city, "www.gov.example"), ["203.0.113.66"]))
        await until(lambda: _eq(resolve(city, "www.gov.example"), ["127.0.0.1"]))

    async def slowdown() -> None:
        async def slow() -> bool:
            t = time.monotonic()
            await status_of(city, "edu-www")
            return time.monotonic() - t > 2.5

        await until(slow)

    # Before the clock starts: everything normal.
    assert await status_of(city, "hrss-www") == 200
    assert f"Hacked by {DEFACER}" not in await body_of(city, "market-www")
    assert not await port_open(gw, 6379)
    assert await resolve(city, "www.gov.example") == ["127.0.0.1"]

    play = asyncio.create_task(city.play())
    await asyncio.gather(
        outage(), error_503(), defacement(), dark_links(), risky_port(), dns_change(), slowdown()
    )
    happened = await play
    assert [h.step for h in happened] == sorted(DEFAULT_SCENARIO.steps, key=lambda s: s.at_s)
    for h in happened:  # each step on time (±1 s on a loaded, shared machine)
        assert abs(h.real_s - h.step.at_s / SPEED) < 1.0, h
    assert len(ingest.events) == 40 and ingest.rejected == 0
    assert {e["outcome"] for e in ingest.events} == {"failure"}
    assert {e["source_ip"] for e in ingest.events} == {ATTACKER_IP}


async def test_certificates_expire_as_planned(city: City) -> None:
    now = datetime.now(UTC)
    for site, days in (("finance-www", 5), ("portal", 365)):
        spec = city.sites[site].spec
        ctx = ssl.create_default_context(cafile=str(city.ca_file))
        # Verified against the demo CA, for both the DNS name and the loopback address.
        for server_name in (spec.hostname, "127.0.0.1"):
            _, w = await asyncio.open_connection(
                "127.0.0.1", city.sites[site].port, ssl=ctx, server_hostname=server_name
            )
            der = w.get_extra_info("ssl_object").getpeercert(binary_form=True)
            w.close()
            not_after = x509.load_der_x509_certificate(der).not_valid_after_utc
            assert abs(not_after - (now + timedelta(days=days))) < timedelta(minutes=5)


async def test_the_webhook_receiver_records_what_is_posted(city: City) -> None:
    assert city.webhook is not None
    alert = {"state": "firing", "severity": "high", "rule": "site-down", "asset": "hrss-www"}
    async with httpx.AsyncClient(trust_env=False) as c:
        r = await c.post(city.webhook.url + "hook", json={"alert": alert})
        assert r.status_code == 200
        listed = (await c.get(city.webhook.url + "received")).json()
    assert [x["body"] for x in listed] == [{"alert": alert}]
    assert listed[0]["verified"] is None  # no secret given: not checked
    assert city.webhook.received[0].summary() == "firing high site-down hrss-www"
    lines = (city.config.work_dir / "notifications.jsonl").read_text().splitlines()
    assert len(lines) == 1 and '"hrss-www"' in lines[0]


async def test_the_city_answers_only_its_own_zone(city: City) -> None:
    assert await resolve(city, "czj.gov.example") == ["127.0.0.1"]
    assert await resolve(city, "gw-bigdata.gov.example") == [f"{city.host_net}.12"]
    with pytest.raises(dns.resolver.NXDOMAIN):
        await resolve(city, "nosuch.gov.example")
    with pytest.raises(dns.resolver.NoNameservers):  # REFUSED: it never recurses
        await resolve(city, "www.example.org")


async def _eq(value: Awaitable[Any], expected: Any) -> bool:
    return await value == expected


async def _contains(text: Awaitable[str], part: str) -> bool:
    return part in await text


async def _not(value: Awaitable[bool]) -> bool:
    return not await value
