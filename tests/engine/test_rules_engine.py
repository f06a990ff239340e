"""The RuleEngine facade: determinism, restart from serialised state, sources, layout."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from engine.errors import RuleError
from engine.events import Finding, Observation, SourceOffset
from engine.rules_engine import ASSETS_KEY, COLLECTORS_KEY, RuleEngine
from engine.ruleset import RuleSet, load_ruleset
from engine.store import DictStore
from tests.rulehelpers import T0, asset, obs, pack

REPO = Path(__file__).resolve().parents[2]
ASSETS = {f"s{i}": asset(f"s{i}", unit=f"u{i % 3}", expected_ports=[80, 443]) for i in range(12)}


def stream(n: int = 3000, seed: int = 11) -> list[Observation]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        probe = rnd.choice(["http", "http", "tls", "dns", "tcp", "icmp", "content", "ingest"])
        aid = "s0" if probe == "ingest" else f"s{rnd.randrange(12)}"
        bad = rnd.random() < 0.15
        data = {
            "http": {"status": 503 if bad else 200, "latency_ms": rnd.gauss(200, 20) * (
                8 if bad else 1), "headers_missing": ["x-frame-options"] if bad else []},
            "tls": {"cert_days_left": -1 if bad else 50, "hostname_match": not bad},
            "dns": {"addresses": [f"192.0.2.{rnd.randrange(3) if bad else 1}"]},
            "tcp": {"open_ports": [80, 443, 3389] if bad else [80, 443]},
            "icmp": {"reachable": not bad},
            "content": {"defaced": bad, "dark_links": []},
            "ingest": {"event_type": "login_failure", "source_ip": f"203.0.113.{i % 3}"},
        }[probe]
        if aid == "s11" and probe == "http" and i > n // 3:
            continue  # one site goes silent: absence fires
        out.append(obs(i * 1.0, probe, asset=aid, unit=ASSETS[aid].unit,
                       ok=probe == "dns" or not bad,
                       oid=f"o{i}", collector=f"c{i % 2}", **data))
    return out


def run(engine: RuleEngine, observations: list[Observation], tick_every: int = 50) -> list[bytes]:
    out: list[bytes] = []
    for i, o in enumerate(observations):
        out += [f.to_json() for f in engine.process(o)]
        if i % tick_every == tick_every - 1:
            out += [f.to_json() for f in engine.tick(o.observed_at)]
    return out


@pytest.fixture(scope="module")
def shipped():  # type: ignore[no-untyped-def]
    return load_ruleset(REPO / "rules")


def test_replay_is_byte_identical(shipped) -> None:  # type: ignore[no-untyped-def]
    events = stream()
    first = run(RuleEngine(shipped, DictStore(), ASSETS), events)
    second = run(RuleEngine(load_ruleset(REPO / "rules"), DictStore(), ASSETS), events)
    assert first == second
    rules = {orjson.loads(f)["rule"] for f in first}
    assert {"site-down", "cert-expired", "risky-port-exposed", "probe-silence-http",
            "brute-force", "defacement", "dns-answers-changed"} <= rules
    ids = [orjson.loads(f)["id"] for f in first]
    assert len(ids) == len(set(ids))


def test_restart_from_serialised_state_continues_exactly(shipped) -> None:  # type: ignore[no-untyped-def]
    events = stream()
    whole = run(RuleEngine(shipped, DictStore(), ASSETS), events)
    half = 1500
    store = DictStore()
    before = run(RuleEngine(shipped, store, ASSETS), events[:half])
    # what a changelog-backed table would hand back after a restart: JSON round trip
    restored = DictStore(orjson.loads(orjson.dumps(store)))
    after_restart = RuleEngine(shipped, restored, ASSETS)
    after: list[bytes] = []
    for i, o in enumerate(events[half:], start=half):
        after += [f.to_json() for f in after_restart.process(o)]
        if i % 50 == 49:
            after += [f.to_json() for f in after_restart.tick(o.observed_at)]
    assert before + after == whole


def _tick_every_key(rs: RuleSet) -> RuleSet:
    """The same rules, their evaluators without ``due``: the engine ticks every key, always."""
    rules = tuple(replace(r, evaluator=replace(r.evaluator, due=None)) for r in rs.rules)
    return replace(rs, rules=rules)


@pytest.mark.parametrize(("tick_every", "late"), [(1, False), (7, False), (50, False), (7, True)])
def test_ticking_only_due_keys_changes_nothing(shipped, tick_every: int, late: bool) -> None:  # type: ignore[no-untyped-def]
    events = stream()
    if late:  # observations arrive up to a few minutes out of order
        rnd = random.Random(5)
        events = sorted(events, key=lambda o: o.observed_at.timestamp() + rnd.uniform(0, 300))
    store, reference_store = DictStore(), DictStore()
    scheduled = run(RuleEngine(shipped, store, ASSETS), events, tick_every)
    everything = run(RuleEngine(_tick_every_key(shipped), reference_store, ASSETS), events,
                     tick_every)
    assert scheduled == everything
    assert store == reference_store
    assert any(orjson.loads(f)["rule"] == "probe-silence-http" for f in scheduled)


def test_state_is_namespaced_plain_data(shipped) -> None:  # type: ignore[no-untyped-def]
    store = DictStore()
    engine = RuleEngine(shipped, store, ASSETS)
    run(engine, stream(600))
    keys = set(store)
    assert COLLECTORS_KEY in keys and ASSETS_KEY in keys
    assert {k for k in keys if k.startswith("unit:")} <= {"unit:u0", "unit:u1", "unit:u2"}
    assert {k for k in keys if not k.startswith(("unit:", "_"))} <= set(ASSETS)
    rule_ids = {r.id for r in shipped.rules}
    for k, v in store.items():
        if k not in (COLLECTORS_KEY, ASSETS_KEY):
            assert set(v) <= rule_ids
    assert orjson.loads(orjson.dumps(store)) == store


def test_findings_carry_everything_the_alerting_needs(tmp_path: Path) -> None:
    rs = pack(tmp_path, """\
rules:
  - id: down
    title: "{asset.name} answered {data.status}"
    type: match
    condition: data.status >= 500
    severity: high
    risk_weight: 7.5
    tags: [T1498, mlps:8.1.2.2]
    group_by: [probe]
""")
    engine = RuleEngine(rs, DictStore(), {"a1": asset("a1", name="Portal")})
    src = SourceOffset("ssa.observations", 2, 41)
    (f,) = engine.process(obs(0, "http", status=503, oid="obs-1"), src)
    assert f == Finding(
        id=f.id, rule="down", rule_version=rs.rule("down").version, asset="a1", unit="u1",
        severity="high", at=T0, title="Portal answered 503", kind="match",
        explanation="data.status (503) >= 500", evidence=("obs-1",), group={"probe": "http"},
        risk_weight=7.5, tags=("T1498", "mlps:8.1.2.2"), sources=(src,),
    )
    assert len(f.id) == 32 and len(f.rule_version) == 16
    assert Finding.from_json(f.to_json()) == f
    # an unknown asset is not a crash: asset fields are absent, the title shows '?'
    (g,) = engine.process(obs(1, "http", asset="zz", status=500))
    assert g.title == "? answered 500"


def test_disabled_rules_do_not_run(tmp_path: Path) -> None:
    rs = pack(tmp_path, "rules: [{id: r, title: t, type: match, severity: low, condition: ok, "
                        "enabled: false}]\n")
    assert RuleEngine(rs, DictStore()).process(obs(0, "http")) == []


def test_reload_keeps_state_and_a_bad_pack_is_refused(tmp_path: Path) -> None:
    text = ("rules: [{id: r, title: t, type: threshold, severity: low, condition: not ok, "
            "count: 3, window: 5m}]\n")
    store = DictStore()
    old = pack(tmp_path, text)
    engine = RuleEngine(old, store)
    assert engine.process(obs(0, "http", ok=False)) == []
    assert engine.process(obs(1, "http", ok=False)) == []
    (tmp_path / "rules.yaml").write_text(text.replace("severity: low", "severity: lo"))
    with pytest.raises(RuleError):
        load_ruleset(tmp_path / "rules.yaml")  # the caller keeps `old` running
    new = pack(tmp_path, text.replace("severity: low", "severity: medium"))
    reloaded = RuleEngine(new, store)
    (f,) = reloaded.process(obs(2, "http", ok=False))
    assert f.severity == "medium" and len(f.evidence) == 3


def test_tick_uses_event_time_only(tmp_path: Path) -> None:
    rs = pack(tmp_path, "rules: [{id: r, title: t, type: absence, severity: low, probe: http, "
                        "for: 1m}]\n")
    engine = RuleEngine(rs, DictStore())
    engine.process(obs(0, "http"))
    assert engine.tick(T0 + timedelta(seconds=59)) == []
    assert engine.watermark == (T0 + timedelta(seconds=59)).timestamp()
    assert [f.at for f in engine.tick(T0 + timedelta(seconds=61))] == [T0 + timedelta(minutes=1)]
    assert engine.tick_watermark() == []


def test_every_evaluator_honours_the_gate(shipped) -> None:  # type: ignore[no-untyped-def]
    """With no state and a failing test, a step does nothing (the engine skips it)."""
    from engine.ruleset.context import Ctx

    skipped = 0
    for o in stream(600):
        c = Ctx(o, ASSETS.get(o.asset))
        for rule in shipped.rules:
            first = rule.params["steps"][0].fn if rule.type == "sequence" else rule.test
            if not rule.test(c) or not first(c):
                state, found = rule.evaluator.step(rule, None, c)
                assert state is None and not found, rule.id
                skipped += 1
    assert skipped > 1000
