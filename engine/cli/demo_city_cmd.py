"""``ssa demo-city``: run only the simulated city and write its inventory (for manual use).

The city comes up on loopback, writes ``DIR/inventory.yaml``, plays its
scenario at ``--speed`` and keeps serving until Ctrl-C or ``--duration``.
Run collectors against the inventory it prints, e.g.
``ssa collect --inventory DIR/inventory.yaml``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path
from typing import Any

from collectors.ingest.directory import parse_tokens
from engine.demo.city import City, CityConfig
from engine.demo.pusher import IngestTarget
from engine.demo.scenario import DEFAULT_SPEED
from engine.errors import ConfigError
from engine.settings import Settings

#: The collectors' JSON ingest endpoint (collectors/ingest/http.py).
INGEST_PATH = "/ingest/v1/events"
#: The notifier's webhook secret, so the receiver can verify signatures (never a flag:
#: flags show in the process list).
WEBHOOK_SECRET_ENV = "SSA_DEMO_WEBHOOK_SECRET"  # noqa: S105 - the name, not a secret
#: The system that pushes failed logins in the default scenario.
PUSHING_SYSTEM = "idp"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "demo-city", help="run the simulated city on loopback and write its inventory"
    )
    p.add_argument("--dir", default="demo-city", help="work folder (inventory, certificates)")
    p.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_SPEED,
        help=f"how many times faster than real time the scenario plays "
        f"(default {DEFAULT_SPEED:g}: 30 city minutes in 2 minutes)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        help="stop after this many seconds (default: run until Ctrl-C)",
    )
    p.add_argument(
        "--ingest-url",
        default=None,
        help="where the city's systems push events "
        "(default: the collectors' ingest endpoint from the settings)",
    )
    p.add_argument(
        "--ingest-token",
        default=None,
        help=f"token of the pushing system (default: {PUSHING_SYSTEM}'s from "
        "collectors.ingest_tokens)",
    )
    p.add_argument(
        "--host-net",
        default="",
        help="first three octets of the hosts' loopback block, e.g. 127.77.0 "
        "(default: a random one)",
    )
    p.add_argument(
        "--baseline-dir",
        default=None,
        help="approve every site's page as its content baseline here "
        "(default: DIR/baselines; give the collectors the same folder)",
    )
    p.add_argument("--dns-port", type=int, default=0, help="DNS server port (default: free)")
    p.add_argument(
        "--webhook-port", type=int, default=0, help="webhook receiver port (default: free)"
    )
    p.set_defaults(func=demo_city_cmd)  # fmt: skip


def ingest_target(args: argparse.Namespace, settings: Settings) -> IngestTarget:
    """Where the pushing system sends events: the flags, else the collectors' settings."""
    c = settings.collectors
    url = args.ingest_url or f"http://{c.ingest_host}:{c.ingest_port}{INGEST_PATH}"
    token = args.ingest_token
    if token is None:
        token = parse_tokens(c.ingest_tokens).get(PUSHING_SYSTEM, "")
    return IngestTarget(url, token.strip(), PUSHING_SYSTEM)


def demo_city_cmd(args: argparse.Namespace, settings: Settings) -> int:
    # One line per pushed event would drown the scenario's own lines.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.speed <= 0:
        raise ConfigError(f"--speed must be positive, got {args.speed}")
    config = CityConfig(
        work_dir=Path(args.dir),
        speed=args.speed,
        host_net=args.host_net,
        dns_port=args.dns_port,
        ingest=ingest_target(args, settings),
        webhook_port=args.webhook_port,
        webhook_secret=os.environ.get(WEBHOOK_SECRET_ENV, ""),
        baseline_dir=Path(args.baseline_dir or Path(args.dir) / "baselines"),
    )
    return asyncio.run(_run(config, args.duration))


async def _run(config: CityConfig, duration: float | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C or a service manager: stop cleanly
        loop.add_signal_handler(sig, stop.set)
    async with City(config) as city:
        print(city.summary(), flush=True)
        length = config.scenario.real_length(config.speed)
        print(f"playing the scenario: {len(config.scenario.steps)} steps in {length:.0f}s "
              f"(speed {config.speed:g}); Ctrl-C stops", flush=True)  # fmt: skip
        play = asyncio.ensure_future(city.play())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=duration)
        play.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await play
        received = len(city.webhook.received) if city.webhook else 0
        print(f"city stopped: {len(city.happened)} scenario steps played, "
              f"{received} notifications received", flush=True)  # fmt: skip
    return 0
