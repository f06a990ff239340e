"""The anomaly step bound to one rule gives what the general step gives."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.evaluators import anomaly
from engine.evaluators.base import State
from engine.ruleset.context import Ctx
from tests.rulehelpers import asset, obs, pack

RULE = """\
rules:
  - id: r
    title: "{asset.name} r"
    severity: high
    type: anomaly
    condition: probe == "http" and ok
    field: data.latency_ms
    alpha: 0.3
    z: 2
    warmup: 3
    min_std: 1
    direction: DIRECTION
RESOLVE"""

VALUES = st.lists(
    st.tuples(st.booleans(), st.one_of(st.floats(0, 500), st.integers(0, 500), st.none(),
                                       st.just(float("nan")), st.just("slow"))),
    min_size=1, max_size=25,
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=VALUES, direction=st.sampled_from(["up", "down", "both"]),
       resolve=st.sampled_from(["", "    resolve: data.latency_ms < 100\n"]))
def test_bound_step_equals_step(
    tmp_path: Path, values: list[tuple[bool, object]], direction: str, resolve: str
) -> None:
    rs = pack(tmp_path, RULE.replace("DIRECTION", direction).replace("RESOLVE", resolve))
    rule = rs.rule("r").for_probe("http")
    bound = anomaly.bind(rule)
    assert bound is not anomaly.step
    general: State = None
    fast: State = None
    for i, (ok, v) in enumerate(values):
        data = {} if v is None else {"latency_ms": v}
        c = Ctx(obs(i * 30, "http", ok=ok, **data), asset("a1"))
        general, found = anomaly.step(rule, general, c)
        fast, found_fast = bound(rule, fast, c)
        assert repr(fast) == repr(general)  # nan-safe comparison of the learned state
        assert [f.to_json() for f in found_fast] == [f.to_json() for f in found]


def test_the_common_case_does_not_go_through_step(tmp_path: Path, monkeypatch: object) -> None:
    rs = pack(tmp_path, RULE.replace("DIRECTION", "up").replace("RESOLVE", ""))
    rule = rs.rule("r").for_probe("http")
    bound, step = anomaly.bind(rule), anomaly.step
    calls: list[int] = []

    def counted(*args: object) -> object:
        calls.append(1)
        return step(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(anomaly, "step", counted)  # type: ignore[attr-defined]
    state: State = None
    for i, v in enumerate([200, 201, 199, 200, 200.5, 199.5, 200, 200.2]):
        state, found = bound(rule, state, Ctx(obs(i * 30, "http", latency_ms=v), asset("a1")))
        assert not found
    assert len(calls) == 3  # the first value and the warm-up; the rest scored inline
    assert state is not None and state[""][0] == 8
