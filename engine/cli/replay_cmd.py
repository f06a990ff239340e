"""``ssa replay`` and ``ssa shadow run | report``: rules over recorded or live history."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from engine.audit.alertdiff import diff_alerts, render
from engine.audit.history import DEFAULT_SLACK, read_period
from engine.audit.progress import Progress
from engine.audit.replay_kafka import replay_period
from engine.audit.shadow import SHADOW_TOPIC, ShadowRunner
from engine.audit.timearg import parse_slack, parse_when
from engine.broker import bootstrap_servers
from engine.events import Alert
from engine.inventory.loader import load_inventory
from engine.ruleset import load_ruleset
from engine.settings import Settings


def register(sub: Any) -> None:
    r = sub.add_parser("replay", help="run recorded observations through the rules again")
    r.add_argument(
        "--from",
        dest="since",
        type=parse_when,
        metavar="T1",
        help="start of the period (default: the beginning of the topic)",
    )
    r.add_argument(
        "--to",
        dest="until",
        type=parse_when,
        metavar="T2",
        help="end of the period, inclusive (default: everything recorded)",
    )
    _rules_args(r, "rule set to replay with (default: settings engine.rules, the live rules)")
    r.add_argument("--out", metavar="FILE", help="alerts as JSONL (default: standard output)")
    r.add_argument(
        "--warmup",
        type=parse_slack,
        metavar="DURATION",
        help="also run the DURATION before --from to fill windows and open alerts; "
        "only the period's alerts are written and compared",
    )
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="processes, each replaying a share of the partitions (default 1)",
    )
    _slack_arg(r)
    r.set_defaults(func=replay_cmd)

    s = sub.add_parser("shadow", help="a candidate rule set next to the live one")
    cmds = s.add_subparsers(dest="shadow_command", metavar="ACTION", required=True)
    run = cmds.add_parser("run", help="follow the live stream with candidate rules")
    _rules_args(run, "the candidate rule set", required=True)
    run.add_argument(
        "--from",
        dest="since",
        type=parse_when,
        default="1h",
        metavar="T",
        help="warm up from T (default: 1h ago)",
    )
    run.set_defaults(func=shadow_run_cmd)
    rep = cmds.add_parser("report", help="compare the shadow alerts with the live alerts")
    rep.add_argument("--from", dest="since", type=parse_when, required=True, metavar="T")
    rep.add_argument("--to", dest="until", type=parse_when, metavar="T", help="default: now")
    rep.add_argument("--limit", type=int, default=50, help="lines per section (default 50)")
    _slack_arg(rep)
    rep.set_defaults(func=shadow_report_cmd)


def _slack_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--slack",
        type=parse_slack,
        default=DEFAULT_SLACK,
        metavar="DURATION",
        help="how long after an event its record may have been written (default 1h)",
    )


def _rules_args(p: argparse.ArgumentParser, help_rules: str, required: bool = False) -> None:
    p.add_argument("--rules", metavar="PATH", required=required, help=help_rules)
    p.add_argument(
        "--inventory",
        metavar="PATH",
        help="inventory file or folder (default: settings engine.inventory)",
    )


def _in(a: Alert, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or a.at >= since) and (until is None or a.at <= until)


def replay_cmd(args: argparse.Namespace, settings: Settings) -> int:
    """Replay, write the alerts, compare with the record: exit 1 if the live rules disagree."""
    rules_path = args.rules or settings.engine.rules
    ruleset = load_ruleset(rules_path)
    inventory = load_inventory(Path(args.inventory or settings.engine.inventory))
    bootstrap = bootstrap_servers(settings)
    bar: list[Progress] = []

    def progress(total: int) -> Any:
        bar.append(Progress(total, "replay ", enabled=not args.quiet))
        return bar[0].update

    start = args.since - args.warmup if args.since and args.warmup else args.since
    alerts, stats = replay_period(
        settings,
        bootstrap,
        ruleset,
        inventory,
        start,
        args.until,
        slack=args.slack,
        progress=progress,
        workers=max(1, args.workers),
    )
    if bar:
        bar[0].close()
    if start != args.since:
        alerts = [a for a in alerts if a.at >= args.since]
    if args.out:
        with open(args.out, "wb") as f:
            _write(alerts, f)
    else:
        _write(alerts, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    err = sys.stderr
    print(
        f"replayed {stats.observations} observations and {stats.controls_applied} control "
        f"applications in {stats.seconds:.2f}s ({stats.rate:,.0f} obs/s): "
        f"{stats.findings} findings, {len(alerts)} alert changes"
        + (f"; {stats.rejected} rejected" if stats.rejected else "")
        + (f"; {stats.failed} failed" if stats.failed else ""),
        file=err,
    )
    recorded = [
        x.item
        for x in read_period(
            bootstrap, settings.topic("alerts"), Alert.from_json, lambda a: a.at,
            args.since, args.until, args.slack,
        )[0]
    ]  # fmt: skip
    versions = Counter(a.rule_version for a in recorded)
    live = ", ".join(f"{v[:12]} ({n})" for v, n in versions.most_common()) or "none"
    print(f"rules {rules_path}: version {ruleset.version[:12]}; recorded alerts: {live}", file=err)
    replayed = [a for a in alerts if _in(a, args.since, args.until)]
    d = diff_alerts(recorded, replayed)
    if d.empty:
        print(f"identical to the {len(recorded)} recorded alert changes of the period", file=err)
        return 0
    for line in render(d):
        print(line, file=err)
    if args.rules:
        return 0  # a different rule set: the diff is the answer
    print("the replay with the live rules differs from the record", file=err)
    return 1


def _write(alerts: list[Alert], out: IO[bytes]) -> None:
    out.write(b"".join(a.to_json() + b"\n" for a in alerts))


def shadow_run_cmd(args: argparse.Namespace, settings: Settings) -> int:
    ruleset = load_ruleset(args.rules)
    inventory = load_inventory(Path(args.inventory or settings.engine.inventory))
    runner = ShadowRunner(settings, bootstrap_servers(settings), ruleset, inventory, args.since)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(
        f"shadow: rules {args.rules} (version {ruleset.version[:12]}) -> "
        f"{settings.topic(SHADOW_TOPIC)}; never notifies. Ctrl-C to stop.",
        file=sys.stderr,
    )
    stats = runner.run(stop)
    print(
        f"shadow: {stats.observations} observations, {stats.alerts} alert changes", file=sys.stderr
    )
    return 0


def shadow_report_cmd(args: argparse.Namespace, settings: Settings) -> int:
    """Print how the shadow alerts differ from the live alerts in the period."""
    bootstrap = bootstrap_servers(settings)
    until = args.until or datetime.now(UTC)

    def alerts_of(topic: str) -> list[Alert]:
        located, _ = read_period(
            bootstrap, topic, Alert.from_json, lambda a: a.at, args.since, until, args.slack
        )
        return [x.item for x in located]

    live = alerts_of(settings.topic("alerts"))
    shadow = alerts_of(settings.topic(SHADOW_TOPIC))
    print(
        f"live {settings.topic('alerts')}: {len(live)} alert changes; "
        f"shadow {settings.topic(SHADOW_TOPIC)}: {len(shadow)}"
    )
    by_rule: Counter[tuple[str, str]] = Counter()
    for a in live:
        by_rule[(a.rule, "live")] += a.state == "firing" and a.at == a.started_at
    for a in shadow:
        by_rule[(a.rule, "shadow")] += a.state == "firing" and a.at == a.started_at
    rules = sorted({r for r, _ in by_rule})
    if rules:
        print(f"{'RULE':<36} {'LIVE':>6} {'SHADOW':>6}  (alerts opened)")
        for r in rules:
            print(f"{r:<36} {by_rule[(r, 'live')]:>6} {by_rule[(r, 'shadow')]:>6}")
    for line in render(diff_alerts(live, shadow), args.limit):
        print(line)
    return 0
