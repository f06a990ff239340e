"""Kafka plumbing: the local broker, ssa's topics, and where the cluster is."""

from __future__ import annotations

from pathlib import Path

from engine.broker.local import KafkaDist, LocalBroker
from engine.settings import Settings


def local_broker(settings: Settings, heap: str | None = None) -> LocalBroker:
    """The broker ``ssa kafka up`` manages, as the settings describe it."""
    k = settings.kafka
    return LocalBroker(
        dist=KafkaDist(k.version, Path(k.home)),
        state_dir=Path(k.state_dir),
        host=k.host,
        port=k.port,
        controller_port=k.controller_port,
        heap=heap or k.heap,
    )


def bootstrap_servers(settings: Settings) -> str:
    """``SSA_KAFKA_BOOTSTRAP`` / ``kafka.bootstrap`` if given, else the local broker."""
    return settings.kafka.bootstrap or f"{settings.kafka.host}:{settings.kafka.port}"
