"""``ssa alerts`` and ``ssa silence`` against a real API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from aiohttp import web

from engine.alerting.lifecycle import AlertLifecycle
from engine.alerting.policy import AlertPolicy
from engine.api import InMemoryStateView, bound_port, create_api, serve_api
from engine.broker.local import free_port
from engine.cli import main
from engine.events import Control
from engine.settings import Settings, with_overrides
from tests.engine.alerting.helpers import JsonStore, finding, fp, inventory, t

TOKEN = "cli-test-token"


@dataclass
class Server:
    port: int
    view: InMemoryStateView
    published: list[Control]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> Iterator[Server]:
    """An API server in its own thread and loop; the CLI reaches it through SSA_API_*."""
    view = InMemoryStateView(
        AlertLifecycle({"site-down": AlertPolicy("site-down", "high", 5.0)}, JsonStore()),
        inventory(),
    )
    view.on_finding(finding(0, "site-down", "portal"))
    view.on_finding(finding(5, "site-down", "blog"))
    published: list[Control] = []
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, web.AppRunner] = {}

    async def sink(c: Control) -> None:
        published.append(c)
        view.on_control(c)

    async def up() -> None:
        settings = with_overrides(Settings.load(env={}), api={"token": TOKEN})
        app = create_api(view, sink, settings, clock=lambda: t(60))
        box["runner"] = await serve_api(app, "127.0.0.1", 0)
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(up()), loop.run_forever()))
    thread.start()
    assert ready.wait(10)
    runner = box["runner"]
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    monkeypatch.delenv("SSA_CONFIG", raising=False)
    monkeypatch.setenv("SSA_API_PORT", str(bound_port(runner)))
    monkeypatch.setenv("SSA_API_TOKEN", TOKEN)
    try:
        yield Server(bound_port(runner), view, published)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_alerts_list_and_filters(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    server.view.on_finding(finding(8, "site-down", "blog", "resolve"))
    assert main(["alerts", "list"]) == 0  # active ones by default
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["FINGERPRINT", "STATE", "SEVERITY", "RULE"]
    assert [line.split()[4] for line in out[1:]] == ["portal"]
    assert main(["alerts", "list", "--state", "all"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert sorted(line.split()[4] for line in out[1:]) == ["blog", "portal"]
    assert main(["alerts", "list", "--unit", "other"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == []
    assert main(["alerts", "list", "--state", "nope"]) == 2
    assert capsys.readouterr().err == (
        "ssa: GET /api/v1/alerts: 400 unknown state 'nope' "
        "(use one of firing, acknowledged, resolved, active)\n"
    )


def test_ack_by_prefix(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    target = fp("site-down", "portal")
    assert main(["alerts", "ack", target[:8], "--comment", "on it", "--actor", "li.wei"]) == 0
    assert capsys.readouterr().out.startswith(f"acknowledged {target} (control api-")
    [c] = server.published
    assert (c.kind, c.target, c.actor, c.comment) == ("ack", target, "li.wei", "on it")
    assert server.view.alert(target)["state"] == "acknowledged"  # type: ignore[index]
    assert main(["alerts", "ack", "zzzz"]) == 2
    assert "no active alert with a fingerprint starting 'zzzz'" in capsys.readouterr().err


def test_silence_add_list_expire(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["silence", "add", "--matcher", "rule=site-down", "--matcher", "asset=portal",
               "--duration", "2h", "--comment", "cutover"])  # fmt: skip
    assert rc == 0
    out = capsys.readouterr().out
    sid = out.split()[1]
    assert out == f"silence {sid} until 2026-12-01T02:01:00.000000Z: rule=site-down, asset=portal\n"
    assert main(["silence", "list"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[1].split()[:2] == [sid, "active"] and "cutover" in rows[1]
    assert main(["silence", "expire", sid]) == 0
    assert capsys.readouterr().out.startswith(f"expired {sid}")
    assert [c.kind for c in server.published] == ["silence", "expire_silence"]
    assert main(["silence", "add", "--matcher", "rul=x", "--comment", "x"]) == 2
    assert "unknown label 'rul'" in capsys.readouterr().err


def test_wrong_token_and_unreachable_api(
    server: Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SSA_API_TOKEN", "wrong")
    assert main(["silence", "expire", "x"]) == 2
    err = capsys.readouterr().err
    assert err == "ssa: DELETE /api/v1/silences/x: 401 a valid bearer token is required\n"
    assert "wrong" not in err  # the token itself is never printed
    monkeypatch.setenv("SSA_API_TOKEN", "")
    assert main(["silence", "expire", "x"]) == 2
    assert capsys.readouterr().err.endswith("required (set SSA_API_TOKEN)\n")
    port = free_port()  # nothing listens there
    monkeypatch.setenv("SSA_API_PORT", str(port))
    assert main(["alerts", "list"]) == 2
    assert f"cannot reach the engine API at http://127.0.0.1:{port}" in capsys.readouterr().err
