"""Durations as people write them in YAML: ``30s``, ``5m``, ``1h30m``, ``500ms``, ``7d``."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(text: object) -> float:
    """Seconds in a duration string; ``ValueError`` with a readable reason otherwise.

    A bare number is not accepted: ``30`` could mean seconds or minutes, and
    the person who wrote it should say which.
    """
    if not isinstance(text, str):
        raise ValueError(f"duration must be a string like '30s' or '5m', got {text!r}")
    s = text.strip()
    pos, total = 0, 0.0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise ValueError(f"invalid duration '{text}' (use e.g. 30s, 5m, 1h30m, 500ms, 7d)")
    if total <= 0:
        raise ValueError(f"duration '{text}' must be greater than zero")
    return total


def format_duration(seconds: float) -> str:
    """The shortest readable form: ``90`` → ``1m30s``, ``0.5`` → ``500ms``."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    out, rest = "", round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out += f"{rest // size}{unit}"
            rest %= size
    return out
