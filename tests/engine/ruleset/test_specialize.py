"""Folding conditions per probe never changes what they decide."""

from __future__ import annotations

from pathlib import Path

from engine.ruleset import load_ruleset
from engine.ruleset.compiler import compile_node
from engine.ruleset.context import Ctx
from engine.ruleset.nodes import Lit, Logic
from engine.ruleset.specialize import macro_uses, specialize
from tests.engine.ruleset.exprutil import ASSET, compile_text
from tests.engine.test_rules_engine import ASSETS, stream

REPO = Path(__file__).resolve().parents[3]


def test_probe_tests_fold_to_constants() -> None:
    node, _ = compile_text('probe == "http" and not ok')
    folded = specialize(node, "http")
    assert not isinstance(folded, Logic)  # 'probe == "http"' is gone
    never = specialize(node, "tls")
    assert isinstance(never, Lit) and never.value is False
    node, _ = compile_text('probe in ["dns", "tcp"] or data.status == 1')
    assert isinstance(specialize(node, "dns"), Lit)
    assert macro_uses(specialize(compile_text("http_failed and ok")[0], "http")) == ["http_failed"]
    assert macro_uses(specialize(compile_text("http_failed and ok")[0], "http", frozenset())) == []


def test_shipped_conditions_decide_the_same_folded_or_not() -> None:
    rs = load_ruleset(REPO / "rules")
    checked = 0
    for o in stream(800):
        ctx = Ctx(o, ASSETS.get(o.asset, ASSET))
        for rule in rs.rules:
            if rule.probes is not None and o.probe not in rule.probes:
                continue
            folded = rule.for_probe(o.probe, frozenset({"risky_port_open"}))
            for orig, fast in zip(rule.conditions(), folded.conditions(), strict=True):
                assert bool(orig.fn(ctx)) == bool(fast.fn(ctx)), (rule.id, orig.text, o)
                assert bool(compile_node(orig.node)(ctx)) == bool(orig.fn(ctx))
                checked += 1
            assert bool(rule.test(ctx)) == bool(folded.test(ctx))
    assert checked > 2000
