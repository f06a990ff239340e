"""ssa's Kafka topics: what they are, and creating them idempotently.

The table of DESIGN.md is ``TOPICS``; names are ``<prefix>.<name>`` so tests
and shadow runs can use their own set on a shared broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import BrokerError
from engine.settings import Settings

DAY_MS = 86_400_000


@dataclass(frozen=True)
class TopicSpec:
    """One of ssa's topics: its short name, key and retention class."""

    name: str
    key: str
    purpose: str
    #: "long" (replay/audit source), "short", or "compact".
    retention: str
    #: Control and dead letters are low-volume and must keep their order.
    single_partition: bool = False


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec("inventory", "asset id", "registered assets; drives collector assignment", "compact"),
    TopicSpec("observations", "asset id", "probe results; the replay source", "long"),
    TopicSpec("findings", "asset id", "rule matches", "short"),
    TopicSpec(
        "alerts", "fingerprint", "alert state changes; the hash-chained audit record", "long"
    ),
    TopicSpec("notifications", "fingerprint", "delivery log of notifications", "long"),
    TopicSpec("control", "-", "silences, acknowledgements, reloads", "long", single_partition=True),
    TopicSpec("deadletter", "-", "rejected input with the reason", "short"),
    # Internal: ssa.control copied to every engine partition (same count as observations).
    TopicSpec("engine-commands", "-", "controls fanned out to every engine partition", "long"),
)


def topic_configs(spec: TopicSpec, settings: Settings) -> dict[str, str]:
    """The broker configs one topic is created with."""
    t = settings.topics
    if spec.retention == "compact":
        return {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}
    days = t.retention_days if spec.retention == "long" else t.short_retention_days
    return {"cleanup.policy": "delete", "retention.ms": str(int(days * DAY_MS))}


def create_topics(
    bootstrap: str, settings: Settings, partitions: int | None = None
) -> dict[str, str]:
    """Create every missing topic; returns ``{topic: "created" | "exists"}``."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    n = partitions or settings.topics.partitions
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="ssa-topics")
    try:
        existing = set(admin.list_topics())
        result: dict[str, str] = {}
        new = []
        for spec in TOPICS:
            name = settings.topic(spec.name)
            if name in existing:
                result[name] = "exists"
                continue
            new.append(
                NewTopic(
                    name=name,
                    num_partitions=1 if spec.single_partition else n,
                    replication_factor=settings.topics.replication,
                    topic_configs=topic_configs(spec, settings),
                )
            )
            result[name] = "created"
        for topic in new:
            try:
                admin.create_topics([topic], timeout_ms=30_000)
            except TopicAlreadyExistsError:
                result[topic.name] = "exists"  # created concurrently: still idempotent
            except KafkaError as e:
                raise BrokerError(f"creating topic {topic.name} failed: {e}") from None
        if new:
            admin.wait_for_topics([t.name for t in new], timeout_ms=30_000)
        return result
    finally:
        admin.close()


def describe_topics(bootstrap: str, settings: Settings) -> list[dict[str, Any]]:
    """Partitions and the configs that matter, for each of ssa's topics."""
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="ssa-topics")
    try:
        names = [settings.topic(s.name) for s in TOPICS]
        present = set(admin.list_topics())
        described = {
            d["name"]: d for d in admin.describe_topics([n for n in names if n in present])
        }
        configs: dict[str, dict[str, str]] = {}
        resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in names if n in present]
        if resources:
            answer = admin.describe_configs(resources, config_filter="all")
            for topic, entries in answer.get("topic", {}).items():
                configs[topic] = {k: str(v.get("value", "")) for k, v in entries.items()}
        out = []
        for spec, name in zip(TOPICS, names, strict=True):
            d = described.get(name)
            cfg = configs.get(name, {})
            out.append(
                {
                    "topic": name,
                    "exists": d is not None,
                    "partitions": len(d["partitions"]) if d else 0,
                    "cleanup.policy": cfg.get("cleanup.policy", ""),
                    "retention.ms": cfg.get("retention.ms", ""),
                    "key": spec.key,
                    "purpose": spec.purpose,
                }
            )
        return out
    finally:
        admin.close()
