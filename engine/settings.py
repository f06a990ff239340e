"""Settings: one TOML file plus environment overrides, read when a command starts.

Nothing here runs at import time. ``Settings.load()`` reads ``ssa.toml`` (or
the file named by ``--config`` / ``SSA_CONFIG``), then applies environment
variables named ``SSA_<SECTION>_<FIELD>`` (``SSA_KAFKA_BOOTSTRAP``,
``SSA_TOPICS_PARTITIONS``, ``SSA_API_TOKEN``…). Unknown sections or keys in
the file are errors, so a typo never silently falls back to a default.

A section is a frozen dataclass; adding settings for a new part of ssa means
adding one dataclass and one field of ``Settings``. Fields whose metadata says
``secret`` are never shown by ``repr`` or ``ssa config show``.
"""

from __future__ import annotations

import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from engine.errors import ConfigError

SECRET = {"secret": True}


def _home(*parts: str) -> str:
    return str(Path.home().joinpath(*parts))


@dataclass(frozen=True)
class KafkaSettings:
    """Where Kafka is, or how to run the local broker when it is not given."""

    #: An existing cluster's bootstrap servers; empty means the local broker.
    bootstrap: str = ""
    version: str = "3.9.1"
    #: Cache of the broker's jars (outside the repository).
    home: str = field(default_factory=lambda: _home(".cache", "ssa", "kafka"))
    #: Data, logs and pid file of the local broker started by ``ssa kafka up``.
    state_dir: str = field(default_factory=lambda: _home(".local", "state", "ssa", "kafka"))
    host: str = "127.0.0.1"
    port: int = 19092
    controller_port: int = 19093
    heap: str = "1g"
    start_timeout_s: float = 90.0


@dataclass(frozen=True)
class TopicSettings:
    """Names and sizing of ssa's topics."""

    #: Every topic is ``<prefix>.<name>``; tests and shadow runs use their own prefix.
    prefix: str = "ssa"
    partitions: int = 6
    replication: int = 1
    retention_days: float = 180.0
    short_retention_days: float = 7.0


@dataclass(frozen=True)
class ApiSettings:
    """The engine's HTTP API and /metrics."""

    host: str = "127.0.0.1"
    port: int = 8080
    #: Bearer token required for every mutation; empty means mutations are refused.
    token: str = field(default="", metadata=SECRET)


@dataclass(frozen=True)
class CollectorSettings:
    """Collectors: where they stand, how hard they probe, how they publish."""

    vantage: str = "local"
    concurrency: int = 200
    timeout_s: float = 10.0
    #: Largest response body a probe reads (bytes); the rest is not fetched.
    max_body_bytes: int = 2 << 20
    #: Observations kept locally while Kafka is unreachable.
    buffer_size: int = 100_000
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9108
    ingest_host: str = "127.0.0.1"
    ingest_port: int = 8514
    syslog_port: int = 5514
    #: Per-system ingest tokens as "system-id=token,..." (never logged).
    ingest_tokens: str = field(default="", metadata=SECRET)
    #: Largest JSON body the HTTP ingest accepts (bytes); bigger ones get 413.
    ingest_max_body_bytes: int = 1 << 20
    baseline_dir: str = field(default_factory=lambda: _home(".local", "state", "ssa", "baselines"))


@dataclass(frozen=True)
class EngineSettings:
    """The streaming engine worker (``ssa engine``)."""

    rules: str = "rules"
    inventory: str = "inventory"
    #: Names the engine's consumer groups and changelog topics (``<prefix>-<app_id>...``).
    app_id: str = "ssa-engine"
    #: Local files of the worker's Faust app (the control fan-out); state lives in Kafka.
    data_dir: str = field(default_factory=lambda: _home(".local", "state", "ssa", "engine"))
    #: How long a silent worker keeps its partitions before the group moves them.
    session_timeout_s: float = 10.0
    heartbeat_interval_s: float = 3.0


@dataclass(frozen=True)
class NotifySettings:
    """The notifier: routes and delivery."""

    routes: str = "notify/routes.yaml"
    grafana_url: str = "http://127.0.0.1:3000"
    max_attempts: int = 8
    backoff_base_s: float = 1.0
    backoff_max_s: float = 300.0
    #: How far back the notifier re-reads alerts and controls on start (the
    #: delivery log is always read whole, so nothing confirmed is sent again).
    replay_window_s: float = 7 * 86400.0
    #: Where the notifier serves /metrics.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9109
    #: Who `ssa rectify ack|fixed` records as the actor when --actor is not given.
    actor: str = "cli"


@dataclass(frozen=True)
class Settings:
    """Every setting of ssa, grouped by the part that uses it."""

    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    topics: TopicSettings = field(default_factory=TopicSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    collectors: CollectorSettings = field(default_factory=CollectorSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)

    def __repr__(self) -> str:
        return f"Settings({redacted(self)!r})"

    @classmethod
    def load(
        cls, path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
    ) -> Settings:
        """Read the settings file (if any) and the environment overrides."""
        env = os.environ if env is None else env
        if path is None:
            path = env.get("SSA_CONFIG") or ("ssa.toml" if Path("ssa.toml").exists() else None)
        data: dict[str, Any] = {}
        if path is not None:
            p = Path(path)
            try:
                data = tomllib.loads(p.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise ConfigError(f"{p}: settings file not found") from None
            except tomllib.TOMLDecodeError as e:
                raise ConfigError(f"{p}: {e}") from None
        return _build(cls, data, env, str(path or "settings"))

    def topic(self, name: str) -> str:
        """The full name of one of ssa's topics, e.g. ``topic("alerts")``."""
        return f"{self.topics.prefix}.{name}"


def _build(cls: type[Settings], data: dict[str, Any], env: Mapping[str, str], src: str) -> Settings:
    hints = typing.get_type_hints(cls)
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        raise ConfigError(f"{src}: unknown section [{sorted(unknown)[0]}]")
    sections = {}
    for f in fields(cls):
        section_cls = hints[f.name]
        given = data.get(f.name, {})
        if not isinstance(given, dict):
            raise ConfigError(f"{src}: [{f.name}] must be a table")
        sections[f.name] = _section(section_cls, f.name, given, env, src)
    return cls(**sections)


def _section(
    cls: type[Any], name: str, given: dict[str, Any], env: Mapping[str, str], src: str
) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = set(given) - known
    if unknown:
        raise ConfigError(f"{src}: unknown key {name}.{sorted(unknown)[0]}")
    values: dict[str, Any] = {}
    for f in fields(cls):
        typ = hints[f.name]
        var = f"SSA_{name}_{f.name}".upper()
        if var in env:
            values[f.name] = _coerce(typ, env[var], var)
        elif f.name in given:
            values[f.name] = _coerce(typ, given[f.name], f"{src}: {name}.{f.name}")
    return cls(**values)


def _coerce(typ: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        typ = next(a for a in typing.get_args(typ) if a is not type(None))
        origin = typing.get_origin(typ)
    try:
        if typ is bool:
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("1", "true", "yes", "on"):
                return True
            if str(value).lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(value)
        if typ is int and not isinstance(value, bool):
            return int(value)
        if typ is float and not isinstance(value, bool):
            return float(value)
        if typ is str:
            if not isinstance(value, str | int | float):
                raise ValueError(value)
            return str(value)
        if origin in (list, tuple):
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(x).strip() for x in items if str(x).strip())
    except (TypeError, ValueError):
        pass
    else:
        raise ConfigError(f"{where}: unsupported setting type {typ}")
    raise ConfigError(f"{where}: expected {getattr(typ, '__name__', typ)}, got {value!r}")


def redacted(obj: Any) -> dict[str, Any]:
    """The settings as a dict with every secret replaced by ``'***'`` (or ``''``)."""
    out: dict[str, Any] = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        if is_dataclass(v):
            out[f.name] = redacted(v)
        elif f.metadata.get("secret"):
            out[f.name] = "***" if v else ""
        else:
            out[f.name] = v
    return out


def with_overrides(settings: Settings, **sections: Mapping[str, Any]) -> Settings:
    """A copy of ``settings`` with some fields of some sections replaced (tests, demo)."""
    changed = {name: replace(getattr(settings, name), **vals) for name, vals in sections.items()}
    return replace(settings, **changed)
