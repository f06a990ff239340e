"""Scale: memory and risk recomputation as the inventory grows (issue 9, item 5).

For each inventory size (default 1,000 / 10,000 / 50,000 assets) a fresh
process loads the shipped rule pack, warms the pure ``Pipeline`` (one
``DictStore`` per table, as replay keeps it) with ``--rounds`` observations of
every probe for every asset (a minute of event time apart, 3 % failing), and
reports:

- RSS after warming, and how much of it the warm state adds to the process
  before the first observation (interpreter, numpy, rules);
- the risk recomputation, each the median of ``--runs``: ``compute_scores``
  over every alert record's snapshot; the refresh of the engine's read model
  (``TopicStateView``, which the API and ``/metrics`` of a worker show: it is
  fed every Alert event of the warm-up, then one alert changes and it
  refreshes), without and with the ``/metrics`` state gauges it also
  rebuilds; and the refresh of an ``InMemoryStateView`` over the lifecycle
  itself (every stored record parsed by ``AlertRecord.from_dict`` → snapshots
  → scores);
- how each figure grows from one size to the next.

    .venv/bin/python bench/bench_scale.py [--assets 1000,10000,50000] [--rounds 3] [--record]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools

from common import (
    PROBE_MIX,
    REPO,
    command_line,
    median,
    mib,
    observation,
    rss_bytes,
    write_section,
)
from prometheus_client import CollectorRegistry

from engine.api.memory import InMemoryStateView
from engine.events import Alert
from engine.metrics import EngineMetrics
from engine.stream.alert_view import TopicStateView

T0 = datetime(2026, 3, 1, tzinfo=UTC)
PROBES = sorted(set(PROBE_MIX))
GOAL_RSS = 2**30
GOAL_RECOMPUTE_S = 0.050


def one(n: int, rounds: int, runs: int, bad: float) -> dict[str, float]:
    """Warm a Pipeline for ``n`` assets in this process; the figures as a dict."""
    from common import make_inventory

    from engine.pipeline import Pipeline
    from engine.ruleset import load_ruleset
    from engine.scoring import compute_scores
    from engine.store import DictStore

    ruleset = load_ruleset(REPO / "rules")
    inventory = make_inventory(n)
    rnd = random.Random(n)
    assets = list(inventory.assets.values())
    rss_before = rss_bytes()
    rule_store, alert_store = DictStore(), DictStore()
    pipe = Pipeline(ruleset, inventory, rule_store, alert_store)
    step = timedelta(seconds=60) / (n * len(PROBES))
    i = 0
    findings = 0
    events: list[Alert] = []
    started = time.perf_counter()
    for _ in range(rounds):
        for a in assets:
            for probe in PROBES:
                obs = observation(i, a, probe, T0 + step * i, rnd.random() < bad, rnd)
                out = pipe.observe(obs)
                findings += len(out.findings)
                events.extend(out.alerts)
                i += 1
    warm_s = time.perf_counter() - started
    rss_after = rss_bytes()

    lifecycle = pipe.lifecycle
    now = pipe.watermark or T0
    snaps = [r.snapshot() for r in lifecycle.records()]
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        compute_scores(snaps, inventory.assets, now, None, inventory.units)
        times.append(time.perf_counter() - t)
    lifecycle_view = InMemoryStateView(lifecycle, inventory)
    view = TopicStateView(inventory)
    metrics_view = TopicStateView(inventory, EngineMetrics(CollectorRegistry()))
    for v in (view, metrics_view):
        for e in events:
            v.apply_alert(e)
        v.refresh()
    return {
        "assets": n,
        "observations": i,
        "warm_obs_per_s": i / warm_s,
        "findings": findings,
        "alert_events": len(events),
        "alert_records": len(snaps),
        "state_keys": len(rule_store) + len(alert_store),
        "rss_before": rss_before,
        "rss_after": rss_after,
        "scores_s": median(times),
        "refresh_s": refresh_time(view, events, runs),
        "refresh_metrics_s": refresh_time(metrics_view, events, runs),
        "refresh_lifecycle_s": refresh_time(lifecycle_view, [], runs),
    }


def refresh_time(view: InMemoryStateView, events: list[Alert], runs: int) -> float:
    """Median time of ``view.refresh()`` after a change (an alert event applied again)."""
    times = []
    for k in range(runs):
        if isinstance(view, TopicStateView) and events:
            view.apply_alert(events[-1 - k % len(events)])  # same seq: replaces, marks dirty
        else:
            view.tick(view.lifecycle.clock or T0)  # the lifecycle view: time moved
        t = time.perf_counter()
        view.refresh()
        times.append(time.perf_counter() - t)
    return median(times)


def child(n: int, rounds: int, runs: int, bad: float) -> dict[str, float]:
    """Run ``one`` in a fresh interpreter, so no size inherits another's heap."""
    argv = [sys.executable, __file__, "--child", str(n), "--rounds", str(rounds),
            "--runs", str(runs), "--bad", str(bad)]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=REPO)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


COLUMNS = (
    ("scores_s", "scores"),
    ("refresh_s", "refresh"),
    ("refresh_metrics_s", "+metrics"),
    ("refresh_lifecycle_s", "lifecycle"),
)


def report(results: list[dict[str, float]]) -> str:
    lines = [
        "scores: compute_scores; refresh: the engine's read model (TopicStateView) after a change;",
        "+metrics: the same with the /metrics state gauges rebuilt; lifecycle: InMemoryStateView",
        "over the lifecycle's stored records (AlertRecord.from_dict each); all medians",
        f"{'assets':>8} {'obs':>9} {'state keys':>10} {'alerts':>7} {'RSS':>12} "
        f"{'state adds':>12} {'scores':>9} {'refresh':>9} {'+metrics':>9} {'lifecycle':>9} "
        f"{'warm obs/s':>11}",
    ]
    for r in results:
        lines.append(
            f"{r['assets']:>8,.0f} {r['observations']:>9,.0f} {r['state_keys']:>10,.0f} "
            f"{r['alert_records']:>7,.0f} {mib(r['rss_after']):>12} "
            f"{mib(r['rss_after'] - r['rss_before']):>12} {r['scores_s'] * 1e3:>7.2f}ms "
            f"{r['refresh_s'] * 1e3:>7.1f}ms {r['refresh_metrics_s'] * 1e3:>7.1f}ms "
            f"{r['refresh_lifecycle_s'] * 1e3:>7.1f}ms {r['warm_obs_per_s']:>11,.0f}"
        )
    for prev, cur in itertools.pairwise(results):
        k = cur["assets"] / prev["assets"]
        grow_mem = (cur["rss_after"] - cur["rss_before"]) / max(
            1.0, prev["rss_after"] - prev["rss_before"]
        )
        grows = ", ".join(f"{name} x{cur[key] / prev[key]:.1f}" for key, name in COLUMNS)
        lines.append(
            f"{prev['assets']:,.0f} -> {cur['assets']:,.0f} assets (x{k:g}): state memory "
            f"x{grow_mem:.1f}, alerts x{cur['alert_records'] / max(1, prev['alert_records']):.1f}"
            f", {grows}"
        )
    at10k = [r for r in results if r["assets"] == 10_000]
    if at10k:
        r = at10k[0]
        lines.append(
            f"goals at 10,000 assets: RSS {mib(r['rss_after'])} (goal <= 1 GiB: "
            f"{'met' if r['rss_after'] <= GOAL_RSS else 'MISSED'}); compute_scores "
            f"{r['scores_s'] * 1e3:.2f} ms, view refresh {r['refresh_s'] * 1e3:.1f} ms "
            f"(goal <= 50 ms: {'met' if r['refresh_s'] <= GOAL_RECOMPUTE_S else 'MISSED'}), "
            f"with the /metrics gauges {r['refresh_metrics_s'] * 1e3:.1f} ms "
            f"({'met' if r['refresh_metrics_s'] <= GOAL_RECOMPUTE_S else 'MISSED'}), "
            f"lifecycle view {r['refresh_lifecycle_s'] * 1e3:.1f} ms "
            f"({'met' if r['refresh_lifecycle_s'] <= GOAL_RECOMPUTE_S else 'MISSED'})"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--assets", default="1000,10000,50000", help="comma-separated sizes")
    ap.add_argument("--rounds", type=int, default=3, help="observations of each probe per asset")
    ap.add_argument("--runs", type=int, default=5, help="recomputations timed (median)")
    ap.add_argument("--bad", type=float, default=0.03, help="fraction of failing observations")
    ap.add_argument("--record", action="store_true", help="write the figures to BENCHMARKS.md")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one(args.child, args.rounds, args.runs, args.bad)))
        return 0
    sizes = [int(s) for s in args.assets.split(",") if s]
    print(
        f"rule pack {REPO / 'rules'}; {args.rounds} rounds of {len(PROBES)} probes per asset, "
        f"{args.bad:.0%} failing; recompute median of {args.runs}; one process per size"
    )
    results = []
    for n in sizes:
        results.append(child(n, args.rounds, args.runs, args.bad))
        print(f"  {n:,} assets done", flush=True)
    text = report(results)
    print(text)
    if args.record:
        write_section("scale", command_line(), text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
