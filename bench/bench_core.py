"""Benchmark of the pure rule core with the shipped pack (issue 4, speed).

Prints observations per second for: decoding the JSON messages with orjson
only; decoding and validating them into ``Observation`` events; the core
(``RuleEngine.process``) on decoded events; and the whole path from bytes to
findings. Each figure is the median of several runs over the same messages,
on one core, in one process.

    .venv/bin/python bench/bench_core.py [--messages 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from engine.events import Observation
from engine.inventory.model import Asset
from engine.rules_engine import RuleEngine
from engine.ruleset import load_ruleset
from engine.store import DictStore

REPO = Path(__file__).resolve().parent.parent


def make_assets(n: int) -> dict[str, Asset]:
    out = {}
    for i in range(n):
        aid = f"site-{i:03d}"
        out[aid] = Asset(
            id=aid, unit=f"unit-{i % 60:02d}", kind="website", name=f"Site {i}",
            url=f"https://s{i}.example.gov/", criticality=1 + i % 5,
            expected_ports=(80, 443), tags=("key-site",) if i % 5 == 4 else (),
        )
    return out


def make_messages(n: int, assets: dict[str, Asset], seed: int = 7) -> list[bytes]:
    """A realistic mix of probe results; a few percent are failures or findings."""
    rnd = random.Random(seed)
    ids = list(assets)
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    probes = ["http"] * 40 + ["tls"] * 10 + ["dns"] * 10 + ["tcp"] * 10 + ["icmp"] * 20 + \
        ["content"] * 8 + ["ingest"] * 2
    out = []
    for i in range(n):
        aid = rnd.choice(ids)
        probe = rnd.choice(probes)
        bad = rnd.random() < 0.03
        data: dict[str, Any]
        if probe == "http":
            data = {"status": 503 if bad else 200, "latency_ms": rnd.gauss(220, 30),
                    "phases_ms": {"dns": 3, "connect": 10, "tls": 20, "ttfb": 120, "transfer": 5},
                    "headers_missing": ["x-frame-options"] if bad else []}
        elif probe == "tls":
            data = {"cert_days_left": 5 if bad else 80, "hostname_match": True,
                    "chain_valid": True, "protocol": "TLSv1.3",
                    "cipher": "TLS_AES_128_GCM_SHA256", "legacy_protocols": []}
        elif probe == "dns":
            data = {"addresses": ["203.0.113.9"] if bad else ["192.0.2.10"],
                    "lookup_ms": 4.0, "matches_expected": not bad}
        elif probe == "tcp":
            data = {"open_ports": [80, 443, 3389] if bad else [80, 443]}
        elif probe == "icmp":
            data = {"reachable": not bad, "rtt_ms": 2.5, "loss": 1.0 if bad else 0.0}
        elif probe == "content":
            data = {"defaced": bad, "defacement_keywords": [], "dark_links": []}
        else:
            data = {"event_type": "login_failure", "source_ip": f"203.0.113.{rnd.randint(1, 20)}",
                    "user": "admin", "outcome": "failure"}
        obs = Observation(
            id=f"o{i}", asset=aid, unit=assets[aid].unit, probe=probe,
            observed_at=t0 + timedelta(milliseconds=40 * i), collector=f"c{i % 3}",
            vantage="v1", ok=not bad, duration_s=0.2, data=data,
        )
        out.append(obs.to_json())
    return out


def rate(n: int, fn: Callable[[], Any], runs: int) -> float:
    """Observations per CPU second (process time: a busy shared machine skews wall time)."""
    times = []
    for _ in range(runs):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return n / statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rules", default=str(REPO / "rules"))
    args = ap.parse_args()
    ruleset = load_ruleset(args.rules)
    assets = make_assets(300)
    msgs = make_messages(args.messages, assets)
    decoded = [Observation.from_json(m) for m in msgs]
    n = len(msgs)
    findings = [0]

    def decode_only() -> None:
        loads = orjson.loads
        for m in msgs:
            loads(m)

    def decode_validate() -> None:
        from_json = Observation.from_json
        for m in msgs:
            from_json(m)

    def core() -> None:
        engine = RuleEngine(ruleset, DictStore(), assets)
        process = engine.process
        total = 0
        for i, obs in enumerate(decoded):
            total += len(process(obs))
            if i % 1000 == 999:
                total += len(engine.tick(obs.observed_at))
        findings[0] = total

    def full() -> None:
        engine = RuleEngine(ruleset, DictStore(), assets)
        process, from_json = engine.process, Observation.from_json
        for m in msgs:
            process(from_json(m))

    r_decode = rate(n, decode_only, args.runs)
    r_validate = rate(n, decode_validate, args.runs)
    r_core = rate(n, core, args.runs)
    r_full = rate(n, full, args.runs)
    print(f"rule pack: {len(ruleset.rules)} rules, version {ruleset.version[:12]}; "
          f"{n} messages, 300 assets, median of {args.runs} runs, one core, per CPU second")
    print(f"  orjson decode only          {r_decode:>12,.0f} obs/s")
    print(f"  decode + validate (events)  {r_validate:>12,.0f} obs/s")
    print(f"  core (RuleEngine.process)   {r_core:>12,.0f} obs/s   ({findings[0]} findings)")
    print(f"  bytes -> findings           {r_full:>12,.0f} obs/s")
    print(f"  core / decode only          {r_core / r_decode:>12.2f}         (goal: at least 1/3)")
    print(f"  validation per message      {1e6 / r_validate - 1e6 / r_decode:>12.2f} us      "
          "(decode + validate minus decode)")


if __name__ == "__main__":
    main()
