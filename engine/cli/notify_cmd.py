"""``ssa notify [run] | notify check ROUTES`` and ``ssa rectify list | ack FP | fixed FP``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import signal
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from engine.errors import NotifyError, RouteError
from engine.events import parse_time
from engine.inventory.loader import load_inventory
from engine.inventory.model import Inventory
from engine.notify.routes import RouteSet, load_routes
from engine.settings import Settings
from engine.yamlsource import Diagnostics


def register(sub: Any) -> None:
    p = sub.add_parser("notify", help="run the notifier, or check a routes file")
    _state_args(p)
    p.set_defaults(func=run_cmd)
    cmds = p.add_subparsers(dest="notify_command", metavar="ACTION")
    run = cmds.add_parser("run", help="run the notifier (the default)")
    _state_args(run)
    run.set_defaults(func=run_cmd)
    check = cmds.add_parser("check", help="validate a routes file; print every problem")
    check.add_argument("path", metavar="ROUTES", help="routes YAML file")
    check.add_argument(
        "--ignore-env",
        action="store_true",
        help="do not require the {env: NAME} secrets to be set (CI checks)",
    )
    check.set_defaults(func=check_cmd)

    r = sub.add_parser("rectify", help="rectification items (通报整改): list, ack, fixed")
    rc = r.add_subparsers(dest="rectify_command", metavar="ACTION", required=True)
    ls = rc.add_parser("list", help="open items, overdue first")
    ls.add_argument("--all", action="store_true", help="include closed items")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    ls.add_argument(
        "--api",
        action="store_true",
        help="ask the running notifier (notify.metrics_host:metrics_port) instead of the topics",
    )
    _state_args(ls)
    ls.set_defaults(func=list_cmd)
    for kind, text in (("ack", "acknowledge an item"), ("fixed", "report an item fixed")):
        c = rc.add_parser(kind, help=text)
        c.add_argument("fingerprint", metavar="FP")
        c.add_argument("--actor", help="who (default: settings notify.actor)")
        c.add_argument("--comment", default="")
        _state_args(c)
        c.set_defaults(func=control_cmd, kind=kind)


def _state_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--routes", help="routes file (default: settings notify.routes)")
    p.add_argument("--inventory", help="inventory file or folder (default: engine.inventory)")


def _load(args: argparse.Namespace, settings: Settings) -> tuple[RouteSet, Inventory]:
    routes = load_routes(args.routes or settings.notify.routes)
    inventory = load_inventory(args.inventory or settings.engine.inventory)
    return routes, inventory


class _AnyEnv(Mapping[str, str]):
    """An environment in which every variable is set (to a placeholder)."""

    def __getitem__(self, key: str) -> str:
        return "placeholder"

    def __contains__(self, key: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def check_cmd(args: argparse.Namespace, settings: Settings) -> int:
    diag = Diagnostics(fail_fast=False)
    try:
        env = _AnyEnv() if args.ignore_env else None
        routes = load_routes(args.path, diag=diag, env=env)
    except RouteError as e:  # the file itself could not be read or parsed
        print(e, file=sys.stderr)
        return 1
    for _, problem in diag.sorted():
        print(problem, file=sys.stderr)
    if diag.errors:
        print(f"{args.path}: {len(diag.errors)} error(s)", file=sys.stderr)
        return 1
    print(f"{args.path}: ok, {len(routes.receivers)} receivers, {len(routes.routes)} routes")
    return 0


def run_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from engine.notify.api import serve_notify_api
    from engine.notify.service import NotifierService

    routes, inventory = _load(args, settings)
    service = NotifierService(settings, routes, inventory)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        # /metrics and the rectification API, on notify.metrics_host:metrics_port.
        runner = await serve_notify_api(service)
        try:
            await service.run(stop)
        finally:
            await runner.cleanup()

    asyncio.run(main())
    return 0


def list_cmd(args: argparse.Namespace, settings: Settings) -> int:
    if args.api:
        docs = _list_from_api(settings)
        if not args.all:
            docs = [d for d in docs if d["state"] != "closed"]
    else:
        from engine.notify.state import current_state

        routes, inventory = _load(args, settings)
        core = asyncio.run(current_state(settings, routes, inventory))
        docs = [i.to_dict() for i in core.rectify.listing(include_closed=args.all)]
    if args.json:
        for d in docs:
            print(orjson.dumps(d).decode())
        return 0
    print(f"{'FINGERPRINT':<34} {'UNIT':<20} {'ASSET':<20} {'SEV':<8} {'STATE':<13} DEADLINE")
    for d in docs:
        flag = " OVERDUE" if d["overdue"] else ""
        print(
            f"{d['fingerprint']:<34} {d['unit']:<20} {d['asset']:<20} {d['severity']:<8} "
            f"{d['state']:<13} {parse_time(d['deadline']):%Y-%m-%d %H:%M}Z{flag}"
        )
    return 0


def _list_from_api(settings: Settings) -> list[dict[str, Any]]:
    """Every item as the running notifier holds it (its API on notify.metrics_host:port)."""
    import httpx

    n = settings.notify
    host = n.metrics_host or "127.0.0.1"
    with contextlib.suppress(ValueError):  # a name, not an address
        if ipaddress.ip_address(host).is_unspecified:  # bound to every address: ask loopback
            host = "127.0.0.1"
    url = f"http://{f'[{host}]' if ':' in host else host}:{n.metrics_port}/api/v1/rectifications"
    try:
        resp = httpx.get(url, timeout=10)
    except httpx.HTTPError as e:
        raise NotifyError(f"the notifier's API at {url} is not reachable: {e}") from None
    if resp.status_code != 200:
        try:
            why = resp.json()["error"]
        except (ValueError, KeyError, TypeError):
            why = resp.text[:200]
        raise NotifyError(f"the notifier's API at {url} answered {resp.status_code}: {why}")
    docs: list[dict[str, Any]] = resp.json()
    return docs


def control_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from engine.notify.state import current_state, publish_control, rectify_control

    routes, inventory = _load(args, settings)
    core = asyncio.run(current_state(settings, routes, inventory))
    fp = args.fingerprint
    control = rectify_control(
        core, args.kind, fp, actor=args.actor or settings.notify.actor, comment=args.comment
    )
    asyncio.run(publish_control(settings, control))
    item = core.rectify.items.get(fp)
    what = f"rectification item {item.state}" if item else "no rectification item"
    print(f"{args.kind} {fp} ({core.latest[fp].asset}, {what}) recorded as {control.id}")
    return 0
