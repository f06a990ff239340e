"""The city's failed-login burst, pushed to the collectors' real ingest endpoint on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from collectors.ingest.directory import Directory
from collectors.ingest.http import PATH, make_app
from collectors.ingest.intake import Intake
from collectors.probes.base import ProbeConfig
from engine.broker.local import free_port
from engine.demo.pusher import ATTACKER_IP, USERS, IngestTarget, push_failed_logins
from engine.events import Observation
from engine.inventory.model import Asset

TOKEN = "idp-demo-token"


@pytest.fixture
async def ingest() -> AsyncIterator[tuple[str, list[Observation]]]:
    """The collectors' ingest app with the identity platform registered; yields (url, received)."""
    received: list[Observation] = []
    directory = Directory({"idp": TOKEN})
    directory.put(Asset(id="idp", unit="city-bigdata", kind="system", address="127.0.0.1:10443"))
    runner = web.AppRunner(make_app(Intake(directory, ProbeConfig(), received.append)))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}{PATH}", received
    await runner.cleanup()


async def test_a_burst_becomes_failed_login_observations_of_the_system(
    ingest: tuple[str, list[Observation]],
) -> None:
    url, received = ingest
    accepted = await push_failed_logins(IngestTarget(url, TOKEN, "idp"), 12)
    assert accepted == 12 and len(received) == 12
    assert {o.asset for o in received} == {"idp"}
    assert {o.probe for o in received} == {"ingest"}
    for n, o in enumerate(received):
        assert o.data["event_type"] == "login"
        assert o.data["outcome"] == "failure"
        assert o.data["source_ip"] == ATTACKER_IP
        assert o.data["user"] == USERS[n % len(USERS)]


async def test_a_wrong_token_stops_the_burst_and_nothing_is_accepted(
    ingest: tuple[str, list[Observation]],
) -> None:
    url, received = ingest
    assert await push_failed_logins(IngestTarget(url, "wrong", "idp"), 5) == 0
    assert received == []


async def test_no_listener_is_not_an_error() -> None:
    url = f"http://127.0.0.1:{free_port()}{PATH}"
    assert await push_failed_logins(IngestTarget(url, TOKEN, "idp"), 3) == 0
