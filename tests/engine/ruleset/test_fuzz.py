"""Fuzzing the expression compiler: any text either compiles or is a ``RuleError``.

And whatever compiles evaluates (and explains) on any observation without
raising: missing fields, odd types and huge numbers are data, not crashes.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import RuleError
from engine.ruleset.context import Ctx
from engine.ruleset.explain import explain
from tests.engine.ruleset.exprutil import ASSET, compile_text, sample_ctx
from tests.rulehelpers import obs

TOKENS = [
    "probe", "ok", "data.status", "data.latency_ms", "data.title", "data.open_ports",
    "data.phases_ms.ttfb", "asset.criticality", "asset.tags", "risky_ports", "http_failed",
    "nets", "error", "unit", "and", "or", "not", "in", "not in", "contains", "startswith",
    "endswith", "matches", "in_cidr", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/",
    "%", "**", "(", ")", "[", "]", ",", "exists(", "len(", "lower(", "diff(", "any_in(",
    "in_cidr(", "abs(", '"http"', '"10.0.0.0/8"', '"(?i)x"', "'a'", "0", "1", "2.5", "-3",
    "64", "65", "1e308", "true", "false", "null", "lambda", "for", "import", "__class__",
    ".", ":", "=", "!", "&&", "{", "'", '"', "\\", "eval(", "os.system",
]

texts = st.one_of(
    st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12).map(" ".join),
    st.text(max_size=60),
)
values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
    st.text(max_size=20),
    st.lists(st.one_of(st.integers(), st.text(max_size=8), st.lists(st.integers(), max_size=2),
                       st.dictionaries(st.text(max_size=2), st.integers(), max_size=1)),
             max_size=4),
    st.dictionaries(st.sampled_from(["ttfb", "dns"]), st.integers(), max_size=2),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_compiles_or_rule_error(text: str) -> None:
    try:
        node, fn = compile_text(text)
    except RuleError as e:
        assert e.mark is not None and e.mark.line == 1 and 1 <= e.mark.col <= len(text) + 1
        return
    ctx = sample_ctx()
    fn(ctx)
    explain(node, ctx)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([
        "data.status >= 500 and asset.criticality >= 4",
        "data.open_ports contains 3389 or data.port in risky_ports",
        'lower(data.title) contains "hack" and len(data.title) > 3',
        "data.latency_ms / data.status * 2 ** 3 > -data.status % 7",
        'data.title matches "(?i)x" or data.title startswith "a" or data.title endswith "b"',
        "data.title in_cidr nets or in_cidr(data.open_ports, nets)",
        "diff(data.open_ports, asset.tags) != null and any_in(data.title, risky_ports)",
        "data.phases_ms.ttfb > 1 and exists(data.phases_ms)",
        "any_in(data.open_ports, risky_ports) or len(diff(data.open_ports, risky_ports)) > 0",
        "data.port in risky_ports or data.open_ports contains data.port",
        "data.title in data.open_ports or data.title not in risky_ports",
    ]),
    st.dictionaries(
        st.sampled_from(["status", "latency_ms", "title", "open_ports", "port", "phases_ms"]),
        values, max_size=6,
    ),
)
def test_evaluation_never_raises(text: str, data: dict[str, object]) -> None:
    node, fn = compile_text(text)
    ctx = Ctx(obs(0, "http").evolve(data=data), ASSET)
    fn(ctx)
    explain(node, ctx)
    fn(Ctx(obs(0, "http").evolve(data=data), None))  # unknown asset: asset.* absent
