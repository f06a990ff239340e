"""Shared by the benchmark scripts: the machine, the versions, medians, data, BENCHMARKS.md.

Every figure in ``BENCHMARKS.md`` sits in a section that one command wrote;
``write_section`` replaces that section (between ``<!-- bench:NAME -->``
markers) and keeps the rest of the file. Scripts that do not use this module
are recorded with

    .venv/bin/python bench/common.py record NAME -- .venv/bin/python bench/bench_core.py

which runs the command, echoes its output and stores it with the command line.
``python bench/common.py machine`` rewrites the machine and versions section.
"""

from __future__ import annotations

import math
import os
import platform
import random
import re
import resource
import shlex
import statistics
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from engine.events import Observation
from engine.inventory.model import Asset, Inventory, Unit

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS = REPO / "BENCHMARKS.md"
PACKAGES = ("faust-streaming", "aiokafka", "kafka-python", "numpy", "orjson", "httpx")


# -- figures ----------------------------------------------------------------


def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def percentile(xs: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by the nearest-rank method."""
    s = sorted(xs)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))
    return float(s[k])


def rss_bytes() -> int:
    """This process's resident set size now (VmRSS), in bytes."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


# -- the machine ------------------------------------------------------------


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or "unknown"
    m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return m.group(1).strip() if m else "unknown"


def ram_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def versions() -> dict[str, str]:
    out = {"Python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    from engine.settings import Settings

    out["Kafka"] = Settings.load(env={}).kafka.version
    return out


def machine_text() -> str:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        f"- CPUs: {os.cpu_count()} (nproc), model: {cpu_model()}",
        f"- RAM: {ram_total()}; OS: {platform.system()} {platform.release()}",
        f"- load average when written: {load}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
    ]
    return "\n".join(lines)


def header() -> str:
    """One line saying when and on what load a figure was taken."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{when}, {os.cpu_count()} CPUs, load average {load}"


# -- BENCHMARKS.md ------------------------------------------------------------


def write_section(name: str, command: str, body: str, path: Path = BENCHMARKS) -> None:
    """Replace (or append) the section ``name`` of BENCHMARKS.md with ``body``."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n```\n$ {command}\n# {header()}\n{body.rstrip()}\n```\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def command_line() -> str:
    """How this script was run, for the record."""
    return " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv])


# -- data ---------------------------------------------------------------------

PROBE_MIX = (
    ["http"] * 40 + ["tls"] * 10 + ["dns"] * 10 + ["tcp"] * 10 + ["icmp"] * 20
    + ["content"] * 8 + ["ingest"] * 2
)  # fmt: skip


def make_inventory(n: int, units: int | None = None) -> Inventory:
    """``n`` websites in ``units`` units (default n/20), reserved names only."""
    units = units or max(1, n // 20)
    us = {f"unit-{i:04d}": Unit(f"unit-{i:04d}", f"Unit {i}") for i in range(units)}
    assets = {}
    for i in range(n):
        aid = f"site-{i:05d}"
        assets[aid] = Asset(
            id=aid, unit=f"unit-{i % units:04d}", kind="website", name=f"Site {i}",
            url=f"https://s{i}.example.gov/", criticality=1 + i % 5,
            expected_ports=(80, 443), tags=("key-site",) if i % 5 == 4 else (),
        )  # fmt: skip
    return Inventory(units=us, assets=assets)


def probe_data(probe: str, bad: bool, rnd: random.Random) -> dict[str, Any]:
    """A plausible ``data`` of one probe's observation; ``bad`` makes it a failure."""
    if probe == "http":
        return {"status": 503 if bad else 200, "latency_ms": rnd.gauss(220, 30),
                "phases_ms": {"dns": 3, "connect": 10, "tls": 20, "ttfb": 120, "transfer": 5},
                "headers_missing": ["x-frame-options"] if bad else []}  # fmt: skip
    if probe == "tls":
        return {"cert_days_left": 5 if bad else 80, "hostname_match": True, "chain_valid": True,
                "protocol": "TLSv1.3", "cipher": "TLS_AES_128_GCM_SHA256",
                "legacy_protocols": []}  # fmt: skip
    if probe == "dns":
        return {"addresses": ["203.0.113.9"] if bad else ["192.0.2.10"], "lookup_ms": 4.0,
                "matches_expected": not bad}  # fmt: skip
    if probe == "tcp":
        return {"open_ports": [80, 443, 3389] if bad else [80, 443]}
    if probe == "icmp":
        return {"reachable": not bad, "rtt_ms": 2.5, "loss": 1.0 if bad else 0.0}
    if probe == "content":
        return {"defaced": bad, "defacement_keywords": [], "dark_links": []}
    return {"event_type": "login_failure", "source_ip": f"203.0.113.{rnd.randint(1, 20)}",
            "user": "admin", "outcome": "failure"}  # fmt: skip


def observation(
    i: int, asset: Asset, probe: str, at: datetime, bad: bool, rnd: random.Random
) -> Observation:
    return Observation(
        id=f"o{i}", asset=asset.id, unit=asset.unit, probe=probe, observed_at=at,
        collector=f"c{i % 3}", vantage="v1", ok=not bad, duration_s=0.2,
        error="probe failed" if bad else None, data=probe_data(probe, bad, rnd),
    )  # fmt: skip


def observations(
    n: int,
    inventory: Inventory,
    start: datetime,
    step: timedelta,
    bad: float = 0.03,
    seed: int = 7,
) -> list[Observation]:
    """``n`` observations of random assets, ``step`` apart in event time; ``bad`` fail."""
    rnd = random.Random(seed)
    assets = list(inventory.assets.values())
    return [
        observation(i, rnd.choice(assets), rnd.choice(PROBE_MIX), start + step * i,
                    rnd.random() < bad, rnd)
        for i in range(n)
    ]  # fmt: skip


# -- the command line -------------------------------------------------------------


def _record(name: str, argv: list[str]) -> int:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=REPO)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        print(f"not recorded: exit status {proc.returncode}", file=sys.stderr)
        return proc.returncode
    write_section(name, " ".join(shlex.quote(a) for a in argv), proc.stdout)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["machine"]:
        write_section("machine", "python bench/common.py machine", machine_text())
        print(machine_text())
        return 0
    if len(argv) >= 3 and argv[0] == "record" and "--" in argv:
        cut = argv.index("--")
        return _record(argv[1], argv[cut + 1 :])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
