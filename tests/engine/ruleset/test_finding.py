"""CompiledRule.finding builds the same event as Finding's own constructor."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import asdict
from pathlib import Path

import pytest

from engine.events import Finding, SourceOffset
from engine.ruleset import load_ruleset
from engine.ruleset.context import Ctx
from tests.engine.ruleset.exprutil import ASSET
from tests.rulehelpers import obs

RULES = Path(__file__).resolve().parents[3] / "rules"


def test_finding_equals_the_constructed_event() -> None:
    rule = load_ruleset(str(RULES)).rule("site-down")
    c = Ctx(obs(5, "http", asset="portal", ok=False, status=503), ASSET,
            SourceOffset("t", 1, 7))
    cases: list[tuple[dict[str, str], list[str], float | None]] = [
        ({}, [], None), ({"b": "2", "a": "1"}, ["o1", "o2"], 12.5),
    ]
    for group_in, evidence, at in cases:
        f = rule.finding(c, kind="resolve" if at else "match", group=group_in,
                         evidence=evidence, explanation="why", at=at, title_suffix=" (x)")
        again = Finding(**{x.name: getattr(f, x.name) for x in dataclasses.fields(Finding)})
        assert type(f) is Finding and f == again and asdict(f) == asdict(again)
        assert f.to_json() == again.to_json()
        group = sorted(f"{k}={v}" for k, v in group_in.items())
        key = "\x1f".join([rule.id, rule.version, "portal", f.kind, *group, *evidence, repr(at)])
        assert f.id == hashlib.sha256(key.encode()).hexdigest()[:32]
        with pytest.raises(dataclasses.FrozenInstanceError):
            f.title = "changed"  # type: ignore[misc]
        assert f.v == again.v and f.sources == (SourceOffset("t", 1, 7),)
    plain = rule.finding(c)
    assert plain.group == {} and plain.evidence == () and plain.kind == "match"
    assert plain.title == "Portal is down"
