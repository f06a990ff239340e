"""Building the configured receivers of routes.yaml into ``Notifier`` objects.

A receiver is a name and exactly one channel mapping, whose keys are the
fields of that channel's class in ``engine.notifiers.NOTIFIERS``::

    receivers:
      duty-robot:
        dingtalk: {access_token: {env: DUTY_DT_TOKEN}, secret: {env: DUTY_DT_SECRET}}
        rate_limit: {count: 20, per: 1m}

Secret fields take a string or ``{env: NAME}`` (read from the environment so
that secrets stay out of the file); their values never appear in errors.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.durations import parse_duration
from engine.errors import RouteError
from engine.notifiers import NOTIFIERS, ChannelConfigError, Notifier, Secret
from engine.yamlsource import Diagnostics, MarkedMap, check_keys, expect_map

RECEIVER_KEYS = (*NOTIFIERS, "rate_limit")


@dataclass(frozen=True)
class Receiver:
    """A named, validated notifier and its rate limit (``count`` per ``per_s`` seconds)."""

    name: str
    notifier: Notifier
    rate_count: int
    rate_per_s: float

    @property
    def channel(self) -> str:
        return self.notifier.channel


def load_receivers(
    node: Any, mark: Any, env: Mapping[str, str], diag: Diagnostics
) -> dict[str, Receiver]:
    """Every receiver of the ``receivers`` mapping; problems go to ``diag``."""
    m = expect_map(node, "receivers", mark, RouteError)
    out: dict[str, Receiver] = {}
    for name, value in m.items():
        with diag.collecting():
            out[name] = load_receiver(name, value, m.mark_of(name), env, diag)
    return out


def load_receiver(
    name: str, node: Any, mark: Any, env: Mapping[str, str], diag: Diagnostics
) -> Receiver:
    """One receiver: exactly one channel mapping and an optional rate limit."""
    m = expect_map(node, f"receiver '{name}'", mark, RouteError)
    check_keys(m, RECEIVER_KEYS, what=f"receiver '{name}'", err=RouteError, diag=diag)
    channels = [k for k in m if k in NOTIFIERS]
    if not channels:
        raise RouteError(
            f"receiver '{name}' names no channel (one of: {', '.join(NOTIFIERS)})", m.mark
        )
    if len(channels) > 1:
        raise RouteError(
            f"receiver '{name}' names more than one channel: {', '.join(channels)}",
            m.key_mark(channels[1]),
        )
    channel = channels[0]
    notifier = build_notifier(channel, name, m[channel], m.mark_of(channel), env, diag)
    count, per = notifier.rate
    if "rate_limit" in m:
        count, per = _rate_limit(name, m["rate_limit"], m.mark_of("rate_limit"))
    return Receiver(name, notifier, count, per)


def _rate_limit(name: str, node: Any, mark: Any) -> tuple[int, float]:
    m = expect_map(node, f"rate_limit of receiver '{name}'", mark, RouteError)
    strict = Diagnostics(fail_fast=True)
    check_keys(
        m, ("count", "per"), ("count", "per"), what="rate_limit", err=RouteError, diag=strict
    )
    count = m["count"]
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise RouteError(
            f"rate_limit count must be a positive integer, got {count!r}", m.mark_of("count")
        )
    try:
        per = parse_duration(m["per"])
    except ValueError as e:
        raise RouteError(str(e), m.mark_of("per")) from None
    return count, per


def build_notifier(
    channel: str, name: str, node: Any, mark: Any, env: Mapping[str, str], diag: Diagnostics
) -> Notifier:
    """Build and validate one channel's notifier from its mapping."""
    cls = NOTIFIERS[channel]
    what = f"{channel} receiver '{name}'"
    m = expect_map(node, what, mark, RouteError)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    required = [
        n
        for n, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    check_keys(m, fields, required, what=what, err=RouteError, diag=Diagnostics(fail_fast=True))
    hints = typing.get_type_hints(cls)
    values = {key: _coerce(key, hints[key], m[key], m, env) for key in m}
    notifier: Notifier = cls(**values)
    try:
        notifier.validate()
    except ChannelConfigError as e:
        raise RouteError(f"{what}: '{e.key}' {e.message}", m.mark_of(e.key)) from None
    return notifier


def _coerce(key: str, typ: Any, value: Any, m: MarkedMap, env: Mapping[str, str]) -> Any:
    mark = m.mark_of(key)
    if typ is Secret:
        if isinstance(value, str):
            return Secret(value)
        if isinstance(value, dict) and set(value) == {"env"} and isinstance(value["env"], str):
            var = value["env"]
            if var not in env:
                raise RouteError(f"'{key}': environment variable {var} is not set", mark)
            return Secret(env[var])
        raise RouteError(f"'{key}' must be a string or {{env: NAME}}", mark)
    if typ is str:
        if not isinstance(value, str):
            raise RouteError(f"'{key}' must be a string, got {_show(value)}", mark)
        return value
    if typ is bool:
        if not isinstance(value, bool):
            raise RouteError(f"'{key}' must be true or false, got {_show(value)}", mark)
        return value
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RouteError(f"'{key}' must be an integer, got {_show(value)}", mark)
        return value
    if typ is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RouteError(f"'{key}' must be a number, got {_show(value)}", mark)
        return float(value)
    if typing.get_origin(typ) is tuple:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            raise RouteError(f"'{key}' must be a list of strings, got {_show(value)}", mark)
        return tuple(items)
    raise RouteError(f"'{key}' has an unsupported type", mark)  # a channel class bug


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"
