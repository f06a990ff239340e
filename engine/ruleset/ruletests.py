"""Test cases that live with the rules, run on a virtual clock (``ssa rules test``).

Each rule may carry ``tests:``, a list of cases::

    tests:
      - name: three failures in five minutes fire
        assets: [{id: portal, unit: u1, kind: website, criticality: 5}]   # optional
        observations:
          - {at: 0s, probe: http, ok: false, data: {status: 503}}
          - {at: 1m, probe: http, ok: false, data: {status: 503}}
        until: 10m            # run the clock (and ticks) this far; default: last observation
        tick: 30s             # tick interval of the virtual clock; default 30s
        expect:
          - {at: 1m, kind: match, group: {}, title: "...", explanation_contains: "503"}

Times are offsets from 2026-01-01T00:00:00Z (or absolute ISO-8601). The rule
runs alone, on a fresh ``DictStore``; the case passes when its findings, in
order, match ``expect`` exactly (each listed key compared, count equal).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.durations import parse_duration
from engine.errors import Mark, RuleError
from engine.events import Finding, Observation, parse_time
from engine.inventory.model import ASSET_KINDS, Asset
from engine.ruleset.model import CompiledRule, RuleSet
from engine.store import DictStore
from engine.yamlsource import Diagnostics, MarkedList, MarkedMap, check_keys

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
CASE_KEYS = ("name", "assets", "observations", "until", "tick", "expect")
OBS_KEYS = ("at", "id", "asset", "unit", "probe", "ok", "data", "error", "collector", "vantage",
            "duration_s")
EXPECT_KEYS = ("at", "kind", "asset", "group", "title", "severity", "explanation_contains")
ASSET_KEYS = ("id", "unit", "kind", "name", "url", "address", "criticality", "mlps_level", "tags",
              "expected_ports", "expected_addresses", "depends_on", "probes")
DEFAULT_ASSET: dict[str, Any] = {
    "id": "a1", "unit": "u1", "kind": "website", "name": "a1", "criticality": 3,
}


@dataclass(frozen=True)
class RuleTest:
    """One parsed test case."""

    name: str
    mark: Mark
    assets: dict[str, Asset]
    observations: tuple[Observation, ...]
    until: datetime
    tick: float
    expect: tuple[MarkedMap, ...]


@dataclass(frozen=True)
class CaseResult:
    rule: str
    name: str
    mark: Mark
    passed: bool
    detail: str
    findings: tuple[Finding, ...]


def parse_time_ref(v: Any) -> datetime:
    """``90s`` (offset from the test epoch), ``0``/``0s``, or an absolute ISO time."""
    if v == 0 or v in ("0", "0s"):
        return EPOCH
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=UTC)
    if isinstance(v, str) and v[:1].isdigit() and "T" in v:
        return parse_time(v)
    return EPOCH + timedelta(seconds=parse_duration(v))


def parse_tests(m: MarkedMap, diag: Diagnostics, rid: str) -> tuple[RuleTest, ...]:
    """The rule's test cases; problems go to ``diag``."""
    cases = m.get("tests")
    if cases is None:
        return ()
    if not isinstance(cases, MarkedList):
        diag.error(RuleError("tests must be a list of test cases", m.mark_of("tests")))
        return ()
    out = []
    for i, case in enumerate(cases):
        with diag.collecting():
            if not isinstance(case, MarkedMap):
                raise RuleError("a test case must be a mapping", cases.mark_at(i))
            out.append(_case(case, diag, i))
    return tuple(out)


def _case(case: MarkedMap, diag: Diagnostics, index: int) -> RuleTest:
    check_keys(case, CASE_KEYS, ("observations", "expect"), what="test case", err=RuleError,
               diag=diag)
    assets: dict[str, Asset] = {}
    for j, a in enumerate(_list(case, "assets")):
        if not isinstance(a, MarkedMap):
            raise RuleError("a test asset must be a mapping", case["assets"].mark_at(j))
        check_keys(a, ASSET_KEYS, ("id",), what="test asset", err=RuleError, diag=diag)
        d: dict[str, Any] = {**DEFAULT_ASSET, "name": a.get("id"), **a}
        if d["kind"] not in ASSET_KINDS:
            raise RuleError(f"kind must be one of: {', '.join(ASSET_KINDS)}", a.mark_of("kind"))
        assets[str(d["id"])] = Asset.from_dict(d)
    if not assets:
        assets[str(DEFAULT_ASSET["id"])] = Asset.from_dict(DEFAULT_ASSET)
    first = next(iter(assets.values()))
    observations = []
    for j, o in enumerate(_list(case, "observations")):
        where = case["observations"].mark_at(j)
        if not isinstance(o, MarkedMap):
            raise RuleError("a test observation must be a mapping", where)
        check_keys(o, OBS_KEYS, ("at", "probe"), what="test observation", err=RuleError,
                   diag=diag)
        if "probe" not in o:
            continue  # reported just above
        try:
            at = parse_time_ref(o.get("at", 0))
        except ValueError as e:
            raise RuleError(str(e), o.mark_of("at")) from None
        asset = assets.get(str(o.get("asset", first.id)))
        unit = o.get("unit", asset.unit if asset else "u1")
        try:
            observations.append(Observation.from_dict({
                "v": 1, "id": o.get("id", f"t{index + 1}-{j + 1}"),
                "asset": o.get("asset", first.id), "unit": unit, "probe": o.get("probe"),
                "observed_at": at.isoformat(), "collector": o.get("collector", "c1"),
                "vantage": o.get("vantage", "v1"), "ok": o.get("ok", True),
                "duration_s": o.get("duration_s", 0.1), "error": o.get("error"),
                "data": dict(o.get("data", {})),
            }))
        except Exception as e:  # EventError or a bad nested value: show it at the observation
            raise RuleError(f"invalid test observation: {e}", where) from None
    observations.sort(key=lambda ob: ob.observed_at)
    expect = []
    for j, want in enumerate(_list(case, "expect")):
        if not isinstance(want, MarkedMap):
            raise RuleError("an expected finding must be a mapping", case["expect"].mark_at(j))
        check_keys(want, EXPECT_KEYS, what="expected finding", err=RuleError, diag=diag)
        if "at" in want:
            try:
                parse_time_ref(want["at"])
            except ValueError as err:
                raise RuleError(str(err), want.mark_of("at")) from None
        expect.append(want)
    last = observations[-1].observed_at if observations else EPOCH
    try:
        until = parse_time_ref(case["until"]) if "until" in case else last
        tick = parse_duration(case.get("tick", "30s"))
    except ValueError as err:
        raise RuleError(str(err), case.mark_of("until" if "until" in case else "tick")) from None
    name = str(case.get("name", f"case {index + 1}"))
    return RuleTest(name, case.mark, assets, tuple(observations), max(until, last), tick,
                    tuple(expect))


def _list(case: MarkedMap, key: str) -> MarkedList:
    v = case.get(key, MarkedList())
    if not isinstance(v, MarkedList):
        raise RuleError(f"{key} must be a list", case.mark_of(key))
    if not hasattr(v, "item_marks"):
        v.mark, v.item_marks = case.mark, []
    return v


def run_case(rule: CompiledRule, case: RuleTest, version: str = "test") -> CaseResult:
    """Run one case on a virtual clock and compare the findings with ``expect``."""
    from engine.rules_engine import RuleEngine

    solo = replace(rule, enabled=True)
    rs = RuleSet(rules=(solo,), version=version,
                 policies={rule.id: rule.policy} if rule.policy else {})
    engine = RuleEngine(rs, DictStore(), case.assets)
    step = timedelta(seconds=case.tick)
    clock = EPOCH + step
    found: list[Finding] = []
    for obs in case.observations:
        while clock <= obs.observed_at:
            found += engine.tick(clock)
            clock += step
        found += engine.process(obs)
    while clock <= case.until:
        found += engine.tick(clock)
        clock += step
    detail = compare(found, case.expect)
    return CaseResult(rule.id, case.name, case.mark, detail == "", detail, tuple(found))


def describe(f: Finding) -> str:
    offset = (f.at - EPOCH).total_seconds()
    group = f" group={f.group}" if f.group else ""
    return f"{f.kind} at {offset:g}s asset={f.asset}{group} title={f.title!r}"


def compare(found: list[Finding], expect: tuple[MarkedMap, ...]) -> str:
    """Empty if ``found`` matches ``expect``; otherwise why not."""
    problems = []
    for i, e in enumerate(expect):
        if i >= len(found):
            break
        f = found[i]
        checks = {
            "kind": (e.get("kind", "match"), f.kind),
            "asset": (e.get("asset", f.asset), f.asset),
            "severity": (e.get("severity", f.severity), f.severity),
            "title": (e.get("title", f.title), f.title),
            "group": (dict(e.get("group", f.group)), f.group),
        }
        if "at" in e:
            want_at = (parse_time_ref(e["at"]) - EPOCH).total_seconds()
            checks["at"] = (f"{want_at:g}s", f"{(f.at - EPOCH).total_seconds():g}s")
        for key, (want, got) in checks.items():
            if want != got:
                problems.append(f"finding {i + 1}: {key} is {got!r}, expected {want!r}")
        needle = e.get("explanation_contains")
        if needle is not None and str(needle) not in f.explanation:
            problems.append(
                f"finding {i + 1}: explanation {f.explanation!r} does not contain {needle!r}"
            )
    if len(found) != len(expect):
        lines = "; ".join(describe(f) for f in found) or "none"
        problems.append(f"expected {len(expect)} findings, got {len(found)}: {lines}")
    return "\n".join(problems)
