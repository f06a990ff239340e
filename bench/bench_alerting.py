"""Benchmark of the alert lifecycle, the risk model and the API's read view (issue 5).

A city-sized inventory (700 assets in 477 units) and a few rules. Prints:
findings per second through ``AlertLifecycle.on_finding`` when most are
re-matches of active alerts; the cost of a tick that resolves every alert;
``compute_scores`` over N alerts; and the API view's reads. Each figure is
the median of several runs, one core, one process.

    .venv/bin/python bench/bench_alerting.py [--findings 20000] [--alerts 2800] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from engine.alerting.lifecycle import AlertLifecycle
from engine.alerting.policy import AlertPolicy
from engine.api.memory import InMemoryStateView
from engine.events import Finding
from engine.inventory.model import Asset, Inventory, Unit
from engine.scoring import AlertSnapshot, compute_scores
from engine.store import DictStore

T0 = datetime(2026, 12, 1, tzinfo=UTC)
RULES = ("site-down", "slow-site", "cert-expiring", "port-open")
UNITS = {f"u{i}": Unit(f"u{i}", f"Unit {i}") for i in range(477)}
ASSETS = {
    f"a{i}": Asset(f"a{i}", f"u{i % 477}", "website", url="https://x.example.org/",
                   criticality=1 + i % 5)
    for i in range(700)
}  # fmt: skip
INVENTORY = Inventory(UNITS, ASSETS)
POLICIES = {r: AlertPolicy(r, "high", 3.0) for r in RULES}


def findings(n: int, distinct: int) -> list[Finding]:
    out = []
    for i in range(n):
        asset = ASSETS[f"a{i % distinct % 700}"]
        out.append(
            Finding(
                id=f"f{i}", rule=RULES[i % distinct // 700 % 4], rule_version="v1",
                asset=asset.id, unit=asset.unit, severity="high",
                at=T0 + timedelta(seconds=i * 0.05), title="t", evidence=(f"o{i}",),
            )
        )  # fmt: skip
    return out


def timed(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--findings", type=int, default=20_000)
    p.add_argument("--alerts", type=int, default=2_800)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()

    stream = findings(args.findings, args.alerts)

    def run_lifecycle() -> AlertLifecycle:
        life = AlertLifecycle(POLICIES, DictStore(), INVENTORY)
        for f in stream:
            life.on_finding(f)
        return life

    s = timed(run_lifecycle, args.runs)
    print(f"lifecycle: {args.findings / s:,.0f} findings/s "
          f"({args.alerts} alerts, the rest re-matches)")  # fmt: skip

    life = run_lifecycle()
    start = time.perf_counter()
    resolved = life.tick(stream[-1].at + timedelta(days=1))
    elapsed = time.perf_counter() - start
    print(f"tick resolving all {len(resolved)} alerts: {elapsed * 1000:.0f} ms")

    snaps = [
        AlertSnapshot(f"f{i}", RULES[i % 4], f"a{i % 700}", f"u{i % 700 % 477}",
                      "resolved" if i % 3 == 0 else "firing", 3.0,
                      resolved_at=T0 if i % 3 == 0 else None)
        for i in range(10_000)
    ]  # fmt: skip
    s = timed(lambda: compute_scores(snaps, ASSETS, T0 + timedelta(hours=1)), args.runs)
    print(f"compute_scores: 10,000 alerts over 700 assets in {s * 1000:.1f} ms")

    view = InMemoryStateView(run_lifecycle(), INVENTORY)
    for name, read in (("assets", view.assets), ("units", view.units), ("alerts", view.alerts)):
        view.refresh()
        print(f"view.{name}(): {timed(read, args.runs) * 1000:.1f} ms (scores cached)")
    cold = InMemoryStateView(run_lifecycle(), INVENTORY)
    print(f"view.refresh() after changes: {timed(cold.refresh, 1) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
