"""``ssa baseline approve ASSET``: review a page and accept it as the approved content baseline.

The content probe judges every fetch of a website against its approved
baseline. After a legitimate redesign (or once a defacement is cleaned up)
a person fetches the page, reads what changed since the last approval, and
approves it. The new baseline is written to ``collectors.baseline_dir``
and, when Kafka is reachable, recorded as a ``Control`` event of kind
``approve_baseline`` on the control topic so the approval is auditable.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import socket
import sys
import uuid
from typing import Any

from collectors.content import baseline as baselines
from collectors.content.approve import Review, review
from collectors.probes.base import ProbeConfig
from engine.broker import bootstrap_servers
from engine.errors import ProbeError
from engine.events import MAX_EVENT_BYTES, Control, format_time
from engine.inventory.loader import load_inventory
from engine.settings import Settings

log = logging.getLogger(__name__)
MAX_DIFF_LINES = 200


def register(sub: Any) -> None:
    p = sub.add_parser("baseline", help="review and approve websites' content baselines")
    cmds = p.add_subparsers(dest="baseline_command", metavar="ACTION", required=True)
    a = cmds.add_parser(
        "approve", help="fetch a page, show its changes since the last approval, approve it"
    )
    a.add_argument("asset", metavar="ASSET", help="asset id in the inventory")
    a.add_argument("--inventory", metavar="FILE|DIR", help="default: settings engine.inventory")
    a.add_argument("-y", "--yes", action="store_true", help="approve without asking")
    a.add_argument("--actor", help="who approves (default: the login name)")
    a.add_argument("--comment", default="", help="why (kept in the control event)")
    a.add_argument("--timeout", type=float, help="fetch timeout in seconds")
    a.set_defaults(func=approve_cmd)


def approve_cmd(args: argparse.Namespace, settings: Settings) -> int:
    """Fetch, show the diff, ask, store, announce. Exit 0 when approved, 1 when not."""
    path = args.inventory or settings.engine.inventory
    inventory = load_inventory(path)
    asset = inventory.assets.get(args.asset)
    if asset is None:
        raise ProbeError(f"no asset {args.asset!r} in {path}")
    actor = args.actor or _login()
    config = ProbeConfig.from_settings(settings, collector="ssa-baseline")
    timeout = args.timeout or settings.collectors.timeout_s
    r = asyncio.run(review(asset, config, timeout=timeout, approved_by=actor))
    show(r)
    if not args.yes:
        if not sys.stdin.isatty():
            print("not approved: confirm with --yes when not at a terminal")
            return 1
        answer = input(f"approve this page as the baseline of {asset.id}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("not approved")
            return 1
    where = baselines.save(settings.collectors.baseline_dir, r.proposed)
    print(f"approved: {where}")
    control = approval_event(r, actor, args.comment)
    if publish_control(settings, control):
        print(f"recorded: control event {control.id} on {settings.topic('control')}")
    else:
        print("warning: Kafka is not reachable; the approval was saved but not recorded")
    return 0


def show(r: Review) -> None:
    """Print what the reviewer needs to decide."""
    p, d = r.proposed, r.data
    print(f"asset:   {p.asset}\nurl:     {p.url}\ntitle:   {p.title}\nhash:    {p.content_hash}")
    if r.current is None:
        print("no approved baseline yet: this will be the first")
    elif r.current.content_hash == p.content_hash:
        print(
            f"unchanged since approved at {format_time(r.current.approved_at)}"
            f" by {r.current.approved_by or '-'}"
        )
    else:
        share = d["baseline_diff"]
        print(
            f"changed since approved at {format_time(r.current.approved_at)}"
            f" by {r.current.approved_by or '-'}"
            + (f": {share:.0%} of the text" if share is not None else "")
        )
        lines = baselines.unified(r.current.lines, p.lines)
        for line in lines[:MAX_DIFF_LINES]:
            print(f"  {line}")
        if len(lines) > MAX_DIFF_LINES:
            print(f"  ... {len(lines) - MAX_DIFF_LINES} more diff lines")
    if d.get("new_domains"):
        print(f"new external domains: {', '.join(d['new_domains'])}")
    if d.get("dark_links"):
        print(f"WARNING dark links on this page: {', '.join(d['dark_links'][:10])}")
    if d.get("defacement_keywords"):
        print(f"WARNING defacement keywords: {', '.join(d['defacement_keywords'])}")


def approval_event(r: Review, actor: str, comment: str = "") -> Control:
    """The ``approve_baseline`` control event recording this approval."""
    data: dict[str, Any] = {
        "asset": r.proposed.asset,
        "previous_hash": r.current.content_hash if r.current else None,
        "baseline": r.proposed.to_dict(),
    }
    control = Control(
        id=uuid.uuid4().hex,
        kind="approve_baseline",
        at=r.proposed.approved_at,
        actor=actor,
        target=r.proposed.asset,
        data=data,
        comment=comment,
    )
    if len(control.to_json()) > MAX_EVENT_BYTES // 2:
        # A huge page: record the approval and its hash, not every line of text.
        data["baseline"] = r.proposed.without_lines().to_dict()
        control = control.evolve(data=data)
    return control


def publish_control(settings: Settings, control: Control, timeout: float = 5.0) -> bool:
    """Send ``control`` to the control topic; False when Kafka cannot be reached."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    servers = bootstrap_servers(settings)
    if not _any_reachable(servers, timeout):
        return False
    try:
        producer = KafkaProducer(
            bootstrap_servers=servers,
            acks="all",
            max_block_ms=int(timeout * 1000),
            request_timeout_ms=int(timeout * 1000),
        )
    except KafkaError as e:
        log.debug("control producer: %s", e)
        return False
    try:
        producer.send(
            settings.topic("control"), value=control.to_json(), headers=[("kind", b"control")]
        ).get(timeout=timeout)
        return True
    except KafkaError as e:
        log.debug("control event not sent: %s", e)
        return False
    finally:
        producer.close(timeout=timeout)


def _any_reachable(servers: str, timeout: float) -> bool:
    """Whether a TCP connection to any bootstrap server opens (the client would retry long)."""
    for server in servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            socket.create_connection(
                (host.strip("[]"), int(port)), timeout=min(timeout, 2.0)
            ).close()
        except (OSError, ValueError):
            continue
        return True
    return False


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
