"""``ssa audit export`` and ``ssa report``: the record of a period, as data and as a report."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from engine.audit.export import FORMATS, rows_of, select, with_evidence, write_csv, write_jsonl
from engine.audit.history import read_history, read_observations, read_period, read_sources
from engine.audit.report import PERIODS, build_report, period_bounds
from engine.audit.report_render import render_html, render_markdown
from engine.audit.timearg import parse_slack, parse_when
from engine.broker import bootstrap_servers
from engine.events import Alert, SourceOffset
from engine.settings import Settings


def register_audit(cmds: Any) -> None:
    """``ssa audit export`` (called by ``audit_cmd.register``)."""
    e = cmds.add_parser("export", help="alerts, notifications and control actions of a period")
    e.add_argument("--from", dest="since", type=parse_when, required=True, metavar="T")
    e.add_argument("--to", dest="until", type=parse_when, metavar="T", help="default: now")
    e.add_argument("--unit", metavar="U", help="only what concerns this unit")
    e.add_argument("--format", choices=FORMATS, default="jsonl")
    e.add_argument("--out", metavar="FILE", help="default: standard output")
    e.add_argument(
        "--evidence", action="store_true", help="include the recorded observations each alert cites"
    )
    e.add_argument(
        "--slack",
        type=parse_slack,
        default=timedelta(hours=1),
        metavar="DURATION",
        help="how long after an event its record may have been written (default 1h)",
    )
    e.set_defaults(func=export_cmd)


def register_report(sub: Any) -> None:
    """``ssa report`` (a top-level command)."""
    r = sub.add_parser("report", help="write a situation report (HTML and Markdown)")
    r.add_argument("--period", choices=sorted(PERIODS), default="day")
    r.add_argument("--at", type=parse_when, metavar="T", help="end of the period (default: now)")
    r.add_argument("--out", metavar="DIR", required=True, help="folder for the .html and .md")
    r.add_argument(
        "--slack",
        type=parse_slack,
        default=timedelta(hours=1),
        metavar="DURATION",
        help="how long after an event its record may have been written (default 1h)",
    )
    r.set_defaults(func=report_cmd)


def export_cmd(args: argparse.Namespace, settings: Settings) -> int:
    until = args.until or datetime.now(UTC)
    history = read_history(settings, bootstrap_servers(settings), args.since, until, args.slack)
    rows = select(rows_of(history), args.unit)
    if args.evidence:
        cited = [
            SourceOffset(s["topic"], s["partition"], s["offset"])
            for r in rows if r.type == "alert" for s in r.record.get("sources", ())
        ]  # fmt: skip
        rows = with_evidence(rows, read_sources(bootstrap_servers(settings), cited))
    write = write_jsonl if args.format == "jsonl" else write_csv
    if args.out:
        with open(args.out, "wb") as f:
            n = write(rows, f)
    else:
        out: IO[bytes] = sys.stdout.buffer
        n = write(rows, out)
        out.flush()
    counts = {t: sum(1 for r in rows if r.type == t) for t in ("alert", "control", "notification")}
    skipped = sum(history.skipped.values())
    print(
        f"exported {n} rows ({counts['alert']} alerts, {counts['control']} control actions, "
        f"{counts['notification']} notifications)"
        + (f"; {skipped} undecodable records skipped" if skipped else ""),
        file=sys.stderr,
    )
    return 0


def report_cmd(args: argparse.Namespace, settings: Settings) -> int:
    end = args.at or datetime.now(UTC)
    start, end = period_bounds(args.period, end)
    bootstrap = bootstrap_servers(settings)
    # every alert record up to the end: overdue items may have been acknowledged long before
    located, _ = read_period(
        bootstrap, settings.topic("alerts"), Alert.from_json, lambda a: a.at, None, end, args.slack
    )
    alerts = [x.item for x in located]
    observations = read_observations(
        bootstrap, settings.topic("observations"), start, end, args.slack
    )
    report = build_report(args.period, end, observations, alerts)
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"ssa-report-{args.period}-{end.strftime('%Y%m%dT%H%MZ')}"
    (folder / f"{stem}.md").write_text(render_markdown(report), encoding="utf-8")
    (folder / f"{stem}.html").write_text(render_html(report), encoding="utf-8")
    print(
        f"wrote {folder / stem}.html and .md: {report.observations} observations, "
        f"{report.alert_records} alert records, {len(report.overdue)} overdue"
    )
    return 0
