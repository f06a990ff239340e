"""One running engine against hostile input: a malformed flood, then a broken rule set.

1. 10,000 malformed messages of every kind (garbage bytes, empty and
   truncated documents, JSON that is not an object, unknown schema versions,
   missing and unknown fields, wrong types, huge fields, over-deep nesting,
   NaN and infinite numbers, tombstones) interleaved with 2,000 valid
   observations. Each malformed one must be in the dead-letter topic with the
   reason of its kind, found by its source partition and offset; every valid
   one must be counted by ``ssa_observations_total``; the worker stays up.
2. A hot reload of a broken rule set (the engine polls its rules folder every
   2 s): ``ssa_rule_reload_failures_total`` goes up, ``ssa_rules_loaded``
   stays, and a rule of the last good set still fires; once the file is
   fixed (with one more rule) the new set is live.
"""

from __future__ import annotations

import base64
import random
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from kafka import KafkaProducer

from engine.broker.topics import create_topics
from engine.events import Alert, Observation
from engine.settings import Settings, with_overrides
from tests.conftest import REPO
from tests.kafkautil import read_topic
from tests.reliability.engineproc import EngineProc, Traffic, metric_sum, wait_sum

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

N_MALFORMED = 10_000
VALID_EVERY = 5  # one valid observation after every five malformed ones


def _mutated(d: dict[str, object], **changes: object) -> bytes:
    x = dict(d)
    for k, v in changes.items():
        if v is ...:
            x.pop(k)
        else:
            x[k] = v
    return orjson.dumps(x)


def _number(raw: bytes, literal: bytes) -> bytes:
    return raw.replace(b'"duration_s":0.1', b'"duration_s":' + literal)


Maker = Callable[[dict[str, object], random.Random], bytes]
_WRONG_TYPES: list[dict[str, object]] = [
    {"ok": "yes"}, {"observed_at": 123}, {"duration_s": "fast"}, {"data": []},
    {"error": 5}, {"duration_s": -1.0}, {"observed_at": "2026-01-01T00:00:00"},
]  # fmt: skip
_REQUIRED = ["asset", "id", "ok", "probe", "observed_at"]
_BAD_NAMES = ["", "a b", "../etc", "α" * 3, "<script>"]


def _huge(d: dict[str, object], r: random.Random) -> bytes:
    field = r.choice(["id", "asset", "unit"])
    return _mutated(d, **{field: "x" * r.choice([5_000] * 19 + [300_000])})


#: kind of malformation -> (expected reason_kind, maker of the bytes from a valid dict and rng)
KINDS: dict[str, tuple[str, Maker]] = {
    "garbage": ("invalid_json", lambda d, r: b"\xff" + r.randbytes(r.randint(1, 300))),
    "empty": ("invalid_json", lambda d, r: b""),
    "truncated": ("invalid_json", lambda d, r: orjson.dumps(d)[: r.randint(1, 150)]),
    "deep": ("invalid_json", lambda d, r: b"[" * 3000 + b"]" * 3000),
    "nan": ("invalid_json", lambda d, r: _number(orjson.dumps(d), b"NaN")),
    "infinite": ("invalid_json", lambda d, r: _number(orjson.dumps(d), b"1e999")),
    "array": ("not_an_object", lambda d, r: orjson.dumps([d])),
    "scalar": ("not_an_object", lambda d, r: r.choice([b"null", b"42", b'"obs"', b"true"])),
    "version": ("schema_version", lambda d, r: _mutated(d, v=r.choice([0, 2, 99, "1", None]))),
    "missing": ("missing_field", lambda d, r: _mutated(d, **{r.choice(_REQUIRED): ...})),
    "unknown": ("unknown_field", lambda d, r: _mutated(d, **{r.choice(["evil", "__class__"]): 1})),
    "wrong_type": ("invalid_field", lambda d, r: _mutated(d, **r.choice(_WRONG_TYPES))),
    "huge_field": ("invalid_field", _huge),
    "bad_name": ("invalid_field", lambda d, r: _mutated(d, asset=r.choice(_BAD_NAMES))),
}
# Tombstones (no value at all) are refused as well; checked separately below.
# (A string field of almost 1 MB is valid: the limit is the whole event, 1 MiB.)


@pytest.fixture(scope="module")
def settings(kafka_bootstrap: str) -> Settings:
    s = with_overrides(
        Settings.load(env={}),
        kafka={"bootstrap": kafka_bootstrap},
        topics={"prefix": f"t{uuid.uuid4().hex[:10]}", "partitions": 3},
    )
    create_topics(kafka_bootstrap, s)
    return s


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("rules")
    for f in (REPO / "rules").glob("*.yaml"):
        shutil.copy(f, d / f.name)
    return d


@pytest.fixture(scope="module")
def engine(
    settings: Settings, rules_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineProc]:
    e = EngineProc(settings, tmp_path_factory.mktemp("engine"), rules_dir)
    e.start()
    try:
        yield e
    finally:
        e.stop()


def test_malformed_flood(engine: EngineProc, settings: Settings) -> None:
    bootstrap = settings.kafka.bootstrap
    topic = settings.topic("observations")
    rng = random.Random(10)
    traffic = Traffic(datetime.now(UTC).replace(microsecond=0) - timedelta(days=1))
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_request_size=1 << 20
    )
    names = sorted(KINDS)
    sent: list[tuple[object, str]] = []  # (future, kind or "valid")
    n_valid = 0
    t = time.monotonic()
    for i in range(N_MALFORMED):
        key, obs = traffic.next()
        kind = names[i % len(names)]
        value = KINDS[kind][1](obs.to_dict(), rng)
        sent.append((producer.send(topic, key=key, value=value), kind))
        if i % VALID_EVERY == VALID_EVERY - 1:
            key, obs = traffic.next()
            sent.append((producer.send(topic, key=key, value=obs.to_json()), "valid"))
            n_valid += 1
    tombstones = [producer.send(topic, key=b"gov-office", value=None) for _ in range(5)]
    producer.flush(60)
    where = {}
    for fut, kind in sent:
        md = fut.get(timeout=30)  # type: ignore[attr-defined]
        where[(md.partition, md.offset)] = kind
    tomb_at = {(f.get(timeout=30).partition, f.get(timeout=30).offset) for f in tombstones}
    producer.close(10)
    print(
        f"produced {N_MALFORMED} malformed + {n_valid} valid + 5 tombstones "
        f"in {time.monotonic() - t:.1f}s"
    )

    n_dead = N_MALFORMED + len(tombstones)
    wait_sum(engine, "ssa_deadletter_total", n_dead, timeout=150)
    wait_sum(engine, "ssa_observations_total", n_valid, timeout=60)
    assert metric_sum(engine, "ssa_observations_total") == n_valid
    assert metric_sum(engine, "ssa_deadletter_total") == n_dead
    print(f"engine done {time.monotonic() - t:.1f}s after the first send")

    dead = read_topic(bootstrap, settings.topic("deadletter"), expect=n_dead, timeout=60)
    by_source: dict[tuple[int, int], dict[str, object]] = {}
    for r in dead:
        d = orjson.loads(r.value)
        src = d["source"]
        assert src["topic"] == topic and d["reason"]
        assert (src["partition"], src["offset"]) not in by_source, "dead-lettered twice"
        by_source[(src["partition"], src["offset"])] = d
    malformed_at = {k for k, kind in where.items() if kind != "valid"}
    assert set(by_source) == malformed_at | tomb_at  # none lost, no valid one refused
    wrong = Counter()
    for at, kind in where.items():
        if kind == "valid":
            continue
        d = by_source[at]
        if d["reason_kind"] != KINDS[kind][0]:
            wrong[(kind, d["reason_kind"])] += 1
        # The original bytes are kept, so the message can be repaired and resent.
        assert d["value_b64"] is not None and base64.b64decode(str(d["value_b64"])) != b"x"
    assert not wrong, wrong
    for at in tomb_at:
        assert by_source[at]["value_b64"] is None
    kinds = Counter(str(d["reason_kind"]) for d in by_source.values())
    print(f"dead letters by reason: {dict(sorted(kinds.items()))}")
    assert engine.alive() and engine.metric("ssa_rules_loaded") > 0


def test_broken_rules_keep_the_last_good_set(
    engine: EngineProc, settings: Settings, rules_dir: Path
) -> None:
    loaded = engine.metric("ssa_rules_loaded")
    failures = engine.metric("ssa_rule_reload_failures_total")
    web = rules_dir / "web.yaml"
    good = web.read_text(encoding="utf-8")
    assert "    condition: http_failed\n" in good
    web.write_text(good.replace("    condition: http_failed\n", "    condition: http_faild\n", 1))
    engine.wait_metric("ssa_rule_reload_failures_total", failures + 1, timeout=30)
    assert engine.metric("ssa_rules_loaded") == loaded
    assert "rule reload refused" in engine.log_text() and "http_faild" in engine.log_text()

    # site-down (whose condition is now broken on disk) still fires: the old set runs.
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap, acks="all")
    t0 = datetime.now(UTC).replace(microsecond=0)
    for i in range(3):
        obs = Observation(
            id=f"reload-{i}", asset="site-005", unit="water", probe="http",
            observed_at=t0 + timedelta(minutes=i), collector="c1", vantage="test", ok=False,
            duration_s=0.2, error="status 503", data={"status": 503, "latency_ms": 90.0},
        )  # fmt: skip
        producer.send(settings.topic("observations"), key=b"water", value=obs.to_json())
    producer.flush(30)
    producer.close(10)
    deadline = time.monotonic() + 60
    fired: list[Alert] = []
    while not fired and time.monotonic() < deadline:
        recs = read_topic(settings.kafka.bootstrap, settings.topic("alerts"), expect=1, timeout=5)
        fired = [
            a for a in (Alert.from_json(r.value) for r in recs)
            if a.rule == "site-down" and a.asset == "site-005" and a.state == "firing"
            and any(e.startswith("reload-") for e in a.evidence)
        ]  # fmt: skip
    assert fired, "the last good rule set did not fire"

    # Fixed, with one more rule: the new set goes live.
    extra = (
        "  - id: reload-probe\n    title: reload check\n    type: match\n"
        '    condition: probe == "reload-check"\n    severity: info\n'
    )
    web.write_text(good.rstrip("\n") + "\n" + extra, encoding="utf-8")
    engine.wait_metric("ssa_rules_loaded", loaded + 1, timeout=30)
    assert engine.metric("ssa_rule_reload_failures_total") == failures + 1
