"""``ssa config show``: the effective settings, secrets redacted."""

from __future__ import annotations

import argparse
import json
from typing import Any

from engine.settings import Settings, redacted


def register(sub: Any) -> None:
    p = sub.add_parser("config", help="show the effective settings")
    cmds = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = cmds.add_parser("show", help="print the settings as JSON (secrets redacted)")
    show.set_defaults(func=show_cmd)


def show_cmd(args: argparse.Namespace, settings: Settings) -> int:
    print(json.dumps(redacted(settings), indent=2, ensure_ascii=False))
    return 0
