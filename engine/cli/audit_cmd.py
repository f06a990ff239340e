"""``ssa audit verify | checkpoint | export`` and ``ssa report``: the auditor's commands."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.audit import checkpoint as cpfile
from engine.audit.ledger_check import LedgerReport, head_checkpoints, verify_ledger
from engine.audit.timearg import parse_when
from engine.audit.topicread import TopicReader
from engine.broker import bootstrap_servers
from engine.cli.export_cmd import register_audit, register_report
from engine.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("audit", help="verify the alert ledger, export checkpoints and records")
    cmds = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)

    v = cmds.add_parser("verify", help="check the hash chain of every alerts partition")
    _period(v, required=False)
    v.add_argument("--checkpoints", metavar="FILE", help="also check these exported checkpoints")
    v.set_defaults(func=verify_cmd)

    c = cmds.add_parser("checkpoint", help="export the head hash of every partition")
    c.add_argument("--out", metavar="FILE", required=True, help="checkpoint file to write")
    c.add_argument("--at", type=parse_when, metavar="T", help="head as of T (default: now)")
    c.set_defaults(func=checkpoint_cmd)

    register_audit(cmds)
    register_report(sub)


def _period(p: argparse.ArgumentParser, required: bool) -> None:
    help_t = "ISO-8601 time with offset, or a duration ago such as 24h"
    p.add_argument(
        "--from",
        dest="since",
        type=parse_when,
        required=required,
        metavar="T",
        help=f"start of the period ({help_t})",
    )
    p.add_argument(
        "--to",
        dest="until",
        type=parse_when,
        metavar="T",
        help=f"end of the period, inclusive ({help_t}; default: now)",
    )


def print_report(report: LedgerReport) -> None:
    """One line per partition, one per checkpoint; the broken ones say why."""
    for r in report.results:
        where = f"{report.topic}[{r.partition}]"
        if r.records == 0:
            print(f"{where:<28} empty")
            continue
        span = f"offsets {r.first_offset}..{r.last_offset} ({r.records} records)"
        if r.broken is None:
            head = (r.head_hash or "")[:16]
            anchored = "" if r.anchor is not None else ", not anchored"
            dups = f", {len(r.duplicates)} redelivered copies" if r.duplicates else ""
            print(f"{where:<28} ok       {span}, head {head}{anchored}{dups}")
        else:
            b = r.broken
            print(f"{where:<28} BROKEN   {span}: {b.kind} at offset {b.offset}: {b.detail}")
    for c in report.checkpoints:
        cp = c.checkpoint
        print(f"checkpoint {report.topic}[{cp.partition}]@{cp.offset:<10} {c.status:<9} {c.detail}")
    broken = sum(1 for r in report.results if not r.ok)
    failed = sum(1 for c in report.checkpoints if c.failed)
    if report.ok:
        print(
            f"ledger ok: {len(report.results)} partitions, "
            f"{sum(r.records for r in report.results)} records"
        )
    else:
        print(
            f"LEDGER BROKEN: {broken} partition(s) with a broken chain, "
            f"{failed} checkpoint(s) failed",
            file=sys.stderr,
        )


def verify_cmd(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 if every chain and checkpoint holds, 1 otherwise."""
    checkpoints: list[cpfile.Checkpoint] = []
    topic = settings.topic("alerts")
    if args.checkpoints:
        cp_topic, checkpoints = cpfile.load(args.checkpoints)
        if cp_topic != topic:
            print(f"note: checkpoints are of {cp_topic}, checking them against {topic}")
    with TopicReader(bootstrap_servers(settings), topic) as reader:
        report = verify_ledger(reader, args.since, args.until, checkpoints)
    print_report(report)
    return 0 if report.ok else 1


def checkpoint_cmd(args: argparse.Namespace, settings: Settings) -> int:
    """Verify the chains up to the head, then write the heads; refuse if a chain is broken."""
    topic = settings.topic("alerts")
    with TopicReader(bootstrap_servers(settings), topic) as reader:
        report = verify_ledger(reader, None, args.at)
        if not report.ok:
            print_report(report)
            print("not writing a checkpoint of a broken ledger", file=sys.stderr)
            return 1
        heads = head_checkpoints(reader, args.at)
    out = Path(args.out)
    out.write_bytes(cpfile.dump(topic, datetime.now(UTC), heads))
    for h in heads:
        print(f"{topic}[{h.partition}]@{h.offset} {h.hash}")
    print(f"{len(heads)} checkpoint(s) written to {out}")
    return 0
