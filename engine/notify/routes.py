"""Notification routes (notify/routes.yaml): which alerts go to whom, and when.

As in Alertmanager, routes are tried in order; the first that matches takes
the alert, unless it says ``continue: true``. A route matches on severity,
unit, tags and rule (every key given must match; a list means any of).
Recipients are the alert's unit contacts (``recipients: contacts``, level 1
first) or nobody in particular (``recipients: none``: the receiver itself,
e.g. Alertmanager). Grouping and its timers (``group_wait``,
``group_interval``, ``repeat_interval``) mean what they mean in
Alertmanager. ``escalation`` lists the later levels: ``after`` is counted
from the first notification; when nobody acknowledged by then, the unit's
contacts of the next level are told (on the level's receiver, or the
route's). ``rectification`` sets the per-severity deadlines of 通报整改 and how long a
fixed item's alert must stay resolved (``verify_after``) before it closes.

Every error names ``file:line:col``; ``load_routes(..., lint=True)`` collects
all of them.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.durations import format_duration, parse_duration
from engine.errors import Mark, RouteError
from engine.events import SEVERITIES, Alert
from engine.notify.receivers import Receiver, load_receivers
from engine.yamlsource import (
    Diagnostics,
    MarkedList,
    MarkedMap,
    check_keys,
    expect_list,
    expect_map,
    load_yaml,
)

TOP_KEYS = ("defaults", "receivers", "routes", "rectification")
SETTING_KEYS = ("group_by", "group_wait", "group_interval", "repeat_interval", "send_resolved")
ROUTE_KEYS = ("name", "match", "receiver", "recipients", "continue", "escalation", *SETTING_KEYS)
MATCH_KEYS = ("severity", "unit", "tags", "rule")
RECIPIENTS = ("contacts", "none")
#: Labels of an alert that group_by may name, besides the alert's own group-by values.
GROUP_LABELS = ("unit", "asset", "rule", "severity")

#: Days to rectify, by severity, unless routes.yaml says otherwise.
DEFAULT_DEADLINES: dict[str, float] = {
    "critical": 4 * 3600.0,
    "high": 24 * 3600.0,
    "medium": 3 * 86400.0,
    "low": 7 * 86400.0,
    "info": 30 * 86400.0,
}


@dataclass(frozen=True)
class Timers:
    """Alertmanager's three grouping timers, in seconds."""

    group_by: tuple[str, ...] = ("unit", "rule")
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 4 * 3600.0
    send_resolved: bool = True


@dataclass(frozen=True)
class Match:
    """What a route takes; an empty tuple matches anything."""

    severity: tuple[str, ...] = ()
    unit: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    rule: tuple[str, ...] = ()

    def __call__(self, alert: Alert) -> bool:
        return (
            (not self.severity or alert.severity in self.severity)
            and (not self.unit or alert.unit in self.unit)
            and (not self.rule or alert.rule in self.rule)
            and (not self.tags or any(t in self.tags for t in alert.tags))
        )


@dataclass(frozen=True)
class Level:
    """An escalation level: told ``after`` seconds past the first notice if unacknowledged."""

    level: int
    after: float
    receiver: str


@dataclass(frozen=True)
class Route:
    """One route of routes.yaml."""

    name: str
    receiver: str
    match: Match = field(default_factory=Match)
    recipients: str = "contacts"
    timers: Timers = field(default_factory=Timers)
    cont: bool = False
    escalation: tuple[Level, ...] = ()
    mark: Mark | None = None

    def group_key(self, alert: Alert) -> str:
        """The group this alert joins on this route: route name plus group-by values."""
        labels = {
            "unit": alert.unit,
            "asset": alert.asset,
            "rule": alert.rule,
            "severity": alert.severity,
        }
        values = [f"{k}={alert.group.get(k, labels.get(k, ''))}" for k in self.timers.group_by]
        return f"{self.name}{{{','.join(values)}}}"

    def receiver_of(self, level: int) -> str:
        """The receiver that tells level ``level`` (1 is the route's own)."""
        for lv in self.escalation:
            if lv.level == level:
                return lv.receiver
        return self.receiver


@dataclass(frozen=True)
class RectifyPolicy:
    """Deadlines of 通报整改 by severity, and who else hears about overdue items."""

    deadlines: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_DEADLINES))
    receiver: str | None = None
    #: How long a fixed item's alert must stay resolved before the item closes.
    verify_s: float = 600.0


@dataclass(frozen=True)
class RouteSet:
    """The loaded routes file."""

    receivers: Mapping[str, Receiver]
    routes: tuple[Route, ...]
    rectification: RectifyPolicy = field(default_factory=RectifyPolicy)

    def matching(self, alert: Alert) -> list[Route]:
        """The routes that take ``alert``, in order, honouring ``continue``."""
        out = []
        for route in self.routes:
            if route.match(alert):
                out.append(route)
                if not route.cont:
                    break
        return out


def load_routes(
    path: str | Path,
    *,
    env: Mapping[str, str] | None = None,
    diag: Diagnostics | None = None,
    text: str | None = None,
) -> RouteSet:
    """Load and validate routes.yaml.

    Raises ``RouteError`` at the first problem, unless ``diag`` collects: then
    every problem is in ``diag.errors`` and the routes that loaded are returned.
    """
    env = os.environ if env is None else env
    diag = diag or Diagnostics(fail_fast=True)
    doc = load_yaml(path, RouteError, text=text)
    top = expect_map(doc, "routes file", Mark(str(path), 1, 1), RouteError)
    check_keys(
        top, TOP_KEYS, ("receivers", "routes"), what="routes file", err=RouteError, diag=diag
    )
    receivers: dict[str, Receiver] = {}
    if "receivers" in top:
        with diag.collecting():
            receivers = load_receivers(top["receivers"], top.mark_of("receivers"), env, diag)
    names = _receiver_names(top)
    defaults = Timers()
    if "defaults" in top:
        with diag.collecting():
            d = expect_map(top["defaults"], "defaults", top.mark_of("defaults"), RouteError)
            check_keys(d, SETTING_KEYS, what="defaults", err=RouteError, diag=diag)
            defaults = _timers(d, defaults)
    routes: list[Route] = []
    if "routes" in top:
        with diag.collecting():
            items = expect_list(top["routes"], "routes", top.mark_of("routes"), RouteError)
            seen: dict[str, Mark] = {}
            for i, item in enumerate(items):
                with diag.collecting():
                    route = _route(i, item, items, defaults, names, diag)
                    if route.name in seen:
                        raise RouteError(
                            f"duplicate route name '{route.name}' "
                            f"(first at line {seen[route.name].line})",
                            route.mark,
                        )
                    seen[route.name] = route.mark or items.mark
                    routes.append(route)
    policy = RectifyPolicy()
    if "rectification" in top:
        with diag.collecting():
            policy = _rectification(top["rectification"], top.mark_of("rectification"), names, diag)
    return RouteSet(receivers, tuple(routes), policy)


def _receiver_names(top: MarkedMap) -> tuple[str, ...]:
    recv = top.get("receivers")
    return tuple(recv) if isinstance(recv, dict) else ()


def _route(
    i: int,
    node: Any,
    items: MarkedList,
    defaults: Timers,
    names: tuple[str, ...],
    diag: Diagnostics,
) -> Route:
    m = expect_map(node, f"route {i + 1}", items.mark_at(i), RouteError)
    check_keys(m, ROUTE_KEYS, ("receiver",), what=f"route {i + 1}", err=RouteError, diag=diag)
    name = m.get("name", f"route-{i + 1}")
    if not isinstance(name, str) or not name:
        raise RouteError(f"route name must be a string, got {name!r}", m.mark_of("name"))
    receiver = _receiver_ref(m, "receiver", names)
    recipients = m.get("recipients", "contacts")
    if recipients not in RECIPIENTS:
        raise RouteError(
            f"recipients must be 'contacts' or 'none', got {recipients!r}", m.mark_of("recipients")
        )
    cont = m.get("continue", False)
    if not isinstance(cont, bool):
        raise RouteError(f"continue must be true or false, got {cont!r}", m.mark_of("continue"))
    match = Match()
    if "match" in m:
        match = _match(m["match"], m.mark_of("match"), diag)
    levels: tuple[Level, ...] = ()
    if "escalation" in m:
        levels = _escalation(m["escalation"], m.mark_of("escalation"), receiver, names)
    return Route(name, receiver, match, recipients, _timers(m, defaults), cont, levels, m.mark)


def _receiver_ref(m: MarkedMap, key: str, names: tuple[str, ...]) -> str:
    ref = m[key]
    if not isinstance(ref, str):
        raise RouteError(f"{key} must be a receiver name, got {ref!r}", m.mark_of(key))
    if ref not in names:
        close = difflib.get_close_matches(ref, names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise RouteError(f"unknown receiver '{ref}'{hint}", m.mark_of(key))
    return ref


def _match(node: Any, mark: Mark, diag: Diagnostics) -> Match:
    m = expect_map(node, "match", mark, RouteError)
    check_keys(m, MATCH_KEYS, what="match", err=RouteError, diag=diag)
    values: dict[str, tuple[str, ...]] = {}
    for key in MATCH_KEYS:
        if key not in m:
            continue
        raw = m[key]
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            raise RouteError(f"match {key} must be a name or a list of names", m.mark_of(key))
        if key == "severity":
            for j, sev in enumerate(items):
                if sev not in SEVERITIES:
                    where = raw.mark_at(j) if isinstance(raw, MarkedList) else m.mark_of(key)
                    raise RouteError(
                        f"unknown severity '{sev}' (one of {', '.join(SEVERITIES)})", where
                    )
        values[key] = tuple(items)
    return Match(**values)


def _duration(m: MarkedMap, key: str, zero_ok: bool = False) -> float:
    if zero_ok and isinstance(m[key], str) and m[key].strip() in ("0", "0s", "0ms"):
        return 0.0
    try:
        return parse_duration(m[key])
    except ValueError as e:
        raise RouteError(str(e), m.mark_of(key)) from None


def _timers(m: MarkedMap, base: Timers) -> Timers:
    group_by = base.group_by
    if "group_by" in m:
        raw = m["group_by"]
        if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
            raise RouteError("group_by must be a list of label names", m.mark_of("group_by"))
        group_by = tuple(raw)
    send_resolved = m.get("send_resolved", base.send_resolved)
    if not isinstance(send_resolved, bool):
        raise RouteError(
            f"send_resolved must be true or false, got {send_resolved!r}",
            m.mark_of("send_resolved"),
        )
    return Timers(
        group_by=group_by,
        group_wait=_duration(m, "group_wait", zero_ok=True)
        if "group_wait" in m
        else base.group_wait,
        group_interval=(
            _duration(m, "group_interval") if "group_interval" in m else base.group_interval
        ),
        repeat_interval=(
            _duration(m, "repeat_interval") if "repeat_interval" in m else base.repeat_interval
        ),
        send_resolved=send_resolved,
    )


def _escalation(node: Any, mark: Mark, receiver: str, names: tuple[str, ...]) -> tuple[Level, ...]:
    items = expect_list(node, "escalation", mark, RouteError)
    levels: list[Level] = []
    strict = Diagnostics(fail_fast=True)
    for j, item in enumerate(items):
        m = expect_map(item, f"escalation level {j + 2}", items.mark_at(j), RouteError)
        check_keys(
            m,
            ("after", "receiver"),
            ("after",),
            what=f"escalation level {j + 2}",
            err=RouteError,
            diag=strict,
        )
        after = _duration(m, "after")
        if levels and after <= levels[-1].after:
            raise RouteError(
                f"escalation level {j + 2} must come after level {j + 1} "
                f"({format_duration(levels[-1].after)}), got {format_duration(after)}",
                m.mark_of("after"),
            )
        recv = _receiver_ref(m, "receiver", names) if "receiver" in m else receiver
        levels.append(Level(j + 2, after, recv))
    return tuple(levels)


def _rectification(
    node: Any, mark: Mark, names: tuple[str, ...], diag: Diagnostics
) -> RectifyPolicy:
    m = expect_map(node, "rectification", mark, RouteError)
    check_keys(
        m,
        ("deadlines", "receiver", "verify_after"),
        what="rectification",
        err=RouteError,
        diag=diag,
    )
    deadlines = dict(DEFAULT_DEADLINES)
    if "deadlines" in m:
        d = expect_map(m["deadlines"], "deadlines", m.mark_of("deadlines"), RouteError)
        check_keys(d, SEVERITIES, what="deadlines", err=RouteError, diag=diag)
        for sev in d:
            if sev in deadlines:
                deadlines[sev] = _duration(d, sev)
    recv = _receiver_ref(m, "receiver", names) if "receiver" in m else None
    verify = _duration(m, "verify_after") if "verify_after" in m else RectifyPolicy.verify_s
    return RectifyPolicy(deadlines, recv, verify)
