"""``ssa topics create | describe``."""

from __future__ import annotations

import argparse
from typing import Any

from engine.broker import bootstrap_servers
from engine.broker.topics import create_topics, describe_topics
from engine.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("topics", help="create or describe ssa's Kafka topics")
    cmds = p.add_subparsers(dest="topics_command", metavar="ACTION", required=True)
    create = cmds.add_parser("create", help="create missing topics (idempotent)")
    create.add_argument("--partitions", type=int, help="partitions per topic (default 6)")
    create.set_defaults(func=create_cmd)
    describe = cmds.add_parser("describe", help="partitions and retention of each topic")
    describe.set_defaults(func=describe_cmd)


def create_cmd(args: argparse.Namespace, settings: Settings) -> int:
    result = create_topics(bootstrap_servers(settings), settings, partitions=args.partitions)
    for name, what in result.items():
        print(f"{name:<28} {what}")
    return 0


def describe_cmd(args: argparse.Namespace, settings: Settings) -> int:
    rows = describe_topics(bootstrap_servers(settings), settings)
    print(f"{'TOPIC':<28} {'PARTS':>5} {'CLEANUP':<8} {'RETENTION':>10}  KEY")
    for r in rows:
        if not r["exists"]:
            print(f"{r['topic']:<28} {'-':>5} {'missing':<8} {'':>10}  {r['key']}")
            continue
        ms = r["retention.ms"]
        days = f"{int(ms) / 86_400_000:g}d" if ms and ms.lstrip("-").isdigit() else "-"
        if r["cleanup.policy"] == "compact":
            days = "compact"
        print(
            f"{r['topic']:<28} {r['partitions']:>5} {r['cleanup.policy']:<8} {days:>10}  {r['key']}"
        )
    return 0 if all(r["exists"] for r in rows) else 1
