"""The ``ssa`` command.

Each group of subcommands is a module of this package with a
``register(subparsers)`` function that adds its parsers and sets
``func(args, settings) -> int`` on each. ``GROUPS`` lists them explicitly.
Settings are read once, when the command starts.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from engine.cli import (
    alerts_cmd,
    audit_cmd,
    baseline_cmd,
    collect_cmd,
    config_cmd,
    demo_city_cmd,
    demo_cmd,
    engine_cmd,
    inventory_cmd,
    kafka_cmd,
    notify_cmd,
    replay_cmd,
    rules_cmd,
    topics_cmd,
)
from engine.errors import SsaError
from engine.settings import Settings

GROUPS: tuple[ModuleType, ...] = (
    kafka_cmd, topics_cmd, config_cmd, engine_cmd, demo_cmd, inventory_cmd, demo_city_cmd,
    notify_cmd,
    rules_cmd, audit_cmd, collect_cmd, baseline_cmd, alerts_cmd, replay_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ssa", description="Streaming security-situation awareness for a city's assets."
    )
    parser.add_argument("--config", help="settings file (default: ssa.toml if present)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Kafka clients narrate every connection at INFO; only their problems matter here.
    for noisy in ("kafka", "aiokafka"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        settings = Settings.load(args.config)
        rc: int = args.func(args, settings)
        return rc
    except SsaError as e:
        print(f"ssa: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
