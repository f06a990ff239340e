"""``ssa inventory check FILE|DIR`` and ``ssa inventory sync FILE|DIR``."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from engine.broker import bootstrap_servers
from engine.inventory.loader import lint_inventory, load_inventory
from engine.inventory.model import ASSET_KINDS
from engine.inventory.topic import sync
from engine.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("inventory", help="check the inventory or publish it to Kafka")
    cmds = p.add_subparsers(dest="inventory_command", metavar="ACTION", required=True)
    check = cmds.add_parser("check", help="validate an inventory file or folder, list every error")
    check.add_argument("path", metavar="FILE|DIR")
    check.set_defaults(func=check_cmd)
    s = cmds.add_parser("sync", help="publish assets to the inventory topic, tombstone the removed")
    s.add_argument("path", metavar="FILE|DIR")
    s.set_defaults(func=sync_cmd)


def check_cmd(args: argparse.Namespace, settings: Settings) -> int:
    """Print every problem (exit 1), or the counts of a valid inventory (exit 0)."""
    inv, errors = lint_inventory(args.path)
    if errors:
        for e in errors:
            print(e)
        print(f"{len(errors)} error(s)")
        return 1
    kinds = Counter(a.kind for a in inv.assets.values())
    by_kind = ", ".join(f"{kinds[k]} {k}" for k in ASSET_KINDS)
    print(f"ok: {len(inv.units)} units, {len(inv.assets)} assets ({by_kind})")
    return 0


def sync_cmd(args: argparse.Namespace, settings: Settings) -> int:
    """Validate, then make the inventory topic match the file."""
    inv = load_inventory(args.path)
    topic = settings.topic("inventory")
    result = sync(bootstrap_servers(settings), topic, inv)
    print(
        f"{topic}: {len(result.published)} published, {len(result.unchanged)} unchanged, "
        f"{len(result.removed)} removed"
    )
    for aid in result.removed:
        print(f"  removed {aid}")
    return 0
