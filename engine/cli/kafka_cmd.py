"""``ssa kafka up | down | status``: the local Apache Kafka broker."""

from __future__ import annotations

import argparse
from typing import Any

from engine.broker import bootstrap_servers, local_broker
from engine.broker.local import describe_cluster
from engine.errors import BrokerError
from engine.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("kafka", help="run a local Kafka broker from the official jars")
    cmds = p.add_subparsers(dest="kafka_command", metavar="ACTION", required=True)
    up = cmds.add_parser("up", help="fetch the jars (once), format storage, start, wait for ready")
    up.add_argument("--heap", help="JVM heap, e.g. 512m (default from settings)")
    up.set_defaults(func=up_cmd)
    down = cmds.add_parser("down", help="stop the broker that 'up' started")
    down.set_defaults(func=down_cmd)
    status = cmds.add_parser("status", help="is the broker healthy?")
    status.set_defaults(func=status_cmd)
    fetch = cmds.add_parser("fetch", help="fetch and cache the Kafka jars with Maven")
    fetch.set_defaults(func=fetch_cmd)


def fetch_cmd(args: argparse.Namespace, settings: Settings) -> int:
    dist = local_broker(settings).dist
    cached = dist.ready()
    libs = dist.ensure()
    print(f"kafka {settings.kafka.version} jars {'cached' if cached else 'fetched'}: {libs}")
    return 0


def up_cmd(args: argparse.Namespace, settings: Settings) -> int:
    if settings.kafka.bootstrap:
        print(f"using the existing cluster at {settings.kafka.bootstrap} (SSA_KAFKA_BOOTSTRAP)")
        describe_cluster(settings.kafka.bootstrap)
        return 0
    broker = local_broker(settings, heap=args.heap)
    already = broker.pid() is not None
    if not broker.dist.ready():
        print(f"fetching Apache Kafka {settings.kafka.version} jars with Maven (once)…")
    broker.start(timeout=settings.kafka.start_timeout_s)
    verb = "already running" if already else "started"
    print(f"kafka {verb}: {broker.bootstrap} (pid {broker.pid()}, data {broker.state_dir})")
    return 0


def down_cmd(args: argparse.Namespace, settings: Settings) -> int:
    if settings.kafka.bootstrap:
        print("SSA_KAFKA_BOOTSTRAP names an existing cluster; ssa does not stop it")
        return 0
    broker = local_broker(settings)
    if broker.stop():
        print("kafka stopped")
    else:
        print("kafka was not running")
    return 0


def status_cmd(args: argparse.Namespace, settings: Settings) -> int:
    bootstrap = bootstrap_servers(settings)
    pid = None if settings.kafka.bootstrap else local_broker(settings).pid()
    try:
        info = describe_cluster(bootstrap, timeout=5.0)
    except BrokerError as e:
        where = f"local broker pid {pid}" if pid else "no local broker running"
        print(f"kafka unhealthy at {bootstrap} ({where}): {e}")
        return 1
    version = "external" if settings.kafka.bootstrap else f"Apache Kafka {settings.kafka.version}"
    print(
        f"kafka healthy: {bootstrap} {version}"
        + (f" pid {pid}" if pid else "")
        + f" cluster {info['cluster_id']} brokers {info['brokers']} topics {info['topics']}"
    )
    return 0
