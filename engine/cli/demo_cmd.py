"""``ssa demo``: the whole system on the simulated city, on a local Kafka.

Starts (or reuses) the local broker, creates the topics, brings up the
simulated city on loopback, syncs its inventory, then runs a collector, an
engine worker and the notifier as child processes, prints where to look and
waits for Ctrl-C or ``--duration``. On the way out it stops every child it
started, prints a summary of the alerts raised, by rule, and stops the broker
if it started it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from engine.broker import bootstrap_servers, local_broker
from engine.broker.topics import create_topics
from engine.processes import terminate
from engine.settings import Settings

PUSHING_SYSTEM = "idp"


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="run the whole system on the simulated demo city")
    p.add_argument("--dir", default="var/demo", help="work folder (inventory, certificates, logs)")
    p.add_argument("--duration", type=float, help="stop after this many seconds and summarise")
    p.add_argument("--speed", type=float, default=None, help="scenario speed factor")
    p.add_argument("--rules", default="rules", help="rules file or folder")
    p.set_defaults(func=demo_cmd)


def demo_cmd(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_demo(args, settings))


def _child_env(settings: Settings, work: Path, bootstrap: str, token: str) -> dict[str, str]:
    # The children see the user's own SSA_* settings, plus what the demo decides.
    env = dict(os.environ)
    env.update(
        SSA_KAFKA_BOOTSTRAP=bootstrap,
        SSA_TOPICS_PREFIX=settings.topics.prefix,
        SSA_TOPICS_PARTITIONS=str(settings.topics.partitions),
        SSA_API_TOKEN=settings.api.token or "demo-token",
        SSA_API_PORT=str(settings.api.port),
        SSA_ENGINE_DATA_DIR=str(work / "engine"),
        SSA_COLLECTORS_BASELINE_DIR=str(work / "baselines"),
        SSA_COLLECTORS_INGEST_TOKENS=f"{PUSHING_SYSTEM}={token}",
        SSA_DEMO_WEBHOOK_SECRET=os.urandom(16).hex(),
        PYTHONUNBUFFERED="1",
    )
    return env


async def _demo(args: argparse.Namespace, settings: Settings) -> int:
    work = Path(args.dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    bootstrap = bootstrap_servers(settings)
    # The demo stops on the way out only a broker it started itself.
    own_broker = None
    if not settings.kafka.bootstrap:
        broker = local_broker(settings)
        if broker.pid() is None:
            own_broker = broker
            print(f"starting Kafka {settings.kafka.version} (local broker) …", flush=True)
        broker.start(timeout=settings.kafka.start_timeout_s)
    try:
        return await _run_system(args, settings, work, bootstrap)
    finally:
        if own_broker is not None:
            own_broker.stop()
            print("kafka stopped", flush=True)


async def _run_system(
    args: argparse.Namespace, settings: Settings, work: Path, bootstrap: str
) -> int:
    """Everything but the broker: topics, the city, the three processes, the summary."""
    from engine.cli.demo_city_cmd import INGEST_PATH
    from engine.demo.city import City, CityConfig
    from engine.demo.pusher import IngestTarget
    from engine.demo.scenario import DEFAULT_SPEED

    create_topics(bootstrap, settings)
    token = os.urandom(12).hex()
    c = settings.collectors
    ingest = IngestTarget(
        f"http://{c.ingest_host}:{c.ingest_port}{INGEST_PATH}", token, PUSHING_SYSTEM
    )
    env = _child_env(settings, work, bootstrap, token)
    config = CityConfig(
        work_dir=work / "city",
        speed=args.speed or DEFAULT_SPEED,
        ingest=ingest,
        echo=False,
        # The city approves its pages as the collectors' content baselines, and
        # its webhook receiver checks the notifier's signature.
        baseline_dir=Path(env["SSA_COLLECTORS_BASELINE_DIR"]),
        webhook_secret=env["SSA_DEMO_WEBHOOK_SECRET"],
    )
    children: list[subprocess.Popen[bytes]] = []
    started = time.time()
    async with City(config) as city:
        inventory = work / "city" / "inventory.yaml"
        routes = _write_routes(work / "routes.yaml", city.webhook.url if city.webhook else None)
        ssa = [sys.executable, "-m", "engine.cli"]
        subprocess.run([*ssa, "inventory", "sync", str(inventory)], env=env, check=True)  # noqa: S603
        logs = work / "logs"
        logs.mkdir(exist_ok=True)
        for name, argv in (
            ("engine", ["engine", "--inventory", str(inventory), "--rules", args.rules]),
            ("collector", ["collect", "--inventory", str(inventory), "--vantage", "demo"]),
            ("notifier", ["notify", "--inventory", str(inventory), "--routes", str(routes)]),
        ):
            log = open(logs / f"{name}.log", "ab")
            children.append(
                subprocess.Popen(  # noqa: S603 - our own command line
                    [*ssa, *argv], env=env, stdout=log, stderr=subprocess.STDOUT
                )
            )
            log.close()
        print(city.summary(), flush=True)
        print(
            f"\nssa demo is running (Kafka {bootstrap}, topics {settings.topics.prefix}.*)\n"
            f"  API and /metrics  http://{settings.api.host}:{settings.api.port}/api/v1/alerts\n"
            f"  metrics           http://{settings.api.host}:{settings.api.port}/metrics\n"
            f"  collector metrics http://{c.metrics_host}:{c.metrics_port}/metrics\n"
            f"  logs              {logs}\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        play = asyncio.ensure_future(city.play())
        try:
            if args.duration:
                await asyncio.sleep(args.duration)
            else:
                await asyncio.Event().wait()
        except (KeyboardInterrupt, asyncio.CancelledError):
            pass
        finally:
            play.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await play
            _stop(children)
    print(_summary(bootstrap, settings, time.time() - started), flush=True)
    return 0


def _write_routes(path: Path, webhook_url: str | None) -> Path:
    """Notification routes for the demo: everything to the city's webhook receiver."""
    url = webhook_url or "http://127.0.0.1:9/"  # discard port: deliveries fail and are logged
    path.write_text(
        "# Demo routes: every alert of the simulated city goes to its duty-room webhook.\n"
        "defaults:\n"
        "  group_by: [unit, rule]\n"
        "  group_wait: 5s\n"
        "  group_interval: 1m\n"
        "  repeat_interval: 1h\n"
        "  send_resolved: true\n"
        "receivers:\n"
        "  duty-webhook:\n"
        "    webhook:\n"
        f"      url: {url}\n"
        "      secret: {env: SSA_DEMO_WEBHOOK_SECRET}\n"
        "routes:\n"
        "  - name: everything\n"
        "    receiver: duty-webhook\n"
        "    recipients: none\n",
        encoding="utf-8",
    )
    return path


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    terminate(children, timeout=20)


def _summary(bootstrap: str, settings: Settings, elapsed: float) -> str:
    """Alerts raised during the run, by rule, read back from the alerts topic."""
    from kafka import KafkaConsumer, TopicPartition

    from engine.events import Alert

    topic = settings.topic("alerts")
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        by_rule: Counter[str] = Counter()
        states: Counter[str] = Counter()
        while any(consumer.position(tp) < end[tp] for tp in tps):
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    a = Alert.from_json(r.value)
                    states[a.state] += 1
                    if a.state == "firing":
                        by_rule[a.rule] += 1
    finally:
        consumer.close()
    lines = [f"\nsummary after {elapsed:.0f}s: {sum(by_rule.values())} alerts raised"]
    lines += [f"  {rule:<32} {n}" for rule, n in by_rule.most_common()]
    lines.append("  state changes: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
    return "\n".join(lines)
