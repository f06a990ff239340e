"""``ssa engine``: run a Faust worker of the streaming engine."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from engine.broker import bootstrap_servers
from engine.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("engine", help="run an engine worker (rules, alerts, risk, API, /metrics)")
    p.add_argument("--rules", help="rules file or folder (default: settings engine.rules)")
    p.add_argument("--inventory", help="inventory file or folder (default: engine.inventory)")
    p.set_defaults(func=run_cmd)


def run_cmd(args: argparse.Namespace, settings: Settings) -> int:
    import faust

    from engine.inventory.loader import load_inventory
    from engine.stream.app import create_app
    from engine.stream.rules_holder import RulesHolder
    from engine.stream.runtime import Runtime

    rules = RulesHolder(args.rules or settings.engine.rules)
    inventory = load_inventory(Path(args.inventory or settings.engine.inventory))
    Path(settings.engine.data_dir).mkdir(parents=True, exist_ok=True)
    runtime = Runtime(settings, bootstrap_servers(settings), rules, inventory)
    app = create_app(settings, runtime)
    logging.getLogger(__name__).info(
        "engine: %d rules (version %s), %d assets, topics %s.*",
        len(rules.current.rules),
        rules.current.version[:12],
        len(inventory.assets),
        settings.topics.prefix,
    )
    worker = faust.Worker(app, loglevel="WARNING", quiet=True)
    worker.execute_from_commandline()
    return 0
