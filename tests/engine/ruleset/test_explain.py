"""Explanations show the values an expression resolved to."""

from __future__ import annotations

import pytest

from engine.ruleset.explain import explain, show
from tests.engine.ruleset.exprutil import compile_text, sample_ctx

CASES = [
    ("data.status == 200 and asset.criticality >= 4",
     "data.status (503) == 200 and asset.criticality (5) >= 4"),
    ('probe == "http" and not ok', 'probe == "http" and not ok (false)'),
    ('probe == "tls"', 'probe ("http") == "tls"'),
    ("http_failed and asset.criticality >= 4",
     '(probe == "http" and not ok (false)) and asset.criticality (5) >= 4'),
    ("data.cert_days_left < 14", "data.cert_days_left (absent) < 14"),
    ("len(data.headers_missing) > 1", "len(data.headers_missing) (2) > 1"),
    ("data.port in risky_ports", "data.port (absent) in risky_ports"),
    ("(ok or data.status >= 500) and asset.criticality > 3",
     "(ok (false) or data.status (503) >= 500) and asset.criticality (5) > 3"),
    ("data.latency_ms / 1000 > 1", "data.latency_ms (1234.5) / 1000 > 1"),
    ("(1 + 2) * 3 == 9", "(1 + 2) * 3 == 9"),
    ('data.title matches "(?i)hack"', 'data.title ("Hacked by X") matches "(?i)hack"'),
    ("data.status in [500, 503]", "data.status (503) in [500,503]"),
    ("exists(data.title)", "exists(data.title) (true)"),
    ("-data.status < 0", "-data.status (503) < 0"),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_explain(text: str, expected: str) -> None:
    node, _ = compile_text(text)
    assert explain(node, sample_ctx()) == expected


def test_long_values_are_clipped() -> None:
    assert show("x" * 200) == '"' + "x" * 78 + "…"
    assert show([1, 2]) == "[1,2]"
    assert show(None) == "absent"
