"""``ssa collect`` runs a collector; ``ssa probe TARGET --probe NAME`` runs one probe by hand."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import re
import signal
import sys
from typing import Any

import orjson

from engine.errors import ConfigError
from engine.inventory.loader import load_inventory
from engine.inventory.model import Asset
from engine.settings import Settings

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,199}$")


def register(sub: Any) -> None:
    c = sub.add_parser(
        "collect",
        help="run a collector: probe assets on schedule, publish observations, accept pushes",
    )
    c.add_argument(
        "--inventory", metavar="FILE|DIR",
        help="probe exactly these assets (default: join the 'collectors' consumer group "
        "and probe this member's share of the inventory topic)",
    )
    c.add_argument("--vantage", help="where this collector stands (default: settings)")
    c.add_argument("--id", dest="collector_id", help="collector id (default: host-pid)")
    c.add_argument("--no-ingest", action="store_true", help="do not run the ingest servers")
    c.set_defaults(func=collect_cmd)

    p = sub.add_parser("probe", help="run one probe against one target and print the observation")
    p.add_argument("target", help="a URL, an IP, host[:port], or an asset id with --inventory")
    p.add_argument("--probe", required=True, help="probe name, e.g. http, tls, dns, tcp, icmp")
    p.add_argument("--inventory", metavar="FILE|DIR", help="look TARGET up as an asset id here")
    p.add_argument("--timeout", type=float, help="seconds (default: settings)")
    p.add_argument("--port", type=int, action="append", default=[],
                   help="expected open port (tcp probe; repeatable)")
    p.add_argument("--vantage", help="where this probe runs from (default: settings)")
    p.set_defaults(func=probe_cmd)

    r = sub.add_parser("reprobe", help="ask the collector that owns ASSET to probe it now")
    r.add_argument("asset")
    r.add_argument("--actor", default="operator", help="who asks (recorded in the event)")
    r.add_argument("--comment", default="", help="why (recorded in the event)")
    r.set_defaults(func=reprobe_cmd)


def _check_name(what: str, value: str | None) -> None:
    if value is not None and not _NAME.match(value):
        raise ConfigError(f"--{what} {value!r}: letters, digits and _.:/@- only")


def collect_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from collectors.service import Collector, CollectorOptions

    _check_name("vantage", args.vantage)
    _check_name("id", args.collector_id)
    inventory = load_inventory(args.inventory) if args.inventory else None
    options = CollectorOptions(
        inventory=inventory, vantage=args.vantage, collector_id=args.collector_id,
        ingest=not args.no_ingest,
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await Collector(settings, options).run(stop)

    asyncio.run(main())
    return 0


def target_asset(target: str, probe: str, ports: list[int]) -> Asset:
    """An ad-hoc asset for ``ssa probe``: a URL, an IP, or host[:port]."""
    common: dict[str, Any] = {"id": "adhoc", "unit": "adhoc", "probes": (probe,),
                              "expected_ports": tuple(ports)}
    if "://" in target:
        return Asset(kind="website", url=target, **common)
    try:
        ipaddress.ip_address(target)
    except ValueError:
        return Asset(kind="system", address=target, **common)
    return Asset(kind="ip", address=target, **common)


def probe_cmd(args: argparse.Namespace, settings: Settings) -> int:
    """Print the observation as JSON; exit 0 if ok, 1 if the target failed."""
    from collectors.probes import PROBES
    from collectors.probes.base import ProbeConfig

    _check_name("vantage", args.vantage)
    if args.probe not in PROBES:
        raise ConfigError(f"unknown probe '{args.probe}' (known: {', '.join(sorted(PROBES))})")
    if args.inventory:
        inv = load_inventory(args.inventory)
        if args.target not in inv.assets:
            raise ConfigError(f"no asset '{args.target}' in {args.inventory}")
        asset = inv.assets[args.target]
    else:
        asset = target_asset(args.target, args.probe, args.port)
    config = ProbeConfig.from_settings(settings, collector="ssa-probe", vantage=args.vantage)
    timeout = args.timeout or settings.collectors.timeout_s
    obs = asyncio.run(
        asyncio.wait_for(PROBES[args.probe](asset, config, timeout=timeout), timeout + 2)
    )
    sys.stdout.write(orjson.dumps(obs.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0 if obs.ok else 1


def reprobe_cmd(args: argparse.Namespace, settings: Settings) -> int:
    """Record a ``reprobe`` control event; the owning collector probes the asset at once."""
    import uuid
    from datetime import UTC, datetime

    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    from engine.broker import bootstrap_servers
    from engine.errors import BrokerError
    from engine.events import Control

    _check_name("asset", args.asset)
    control = Control(
        id=f"reprobe-{uuid.uuid4().hex[:12]}", kind="reprobe", at=datetime.now(UTC),
        actor=args.actor, target=args.asset, data={"asset": args.asset}, comment=args.comment,
    )
    topic = settings.topic("control")
    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap_servers(settings), acks="all")
        try:
            producer.send(topic, control.to_json()).get(timeout=15)
        finally:
            producer.close(timeout=5)
    except KafkaError as e:
        raise BrokerError(f"cannot record the re-probe request on {topic}: {e}") from None
    print(f"re-probe of {args.asset} requested ({control.id})")
    return 0
