"""ssa's Grafana dashboards, generated from Python so they stay consistent.

``render()`` gives every dashboard's JSON text by file name; ``python -m
engine.dashboards`` writes them to ``dashboards/`` (``--check`` only says
whether the files there are up to date). The JSON files are committed, so
Grafana's file provisioning reads them without Python.
"""

from __future__ import annotations

import json

from engine.dashboards.definitions import DASHBOARDS


def render() -> dict[str, str]:
    """File name -> the dashboard's JSON text (stable: same input, same bytes)."""
    return {
        name: json.dumps(build(), ensure_ascii=False, indent=2) + "\n"
        for name, build in DASHBOARDS.items()
    }
