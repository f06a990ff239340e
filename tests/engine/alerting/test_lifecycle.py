"""Table-driven tests of the pure alert lifecycle (no broker, no clock)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.alerting.lifecycle import EVIDENCE_LIMIT, AlertLifecycle
from engine.alerting.policy import AlertPolicy, Inhibition
from engine.errors import EventError
from engine.events import Alert, Control
from tests.engine.alerting.helpers import (
    T0,
    JsonStore,
    control,
    finding,
    fp,
    inventory,
    iso,
    summary,
    t,
)

SD, HD, CE = "site-down", "host-down", "cert-expiring"

POLICIES = {
    SD: AlertPolicy(SD, "high", 5.0, resolve_after_s=300.0, flap_window_s=900.0),
    CE: AlertPolicy(CE, "medium", 2.0, tags=("tls",), resolve_after_s=None),
    HD: AlertPolicy(
        HD,
        "critical",
        8.0,
        resolve_after_s=None,
        inhibits=(Inhibition("dependents", rules=(SD,)), Inhibition("asset", tags=("tls",))),
    ),
    "hd-quiet": AlertPolicy(
        "hd-quiet", "critical", 8.0, resolve_after_s=300.0, inhibits=(Inhibition("dependents"),)
    ),
}


def run(
    steps: list[tuple[Any, ...]],
    *,
    maintenance: tuple[tuple[float, float], ...] = (),
    policies: dict[str, AlertPolicy] = POLICIES,
) -> list[list[tuple[str, int, str, float, tuple[str, ...]]]]:
    """Apply each step; return the summary of what each step emitted."""
    life = AlertLifecycle(policies, JsonStore(), inventory(maintenance))
    out = []
    for step in steps:
        op, at, *rest = step
        alerts: list[Alert]
        if op in ("match", "resolve"):
            rule, asset = (rest + [SD, "portal"][len(rest) :])[:2]
            alerts = life.on_finding(finding(at, rule, asset, op))
        elif op == "tick":
            alerts = life.tick(t(at))
        elif op in ("ack", "unack", "fixed"):
            rule, asset = (rest + [SD, "portal"][len(rest) :])[:2]
            alerts = life.on_control(control(op, at, fp(rule, asset)))
        elif op == "silence":
            cid, matchers, start, end = rest
            data = {"matchers": matchers, "starts_at": iso(start), "ends_at": iso(end)}
            alerts = life.on_control(control("silence", at, data=data, cid=cid))
        elif op == "expire":
            alerts = life.on_control(control("expire_silence", at, rest[0]))
        else:
            raise AssertionError(op)
        out.append(summary(alerts))
    return out


def inh(rule: str, asset: str) -> tuple[str]:
    return (f"inhibited:{fp(rule, asset)}",)


CASES: dict[str, tuple[list[tuple[Any, ...]], list[list[Any]]]] = {
    "new match fires, re-match is quiet, resolve resolves": (
        [("match", 0), ("match", 30), ("resolve", 60)],
        [[(SD, 1, "firing", 0, ())], [], [(SD, 2, "resolved", 60, ())]],
    ),
    "re-fire after resolve is a new episode, seq continues": (
        [("match", 0), ("resolve", 10), ("match", 20)],
        [[(SD, 1, "firing", 0, ())], [(SD, 2, "resolved", 10, ())], [(SD, 3, "firing", 20, ())]],
    ),
    "resolve of an unknown or resolved alert is ignored": (
        [("resolve", 0), ("match", 5), ("resolve", 10), ("resolve", 20)],
        [[], [(SD, 1, "firing", 5, ())], [(SD, 2, "resolved", 10, ())], []],
    ),
    "quiet period resolves at last match + resolve_after": (
        [("match", 0), ("match", 200), ("tick", 499), ("tick", 10_000)],
        [[(SD, 1, "firing", 0, ())], [], [], [(SD, 2, "resolved", 500, ())]],
    ),
    "quiet resolution happens before a later match re-fires": (
        [("match", 0), ("match", 1000)],
        [[(SD, 1, "firing", 0, ())], [(SD, 2, "resolved", 300, ()), (SD, 3, "firing", 1000, ())]],
    ),
    "no quiet resolution when resolve_after is None": (
        [("match", 0, CE), ("tick", 1e6)],
        [[(CE, 1, "firing", 0, ())], []],
    ),
    "ack, repeated ack, unack, resolve": (
        [("match", 0), ("ack", 10), ("ack", 11), ("unack", 12), ("ack", 13), ("resolve", 20)],
        [
            [(SD, 1, "firing", 0, ())],
            [(SD, 2, "acknowledged", 10, ())],
            [],
            [(SD, 3, "firing", 12, ())],
            [(SD, 4, "acknowledged", 13, ())],
            [(SD, 5, "resolved", 20, ())],
        ],
    ),
    "re-match of an acknowledged alert stays acknowledged": (
        [("match", 0), ("ack", 5), ("match", 10), ("tick", 309), ("tick", 311)],
        [
            [(SD, 1, "firing", 0, ())],
            [(SD, 2, "acknowledged", 5, ())],
            [],
            [],
            [(SD, 3, "resolved", 310, ())],
        ],
    ),
    "ack of an unknown fingerprint does nothing": (
        [("ack", 0), ("match", 1), ("resolve", 2), ("ack", 3)],
        [[], [(SD, 1, "firing", 1, ())], [(SD, 2, "resolved", 2, ())], []],
    ),
    "fixed alone resolves nothing; the passing re-probe does": (
        [("match", 0), ("fixed", 5), ("resolve", 6)],
        [[(SD, 1, "firing", 0, ())], [], [(SD, 2, "resolved", 6, ())]],
    ),
    "flapping holds firing, releases after a quiet window": (
        [
            ("match", 0),
            ("resolve", 10),
            ("match", 20),
            ("resolve", 30),
            ("match", 40),
            ("resolve", 50),
            ("match", 60),
            ("resolve", 70),
            ("tick", 969),
            ("tick", 971),
        ],
        [
            [(SD, 1, "firing", 0, ())],
            [(SD, 2, "resolved", 10, ())],
            [(SD, 3, "firing", 20, ())],
            [(SD, 4, "resolved", 30, ())],
            [(SD, 5, "firing", 40, ())],
            [],
            [],
            [],
            [],
            [(SD, 6, "resolved", 970, ())],
        ],
    ),
    "flap hold released by a match stays firing until resolved": (
        [
            ("match", 0, CE),
            ("resolve", 10, CE),
            ("match", 20, CE),
            ("resolve", 30, CE),
            ("match", 40, CE),
            ("resolve", 50, CE),
            ("match", 60, CE),
            ("tick", 2000),
            ("resolve", 2100, CE),
        ],
        [
            [(CE, 1, "firing", 0, ())],
            [(CE, 2, "resolved", 10, ())],
            [(CE, 3, "firing", 20, ())],
            [(CE, 4, "resolved", 30, ())],
            [(CE, 5, "firing", 40, ())],
            [],
            [],
            [],
            [(CE, 6, "resolved", 2100, ())],
        ],
    ),
    "flap hold with a quiet deadline resolves at release": (
        [
            ("match", 0),
            ("resolve", 10),
            ("match", 20),
            ("resolve", 30),
            ("match", 40),
            ("resolve", 50),
            ("match", 60),
            ("tick", 5000),
        ],
        [
            [(SD, 1, "firing", 0, ())],
            [(SD, 2, "resolved", 10, ())],
            [(SD, 3, "firing", 20, ())],
            [(SD, 4, "resolved", 30, ())],
            [(SD, 5, "firing", 40, ())],
            [],
            [],
            [(SD, 6, "resolved", 960, ())],
        ],
    ),
    "silence starts and ends on a firing alert": (
        [
            ("silence", 0, "s1", ["rule=site-down"], 100, 200),
            ("match", 50),
            ("tick", 150),
            ("tick", 250),
        ],
        [
            [],
            [(SD, 1, "firing", 50, ())],
            [(SD, 2, "firing", 100, ("silence:s1",))],
            [(SD, 3, "firing", 200, ())],
        ],
    ),
    "silence created on a firing alert, then expired early": (
        [
            ("match", 0),
            ("silence", 10, "s1", ["asset=portal", "severity=~hi.*"], 10, 3600),
            ("expire", 20, "s1"),
            ("expire", 30, "s1"),
        ],
        [
            [(SD, 1, "firing", 0, ())],
            [(SD, 2, "firing", 10, ("silence:s1",))],
            [(SD, 3, "firing", 20, ())],
            [],
        ],
    ),
    "an alert firing inside a silence is recorded suppressed, resolve too": (
        [("silence", 0, "s1", ["tags=key-site"], 0, 3600), ("match", 10), ("resolve", 20)],
        [[], [(SD, 1, "firing", 10, ("silence:s1",))], [(SD, 2, "resolved", 20, ("silence:s1",))]],
    ),
    "a silence that does not match leaves the alert alone": (
        [("silence", 0, "s1", ["rule=site-down", "unit!=gov-office"], 0, 3600), ("match", 10)],
        [[], [(SD, 1, "firing", 10, ())]],
    ),
    "two silences are both named, sorted": (
        [
            ("silence", 0, "s2", ["rule=site-down"], 0, 3600),
            ("silence", 0, "s1", ["asset=~port.*"], 0, 3600),
            ("match", 10),
        ],
        [[], [], [(SD, 1, "firing", 10, ("silence:s1", "silence:s2"))]],
    ),
    "inhibition: host down mutes the website behind it, and releases it": (
        [("match", 0), ("match", 10, HD, "gw-1"), ("resolve", 20, HD, "gw-1")],
        [
            [(SD, 1, "firing", 0, ())],
            [(HD, 1, "firing", 10, ()), (SD, 2, "firing", 10, inh(HD, "gw-1"))],
            [(HD, 2, "resolved", 20, ()), (SD, 3, "firing", 20, ())],
        ],
    ),
    "an inhibited alert that resolves stays marked (not notified either way)": (
        [("match", 0), ("match", 10, HD, "gw-1"), ("resolve", 20)],
        [
            [(SD, 1, "firing", 0, ())],
            [(HD, 1, "firing", 10, ()), (SD, 2, "firing", 10, inh(HD, "gw-1"))],
            [(SD, 3, "resolved", 20, inh(HD, "gw-1"))],
        ],
    ),
    # Both are due at 300: handled in fingerprint order (site-down's sorts first), each once.
    "inhibitor and inhibited both resolve by quiet period in the same tick": (
        [("match", 0), ("match", 0, "hd-quiet", "gw-1"), ("tick", 5000)],
        [
            [(SD, 1, "firing", 0, ())],
            [("hd-quiet", 1, "firing", 0, ()), (SD, 2, "firing", 0, inh("hd-quiet", "gw-1"))],
            [
                (SD, 3, "resolved", 300, inh("hd-quiet", "gw-1")),
                ("hd-quiet", 2, "resolved", 300, ()),
            ],
        ],
    ),
    "inhibition applies to an alert that fires while the inhibitor fires": (
        [("match", 0, HD, "gw-1"), ("match", 10), ("match", 20, SD, "blog")],
        [
            [(HD, 1, "firing", 0, ())],
            [(SD, 1, "firing", 10, inh(HD, "gw-1"))],
            [(SD, 1, "firing", 20, ())],
        ],
    ),
    "inhibition by tag on the same asset": (
        [("match", 0, CE, "gw-1"), ("match", 10, HD, "gw-1"), ("match", 20, CE)],
        [
            [(CE, 1, "firing", 0, ())],
            [(HD, 1, "firing", 10, ()), (CE, 2, "firing", 10, inh(HD, "gw-1"))],
            [(CE, 1, "firing", 20, ())],
        ],
    ),
}


@pytest.mark.parametrize("steps, expected", list(CASES.values()), ids=list(CASES))
def test_lifecycle(steps: list[tuple[Any, ...]], expected: list[list[Any]]) -> None:
    assert run(steps) == expected


MAINT_CASES: dict[str, tuple[list[tuple[Any, ...]], list[list[Any]]]] = {
    "maintenance starts and ends on a firing alert": (
        [("match", 50), ("tick", 150), ("tick", 250)],
        [
            [(SD, 1, "firing", 50, ())],
            [(SD, 2, "firing", 100, ("maintenance",))],
            [(SD, 3, "firing", 200, ())],
        ],
    ),
    "an alert firing inside maintenance is suppressed from the start": (
        [("match", 120), ("match", 150), ("tick", 199), ("tick", 201)],
        [[(SD, 1, "firing", 120, ("maintenance",))], [], [], [(SD, 2, "firing", 200, ())]],
    ),
    "boundaries are handled in time order with quiet resolution": (
        [("match", 50), ("tick", 10_000)],
        [
            [(SD, 1, "firing", 50, ())],
            [
                (SD, 2, "firing", 100, ("maintenance",)),
                (SD, 3, "firing", 200, ()),
                (SD, 4, "resolved", 350, ()),
            ],
        ],
    ),
}


@pytest.mark.parametrize("steps, expected", list(MAINT_CASES.values()), ids=list(MAINT_CASES))
def test_maintenance(steps: list[tuple[Any, ...]], expected: list[list[Any]]) -> None:
    assert run(steps, maintenance=((100, 200),)) == expected


def test_alert_carries_explanation_evidence_sources_and_version() -> None:
    life = AlertLifecycle(POLICIES, JsonStore())
    [a1] = life.on_finding(finding(0))
    assert a1.explanation == "data.status (503) == 200"
    assert a1.evidence == ("obs-portal-0",)
    assert a1.rule_version == "v1"
    assert [(s.topic, s.offset) for s in a1.sources] == [("ssa.observations", 0)]
    assert a1.started_at == T0 and a1.at == T0
    assert a1.risk_weight == 5.0 and a1.prev_hash is None and a1.hash is None
    assert life.on_finding(finding(10)) == []
    rec = life.record(a1.fingerprint)
    assert rec is not None and rec.evidence == ("obs-portal-0", "obs-portal-10000")
    [a2] = life.on_control(control("ack", 20, a1.fingerprint, actor="li.wei"))
    assert a2.actor == "li.wei" and a2.evidence == rec.evidence
    assert a2.started_at == T0 and a2.at == t(20)
    # the event round-trips the contract
    assert Alert.from_json(a2.to_json()) == a2


def test_evidence_is_capped() -> None:
    life = AlertLifecycle(POLICIES, JsonStore())
    for i in range(EVIDENCE_LIMIT + 10):
        life.on_finding(finding(i))
    rec = life.record(fp())
    assert rec is not None and len(rec.evidence) == EVIDENCE_LIMIT
    assert rec.evidence[-1] == f"obs-portal-{(EVIDENCE_LIMIT + 9) * 1000}"


def test_group_values_make_separate_alerts() -> None:
    life = AlertLifecycle(POLICIES, JsonStore())
    a = life.on_finding(finding(0, "port-open", "gw-1").evolve(group={"port": "22"}))
    b = life.on_finding(finding(1, "port-open", "gw-1").evolve(group={"port": "3389"}))
    assert len(a) == len(b) == 1 and a[0].fingerprint != b[0].fingerprint


def test_tick_cadence_does_not_change_the_alerts() -> None:
    """Same findings, ticked every second or never: byte-identical alert events."""
    steps = [
        finding(0),
        finding(100),
        finding(150, HD, "gw-1"),
        finding(400, HD, "gw-1", "resolve"),
        finding(2000),
        finding(2100, kind="resolve"),
    ]

    def play(tick_every: float | None) -> list[bytes]:
        life = AlertLifecycle(POLICIES, JsonStore(), inventory(((500, 700),)))
        out: list[Alert] = []
        now = 0.0
        for f in steps:
            if tick_every:
                while now + tick_every < (f.at - T0).total_seconds():
                    now += tick_every
                    out += life.tick(t(now))
            out += life.on_finding(f)
        out += life.tick(t(5000))
        return [a.to_json() for a in out]

    assert play(None) == play(1.0) == play(37.0)


def test_state_survives_a_new_lifecycle_on_the_same_store() -> None:
    store = JsonStore()
    AlertLifecycle(POLICIES, store).on_finding(finding(0))
    again = AlertLifecycle(POLICIES, store)
    assert again.on_finding(finding(10)) == []
    assert summary(again.tick(t(1000))) == [(SD, 2, "resolved", 310, ())]


def test_unknown_rule_uses_the_finding_values() -> None:
    life = AlertLifecycle({}, JsonStore())
    [a] = life.on_finding(finding(0, "new-rule", risk_weight=3.0, tags=("x",)))
    assert (a.risk_weight, a.tags) == (3.0, ("x",))
    assert summary(life.tick(t(900))) == [("new-rule", 2, "resolved", 900, ())]


def test_silence_retention_drops_old_silences() -> None:
    life = AlertLifecycle(POLICIES, JsonStore())
    life.on_control(
        control("silence", 0, data={"matchers": ["rule=x"], "ends_at": iso(60)}, cid="s1")
    )
    assert [s.id for s in life.silences()] == ["s1"]
    life.tick(t(60 + 8 * 86400))
    assert life.silences() == []


def _silence(data: dict[str, Any], at: float = 0) -> Control:
    return control("silence", at, data=data, cid="s1")


BAD_CONTROLS: list[tuple[Control, str]] = [
    (
        _silence({"ends_at": iso(60)}),
        "control.data.matchers: must be a non-empty list of matchers like 'rule=x'",
    ),
    (
        _silence({"matchers": [], "ends_at": iso(60)}),
        "control.data.matchers: must be a non-empty list of matchers like 'rule=x'",
    ),
    (
        _silence({"matchers": ["rule=x", 3], "ends_at": iso(60)}),
        "control.data.matchers[1]: must be a string like 'rule=site-down'",
    ),
    (
        _silence({"matchers": ["rul=x"], "ends_at": iso(60)}),
        "control.data.matchers[0]: unknown label 'rul' (use one of rule, asset, unit, severity, "
        "tags)",
    ),
    (
        _silence({"matchers": ["rule=~("], "ends_at": iso(60)}),
        "control.data.matchers[0]: invalid regular expression '(': missing ), unterminated "
        "subpattern at position 0",
    ),
    (
        _silence({"matchers": ["rule="], "ends_at": iso(60)}),
        "control.data.matchers[0]: empty value for 'rule'",
    ),
    (
        _silence({"matchers": ["site-down"], "ends_at": iso(60)}),
        "control.data.matchers[0]: not a matcher: 'site-down' (use e.g. rule=site-down or "
        "unit=~city-.*)",
    ),
    (_silence({"matchers": ["rule=x"]}), "control.data.ends_at: missing required field"),
    (
        _silence({"matchers": ["rule=x"], "ends_at": "tomorrow"}),
        "control.data.ends_at: not an ISO-8601 time with a timezone: 'tomorrow'",
    ),
    (
        _silence({"matchers": ["rule=x"], "ends_at": "2026-12-01T01:00:00"}),
        "control.data.ends_at: not an ISO-8601 time with a timezone: '2026-12-01T01:00:00'",
    ),
    (
        _silence({"matchers": ["rule=x"], "starts_at": iso(100), "ends_at": iso(50)}),
        "control.data.ends_at: must be later than starts_at",
    ),
    (
        _silence({"matchers": ["rule=x"], "starts_at": iso(-100), "ends_at": iso(-50)}),
        "control.data.ends_at: must be in the future",
    ),
    (
        _silence({"matchers": ["rule=x"], "ends_at": iso(50), "note": "x"}),
        "control.data.note: unknown field",
    ),
    (control("ack", 0), "control.target: ack needs a target"),
    (control("expire_silence", 0), "control.target: expire_silence needs a target"),
]


@pytest.mark.parametrize("c, message", BAD_CONTROLS, ids=[m for _, m in BAD_CONTROLS])
def test_invalid_controls_are_rejected_without_changing_state(c: Control, message: str) -> None:
    store = JsonStore()
    life = AlertLifecycle(POLICIES, store)
    life.on_finding(finding(-1000))
    before = dict(store)
    with pytest.raises(EventError) as e:
        life.on_control(c)
    assert str(e.value) == message
    assert dict(store) == before


# --------------------------------------------------------------------------
# properties over random streams


_OPS = st.tuples(
    st.sampled_from(["match", "match", "resolve", "ack", "unack", "fixed", "silence", "expire",
                     "tick"]),
    st.sampled_from(
        [(SD, "portal"), (SD, "blog"), (HD, "gw-1"), (CE, "gw-1"), ("hd-quiet", "gw-1")]
    ),
    st.integers(0, 400),
)  # fmt: skip


def _play(ops: list[tuple[str, tuple[str, str], int]], tick_every: int | None) -> list[Alert]:
    life = AlertLifecycle(POLICIES, JsonStore(), inventory(((500, 900),)))
    out: list[Alert] = []
    now = 0
    for i, (op, (rule, asset), gap) in enumerate(ops):
        target = now + gap
        if tick_every:
            while now + tick_every < target:
                now += tick_every
                out += life.tick(t(now))
        now = target
        if op in ("match", "resolve"):
            out += life.on_finding(finding(now, rule, asset, op))
        elif op in ("ack", "unack", "fixed"):
            out += life.on_control(control(op, now, fp(rule, asset), cid=f"c{i}"))
        elif op == "silence":
            data = {"matchers": [f"rule={rule}"], "ends_at": iso(now + 3 * gap + 1)}
            out += life.on_control(control("silence", now, data=data, cid=f"s{i % 3}"))
        elif op == "expire":
            out += life.on_control(control("expire_silence", now, f"s{i % 3}", cid=f"c{i}"))
        else:
            out += life.tick(t(now))
    return out + life.tick(t(now + 100_000))


@settings(max_examples=150, deadline=None)
@given(st.lists(_OPS, max_size=40))
def test_random_streams_keep_the_invariants(ops: list[tuple[str, tuple[str, str], int]]) -> None:
    alerts = _play(ops, None)
    last: dict[str, Alert] = {}
    for a in alerts:
        prev = last.get(a.fingerprint)
        # seq counts every change of a fingerprint from 1, without gaps
        assert a.seq == (prev.seq + 1 if prev else 1)
        if prev is not None:
            assert a.at >= prev.at
            # a change is a new state, or the same active state re-marked
            assert a.state != prev.state or a.suppressed_by != prev.suppressed_by
            if prev.state == "resolved":
                assert a.state == "firing" and a.started_at == a.at
            if a.state == "acknowledged":
                assert prev.state in ("firing", "acknowledged")
        else:
            assert a.state == "firing"
        assert a.suppressed == bool(a.suppressed_by)
        assert Alert.from_json(a.to_json()) == a
        last[a.fingerprint] = a
    # the driver's tick cadence never changes the record
    assert [a.to_json() for a in _play(ops, 7)] == [a.to_json() for a in alerts]


def test_indexes_are_rebuilt_when_missing_and_on_policy_reload() -> None:
    store = JsonStore()
    life = AlertLifecycle(POLICIES, store, inventory())
    life.on_finding(finding(0, HD, "gw-1"))
    life.on_control(control("silence", 1, data={"matchers": ["asset=blog"], "ends_at": iso(999)},
                            cid="s1"))  # fmt: skip
    del store["index/inhibitors"], store["index/silences"]  # a store from before the indexes
    again = AlertLifecycle(POLICIES, store, inventory())
    assert summary(again.on_finding(finding(2))) == [(SD, 1, "firing", 2, inh(HD, "gw-1"))]
    assert summary(again.on_finding(finding(3, SD, "blog"))) == [
        (SD, 1, "firing", 3, ("silence:s1",))
    ]
    # a reload that makes cert-expiring an inhibitor of its asset's alerts
    again.on_finding(finding(4, CE, "portal"))
    reloaded = {**POLICIES, CE: AlertPolicy(CE, "medium", 2.0, inhibits=(Inhibition("asset"),))}
    again.set_policies(reloaded)
    muted = again.on_control(
        control("silence", 5, data={"matchers": ["rule=x"], "ends_at": iso(9)})
    )
    by = tuple(sorted((f"inhibited:{fp(HD, 'gw-1')}", f"inhibited:{fp(CE, 'portal')}")))
    assert summary(muted) == [(SD, 2, "firing", 5, by)]


def test_an_inhibitor_on_another_partition_mutes_through_the_driver() -> None:
    """Host and website on different partitions: the host's alert still inhibits."""
    inv = inventory()
    hosts = AlertLifecycle(POLICIES, JsonStore(), inv)
    latest: dict[str, dict[str, Any]] = {}  # what the driver read from ssa.alerts
    sites = AlertLifecycle(
        POLICIES, JsonStore(), inv, external_inhibitors=lambda: list(latest.values())
    )
    assert summary(sites.on_finding(finding(0))) == [(SD, 1, "firing", 0, ())]
    [down] = hosts.on_finding(finding(10, HD, "gw-1"))
    latest[down.fingerprint] = down.to_dict()
    assert summary(sites.recheck(down.at)) == [(SD, 2, "firing", 10, inh(HD, "gw-1"))]
    assert sites.recheck(down.at) == []  # idempotent
    [up] = hosts.on_finding(finding(20, HD, "gw-1", "resolve"))
    latest[up.fingerprint] = up.to_dict()
    assert summary(sites.recheck(up.at)) == [(SD, 3, "firing", 20, ())]
